"""Layer 5 — a model's predictions: top-1, top-k or full scores, with the image each row is for.

Accepted inputs (:func:`load_predictions`):

* ``.npy`` — one array: ``(n,)`` int top-1, ``(n, k)`` int top-k (best first), or ``(n, 1000)``
  float logits/probabilities.
* ``.npz`` — the same array under one of the keys ``predictions``, ``topk``, ``top1``, ``logits``,
  ``probs``, ``scores`` (or the only array), optionally with ``file_names``.
* ``.csv`` / ``.parquet`` — optional ``file_name`` column, then either ``top1`` … ``topk`` integer
  columns (``prediction`` is accepted for ``top1``) or 1000 numeric score columns.
* a numpy array (same shapes) from Python.

Rows are matched to images by file name. Without file names, ``order`` says which image each row is:
``"filename"`` (ILSVRC2012_val_00000001 … 00050000, the default) or ``"imagefolder"`` (sorted by
class WordNet id, then file name — what torchvision's ImageFolder yields).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from errata import resources
from errata.exceptions import ErrataInputError, row_ref
from errata.resources import N_CLASSES, N_VAL

Order = Literal["filename", "imagefolder"]
TOPK_SAVED = 5  # how many ranked classes are kept when scores are given
SCORE_KEYS = ("logits", "probs", "probabilities", "scores")
INDEX_KEYS = ("predictions", "topk", "top5", "top1", "prediction")
NAME_KEYS = ("file_names", "file_name", "filenames", "files")


@dataclass(frozen=True, eq=False)
class Predictions:
    """One model's predictions on ``n`` images.

    Attributes
    ----------
    file_names : ndarray of object, shape (n,)
        Base file name of each row's image, unique.
    topk : ndarray of int16, shape (n, k)
        Predicted class indices, best first (``k = 1`` for top-1 only).
    scores : ndarray of float32, shape (n, 1000), or None
        Logits or probabilities when given.
    name : str
        Model name (the file stem by default).
    """

    file_names: np.ndarray
    topk: np.ndarray
    scores: np.ndarray | None = None
    name: str = "model"
    source: str = ""

    @property
    def top1(self) -> np.ndarray:
        """``(n,)`` top-1 class index."""
        return self.topk[:, 0]

    @property
    def k(self) -> int:
        return int(self.topk.shape[1])

    def __len__(self) -> int:
        return len(self.file_names)


def imagefolder_order() -> np.ndarray:
    """Positions (in file-name order) of the 50,000 images as ImageFolder lists them."""
    orig = resources.validation_labels()
    return np.lexsort((np.arange(N_VAL), orig))


def file_names_for(order: Order) -> np.ndarray:
    """The 50,000 validation file names in ``order``."""
    names = resources.val_file_names()
    return {"filename": lambda: names, "imagefolder": lambda: names[imagefolder_order()]}[order]()


# ---------------------------------------------------------------------------------------------
# readers: each returns (array, file names or None)


def _read_npy(path: Path, _: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise ErrataInputError(
                f"{path}: not a valid .npy array (no NumPy header); save it with numpy.save"
            )
    try:
        return np.load(path, allow_pickle=False), None
    except ValueError as exc:
        msg = str(exc)
        if "pickle" in msg.lower():
            raise ErrataInputError(
                f"{path}: holds Python objects; expected a numeric array"
            ) from None
        raise ErrataInputError(
            f"{path}: not a valid .npy array, truncated or corrupt ({msg})"
        ) from None
    except (EOFError, OSError) as exc:
        raise ErrataInputError(
            f"{path}: not a valid .npy array, truncated or corrupt ({exc})"
        ) from None


def _read_npz(path: Path, names_field: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            name_key = names_field or next((k for k in NAME_KEYS if k in keys), None)
            if names_field and names_field not in keys:
                raise ErrataInputError(
                    f"{path}: no array '{names_field}' (arrays: {', '.join(keys)})"
                )
            data_keys = [k for k in keys if k != name_key]
            key = next((k for k in (*INDEX_KEYS, *SCORE_KEYS) if k in data_keys), None)
            if key is None and len(data_keys) == 1:
                key = data_keys[0]
            if key is None:
                raise ErrataInputError(
                    f"{path}: cannot tell which array holds the predictions (arrays: "
                    f"{', '.join(keys)}; expected one of {', '.join(INDEX_KEYS + SCORE_KEYS)})"
                )
            arr = z[key]
            names = None if name_key is None else z[name_key].astype(str).astype(object)
            return arr, names
    except ErrataInputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ErrataInputError(
            f"{path}: not a valid .npz archive, truncated or corrupt ({exc})"
        ) from None


def _read_table(path: Path, names_field: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if path.suffix.lower() == ".csv":
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(path)
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ErrataInputError(f"{path}: cannot read as {path.suffix[1:]} ({first})") from None
    if table.num_rows == 0:
        raise ErrataInputError(f"{path}: no rows")
    columns = [str(c) for c in table.column_names]
    name_col = names_field or next((c for c in NAME_KEYS if c in columns), None)
    if names_field and names_field not in columns:
        raise ErrataInputError(
            f"{path}: no column '{names_field}' (columns: {', '.join(columns[:8])})"
        )
    names = None
    if name_col is not None:
        names = np.array(table.column(name_col).cast(pa.string()).to_pylist(), dtype=object)
        columns.remove(name_col)
    if "prediction" in columns and "top1" not in columns:
        cols = ["prediction"]
    elif "top1" in columns:
        cols = [f"top{i}" for i in range(1, len(columns) + 1) if f"top{i}" in columns]
    else:
        cols = columns
        if len(cols) not in (N_CLASSES, N_CLASSES + 1):
            raise ErrataInputError(
                f"{path}: expected columns top1[..topk] (or 'prediction') or 1000 score columns; "
                f"found {len(cols)} columns: {', '.join(cols[:6])}{'…' if len(cols) > 6 else ''}"
            )
    for col in cols:
        column = table.column(col)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            values = column.to_pylist()
            row = next((i for i, v in enumerate(values) if not _is_number(v)), 0)
            raise ErrataInputError(
                f"{path}: {row_ref(path, row)}, column '{col}': {values[row]!r} is not a number"
            )
        if column.null_count:
            row = int(np.argmax(pc.is_null(column).to_numpy(zero_copy_only=False)))
            raise ErrataInputError(f"{path}: {row_ref(path, row)}, column '{col}': missing value")
    arr = np.column_stack([table.column(c).to_numpy() for c in cols])
    return arr, names


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
        return value is not None
    except (TypeError, ValueError):
        return False


READERS = {".npy": _read_npy, ".npz": _read_npz, ".csv": _read_table, ".parquet": _read_table}


def _read_names_file(path: Path) -> np.ndarray:
    import json

    if path.suffix.lower() == ".json":
        try:
            names = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ErrataInputError(f"{path}: not a JSON list of file names ({exc})") from None
        if not isinstance(names, list):
            raise ErrataInputError(f"{path}: expected a JSON list of file names")
        return np.array([str(n) for n in names], dtype=object)
    try:
        return np.array(path.read_text(encoding="utf-8").split(), dtype=object)
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot read file names ({exc})") from None


# ---------------------------------------------------------------------------------------------
# validation


def _to_topk(arr: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Interpret a raw array as (topk int16, scores or None); raise on anything else."""
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ErrataInputError(
            f"{where}: expected shape (n,), (n, k) or (n, 1000); got {arr.shape}"
        )
    if arr.dtype.kind not in "iuf":
        raise ErrataInputError(f"{where}: expected numbers; got dtype {arr.dtype}")
    is_scores = arr.ndim == 2 and arr.dtype.kind == "f" and arr.shape[1] >= N_CLASSES
    if is_scores:
        if arr.shape[1] != N_CLASSES:
            raise ErrataInputError(
                f"{where}: {arr.shape[1]} score columns; expected 1000. A 1001-column array "
                "usually "
                "has a background class at index 0 (TF-slim models): drop column 0"
            )
        finite = np.isfinite(arr)
        if not finite.all():
            row, col = (int(v[0]) for v in np.nonzero(~finite))
            raise ErrataInputError(
                f"{where}: {row_ref(where, row)}, class {col}: score {arr[row, col]} is not "
                "finite (NaN or inf); expected finite logits or probabilities"
            )
        scores = arr.astype(np.float32, copy=False)
        k = min(TOPK_SAVED, N_CLASSES)
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1).astype(np.int16), scores
    idx = arr if arr.ndim == 2 else arr[:, None]
    if idx.dtype.kind == "f":
        if not np.isfinite(idx).all():
            row = int(np.nonzero(~np.isfinite(idx))[0][0])
            raise ErrataInputError(f"{where}: {row_ref(where, row)}: class index is NaN or inf")
        if (idx != np.round(idx)).any():
            row = int(np.nonzero(idx != np.round(idx))[0][0])
            raise ErrataInputError(
                f"{where}: {row_ref(where, row)}: {idx[row].tolist()} are not whole class "
                "indices; for scores give 1000 columns"
            )
    if idx.shape[1] > 100:
        raise ErrataInputError(
            f"{where}: {idx.shape[1]} integer columns; expected top-k class indices "
            "(k ≤ 100) or 1000 float score columns"
        )
    lo, hi = idx.min(), idx.max()
    if lo < 0 or hi >= N_CLASSES:
        bad = (idx < 0) | (idx >= N_CLASSES)
        row = int(np.nonzero(bad)[0][0])
        hint = ""
        if hi == N_CLASSES and lo >= 0:
            hint = (
                "; the file looks like it uses 1001 classes with a background class at 0 "
                "(TF-slim): subtract 1 from every index"
            )
        raise ErrataInputError(
            f"{where}: {row_ref(where, row)}: class index {int(idx[bad][0])} is outside 0-999{hint}"
        )
    return idx.astype(np.int16), None


def load_predictions(
    predictions: str | Path | np.ndarray | Predictions,
    *,
    order: Order = "filename",
    file_names: str | Path | np.ndarray | list[str] | None = None,
    name: str | None = None,
) -> Predictions:
    """Load and validate one model's predictions.

    Parameters
    ----------
    predictions : path, array or Predictions
        See the module docstring for the formats. A registry name (``errata data list``) is
        accepted too, e.g. ``"cleanlab-resnet50"``.
    order : {"filename", "imagefolder"}
        Image order of rows when the input carries no file names.
    file_names : path, array, or column/array name, optional
        The file name of each row: a JSON list or text file (one name per line), an array, or the
        name of a column (CSV/Parquet) or array (``.npz``) inside the predictions file.
    name : str, optional
        Model name; defaults to the file stem.

    Raises
    ------
    ErrataInputError
        On anything that is not one model's predictions for distinct images, with the file and the
        row or field named.
    """
    if isinstance(predictions, Predictions):
        return predictions
    if order not in ("filename", "imagefolder"):
        raise ErrataInputError(f"order: '{order}' is not one of filename, imagefolder")
    names_field = (
        file_names if isinstance(file_names, str) and not Path(file_names).suffix else None
    )
    if isinstance(predictions, np.ndarray):
        where, arr, names = "predictions array", predictions, None
        label = name or "model"
    else:
        path = Path(predictions)
        if not path.exists():
            from errata import data

            if str(predictions) in data.REGISTRY:
                path = data.path(str(predictions))
            else:
                raise ErrataInputError(f"{path}: file not found")
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise ErrataInputError(
                f"{path}: unsupported extension '{path.suffix}' (expected {', '.join(READERS)})"
            )
        where = str(path)
        arr, names = reader(path, names_field)
        label = name or (str(predictions) if str(predictions) in _registry_names() else path.stem)
    topk, scores = _to_topk(np.asarray(arr), where)
    n = topk.shape[0]

    if file_names is not None and names_field is None:
        if isinstance(file_names, (str, Path)):
            names = _read_names_file(Path(file_names))
            names_where = str(file_names)
        else:
            names = np.asarray(file_names, dtype=object)
            names_where = "file_names"
        if len(names) != n:
            raise ErrataInputError(
                f"{names_where}: {len(names)} file names for {n} prediction rows "
                f"in {where}; expected one name per row"
            )
    if names is None:
        if n != N_VAL:
            raise ErrataInputError(
                f"{where}: {n} prediction rows; expected 50000 (one per validation image, in "
                f"{order} order), or give file names (a file_name column/array or --file-names) "
                "to predict on a subset"
            )
        names = file_names_for(order)
    else:
        from errata.labels import canonical_file_names, first_duplicate

        names = canonical_file_names(names)
        row = first_duplicate(names)
        if row >= 0:
            raise ErrataInputError(
                f"{where}: {row_ref(where, row)}: duplicate file name '{names[row]}'; "
                "each image may appear once"
            )
    return Predictions(file_names=names, topk=topk, scores=scores, name=label, source=where)


def _registry_names() -> set[str]:
    from errata import data

    return set(data.REGISTRY)
