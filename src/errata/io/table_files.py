"""CSV and Parquet prediction files (the edge): one table, read and checked column by column.

A table holds an optional file-name column (the first of :data:`NAME_KEYS`), then either ranked
class indices — ``top1`` … ``topk`` (``prediction`` for a single one) — or one score column per
class, read by name (:mod:`errata.io.columns`). A header that names a column twice, ranked
columns with a gap, or columns that are neither is an error; a column that is not used is said
in the run's notes. CSV errors name the line of the file, blank lines counted.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from errata.core import datasets as D
from errata.core.names import as_names
from errata.exceptions import ErrataInputError, did_you_mean, register_lines, row_ref
from errata.io.columns import SCORE_WIDTHS, SHARED_NAMES, SUBSET_WIDTHS, score_columns

if TYPE_CHECKING:
    import pyarrow as pa

NAME_KEYS = ("file_names", "file_name", "filenames", "files")
Source = Path | io.BytesIO
_RANKED = re.compile(r"top(\d+)")
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")  # what DataFrame.to_parquet calls an index
_NUMBER = re.compile(r"[+-]?\.?\d")  # how a number written in digits starts (not inf, nan)


class Read(NamedTuple):
    """What a reader found: the array, the file names (None: none), and what to say."""

    array: np.ndarray
    names: np.ndarray | None
    notes: tuple[str, ...] = ()


def read_table(path: Path, src: Source, names_field: str | None, ds: D.Dataset) -> Read:
    """A CSV or Parquet prediction file as ``(array, names, notes)``."""
    table = _load(path, src)
    if table.num_rows == 0:
        raise ErrataInputError(f"{path}: no rows")
    header = [str(c) for c in table.column_names]
    _check_header(header, path)
    columns = list(header)
    name_col = names_field or next((c for c in NAME_KEYS if c in columns), None)
    if names_field and names_field not in columns:
        raise ErrataInputError(
            f"{path}: no column '{names_field}' (columns: {', '.join(columns[:8])})"
        )
    names = None
    if name_col is not None:
        names = text_column(table.column(name_col), path, name_col)
        columns.remove(name_col)
    index = [c for c in columns if _PANDAS_INDEX.fullmatch(c)]  # a DataFrame's row index
    columns = [c for c in columns if c not in index]
    cols, notes = _prediction_columns(columns, path, ds)
    if index:
        notes.append(f"{path}: pandas index column(s) {', '.join(index)} not used")
    if cols == columns:  # in the file's order (names may repeat: the class names in order)
        where = [i for i, c in enumerate(header) if c in set(columns)]
    else:
        where = [header.index(c) for c in cols]
    arr = np.column_stack([_numbers(table.column(i), path, header[i]) for i in where])
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        ranked = cols == ["prediction"] or bool(_RANKED.fullmatch(cols[0]))
        _check_overflow(arr, table, (path, src), where, ranked=ranked)
    return Read(arr, names, tuple(notes))


def _check_overflow(
    arr: np.ndarray, table: pa.Table, file: tuple[Path, Source], where: list[int], *, ranked: bool
) -> None:
    """A number written too large for float64 (``1e400``, which the parsers read as inf) is an
    error saying so, not "not finite": the first non-finite value (in row order, the one the
    checks of scores and indices would name) is looked up as written — a CSV's text read again,
    on this error path only. ``inf`` and ``nan`` as written are left to those checks."""
    import pyarrow as pa

    path, src = file
    rows, cols = np.nonzero(~np.isfinite(arr))
    r, j = int(rows[0]), int(cols[0])
    column = table.column(where[j])
    text_types = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary)
    if not any(is_text(column.type) for is_text in text_types):
        if path.suffix.lower() != ".csv":
            return  # a float as stored: inf or nan as written
        column = _csv_text(src, where[j], table.num_columns)
    value = column[r].as_py()
    text = (value.decode(errors="replace") if isinstance(value, bytes) else str(value)).strip()
    if not _NUMBER.match(text):
        return
    at = row_ref(path, r)
    if ranked:
        raise ErrataInputError(f"{path}: {at}: class index {text} is outside 0-999")
    raise ErrataInputError(
        f"{path}: {at}, class {j}: score {text} does not fit float64 (at most "
        f"{np.finfo(np.float64).max:.3g}); rescale the scores (subtracting each row's maximum "
        "keeps the ranking)"
    )


def _csv_text(src: Source, i: int, n_columns: int) -> pa.ChunkedArray:
    """Column ``i`` of a CSV as the text written in it (its header renamed, as names may
    repeat)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if isinstance(src, io.BytesIO):
        src.seek(0)
    names = [f"c{k}" for k in range(n_columns)]
    table = pcsv.read_csv(
        src,
        read_options=pcsv.ReadOptions(column_names=names, skip_rows=1),
        convert_options=pcsv.ConvertOptions(
            include_columns=[names[i]], column_types={names[i]: pa.string()}, check_utf8=False
        ),
    )
    return table.column(0)


def _load(path: Path, src: Source) -> pa.Table:
    import pyarrow as pa

    try:
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pcsv

            _register_csv_lines(path, src)
            # text columns are checked for UTF-8 below, where the bad row can be named
            return pcsv.read_csv(src, convert_options=pcsv.ConvertOptions(check_utf8=False))
        import pyarrow.parquet as pq

        return pq.ParquetFile(src).read()  # (read_table refuses a name that repeats)
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ErrataInputError(f"{path}: cannot read as {path.suffix[1:]} ({first})") from None


def _register_csv_lines(path: Path, src: Source) -> None:
    """Tell :func:`errata.exceptions.row_ref` how to find the file line of a data row when the
    CSV has blank lines (the reader skips them, so row + 2 would not be the line): bytes in
    memory are searched now (a blank line is rare and the search fast), a file on disk only
    when a message needs a line."""
    if isinstance(src, io.BytesIO):
        data = bytes(src.getbuffer())
        lines = csv_data_lines(data) if _has_blank_line(data) else None
        register_lines(str(path), None if lines is None else (lambda: lines))
    else:
        register_lines(str(path), lambda: csv_data_lines(Path(src).read_bytes()))


def _has_blank_line(data: bytes) -> bool:
    return b"\n\n" in data or b"\n\r\n" in data or data[:1] in (b"\n", b"\r")


def csv_data_lines(data: bytes, *, whitespace: bool = False) -> np.ndarray | None:
    """The 1-based file line of each data row of a CSV's bytes (the lines after the header
    that are not empty — with ``whitespace``, not blank, as pandas skips them), or None when
    there is no such line to skip (row ``r`` is line ``r + 2``)."""
    lines = data.split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()
    blank: Callable[[bytes], bool] = (
        (lambda ln: not ln.strip()) if whitespace else (lambda ln: ln in (b"", b"\r"))
    )
    full = np.array([not blank(ln) for ln in lines], dtype=bool)
    if full.all():
        return None
    return (np.flatnonzero(full) + 1)[1:]


def _check_header(columns: list[str], path: Path) -> None:
    """Each column once; the two class names that two classes share may repeat (the class names
    in class order: read in that order, :func:`errata.io.columns.score_columns`)."""
    seen: set[str] = set()
    for c in columns:
        if c in seen and c not in SHARED_NAMES:
            raise ErrataInputError(
                f"{path}: column '{c}' appears {columns.count(c)} times in the header; each "
                "column needs a name of its own"
            )
        seen.add(c)


def _prediction_columns(
    columns: list[str], path: Path, ds: D.Dataset
) -> tuple[list[str], list[str]]:
    """The columns holding the predictions, in order, and notes on the columns not used."""
    ranked = sorted((int(m[1]), c) for c in columns if (m := _RANKED.fullmatch(c)))
    if "prediction" in columns and ranked:
        raise ErrataInputError(
            f"{path}: columns 'prediction' and '{ranked[0][1]}' both give a top-1 class; keep one"
        )
    if "prediction" in columns or ranked:
        cols = ["prediction"] if not ranked else [c for _, c in ranked]
        ks = [k for k, _ in ranked]
        if ks and ks != list(range(1, len(ks) + 1)):
            gap = next(k for k in range(1, len(ks) + 2) if k not in ks)
            raise ErrataInputError(
                f"{path}: ranked columns {', '.join(c for _, c in ranked[:6])}: 'top{gap}' is "
                "missing; expected top1, top2, … topk without a gap"
            )
        unused = [c for c in columns if c not in cols]
        notes = [f"{path}: column(s) {', '.join(repr(c) for c in unused[:5])} not used"] * bool(
            unused
        )
        return cols, notes
    found = (
        None if len(columns) < min(SUBSET_WIDTHS) // 2 else score_columns(columns, str(path), ds)
    )
    if found is None or (found.note and len(columns) not in SCORE_WIDTHS):
        shown = ", ".join(columns[:6]) + ("…" if len(columns) > 6 else "")
        hint = next(  # a misnamed top-1 column ('predicted', 'top_1'): the name it wants
            (
                f"{h[:-1]} for '{c}'? (rename the column)"
                for c in columns[:50]
                if (h := did_you_mean(c, ("prediction", "top1")))
            ),
            "",
        )
        raise ErrataInputError(
            f"{path}: expected columns top1[..topk] (or 'prediction') or 1000 score columns; "
            f"found {len(columns)} column{'s' * (len(columns) != 1)}: {shown}{hint}"
        )
    return found.columns, [found.note] if found.note else []


def _numbers(column: pa.ChunkedArray, path: Path, name: str) -> np.ndarray:
    """One column as numbers: integers and floats as they are, decimals and text of numbers
    converted; anything else, or a missing value, is an error naming the row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_dictionary(t):
        column, t = column.cast(t.value_type), t.value_type
    if pa.types.is_decimal(t):
        column = column.cast(pa.int64() if t.scale == 0 else pa.float64())
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
        column = _parsed(column, path, name)
    elif not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t)):
        value = next((v for v in column.to_pylist() if v is not None), None)
        raise ErrataInputError(
            f"{path}: column '{name}' holds {t} values (e.g. {value!r}); expected numbers"
        )
    if column.null_count:
        row = int(np.argmax(pc.is_null(column).to_numpy(zero_copy_only=False)))
        raise ErrataInputError(f"{path}: {row_ref(path, row)}, column '{name}': missing value")
    values: np.ndarray = column.to_numpy()
    return values


def _parsed(column: pa.ChunkedArray, path: Path, name: str) -> pa.ChunkedArray:
    """A text column whose values are numbers, as float64; the first value that is not one is
    an error naming its row."""
    import pyarrow as pa

    try:
        return column.cast(pa.string()).cast(pa.float64())
    except (pa.ArrowException, UnicodeDecodeError):
        pass
    for row, value in enumerate(column.to_pylist()):  # the error path only
        try:
            if value is not None:
                float(value.decode() if isinstance(value, bytes) else value)
        except (TypeError, ValueError, UnicodeDecodeError):
            raise ErrataInputError(
                f"{path}: {row_ref(path, row)}, column '{name}': {value!r} is not a number"
            ) from None
    raise ErrataInputError(f"{path}: column '{name}': not numbers")


def table_names(path: Path) -> np.ndarray | None:
    """The file-name column of a CSV or Parquet file (the first of :data:`NAME_KEYS` it has),
    read alone (None: it has none)."""
    import pyarrow as pa

    wanted = list(NAME_KEYS)
    try:
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pcsv

            options = pcsv.ConvertOptions(
                include_columns=wanted, include_missing_columns=True, check_utf8=False
            )
            table = pcsv.read_csv(path, convert_options=options)
            present = [c for c in wanted if not pa.types.is_null(table.column(c).type)]
        else:
            import pyarrow.parquet as pq

            columns = set(pq.read_schema(path).names)
            present = [c for c in wanted if c in columns]
            table = pq.read_table(path, columns=present[:1])
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ErrataInputError(f"{path}: cannot read as {path.suffix[1:]} ({first})") from None
    return text_column(table.column(present[0]), path, present[0]) if present else None


def text_column(column: pa.ChunkedArray, path: Path, name: str) -> np.ndarray:
    """A column of file names as a string array; a value that is not UTF-8 text is named."""
    import pyarrow as pa

    try:
        return as_names(column.cast(pa.string()).to_numpy(zero_copy_only=False))
    except (pa.ArrowException, UnicodeDecodeError):
        raw = column.cast(pa.binary()).to_pylist()
        for row, value in enumerate(raw):  # the error path only: find the row to name
            try:
                if value is not None:
                    value.decode("utf-8")
            except UnicodeDecodeError:
                raise ErrataInputError(
                    f"{path}: {row_ref(path, row)}, column '{name}': {value!r} is not UTF-8 text"
                ) from None
        raise ErrataInputError(f"{path}: column '{name}': not UTF-8 text") from None
