"""The two exceptions errata raises on purpose; everything else is a bug."""

from __future__ import annotations


class ErrataInputError(ValueError):
    """Bad input: one line naming the file (or argument), the field or row, and what was expected.

    The CLI prints the message as ``error: ...`` and exits with status 2, without a traceback.
    """


def row_ref(where: object, row: int) -> str:
    """How a message names 0-based data row ``row`` of ``where``: the file line for a CSV
    (header = line 1), else the array/table row index."""
    return f"line {row + 2}" if str(where).lower().endswith(".csv") else f"row {row}"


class MissingExtraError(ImportError):
    """An optional extra is not installed; the message says which ``pip install`` to run."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this needs the optional '{extra}' extra ({module} is not installed): "
            f"pip install 'imagenet-errata[{extra}]'"
        )
        self.extra = extra


def require(module: str, extra: str):  # type: ignore[no-untyped-def]
    """Import ``module`` or raise MissingExtraError naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(extra, module) from exc
