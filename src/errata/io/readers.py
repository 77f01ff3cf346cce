"""The prediction file readers (the edge): ``.npy``, ``.npz``, ``.csv`` and ``.parquet``, each
refusing from its header alone an array that cannot be predictions, or that would not fit in
memory. Each reader takes (path for messages, source to read: the path or its bytes in memory,
names field, test set, the rows the file must have if it names no images) and returns a
:class:`~errata.io.table_files.Read`; :func:`errata.io.predictions.load_predictions`
validates what they read.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from errata.core import datasets as D
from errata.core.names import as_names
from errata.exceptions import ErrataInputError
from errata.io.columns import SUBSET_WIDTHS
from errata.io.files import read_json
from errata.io.table_files import NAME_KEYS, Read, Source, read_table
from errata.resources import N_CLASSES

SCORE_KEYS = ("logits", "probs", "probabilities", "scores")


INDEX_KEYS = ("predictions", "topk", "top5", "top1", "prediction")


def _head(src: Source, n: int) -> bytes:
    if isinstance(src, io.BytesIO):
        return bytes(src.getbuffer()[:n])
    with open(src, "rb") as fh:
        return fh.read(n)


SMALL = 64 << 20  # arrays up to this size are read without checking the memory available
MAX_TOPK = 100  # ranked classes a file may give per image (more is not a top-k list)


def available_memory() -> int:
    """Bytes of memory available to this process (Linux: MemAvailable; else free pages)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _gib(n: float) -> str:
    return f"{n / (1 << 40):.1f} TiB" if n >= 1 << 40 else f"{n / (1 << 30):.1f} GiB"


def _check_header(
    shape: tuple[int, ...], dtype: np.dtype, where: str, *, names: bool = False
) -> None:
    """Refuse, from its header alone, an array that cannot be a prediction file (or a list of
    file names): the wrong kind, the wrong number of dimensions, or more data than memory."""
    if dtype.hasobject:
        raise ErrataInputError(
            f"{where}: holds Python objects (a pickled array); expected "
            + ("file names as strings" if names else "numbers: class indices or scores")
        )
    if names:
        if dtype.kind not in "US" or len(shape) != 1:
            raise ErrataInputError(
                f"{where}: {dtype} array of shape {shape}; expected (n,) file names as strings"
            )
    else:
        if dtype.kind not in "iuf":
            raise ErrataInputError(
                f"{where}: {dtype} array; expected numbers (class indices or scores)"
            )
        if len(shape) not in (1, 2) or (shape and shape[0] == 0):
            raise ErrataInputError(
                f"{where}: shape {shape}; expected (n,) top-1, (n, k) top-k or (n, 1000) scores"
            )
        wide = (N_CLASSES, N_CLASSES + 1, *SUBSET_WIDTHS)
        if len(shape) == 2 and shape[1] > MAX_TOPK and shape[1] not in wide:
            raise ErrataInputError(
                f"{where}: shape {shape}; expected (n, k) ranked classes with k ≤ {MAX_TOPK}, "
                "(n, 1000) scores, or (n, 200) scores of ImageNet-A/-R"
            )
    need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if need <= SMALL:  # no prediction file's worth asking the system about
        return
    budget = available_memory() // 2
    if need > budget:
        raise ErrataInputError(
            f"{where}: a {dtype} array of shape {shape} would need {_gib(need)} of memory "
            f"(about {_gib(2 * budget)} is available); not a prediction file this machine can read"
        )


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """Shape, dtype and Fortran order from an ``.npy`` header (the data is not read)."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(fh)
        read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, fortran, dtype = read(fh)
    except (ValueError, OSError, EOFError) as exc:
        raise ErrataInputError(
            f"{where}: not a valid .npy array (its header: {exc}); save it with numpy.save"
        ) from None
    return tuple(int(d) for d in shape), np.dtype(dtype), bool(fortran)


def _npy_data(
    buf: memoryview,
    offset: int,
    shape: tuple[int, ...],
    dtype: np.dtype,
    fortran: bool,
    path: Path,
) -> np.ndarray:
    """The array of an in-memory ``.npy`` file whose header (ending at ``offset``) has been
    read: a copy of its bytes, as :func:`numpy.load` would give (writable, its own memory)."""
    count = int(np.prod(shape, dtype=np.int64))
    if len(buf) - offset < count * dtype.itemsize:
        raise ErrataInputError(
            f"{path}: not a valid .npy array, truncated or corrupt ({len(buf) - offset} bytes "
            f"of data; its header says {shape} {dtype}, {count * dtype.itemsize} bytes)"
        )
    flat = np.frombuffer(buf, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape[::-1]).T.copy(order="F") if fortran else flat.reshape(shape).copy()


def _usable(shape: tuple[int, ...]) -> bool:
    """A shape whose only possible fault is its row count (others get their own message)."""
    return len(shape) == 1 or shape[1] <= MAX_TOPK or shape[1] in (N_CLASSES, *SUBSET_WIDTHS)


def rows_error(where: str, n: int) -> ErrataInputError:
    """A validation-set file without file names whose row count is not 50,000."""
    return ErrataInputError(
        f"{where}: {n} prediction rows; expected 50000 (one per validation image, in "
        "file-name or ImageFolder order), or give file names (a file_name column/array "
        "or --file-names) to predict on a subset"
    )


def _read_npy(
    path: Path, src: Source, names_field: str | None, ds: D.Dataset, rows: int | None
) -> Read:
    if _head(src, 6) != b"\x93NUMPY":
        raise ErrataInputError(
            f"{path}: not a valid .npy array (no NumPy header); save it with numpy.save"
        )
    if names_field is not None:
        raise ErrataInputError(
            f"--file-names {names_field}: a .npy file holds one array, no column or array of "
            "file names; give a file of names (a JSON list or one name per line)"
        )
    with _open(src) as fh:
        shape, dtype, fortran = _npy_header(fh, str(path))
        offset = fh.tell()
    _check_header(shape, dtype, str(path))
    if rows is not None and _usable(shape) and shape[0] != rows:
        raise rows_error(str(path), shape[0])  # from the header: the data is not read
    if isinstance(src, io.BytesIO):  # in memory already (hashed): the header is parsed once
        return Read(_npy_data(src.getbuffer(), offset, shape, dtype, fortran, path), None)
    try:
        return Read(np.load(src, allow_pickle=False), None)
    except (ValueError, EOFError, OSError) as exc:
        raise ErrataInputError(
            f"{path}: not a valid .npy array, truncated or corrupt ({exc})"
        ) from None


@contextlib.contextmanager
def _open(src: Source) -> Iterator[IO[bytes]]:
    if isinstance(src, io.BytesIO):
        src.seek(0)
        yield src
        src.seek(0)
    else:
        with open(src, "rb") as fh:
            yield fh


def _read_npz(
    path: Path,
    src: Source,
    names_field: str | None,
    ds: D.Dataset | None = None,
    rows: int | None = None,
    *,
    names_only: bool = False,
) -> Read:
    """An ``.npz``: each array's header is checked before it is decompressed, so an archive
    that unpacks to gigabytes is refused, not read. ``names_only``: the predictions array is
    found but not read (an empty array stands for it). When several arrays could hold the
    predictions, the first of :data:`INDEX_KEYS` then :data:`SCORE_KEYS` is read, and the
    notes say which."""
    import zipfile

    from numpy.lib import format as npy

    try:
        with zipfile.ZipFile(src) as zf:
            members = {
                (n[: -len(".npy")] if n.endswith(".npy") else n): zf.getinfo(n)
                for n in zf.namelist()
            }
            keys = list(members)
            name_key = names_field or next((k for k in NAME_KEYS if k in keys), None)
            if names_field and names_field not in keys:
                raise ErrataInputError(
                    f"{path}: no array '{names_field}' (arrays: {', '.join(keys)})"
                )
            data_keys = [k for k in keys if k != name_key]
            known = [k for k in (*INDEX_KEYS, *SCORE_KEYS) if k in data_keys]
            key = known[0] if known else None
            if key is None and len(data_keys) == 1:
                key = data_keys[0]
            if key is None:
                raise ErrataInputError(
                    f"{path}: cannot tell which array holds the predictions (arrays: "
                    f"{', '.join(keys)}; expected one of {', '.join(INDEX_KEYS + SCORE_KEYS)})"
                )

            def read(k: str, names: bool) -> np.ndarray:
                where = f"{path}: array '{k}'"
                with zf.open(members[k]) as fh:
                    shape, dtype, _ = _npy_header(fh, where)
                _check_header(shape, dtype, where, names=names)
                if not names and name_key is None and rows is not None and _usable(shape):
                    if shape[0] != rows:
                        raise rows_error(str(path), shape[0])  # from the header alone
                with zf.open(members[k]) as fh:  # from the start: read_array reads the header
                    return npy.read_array(fh, allow_pickle=False)

            arr = np.empty(0) if names_only else read(key, False)
            names = None if name_key is None else _names_array(read(name_key, True), path, name_key)
            notes: tuple[str, ...] = ()
            if len(known) > 1 and not names_only:
                others = ", ".join(f"'{k}'" for k in known[1:])
                notes = (f"{path}: read array '{key}'; {others} not used",)
            return Read(arr, names, notes)
    except ErrataInputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ErrataInputError(
            f"{path}: not a valid .npz archive, truncated or corrupt ({exc})"
        ) from None


def _names_array(raw: np.ndarray, path: Path, key: str) -> np.ndarray:
    """File names stored in an ``.npz``: a string array (bytes are decoded as UTF-8)."""
    if raw.ndim != 1:
        raise ErrataInputError(f"{path}: array '{key}' has shape {raw.shape}; expected (n,) names")
    if raw.dtype.kind == "S":
        try:
            return as_names(np.strings.decode(raw, "utf-8"))
        except UnicodeDecodeError:
            raise ErrataInputError(f"{path}: array '{key}': file names are not UTF-8") from None
    if raw.dtype.kind != "U":
        raise ErrataInputError(
            f"{path}: array '{key}' has dtype {raw.dtype}; expected file names as strings"
        )
    return raw


def _read_table(
    path: Path, src: Source, names_field: str | None, ds: D.Dataset, rows: int | None
) -> Read:
    return read_table(path, src, names_field, ds)


Reader = Callable[[Path, Source, str | None, D.Dataset, int | None], Read]


READERS: dict[str, Reader] = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".csv": _read_table,
    ".parquet": _read_table,
}


def _read_names_file(path: Path) -> np.ndarray:
    if path.suffix.lower() == ".json":
        names = read_json(path, what="a JSON list of file names")
        if not isinstance(names, list):
            raise ErrataInputError(f"{path}: expected a JSON list of file names")
        return as_names([str(n) for n in names])
    try:
        return as_names(path.read_text(encoding="utf-8").split())
    except (OSError, UnicodeDecodeError) as exc:
        raise ErrataInputError(f"{path}: cannot read file names ({exc})") from None


def _read_file(
    path: Path, content: bytes | None, names_field: str | None, ds: D.Dataset, rows: int | None
) -> Read:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ErrataInputError(
            f"{path}: unsupported extension '{path.suffix}' (expected {', '.join(READERS)})"
        )
    try:
        return reader(path, path if content is None else io.BytesIO(content), names_field, ds, rows)
    except PermissionError:
        raise ErrataInputError(f"{path}: permission denied (cannot read the file)") from None
    except IsADirectoryError:
        raise ErrataInputError(f"{path}: is a folder, not a prediction file") from None
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
