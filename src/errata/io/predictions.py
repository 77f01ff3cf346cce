"""Prediction loaders (the edge) — a model's predictions: top-1, top-k or full scores, with the
image each row is for.

Accepted inputs (:func:`load_predictions`):

* ``.npy`` — one array: ``(n,)`` int top-1, ``(n, k)`` int top-k (best first), or ``(n, 1000)``
  float logits/probabilities.
* ``.npz`` — the same array under one of the keys ``predictions``, ``topk``, ``top1``, ``logits``,
  ``probs``, ``scores`` (or the only array), optionally with ``file_names``.
* ``.csv`` / ``.parquet`` — optional ``file_name`` column, then either ``top1`` … ``topk`` integer
  columns (``prediction`` is accepted for ``top1``) or 1000 numeric score columns.
* a numpy array (same shapes) from Python.

Rows are matched to images by file name. Without file names, ``order`` says which image each row is:
``"filename"`` (ILSVRC2012_val_00000001 … 00050000) or ``"imagefolder"`` (sorted by class WordNet
id, then file name — what torchvision's ImageFolder yields); ``"auto"`` (the default) tells them
apart by the top-1 accuracy against the original labels, which is near chance (0.1 %) in the
wrong order. A stated order is checked the same way: rows whose top-1 is at chance in the stated
order but fits the other one are an error, never a silent 0.1 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from errata.core import checks
from errata.core import datasets as D
from errata.core.checks import OUTSIDE, Order, choice
from errata.core.names import (
    RecentLists,
    as_names,
    base_names,
    first_duplicate,
    first_duplicate_image,
    val_numbers,
)
from errata.core.ranking import into_subset, rank_scores
from errata.exceptions import ErrataInputError, did_you_mean, row_ref
from errata.io.columns import SUBSET_WIDTHS
from errata.io.orders import ORDER_NAMES as ORDER_NAMES
from errata.io.orders import ORDERS as ORDERS
from errata.io.orders import _numbers_in
from errata.io.orders import file_names_for as file_names_for
from errata.io.orders import imagefolder_order as imagefolder_order
from errata.io.orders import order_fit as order_fit
from errata.io.orders import resolve_order as resolve_order
from errata.io.readers import INDEX_KEYS as INDEX_KEYS
from errata.io.readers import MAX_TOPK, READERS, _read_file, _read_names_file, _read_npz, rows_error
from errata.io.readers import SCORE_KEYS as SCORE_KEYS
from errata.io.table_files import Read, table_names
from errata.resources import N_CLASSES, N_VAL


@dataclass(frozen=True, eq=False)
class Predictions:
    """One model's predictions on ``n`` images.

    Attributes
    ----------
    file_names : ndarray of str, shape (n,)
        Base file name of each row's image, unique. Files without names share one read-only
        array per order, so a study matches each order once.
    topk : ndarray of int16, shape (n, k)
        Predicted class indices, best first (``k = 1`` for top-1 only).
    scores : ndarray of float32 or float64, shape (n, 1000), or None
        Logits or probabilities when given (float64 when the file holds float64).
    name : str
        Model name (the file stem by default).
    """

    file_names: np.ndarray
    topk: np.ndarray
    scores: np.ndarray | None = None
    name: str = "model"
    source: str = ""
    order: str | None = None  # the row order used, for files without file names
    numbers: np.ndarray | None = None  # (n,) validation number of each row's image, -1 other
    dataset: str = D.DEFAULT  # the test set (errata.core.datasets)
    remapped: int = 0  # rows whose top-1 was outside the subset and was re-ranked into it
    left_outside: int = 0  # rows that rank no class of the subset (their top-1 stays outside)
    notes: tuple[str, ...] = ()  # what was read how, when the file left a choice

    @property
    def top1(self) -> np.ndarray:
        """``(n,)`` top-1 class index."""
        return self.topk[:, 0]

    @property
    def k(self) -> int:
        return int(self.topk.shape[1])

    def __len__(self) -> int:
        return len(self.file_names)


def image_ids(path: str | Path, *, dataset: str | D.Dataset) -> np.ndarray:
    """The images a prediction file predicts on a test set other than the validation set
    (their class paths, checked as :func:`load_predictions` checks them), reading only the
    file's names: no score or class array is read or validated.

    Raises
    ------
    ErrataInputError
        When the file cannot be read, carries no file names (``.npy``), or its names are not
        the test set's images.
    """
    ds, path = D.get(dataset), Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ErrataInputError(
            f"{path}: unsupported extension '{path.suffix}' (expected {', '.join(READERS)})"
        )
    names = None
    if suffix == ".npz":
        names = _read_npz(path, path, None, names_only=True).names
    elif suffix in (".csv", ".parquet"):
        names = table_names(path)
    return _class_paths(names, ds, str(path))[0]


# ---------------------------------------------------------------------------------------------
# validation


def _to_topk(
    arr: np.ndarray, where: str, keep_scores: bool = True, dataset: D.Dataset | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Interpret a raw array as (topk int16, scores or None); raise on anything else. Scores of
    a subset test set are restricted to its classes before the ranking."""
    ds = D.get(dataset)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ErrataInputError(
            f"{where}: expected shape (n,), (n, k) or (n, 1000); got {arr.shape}"
        )
    if arr.dtype.kind not in "iuf":
        raise ErrataInputError(f"{where}: expected numbers; got dtype {arr.dtype}")
    if arr.ndim == 2 and arr.dtype.kind == "f" and arr.shape[1] > MAX_TOPK:
        subset = ds.subset is not None
        if arr.shape[1] == N_CLASSES:
            return rank_scores(arr, where, keep_scores, mask=ds.mask if subset else None)
        if subset and arr.shape[1] == ds.n_classes:
            return rank_scores(arr, where, keep_scores, columns=ds.classes)
        if arr.shape[1] in SUBSET_WIDTHS:
            raise ErrataInputError(
                f"{where}: {arr.shape[1]} float columns; expected "
                + (
                    f"1000 scores or {ds.n_classes} (one per class of {ds.title}, in its class "
                    f"order: errata datasets classes {ds.name})"
                    if subset
                    else f"1000 scores (logits or probabilities) for {ds.title}; "
                    f"{arr.shape[1]} columns are the scores of a 200-class test set: give "
                    "--dataset imagenet-a or --dataset imagenet-r"
                )
            )
        hint = (
            "; a 1001-column array usually has a background class at column 0 (TF-slim "
            "models): drop column 0"
            if arr.shape[1] == N_CLASSES + 1
            else ""
        )
        raise ErrataInputError(
            f"{where}: {arr.shape[1]} float columns; expected 1000 scores (logits or "
            f"probabilities) or up to {MAX_TOPK} ranked class indices{hint}"
        )
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
    if idx.shape[1] > MAX_TOPK:
        raise ErrataInputError(
            f"{where}: {idx.shape[1]} integer columns; expected up to {MAX_TOPK} ranked class "
            "indices (top-k), or 1000 float score columns"
        )
    lo, hi = idx.min(), idx.max()
    if lo < 0 or hi >= N_CLASSES:
        bad = (idx < 0) | (idx >= N_CLASSES)
        row = int(np.nonzero(bad)[0][0])
        hint = ""
        if hi == N_CLASSES and lo >= 1:  # 1 … 1000 and no 0: shifted by a background class
            hint = (
                "; the file looks like it uses 1001 classes with a background class at 0 "
                "(TF-slim): subtract 1 from every index"
            )
        raise ErrataInputError(
            f"{where}: {row_ref(where, row)}: class index {int(idx[bad][0])} is outside 0-999{hint}"
        )
    if idx.shape[1] > 1:
        ranked = np.sort(idx, axis=1)
        dup = (ranked[:, 1:] == ranked[:, :-1]).any(axis=1)
        if dup.any():
            row = int(np.flatnonzero(dup)[0])
            raise ErrataInputError(
                f"{where}: {row_ref(where, row)}: ranked classes {idx[row].tolist()} repeat a "
                "class; each of the top-k columns must be another class"
            )
    return idx.astype(np.int16), None


def load_predictions(
    predictions: str | Path | np.ndarray | Predictions,
    *,
    order: Order = "auto",
    file_names: str | Path | np.ndarray | list[str] | None = None,
    name: str | None = None,
    keep_scores: bool = True,
    content: bytes | None = None,
    dataset: str | D.Dataset = D.DEFAULT,
    outside: D.Outside = "error",
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
    keep_scores : bool
        Keep the score matrix of logits / probabilities (``Predictions.scores``); a study only
        needs the ranked classes.
    content : bytes, optional
        The file's bytes, already read (a study reads each file once to hash and parse it).
    dataset : str
        The test set (:mod:`errata.core.datasets`): ``imagenet-val`` (default),
        ``imagenet-v2``, ``imagenet-a``, ``imagenet-r``. Outside the validation set the rows
        need file names (class paths), and on a 200-class set scores are restricted to its
        classes before the ranking.
    outside : {"error", "map"}
        On a subset test set, a top-1 class outside the subset is an error, or (``"map"``) the
        row takes the first of its ranked classes inside the subset (see
        :mod:`errata.core.datasets`).

    Raises
    ------
    ErrataInputError
        On anything that is not one model's predictions for distinct images, with the file and the
        row or field named.
    """
    if isinstance(predictions, Predictions):
        return predictions
    ds = D.get(dataset)
    outside = choice(outside, OUTSIDE, keyword="outside")
    order = choice(order, checks.ORDERS, keyword="order")
    names_field = (
        file_names
        if isinstance(file_names, str)
        and not Path(file_names).suffix
        and not Path(file_names).is_file()
        else None
    )
    registry_order = None
    if isinstance(predictions, np.ndarray):
        where, read = "predictions array", Read(predictions, None)
        label = name or "model"
    else:
        rows = N_VAL if ds.validation and file_names is None else None
        path, registry_order = _prediction_path(predictions)
        if path.suffix.lower() == ".npy" and not ds.validation and file_names is None:
            _class_paths(None, ds, str(path))  # names are needed, and a .npy has none: unread
        where, read = str(path), _read_file(path, content, names_field, ds, rows)
        label = name or (str(predictions) if str(predictions) in _registry_names() else path.stem)
    arr, names, notes = read
    topk, scores = _to_topk(np.asarray(arr), where, keep_scores, ds)
    n = topk.shape[0]
    if names is not None and len(names) != n:
        raise ErrataInputError(
            f"{where}: {len(names)} file names for {n} prediction rows; expected one per row"
        )

    if file_names is not None and names_field is None:
        if names is not None:
            notes += (f"{where}: its own file names were replaced by those of --file-names",)
        names = _given_names(file_names, n, where)
    remapped = left = 0
    if ds.subset is not None and scores is None:
        topk, remapped, left = into_subset(topk, ds, outside, where)
    names, numbers, used_order = _image_names(names, topk, ds, order, registry_order, where)
    return Predictions(
        file_names=names,
        topk=topk,
        scores=scores,
        name=label,
        source=where,
        order=used_order,
        numbers=numbers,
        dataset=ds.name,
        remapped=remapped,
        left_outside=left,
        notes=tuple(notes),
    )


def _given_names(file_names: str | Path | np.ndarray | list[str], n: int, where: str) -> np.ndarray:
    """The file names given beside the predictions (``--file-names``: a file, or an array),
    one per prediction row."""
    if isinstance(file_names, (str, Path)):
        names = _read_names_file(Path(file_names))
        names_where = str(file_names)
    else:
        names = as_names(file_names)
        names_where = "file_names"
    if len(names) != n:
        raise ErrataInputError(
            f"{names_where}: {len(names)} file names for {n} prediction rows "
            f"in {where}; expected one name per row"
        )
    return names


def _image_names(
    names: np.ndarray | None,
    topk: np.ndarray,
    ds: D.Dataset,
    order: Order,
    registry_order: str | None,
    where: str,
) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """Each row's image: ``(file_names, validation numbers, row order used)`` — the class
    paths outside the validation set, the detected row order of a file without names, or its
    names, each image once."""
    if not ds.validation:
        names, numbers = _class_paths(names, ds, where)
        return names, numbers, None
    if names is None:
        if len(topk) != N_VAL:
            raise rows_error(where, len(topk))
        used_order = resolve_order(topk[:, 0], order, where, known=registry_order)
        return file_names_for(used_order), _numbers_in(used_order), used_order
    names = base_names(names)
    numbers = val_numbers(names)
    row = first_duplicate_image(names, numbers)
    if row >= 0:
        raise ErrataInputError(
            f"{where}: {row_ref(where, row)}: duplicate file name '{names[row]}'; "
            "each image may appear once"
        )
    return names, numbers, None


def _prediction_path(predictions: str | Path) -> tuple[Path, str | None]:
    """The file a prediction argument names (a path, or a registry name: its verified file and
    row order); a folder or a missing file is an error."""
    path = Path(predictions)
    registry_order = None
    if not path.exists():
        from errata.io import data

        name = data.registry_name(str(predictions))
        if name is None:
            close = did_you_mean(str(predictions), data.REGISTRY)
            raise ErrataInputError(
                f"{path}: file not found"
                + (f", nor a registry name (errata data list){close}" if close else "")
            )
        path = data.path(name)
        registry_order = data.REGISTRY[name].order
    if path.is_dir():
        raise ErrataInputError(
            f"{path}: is a folder; give one prediction file (errata compare takes folders)"
        )
    return path, registry_order


KEEP_PATHS = 4  # name lists remembered: a zoo's files share one or two
_SEEN_PATHS: RecentLists[np.ndarray] = RecentLists(KEEP_PATHS)  # per dataset: class paths


def _class_paths(
    names: np.ndarray | None, ds: D.Dataset, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """The identities (class paths) of the rows of a test set other than the validation set,
    checked: present, distinct, and on a subset set in one of its class folders. A name list
    seen in one of the last files (a zoo's files share one) is not parsed and checked again."""
    if names is None:
        raise ErrataInputError(
            f"{where}: {ds.title} predictions need the file name of each row (a file_name "
            "column/array or --file-names), as '<class folder>/<file name>': the images of "
            f"{ds.title} are known by their class folder and file name"
        )
    seen = _SEEN_PATHS.get(names, ds.name)
    if seen is not None:
        return seen, np.full(len(seen), -1, dtype=np.int64)
    ids = ds.identities(names)
    row = first_duplicate(ids)
    if row >= 0:
        raise ErrataInputError(
            f"{where}: {row_ref(where, row)}: duplicate image '{ids[row]}'; each image may "
            "appear once (outside the validation set an image is its class folder and file name)"
        )
    if ds.subset is not None:
        row, why = ds.first_outside_folder(D.folder_classes(ids))
        if row >= 0:
            raise ErrataInputError(f"{where}: {row_ref(where, row)}: '{names[row]}' {why}")
    ids.setflags(write=False)
    _SEEN_PATHS.put(np.array(names), ids, ds.name)
    return ids, np.full(len(ids), -1, dtype=np.int64)


def _registry_names() -> set[str]:
    from errata.io import data

    return set(data.REGISTRY)
