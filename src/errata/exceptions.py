"""The two exceptions errata raises on purpose; everything else is a bug."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class ErrataInputError(ValueError):
    """Bad input: one line naming the file (or argument), the field or row, and what was expected.

    The CLI prints the message as ``error: ...`` and exits with status 2, without a traceback.
    """


# CSV files with blank lines: data row -> file line
_LINES: dict[str, Callable[[], np.ndarray | None]] = {}
KEEP_LINES = 8  # CSV files whose line look-up is remembered


def register_lines(where: str, lines: Callable[[], np.ndarray | None] | None) -> None:
    """Remember how to find the file line of each data row of CSV ``where`` (a callable giving
    an array, evaluated only when a message needs it), for :func:`row_ref`; None: row + 2."""
    _LINES.pop(where, None)
    if lines is not None:
        _LINES[where] = lines
        while len(_LINES) > KEEP_LINES:
            _LINES.pop(next(iter(_LINES)))


def row_ref(where: object, row: int) -> str:
    """How a message names 0-based data row ``row`` of ``where``: the file line for a CSV
    (header = line 1, blank lines counted when the reader registered them), else the
    array/table row index."""
    if not str(where).lower().endswith(".csv"):
        return f"row {row}"
    lookup = _LINES.get(str(where))
    lines = None if lookup is None else lookup()
    if lines is not None and 0 <= row < len(lines):
        return f"line {int(lines[row])}"
    return f"line {row + 2}"


class MissingExtraError(ImportError):
    """An optional extra is not installed; the message names the command that installs it in
    the environment errata runs in (see :func:`install_hint`)."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this needs the optional '{extra}' extra ({module} is not installed): "
            f"{install_hint(extra)}"
        )
        self.extra = extra


def _project_root(prefix: Path) -> Path | None:
    """The errata project whose ``.venv`` is ``prefix`` (a clone: pyproject.toml + uv.lock)."""
    root = prefix.parent
    if prefix.name != ".venv" or not (root / "uv.lock").is_file():
        return None
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "imagenet-errata"' in text else None


def install_hint(extra: str, *, prefix: str | None = None, has_pip: bool | None = None) -> str:
    """The command that installs ``extra`` where errata runs.

    Inside a clone of the project (its ``.venv``, made by ``make env`` / ``uv sync``, which has
    no pip): ``make env`` (every extra) or ``uv sync --frozen --inexact --extra NAME``. In an
    environment with pip: ``pip install 'imagenet-errata[NAME]'``. Elsewhere (a uv-made
    environment without pip): ``uv pip install 'imagenet-errata[NAME]'``.
    """
    import importlib.util
    import sys

    root = _project_root(Path(prefix or sys.prefix))
    if root is not None:
        return (
            f"run 'make env' in {root} (every extra) or "
            f"'uv sync --frozen --inexact --extra {extra}'"
        )
    if has_pip is None:
        has_pip = importlib.util.find_spec("pip") is not None
    if has_pip:
        return f"pip install 'imagenet-errata[{extra}]'"
    return f"uv pip install 'imagenet-errata[{extra}]'"


def require(module: str, extra: str):  # type: ignore[no-untyped-def]
    """Import ``module`` or raise MissingExtraError naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(extra, module) from exc


# ---------------------------------------------------------------------------------------------
# how messages name arguments: flags on the command line, keywords in Python

_ON_COMMAND_LINE = [False]  # set by the CLI for the command it runs (errata.cli._common)
FLAGS = {
    "n_resamples": "--bootstrap",
    "classify": "--no-errors",
    "file_names": "--file-names",
    "imagenet_x": "--imagenet-x",
    "predictions": "PREDICTIONS",
}  # keywords whose flag is not ``--`` + the keyword with dashes
_UNSET = object()


def command_line(on: bool = True) -> bool:
    """Have messages name command-line flags (``on``) or Python keywords; returns the previous
    setting (the CLI sets it for the command it runs and puts it back)."""
    before = _ON_COMMAND_LINE[0]
    _ON_COMMAND_LINE[0] = on
    return before


def on_command_line() -> bool:
    """Whether messages are for the command line (:func:`command_line`)."""
    return _ON_COMMAND_LINE[0]


def arg(keyword: str, value: object = _UNSET) -> str:
    """How a message names an argument, with ``value`` when given: the flag on the command line
    (``--rebuild``, ``--labels real``), the keyword in Python (``rebuild``, ``rebuild=True``,
    ``labels='real'``). A keyword with a space or in capitals names a positional argument and
    stays as it is.

    >>> arg("rebuild", True), arg("labels")
    ('rebuild=True', 'labels')
    """
    if " " in keyword or keyword.isupper():  # a positional argument ("test set", "FOLDER")
        return keyword if value is _UNSET else f"{keyword} {value}"
    if _ON_COMMAND_LINE[0]:
        flag = FLAGS.get(keyword, "--" + keyword.replace("_", "-"))
        return flag if value is _UNSET or value is True else f"{flag} {value}"
    if value is _UNSET:
        return keyword
    return f"{keyword}={str(value)!r}" if isinstance(value, Path) else f"{keyword}={value!r}"


def did_you_mean(value: str, choices: Iterable[object]) -> str:
    """``"; did you mean 'real'?"`` for the choices closest to ``value`` (difflib, ignoring
    case), ``""`` when none is close.

    >>> did_you_mean("reall", ["original", "real", "shankar"])
    "; did you mean 'real'?"
    """
    import difflib

    names = [str(c) for c in choices]
    lower = {c.lower(): c for c in names}
    close = difflib.get_close_matches(str(value).lower(), list(lower), n=3, cutoff=0.7)
    if not close:
        return ""
    ratio = [difflib.SequenceMatcher(None, str(value).lower(), c).ratio() for c in close]
    close = [c for c, r in zip(close, ratio) if r >= ratio[0] - 0.05]  # the best, and its ties
    return "; did you mean " + " or ".join(f"'{lower[c]}'" for c in close) + "?"


def choose(value: object, choices: Iterable[str], *, keyword: str) -> str:
    """The same as :func:`errata.core.checks.choice` (where the valid names live)."""
    from errata.core.checks import choice

    return choice(value, choices, keyword=keyword)
