"""Per-class labelling guides: Markdown files in the project's ``guides/`` folder, shown beside
the image for the item's candidate classes, in the hierarchy browser and in training feedback (as
Shankar et al.'s guide for sharks, turtles and rays).

A guide is ``guides/<wnid>.md`` (``n01491361.md``) or ``guides/<class name>.md`` (``tiger
shark.md`` or ``tiger_shark.md``, case-insensitive). A name that two classes share (``crane``,
``maillot``) names neither: such a guide must use the WordNet id. The files are read when asked
for (edits show at the next page load) and rendered with markdown-it-py with raw HTML off: a
``<script>`` in a guide is shown as text, and ``javascript:`` links are not made links.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

MAX_BYTES = 64 << 10  # a guide longer than this is not rendered (a note says so)
_IMAGE_SRC = re.compile(r'<img src="/image/([^"]+)"')  # markdown-it's rendering of ![](/image/…)


@cache
def _markdown():  # type: ignore[no-untyped-def]
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False})


@cache
def _by_key() -> dict[str, int]:
    """File stem (lower-case, underscores as spaces) → class index: WordNet ids and the names
    that only one class has."""
    from errata import resources

    table = resources.classes()
    keys: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, name in enumerate(table.names):
        key = name.lower().replace("_", " ")
        seen[key] = seen.get(key, 0) + 1
        keys.setdefault(key, i)
    out = {k: v for k, v in keys.items() if seen[k] == 1}
    out.update({w.lower(): i for i, w in enumerate(table.wnids)})
    return out


@cache
def _render(path: Path, mtime_ns: int, size: int) -> str:
    if size > MAX_BYTES:
        return _escaped(f"(guide {path.name} is larger than {MAX_BYTES >> 10} KB: not shown)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return _escaped(f"(guide {path.name} is not UTF-8 text: not shown)")
    return str(_markdown().render(text))


def _escaped(text: str) -> str:
    import html

    return f"<p>{html.escape(text)}</p>"


class Guides:
    """The guides of one project folder (none when it has no ``guides/`` folder)."""

    def __init__(self, project_path: str | Path) -> None:
        self.folder = Path(project_path) / "guides"

    def files(self) -> dict[int, Path]:
        """Class index → guide file (a WordNet id's file wins over a name's)."""
        if not self.folder.is_dir():
            return {}
        keys = _by_key()
        out: dict[int, Path] = {}
        by_wnid: set[int] = set()
        for path in sorted(self.folder.iterdir()):
            if path.suffix.lower() != ".md" or not path.is_file():
                continue
            stem = path.stem.lower().replace("_", " ")
            index = keys.get(stem)
            if index is None or index in by_wnid:
                continue
            out[index] = path
            if stem.startswith("n") and stem[1:].isdigit():
                by_wnid.add(index)
        return out

    def html(self, indices: list[int] | None = None) -> dict[int, str]:
        """Class index → the guide rendered as (escaped) HTML, for the classes that have one
        (``indices``: only these)."""
        files = self.files()
        wanted = files if indices is None else {i: files[i] for i in indices if i in files}
        out: dict[int, str] = {}
        for i, path in wanted.items():
            st = path.stat()
            out[i] = _render(path, st.st_mtime_ns, st.st_size)
        return out

    def image_names(self) -> set[str]:
        """The project images that the guides show (``![example](/image/NAME)``): the curator
        put them there for every annotator, whatever their queues."""
        import html
        from urllib.parse import unquote

        found: set[str] = set()
        for text in self.html().values():
            found.update(unquote(html.unescape(src)) for src in _IMAGE_SRC.findall(text))
        return found
