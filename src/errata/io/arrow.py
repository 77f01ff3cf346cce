"""numpy columns as Arrow arrays (the edge), without pandas.

pyarrow's own converters (``pa.array``, ``pa.table`` over numpy arrays or lists) import pandas
when it is installed, to check whether the input is a pandas object — a third of a second of
``compare``'s fixed cost on a run that never needs pandas. These build the arrays from their
buffers (:meth:`pyarrow.Array.from_buffers`), with the types pyarrow's converters give (and
``large_string`` for text, as pandas' ``str`` columns are written), so the files are the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pyarrow as pa

Values = npt.NDArray[np.generic] | Sequence[str]


def array(values: Values, *, string: bool = False, nan_is_null: bool = False) -> pa.Array:
    """An Arrow array of a 1-D numpy array (numbers or booleans) or of text.

    Parameters
    ----------
    values : 1-D array or sequence of str
        Numbers and booleans keep their type (``int64`` → ``int64``, ``bool`` → ``bool``);
        text (a ``str``/``object`` array or a sequence of ``str``; ``None`` is null) becomes
        ``large_string``, or ``string`` with ``string=True``.
    nan_is_null : bool
        A NaN is null (as ``pa.Table.from_pandas`` writes a DataFrame's NaN), not a NaN value.
    """
    import pyarrow as pa

    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind in "OUS":
        return _text(arr, string=string)
    if arr.dtype.kind == "b":
        bits = np.packbits(arr.astype(bool), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(arr), [None, pa.py_buffer(bits)])
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"no Arrow column for numpy dtype {arr.dtype}")
    data = np.ascontiguousarray(arr)
    mask = None
    if nan_is_null and data.dtype.kind == "f":
        valid = ~np.isnan(data)
        if not valid.all():
            mask = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.from_numpy_dtype(data.dtype), len(data), [mask, pa.py_buffer(data)]
    )


def _text(arr: npt.NDArray[np.generic], *, string: bool) -> pa.Array:
    """Text as ``large_string`` (``string``: 32-bit offsets); ``None`` is null."""
    import pyarrow as pa

    kind = pa.string() if string else pa.large_string()
    width = arr.dtype.itemsize // 4
    codes = arr.view(np.uint32).reshape(len(arr), width) if arr.dtype.kind == "U" else None
    if codes is not None and width and (codes < 128).all():  # ASCII (file names): vectorised
        filled = codes != 0  # numpy pads with NUL: a string ends after its last other code
        sizes = np.where(filled.any(axis=1), width - np.argmax(filled[:, ::-1], axis=1), 0)
        inside = np.arange(width) < sizes[:, None]
        if (filled == inside).all():  # no NUL inside a string
            return _ascii(codes[inside].astype(np.uint8).tobytes(), sizes, kind, string)
    items = arr.tolist()
    valid = np.fromiter((v is not None for v in items), dtype=bool, count=len(items))
    encoded = [v.encode() if isinstance(v, str) else b"" if v is None else bytes(v) for v in items]
    sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32 if string else np.int64)
    np.cumsum(sizes, out=offsets[1:])
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        kind,
        len(encoded),
        [mask, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
    )


def _ascii(
    data: bytes, sizes: npt.NDArray[np.integer], kind: pa.DataType, string: bool
) -> pa.Array:
    """A text array of the concatenated characters ``data`` and each string's size."""
    import pyarrow as pa

    offsets = np.zeros(len(sizes) + 1, dtype=np.int32 if string else np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return pa.Array.from_buffers(
        kind, len(sizes), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def dictionary(codes: npt.NDArray[np.integer], values: Values | pa.Array) -> pa.Array:
    """A dictionary-encoded text column: ``values[codes[i]]`` (``int32`` indices, ``string``
    values, as ``pa.DictionaryArray.from_arrays`` over converted arrays gives; ``values`` may
    be an Arrow array already, built once for many columns)."""
    import pyarrow as pa

    indices = array(np.asarray(codes, dtype=np.int32))
    if not isinstance(values, pa.Array):
        values = array(values, string=True)
    return pa.DictionaryArray.from_arrays(indices, values)


def table(columns: Mapping[str, Values | pa.Array], *, nan_is_null: bool = False) -> pa.Table:
    """An Arrow table of named columns (numpy arrays, text, or Arrow arrays as they are)."""
    import pyarrow as pa

    arrays = [
        c if isinstance(c, pa.Array) else array(c, nan_is_null=nan_is_null)
        for c in columns.values()
    ]
    return pa.Table.from_arrays(arrays, names=list(columns))


__all__ = ["array", "dictionary", "table"]
