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

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from errata import resources
from errata.core import datasets as D
from errata.core.labelset import LabelSet
from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError, arg, did_you_mean
from errata.io.label_csv import from_csv
from errata.io.label_files import _class_index_of as _class_index_of  # the review app's too
from errata.io.label_files import from_json, from_shankar, shankar_wrong
from errata.resources import val_file_names

__all__ = [
    "LabelSet",
    "default_labels",
    "folder_labels",
    "from_csv",
    "from_json",
    "from_shankar",
    "load_labels",
    "original",
    "real",
    "shankar_wrong",
]


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


class FileLoader(Protocol):
    """A label file's reader: its path and test set in, a label set out."""

    def __call__(self, path: str | Path, *, dataset: str | D.Dataset = ...) -> LabelSet: ...


FILE_LOADERS: dict[str, FileLoader] = {".json": from_json, ".csv": from_csv}


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
