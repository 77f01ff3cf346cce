"""Test sets: which images a prediction file is about, how each image is known, where its
label comes from, and which classes it is scored over.

=============  ============================================================================
imagenet-val   the 50,000 ILSVRC2012 validation images (the default). An image is known by
               its number: ``val/n01440764/ILSVRC2012_val_00000293.JPEG``,
               ``ILSVRC2012_val_00000293`` and ``ILSVRC2012_val_00000293.png`` are one image;
               its label is the original validation label. All 1000 classes.
imagenet-v2    ImageNetV2 (Recht et al. 2019; the matched-frequency, threshold-0.7 and
               top-images variants alike): 10 images per class in class folders. All 1000
               classes. Its folders are class indices (``3/7c8a….jpeg``) in the original
               release and WordNet ids in the re-packed one; both name the same image.
imagenet-a     ImageNet-A (Hendrycks et al. 2021): 7,500 natural adversarial images of a
               200-class subset, in WordNet-id class folders.
imagenet-r     ImageNet-R (Hendrycks et al. 2021): 30,000 renditions of a 200-class subset,
               in WordNet-id class folders.
=============  ============================================================================

**Image identity outside the validation set** is the image's *class path*: its class folder
and its file name, ``n01498041/0.000116_digital clock _ digital clock_0.865662.jpg``. File names
there are only unique within a class folder, so the folder is part of the identity. Any
directories above the class folder are dropped (``/data/imagenet-a/n01498041/x.jpg`` is
``n01498041/x.jpg``), a class folder is written as its WordNet id (ImageNet-V2's ``3/x.jpeg``
is ``n01491361/x.jpeg``), and a name whose parent folder is not a class folder is known by its
file name alone. The class folder is
also the image's label. A label file whose names carry no class folder (Shankar et al.'s keys
may be bare file names) matches the image of that file name in whichever folder it is.

**Subsets**: on ImageNet-A and -R a model's 1000 scores are restricted to the 200 classes before
the arg-max (as the published ImageNet-A evaluation does), and a score matrix of 200 columns is
read in the set's own class order (``resources/imagenet_{a,r}_classes.tsv``, from timm). A top-1
file can only be checked: a class outside the subset is an error, or, with ``outside="map"``,
each row takes the first of its ranked classes that is in the subset (what the restricted
arg-max gives whenever the file ranks a subset class; a top-1 file has only one) and a row that
ranks none keeps its prediction, which then counts as an error. Everything is computed over
class indices in the 1000, so taxonomy, co-occurrence and categories are ImageNet's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from errata import resources
from errata.core.checks import OUTSIDE as OUTSIDE
from errata.core.checks import Outside as Outside
from errata.core.checks import choice
from errata.core.names import as_names, base_names, val_numbers, validation_labels_of
from errata.resources import N_CLASSES

DEFAULT = "imagenet-val"  # the test set of every command unless --dataset says otherwise


@dataclass(frozen=True, eq=False)
class Dataset:
    """One test set (see the module docstring).

    Attributes
    ----------
    name : str
        The ``--dataset`` value (``"imagenet-val"``, ``"imagenet-v2"``, ``"imagenet-a"``,
        ``"imagenet-r"``).
    title : str
        For tables and reports.
    validation : bool
        Its images are the ILSVRC2012 validation images (known by number).
    numeric_folders : bool
        Class folders may be class indices 0-999 (ImageNet-V2's original layout).
    subset : str or None
        Key of its class list in :data:`errata.resources.SUBSETS`; None: all 1000 classes.
    shankar : bool
        Shankar et al. (2020) annotated its images (the validation set and ImageNet-V2), so
        ``--labels shankar`` applies.
    """

    name: str
    title: str
    validation: bool = False
    numeric_folders: bool = False
    subset: str | None = None
    shankar: bool = False

    @property
    def label_sets(self) -> tuple[str, ...]:
        """The built-in label sets (``--labels NAME``) of this test set, its default first:
        ReaL on the validation set, the class folders (``original``) elsewhere."""
        first = ("real", "original") if self.validation else ("original",)
        return first + (("shankar",) if self.shankar else ())

    @property
    def classes(self) -> np.ndarray:
        """``(K,)`` int16: the classes it is scored over, as indices in the 1000, in the set's
        own class order (the columns of a K-class score matrix)."""
        if self.subset is None:
            return _all_classes()
        return resources.subset_classes(self.subset)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def mask(self) -> np.ndarray:
        """``(1000,)`` bool: the classes of the set."""
        return _mask(self.subset)

    def identities(self, names: object) -> np.ndarray:
        """The image identity of each name (see the module docstring), vectorised.

        >>> get("imagenet-a").identities(["/d/imagenet-a/n01498041/x.jpg", "y.jpg"]).tolist()
        ['n01498041/x.jpg', 'y.jpg']
        >>> get("imagenet-v2").identities(["imagenetv2-matched-frequency/3/ab.jpeg"]).tolist()
        ['n01491361/ab.jpeg']
        """
        if self.validation:
            return base_names(as_names(names))
        return class_paths(as_names(names), numeric=self.numeric_folders)

    def original(self, identities: np.ndarray) -> np.ndarray:
        """``(n,)`` int16 label of each image known from itself (``-1`` unknown): the original
        validation label by number, or the class folder of a class path."""
        if self.validation:
            return validation_labels_of(val_numbers(identities))
        return folder_classes(identities)

    def outside(self, classes: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: class indices (``-1`` ignored) that are not classes of the set."""
        classes = np.asarray(classes)
        if self.subset is None:
            return np.zeros(classes.shape, dtype=bool)
        outside: np.ndarray = (classes >= 0) & ~self.mask[np.clip(classes, 0, None)]
        return outside

    def class_list(self) -> str:
        """``'the 200 ImageNet-A classes'`` (for messages)."""
        return f"the {self.n_classes} {self.title} classes"

    def first_outside_folder(self, classes: np.ndarray) -> tuple[int, str]:
        """The first row whose class folder (``classes``: :func:`folder_classes`) is not a class
        of the set, and the end of the message that says so; ``(-1, "")`` when none is."""
        off = self.outside(classes)
        if not off.any():
            return -1, ""
        row = int(np.flatnonzero(off)[0])
        label = resources.classes().label(int(classes[row]))
        return row, f"is in class folder {label}, which is not one of {self.class_list()}"


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("imagenet-val", "ImageNet validation", validation=True, shankar=True),
        Dataset("imagenet-v2", "ImageNet-V2", numeric_folders=True, shankar=True),
        Dataset("imagenet-a", "ImageNet-A", subset="imagenet-a"),
        Dataset("imagenet-r", "ImageNet-R", subset="imagenet-r"),
    )
}


def get(name: str | Dataset | None) -> Dataset:
    """The dataset called ``name`` (``None``: :data:`DEFAULT`), matched without regard to case;
    an unknown name is a one-line error that lists the known ones and the closest."""
    if isinstance(name, Dataset):
        return name
    if name is None or name == "":
        return DATASETS[DEFAULT]
    return DATASETS[choice(name, DATASETS, keyword="dataset")]


@cache
def _all_classes() -> np.ndarray:
    out = np.arange(N_CLASSES, dtype=np.int16)
    out.setflags(write=False)
    return out


@cache
def _mask(subset: str | None) -> np.ndarray:
    out = np.zeros(N_CLASSES, dtype=bool)
    out[resources.subset_classes(subset) if subset else slice(None)] = True
    out.setflags(write=False)
    return out


def _folder_wnid(folder: str, numeric: bool) -> str:
    """The WordNet id a class folder stands for, ``""`` when it is no class folder."""
    if folder in resources.wnid_index():
        return folder
    if numeric and folder.isdigit() and 0 <= int(folder) < N_CLASSES:
        return str(resources.classes().wnids[int(folder)])
    return ""


def class_paths(names: np.ndarray, *, numeric: bool = False) -> np.ndarray:
    """Class paths: ``<class folder as wnid>/<file name>``, or the file name alone when the
    parent folder is no class folder; ``numeric``: folders ``0``-``999`` are class indices.
    Vectorised over names; the folder look-up runs once per distinct folder.

    >>> class_paths(np.array(["a/n01440764/x.jpg", "x.jpg", "data/y.jpg", "7/z.jpg"]),
    ...             numeric=True).tolist()
    ['n01440764/x.jpg', 'x.jpg', 'y.jpg', 'n01514668/z.jpg']
    """
    names = as_names(names)
    if not len(names):
        return names
    if names.dtype.itemsize and (np.strings.find(names, "\\") >= 0).any():
        names = np.asarray(np.strings.replace(names, "\\", "/"))
    head, _, base = np.strings.rpartition(names, "/")
    parent = np.strings.rpartition(head, "/")[2]
    folders, inverse = np.unique(parent, return_inverse=True)
    wnids = np.array([_folder_wnid(f, numeric) for f in folders.tolist()] + [""], dtype=str)
    canon = wnids[inverse.reshape(-1)]
    joined = np.strings.add(np.strings.add(canon, "/"), base)
    return np.asarray(np.where(canon != "", joined, base))


def folder_classes(identities: np.ndarray) -> np.ndarray:
    """``(n,)`` int16: the class of each class path's folder, ``-1`` for a bare file name.

    >>> folder_classes(np.array(["n01440764/x.jpg", "x.jpg"])).tolist()
    [0, -1]
    """
    identities = as_names(identities)
    out = np.full(len(identities), -1, dtype=np.int16)
    if not len(identities):
        return out
    folder, sep, _ = np.strings.partition(identities, "/")
    folders, inverse = np.unique(folder, return_inverse=True)
    index = resources.wnid_index()
    cls = np.array([index.get(f, -1) for f in folders.tolist()], dtype=np.int16)
    has = sep != ""
    out[has] = cls[inverse.reshape(-1)][has]
    return out


# ---------------------------------------------------------------------------------------------
# restricting a model's outputs to a subset


def expand_scores(scores: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``(n, 1000)`` scores (float64 when given float64, else float32) from ``(n, K)`` scores
    over ``classes`` (their 1000-class indices), ``-inf`` for the other classes: a subset
    model's output in ImageNet's columns."""
    dtype = np.float64 if scores.dtype == np.float64 else np.float32
    out = np.full((len(scores), N_CLASSES), -np.inf, dtype=dtype)
    out[:, classes] = scores
    return out


def first_in_subset(topk: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranked classes ``topk`` (n, k) re-ranked so that the classes of ``mask`` (1000,) come
    first, each group in its own rank order — the restricted ranking wherever a row ranks a
    subset class. Returns ``(topk, has)`` with ``has`` (n,) True where a row ranks one.

    >>> mask = np.zeros(1000, bool); mask[[5, 9]] = True
    >>> t, has = first_in_subset(np.array([[3, 9, 5], [1, 2, 4]]), mask)
    >>> t.tolist(), has.tolist()
    ([[9, 5, 3], [1, 2, 4]], [True, False])
    """
    inside = mask[topk]
    order = np.argsort(~inside, axis=1, kind="stable")
    return np.take_along_axis(topk, order, axis=1), inside.any(axis=1)


__all__ = [
    "DATASETS",
    "DEFAULT",
    "OUTSIDE",
    "Dataset",
    "Outside",
    "class_paths",
    "expand_scores",
    "first_in_subset",
    "folder_classes",
    "get",
]
