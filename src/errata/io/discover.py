"""Which prediction files a list of paths names (the edge): files as given, folders expanded.

What a user expects of a zoo folder, and what is said when a path cannot be one of its models:

* a folder contributes its files with a prediction extension (sorted), not its subfolders;
* an entry that is not a readable file — a symbolic link that loops or points nowhere — is
  listed as failed, with the reason, never skipped in silence;
* a path whose name is not UTF-8 is listed as failed (its name could not be written into the
  study's tables), with the name shown as its bytes;
* a file given twice (by two paths, a folder and a file in it, or a link to it) is read once,
  and the notes say so;
* in a folder that holds a study (``study.json``) — ``compare zoo --out zoo`` — the study's own
  tables are not models.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from errata.exceptions import ErrataInputError

EXTENSIONS = (".npy", ".npz", ".csv", ".parquet")  # the prediction readers' extensions
STUDY_TABLES = ("models.parquet", "errors.parquet")  # a study folder's files with those


def shown(path: str | Path) -> str:
    """A path as a message may print it: bytes that are not UTF-8 as ``\\xe9`` escapes."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def utf8_problem(path: str | Path) -> str | None:
    """Why a path cannot be used as a name in errata's outputs (None: it can)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return (
            f"{shown(path)}: the path is not UTF-8 text; errata writes names into JSON and "
            "Parquet as UTF-8: rename it"
        )
    return None


class FailedFile(TypedDict):
    """A path that a run could not score (``failed.json``, ``study.json`` → ``failed``)."""

    path: str
    error: str  # the one-line reason


@dataclass
class Found:
    """The prediction files of a run, the paths that cannot be read as one, and the notes."""

    files: list[Path] = field(default_factory=list)
    failed: list[FailedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _entries(folder: Path, skip: Collection[str]) -> list[Path]:
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise ErrataInputError(f"{shown(folder)}: cannot list ({exc.strerror or exc})") from None
    return [folder / n for n in names if Path(n).suffix.lower() in EXTENSIONS and n not in skip]


def find(paths: Iterable[str | Path]) -> Found:
    """The prediction files ``paths`` name (see the module docstring)."""
    found = Found()
    seen: dict[tuple[int, int], Path] = {}
    given = list(paths)
    for p in map(Path, given):
        if p.is_dir():
            skip = STUDY_TABLES if (p / "study.json").is_file() else ()
            if skip and any((p / n).exists() for n in skip):
                found.notes.append(f"{shown(p)}: a study folder; its own tables are not models")
            candidates = _entries(p, skip)
        else:
            candidates = [p]
        for f in candidates:
            _add(found, seen, f, listed=f is not p)
    if not found.files and not found.failed:
        raise ErrataInputError(
            f"no prediction files ({', '.join(EXTENSIONS)}) in {', '.join(map(shown, given))}"
        )
    return found


def _add(found: Found, seen: dict[tuple[int, int], Path], f: Path, *, listed: bool) -> None:
    problem = utf8_problem(f)
    if problem:
        found.failed.append({"path": shown(f), "error": problem})
        return
    try:
        st = f.stat()
    except OSError as exc:
        if not listed and not f.is_symlink():
            found.files.append(f)  # a path as given: reported by the reader, as before
            return
        why = "a symbolic link that loops or points nowhere" if f.is_symlink() else exc.strerror
        found.failed.append({"path": str(f), "error": f"{f}: cannot read ({why})"})
        return
    if listed and not os.path.isfile(f):
        return  # a folder named like a prediction file: not a model
    key = (st.st_dev, st.st_ino)
    if key in seen:
        same = "given twice" if str(seen[key]) == str(f) else f"the same file as {seen[key]}"
        found.notes.append(f"{f}: {same}; read once")
        return
    seen[key] = f
    found.files.append(f)
