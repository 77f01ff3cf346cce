"""The label files errata reads (the edge): Shankar et al.'s multi-label JSON and errata's own
JSON schema, each checked once with errors naming the file, the image and the field, and the
class parsing the CSV schema (:mod:`errata.io.label_csv`) shares."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from errata import resources
from errata.core import datasets as D
from errata.core.labelset import LabelSet
from errata.core.names import as_names, first_duplicate, first_duplicate_image, val_numbers
from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError, row_ref
from errata.io.files import read_json
from errata.resources import N_CLASSES, VAL_PREFIX


def _class_index_of(value: object, *, where: str) -> int:
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


def _classes_at(entry: Mapping[str, object], key: str, where: str) -> list[int]:
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
    path: Path, data: object, include_non_val: bool = False, ds: D.Dataset | None = None
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
    images: Mapping[str, object] = data["images"]
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
