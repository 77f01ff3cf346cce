"""Label-set loaders (the edge): the built-in sets and the file schemas, all returning one
type, :class:`errata.core.labelset.LabelSet` (sparse labels, one row per image).

Built-in sets (``load_labels(NAME)``):

==========  ====================================================================================
original    the single original ImageNet label of each of the 50,000 validation images
real        ImageNet-ReaL (Beyer et al. 2020); an image with an empty set is excluded
shankar     the multi-label set of Shankar et al. 2020 (``human_accuracy_v3.0.0.json`` from the
            data directory, see ``errata data path shankar``)
==========  ====================================================================================

A path loads a file: Shankar's JSON schema (has ``initial_annots``), or errata's own JSON or CSV
schema (see :func:`load_labels`).

Other test sets (``dataset=``, :mod:`errata.core.datasets`): ``original`` is the label of each
image's class folder (from the predictions' class paths, or an image folder given as
``labels``), ``shankar`` on ``imagenet-v2`` is the ImageNetV2 part of Shankar et al.'s file (its
keys that are not validation images), and files are read the same way with class paths as image
names (a ``file_name,label`` CSV is the simplest). ReaL covers the validation set only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from errata import resources
from errata.core import datasets as D
from errata.core.labelset import LabelSet
from errata.core.names import as_names, first_duplicate, first_duplicate_image, val_numbers
from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError, arg, did_you_mean, register_lines, row_ref
from errata.io.files import read_json
from errata.resources import N_CLASSES, VAL_PREFIX, val_file_names

__all__ = ["LabelSet", "load_labels"]


def _class_index_of(value: Any, *, where: str) -> int:
    """A class given as index (int or digit string) or WordNet id → index, else a clear error."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        idx = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        idx = int(value.strip())  # ASCII digits only: '²' is a digit to str.isdigit, not to int
    elif isinstance(value, str) and value.strip().startswith("n") and len(value.strip()) == 9:
        try:
            return resources.classes().index_of(value.strip())
        except KeyError:
            raise ErrataInputError(
                f"{where}: '{value}' is not one of the 1000 ImageNet WordNet ids"
            ) from None
    else:
        raise ErrataInputError(
            f"{where}: {value!r} is not a class (expected an index 0-999 or a WordNet id like "
            "n01440764)"
        )
    if not 0 <= idx < N_CLASSES:
        raise ErrataInputError(f"{where}: class index {idx} is outside 0-999")
    return idx


def _classes_at(entry: Mapping[str, Any], key: str, where: str) -> list[int]:
    """The class indices under ``key`` of one image's entry (missing: none); errors name
    ``where.key``."""
    value = entry.get(key, [])
    if not isinstance(value, list):
        raise ErrataInputError(
            f"{where}.{key}: {value!r} is not a list; expected a list of classes (indices 0-999 "
            "or WordNet ids like n01440764)"
        )
    return [_class_index_of(c, where=f"{where}.{key}") for c in value]


def _matrix(rows: list[list[int]], n: int) -> Csr:
    return Csr.from_lists(rows)


def _check_unique(file_names: np.ndarray, where: str, ds: D.Dataset | None = None) -> None:
    """Each image once: on the validation set two names of one image (``…00000001.JPEG`` and
    ``…00000001.png``) are one image too."""
    validation = ds is None or ds.validation
    row = first_duplicate_image(file_names) if validation else first_duplicate(file_names)
    if row >= 0:
        first = _first_name_of(file_names, row, validation)
        same = "" if first == file_names[row] else f" (the image of '{first}')"
        raise ErrataInputError(
            f"{where}: {row_ref(where, row)}: duplicate file name '{file_names[row]}'{same}; "
            "each image may appear once"
        )


def _first_name_of(file_names: np.ndarray, row: int, validation: bool) -> str:
    """The earlier name of the image of ``file_names[row]`` (for the message)."""
    if validation:
        numbers = val_numbers(file_names[: row + 1])
        if numbers[row] >= 0:
            return str(file_names[int(np.flatnonzero(numbers == numbers[row])[0])])
    return str(file_names[row])


# ---------------------------------------------------------------------------------------------
# loaders


@cache
def original() -> LabelSet:
    """The original single label of the 50,000 validation images (file-name order)."""
    orig = resources.validation_labels().astype(np.int16)
    return LabelSet(
        name="original",
        file_names=val_file_names(),
        correct=Csr.single(orig),
        unclear=Csr.empty(resources.N_VAL),
        problematic=np.zeros(resources.N_VAL, dtype=bool),
        original=orig,
        source="ILSVRC2012 validation labels (package resource)",
    )


@cache
def real() -> LabelSet:
    """ImageNet-ReaL labels; images whose ReaL set is empty are excluded from evaluation."""
    indptr, indices = resources.real_labels()
    n = resources.N_VAL
    return LabelSet(
        name="real",
        file_names=val_file_names(),
        correct=Csr(indptr, indices.astype(np.int16)),
        unclear=Csr.empty(n),
        problematic=np.zeros(n, dtype=bool),
        original=resources.validation_labels().astype(np.int16),
        source="ImageNet-ReaL (Beyer et al. 2020, package resource)",
    )


_JSON_LABELS = "a label file in Shankar's or errata's JSON schema"  # for read_json's errors


def from_shankar(
    path: str | Path, *, include_non_val: bool = False, dataset: str | D.Dataset = D.DEFAULT
) -> LabelSet:
    """Load Shankar et al.'s multi-label JSON (``human_accuracy_v3.0.0.json`` schema).

    Schema: ``initial_annots`` {file name: {"correct": [wnid], "wrong": [wnid], "unclear": [wnid]}},
    ``problematic_images`` {file name: ...}, optional ``imagenet_m`` [file names]. By default only
    ImageNet validation images (names starting ``ILSVRC2012_val_``) are kept; for
    ``dataset="imagenet-v2"`` only the others, the ImageNetV2 images Shankar et al. annotated too
    (their keys as class paths, or bare file names matched in any class folder).
    """
    path = Path(path)
    data = read_json(path, what=_JSON_LABELS)
    return _from_shankar(path, data, include_non_val, D.get(dataset))


def _from_shankar(
    path: Path, data: Any, include_non_val: bool = False, ds: D.Dataset | None = None
) -> LabelSet:
    ds = ds or D.get(None)
    if not isinstance(data, dict) or "initial_annots" not in data:
        raise ErrataInputError(
            f"{path}: missing field 'initial_annots' (expected the Shankar et al. "
            "multi-label schema: initial_annots, problematic_images, imagenet_m)"
        )
    annots = data["initial_annots"]
    if not isinstance(annots, dict):
        raise ErrataInputError(
            f"{path}: field 'initial_annots' must map file names to "
            "{correct, wrong, unclear} lists"
        )
    if ds.validation:
        names = [k for k in annots if include_non_val or k.startswith(VAL_PREFIX)]
    else:
        names = [k for k in annots if not k.startswith(VAL_PREFIX)]
    if not names:
        raise ErrataInputError(
            f"{path}: 'initial_annots' has no ImageNet validation images "
            f"(names starting '{VAL_PREFIX}')"
            if ds.validation
            else f"{path}: 'initial_annots' has no images other than ImageNet validation images "
            f"(names not starting '{VAL_PREFIX}'), so none of {ds.title}"
        )
    correct_rows, unclear_rows = [], []
    for name in names:
        entry = annots[name]
        if not isinstance(entry, dict):
            raise ErrataInputError(
                f"{path}: initial_annots['{name}'] must be an object with "
                "'correct', 'wrong', 'unclear' lists"
            )
        correct_rows.append(_classes_at(entry, "correct", f"{path}: initial_annots['{name}']"))
        unclear_rows.append(_classes_at(entry, "unclear", f"{path}: initial_annots['{name}']"))
    file_names = as_names(names) if ds.validation else ds.identities(names)
    problem = data.get("problematic_images", {}) or {}
    if not isinstance(problem, (dict, list)):
        raise ErrataInputError(f"{path}: field 'problematic_images' must be an object or a list")
    mset = data.get("imagenet_m")
    if mset is not None and not isinstance(mset, list):
        raise ErrataInputError(f"{path}: field 'imagenet_m' must be a list of file names")
    _check_unique(file_names, str(path), ds)
    flagged = as_names([str(x) for x in problem])
    return LabelSet(
        name="shankar" if path.name.startswith("human_accuracy") else path.stem,
        file_names=file_names,
        correct=_matrix(correct_rows, len(names)),
        unclear=_matrix(unclear_rows, len(names)),
        problematic=np.isin(file_names, flagged if ds.validation else ds.identities(flagged)),
        original=ds.original(file_names),
        imagenet_m=None if mset is None else np.isin(file_names, as_names([str(x) for x in mset])),
        source=f"Shankar et al. multi-label schema: {path}"
        + ("" if ds.validation else f" ({ds.title} images)"),
        dataset=ds.name,
    )


def from_json(path: str | Path, *, dataset: str | D.Dataset = D.DEFAULT) -> LabelSet:
    """errata's own JSON schema (or Shankar's, detected by its ``initial_annots`` field).

    ``{"images": {FILE_NAME: {"correct": [CLASS...], "unclear": [CLASS...], "problematic": false,
    "original": CLASS}}, "imagenet_m": [FILE_NAME...]}``; a value may also be a bare list of
    correct classes. A CLASS is an index 0-999 or a WordNet id. ``original`` defaults to the
    ImageNet validation label of the file name (outside the validation set: the label of its
    class folder).
    """
    path = Path(path)
    ds = D.get(dataset)
    data = read_json(path, what=_JSON_LABELS)
    if isinstance(data, dict) and {"initial_annots", "problematic_images"} & set(data):
        return _from_shankar(path, data, ds=ds)
    if not isinstance(data, dict) or not isinstance(data.get("images"), dict):
        raise ErrataInputError(
            f"{path}: missing field 'images' (expected errata's schema "
            '{"images": {FILE_NAME: {"correct": [...], "unclear": [...]}}} or '
            "Shankar's with 'initial_annots')"
        )
    images: Mapping[str, Any] = data["images"]
    if not images:
        raise ErrataInputError(f"{path}: field 'images' is empty")
    names = list(images)
    correct_rows, unclear_rows, problematic, orig = [], [], [], []
    for name in names:
        entry = images[name]
        where = f"{path}: images['{name}']"
        if isinstance(entry, list):
            entry = {"correct": entry}
        if not isinstance(entry, dict):
            raise ErrataInputError(
                f"{where}: expected a list of classes or an object with "
                "'correct'/'unclear'/'problematic'"
            )
        correct_rows.append(_classes_at(entry, "correct", where))
        unclear_rows.append(_classes_at(entry, "unclear", where))
        flag = entry.get("problematic", False)
        if not isinstance(flag, bool):
            raise ErrataInputError(
                f"{where}.problematic: {flag!r} is not true or false (a JSON boolean)"
            )
        problematic.append(flag)
        o = entry.get("original")
        orig.append(-1 if o is None else _class_index_of(o, where=f"{where}.original"))
    file_names = ds.identities(as_names(names))
    _check_unique(file_names, str(path), ds)
    original = np.array(orig, dtype=np.int16)
    derived = ds.original(file_names)
    original[original < 0] = derived[original < 0]
    mset = data.get("imagenet_m")
    correct = _matrix(correct_rows, len(names))
    unclear = _matrix(unclear_rows, len(names))
    _check_subset(ds, path, file_names, correct, unclear, original)
    return LabelSet(
        name=path.stem,
        file_names=file_names,
        correct=correct,
        unclear=unclear,
        problematic=np.array(problematic, dtype=bool),
        original=original,
        imagenet_m=None if mset is None else np.isin(file_names, as_names([str(x) for x in mset])),
        source=f"errata JSON label schema: {path}",
        dataset=ds.name,
    )


def from_csv(path: str | Path, *, dataset: str | D.Dataset = D.DEFAULT) -> LabelSet:
    """errata's CSV schema: columns ``file_name``, ``labels`` (classes separated by spaces or
    ``;``), and optionally ``unclear`` (same format), ``problematic`` (0/1/true/false) and
    ``original`` (one class). A class is an index 0-999 or a WordNet id. A ``file_name,label``
    CSV (one class per image) is the single-label case: ``label`` is then also the original."""
    import pandas as pd

    path = Path(path)
    ds = D.get(dataset)
    _check_csv_header(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ErrataInputError(f"{path}: cannot read as CSV ({exc})") from None
    from errata.io.table_files import csv_data_lines

    register_lines(str(path), lambda: csv_data_lines(path.read_bytes(), whitespace=True))
    single = "label" in df.columns and "labels" not in df.columns
    if single:
        df = df.rename(columns={"label": "labels"})
        if "original" not in df.columns:
            df["original"] = df["labels"]
    for col in ("file_name", "labels"):
        if col not in df.columns:
            raise ErrataInputError(
                f"{path}: missing column '{col}' (expected columns file_name, "
                "labels[, unclear, problematic, original], or file_name, label)"
            )
    if df.empty:
        raise ErrataInputError(f"{path}: no rows")
    file_names = ds.identities(as_names(df["file_name"].to_numpy(dtype=object)))
    _check_unique(file_names, str(path), ds)

    def parse(col: str) -> list[list[int]]:
        if col not in df.columns:
            return [[] for _ in range(len(df))]
        out = []
        shown = "label" if single and col == "labels" else col
        for row, cell in enumerate(df[col]):
            toks = [t for t in cell.replace(";", " ").replace(",", " ").split() if t]
            out.append(
                [
                    _class_index_of(t, where=f"{path}: {row_ref(path, row)}, column '{shown}'")
                    for t in toks
                ]
            )
        return out

    problematic = np.zeros(len(df), dtype=bool)
    if "problematic" in df.columns:
        vals = df["problematic"].str.strip().str.lower()
        bad = ~vals.isin(["", "0", "1", "true", "false", "yes", "no"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ErrataInputError(
                f"{path}: {row_ref(path, row)}, column 'problematic': "
                f"'{df['problematic'].iloc[row]}' is not 0/1/true/false"
            )
        problematic = vals.isin(["1", "true", "yes"]).to_numpy()
    original = ds.original(file_names)
    if "original" in df.columns:
        shown = "label" if single else "original"
        for row, cell in enumerate(df["original"]):
            if cell.strip():
                original[row] = _class_index_of(
                    cell, where=f"{path}: {row_ref(path, row)}, column '{shown}'"
                )
    correct = _matrix(parse("labels"), len(df))
    unclear = _matrix(parse("unclear"), len(df))
    _check_subset(ds, path, file_names, correct, unclear, original)
    return LabelSet(
        name=path.stem,
        file_names=file_names,
        correct=correct,
        unclear=unclear,
        problematic=problematic,
        original=original,
        source=f"errata CSV label schema: {path}",
        dataset=ds.name,
    )


def _check_csv_header(path: Path) -> None:
    """A label CSV names each column once, and gives its labels as ``labels`` or ``label``,
    not both (pandas would read a repeated column as ``labels.1`` and ignore it)."""
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(line for line in fh if line.strip()), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ErrataInputError(f"{path}: cannot read as CSV ({exc})") from None
    names = [h.strip() for h in header]
    for name in names:
        if names.count(name) > 1:
            raise ErrataInputError(
                f"{path}: column '{name}' appears {names.count(name)} times in the header; each "
                "column needs a name of its own"
            )
    if "label" in names and "labels" in names:
        raise ErrataInputError(
            f"{path}: columns 'label' and 'labels' both give labels; keep one (labels: several "
            "classes per image, label: one)"
        )


def _check_subset(
    ds: D.Dataset,
    path: Path,
    file_names: np.ndarray,
    correct: Csr,
    unclear: Csr,
    original: np.ndarray,
) -> None:
    """On a 200-class test set every label must be one of its classes (a model restricted to
    them could never predict another)."""
    if ds.subset is None:
        return
    for what, sets in (("labels", correct), ("unclear", unclear)):
        off = ds.outside(sets.indices)
        if off.any():
            row = int(sets.row_ids[np.flatnonzero(off)[0]])
            c = int(sets.indices[np.flatnonzero(off)[0]])
            raise ErrataInputError(
                f"{path}: image '{file_names[row]}': {what}: class "
                f"{resources.classes().label(c)} is not one of {ds.class_list()}"
            )
    off = ds.outside(original)
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ErrataInputError(
            f"{path}: image '{file_names[row]}': original class "
            f"{resources.classes().label(int(original[row]))} is not one of {ds.class_list()}"
        )


def folder_labels(file_names: np.ndarray, dataset: str | D.Dataset, *, source: str) -> LabelSet:
    """The single label of each image of a test set from its class folder (``file_names`` are
    class paths): the ``original`` label set of ImageNet-V2/-A/-R."""
    ds = D.get(dataset)
    ids = ds.identities(file_names)
    classes = D.folder_classes(ids)
    if (classes < 0).any():
        row = int(np.flatnonzero(classes < 0)[0])
        raise ErrataInputError(
            f"{source}: image '{file_names[row]}' is in no class folder, so its label is "
            f"unknown; {ds.title} images are '<class folder>/<file name>' (or give --labels "
            "with a file_name,label CSV)"
        )
    row, why = ds.first_outside_folder(classes)
    if row >= 0:
        raise ErrataInputError(f"{source}: image '{file_names[row]}' {why}")
    n = len(ids)
    return LabelSet(
        name="original",
        file_names=ids,
        correct=Csr.single(classes),
        unclear=Csr.empty(n),
        problematic=np.zeros(n, dtype=bool),
        original=classes,
        source=f"{ds.title}: the class folder of each image ({source})",
        dataset=ds.name,
    )


def _shankar_from_registry(ds: D.Dataset) -> LabelSet:
    from errata.io import data

    return from_shankar(data.path("shankar"), dataset=ds)


BUILTIN: dict[str, Callable[[], LabelSet]] = {
    "original": original,
    "real": real,
    "shankar": lambda: _shankar_from_registry(D.get(None)),
}
FILE_LOADERS: dict[str, Callable[..., LabelSet]] = {".json": from_json, ".csv": from_csv}


def default_labels(dataset: str | D.Dataset = D.DEFAULT) -> str:
    """The label set a command uses when none is given: ReaL on the validation set, the class
    folders (``original``) elsewhere."""
    return D.get(dataset).label_sets[0]


def load_labels(
    labels: str | Path | LabelSet | None = "real",
    *,
    dataset: str | D.Dataset = D.DEFAULT,
    images: np.ndarray | None = None,
) -> LabelSet:
    """Load a label set by built-in name (``original``, ``real``, ``shankar``; any case) or from
    a file. A name that is neither says which built-in name is closest (``reall``: ``real``).

    Parameters
    ----------
    labels : str, path, LabelSet or None
        ``None``: :func:`default_labels`. A folder (other test sets): its images' class folders.
    dataset : str
        The test set (:mod:`errata.core.datasets`).
    images : array of str, optional
        Other test sets: the images of ``original`` (the predictions' class paths).

    Examples
    --------
    >>> from errata.io.labels import load_labels
    >>> real = load_labels("real")
    >>> len(real), int(real.evaluated.sum())
    (50000, 46837)
    """
    ds = D.get(dataset)
    if labels is None:
        labels = default_labels(ds)
    if isinstance(labels, str) and labels not in BUILTIN and labels.lower() in BUILTIN:
        if not Path(labels).exists():  # 'Real' is 'real' (a file of that name comes first)
            labels = labels.lower()
    if isinstance(labels, LabelSet):
        if labels.dataset != ds.name:
            raise ErrataInputError(
                f"{arg('labels')}: label set '{labels.name}' is for {labels.dataset}, not {ds.name}"
            )
        return labels
    if not ds.validation and isinstance(labels, str) and labels in BUILTIN:
        if labels == "real":
            raise ErrataInputError(
                f"{arg('labels')}: ReaL labels cover the ImageNet validation images only, not "
                f"{ds.title}; "
                "use 'original' (the class folders), 'shankar' (ImageNet-V2) or a label file"
            )
        if labels == "shankar":
            if "shankar" not in ds.label_sets:
                raise ErrataInputError(
                    f"{arg('labels')}: Shankar et al. annotated ImageNet validation and "
                    "ImageNet-V2 "
                    f"images, not {ds.title}"
                )
            return _shankar_from_registry(ds)
        if images is None:
            raise ErrataInputError(
                f"{arg('labels')}: 'original' on {ds.title} takes each image's class folder from "
                "the predictions' file names; give the predictions, an image folder or a "
                f"file_name,label CSV as {arg('labels')}"
            )
        return folder_labels(images, ds, source="the predictions' file names")
    if isinstance(labels, str) and labels in BUILTIN:
        return BUILTIN[labels]()
    path = Path(labels)
    if not path.exists():
        raise ErrataInputError(
            f"{arg('labels')}: '{labels}' is neither a built-in label set "
            f"({', '.join(BUILTIN)}) nor an existing file" + did_you_mean(str(labels), BUILTIN)
        )
    if path.is_dir() and not ds.validation:
        from errata.io.images import list_images

        folder = list_images(path, dataset=ds.name)
        return folder_labels(folder.file_names.astype(str), ds, source=str(path))
    loader = FILE_LOADERS.get(path.suffix.lower())
    if loader is None:
        raise ErrataInputError(
            f"{path}: unsupported label file extension '{path.suffix}' "
            f"(expected {', '.join(FILE_LOADERS)}"
            + ("" if ds.validation else ", or a folder of class folders")
            + ")"
        )
    return loader(path, dataset=ds)


def shankar_wrong(path: str | Path) -> tuple[LabelSet, np.ndarray, Csr]:
    """Shankar et al.'s label set (:func:`from_shankar`) and the labels its raters judged
    *wrong*, per validation image: the proposals (from models and the original label) they
    rejected, as ``(labels, file_names, wrong)``; the file is read once."""
    path = Path(path)
    data = read_json(path, what=_JSON_LABELS)
    labels = _from_shankar(path, data)
    if not isinstance(data, dict) or not isinstance(data.get("initial_annots"), dict):
        raise ErrataInputError(
            f"{path}: missing field 'initial_annots' (expected the Shankar et al. schema)"
        )
    annots = data["initial_annots"]
    names = [k for k in annots if k.startswith(VAL_PREFIX) and isinstance(annots[k], dict)]
    rows = [
        _classes_at(annots[name], "wrong", f"{path}: initial_annots['{name}']") for name in names
    ]
    return labels, as_names(names), _matrix(rows, len(names))
