"""Image folders in ImageNet layout: which files are images, and which image each one is.

One scanner for every command that reads images (``errata openworld embed``, ``errata predict``,
report thumbnails; the review app checks the files it serves against the same suffixes), so all
of them see the same images in the same order. A folder is either ImageFolder-style
(``root/<wnid>/<file>``, as ImageNet train and the re-sorted validation set are) or flat
(``root/ILSVRC2012_val_00000001.JPEG`` ...). Rows are sorted by (class folder, file name), the
order torchvision's ImageFolder uses. Image identity is the file name on the validation set and
the class path (``n01498041/x.jpg``) on other test sets (:mod:`errata.core.datasets`). Decoding
lives with its users (:mod:`errata.openworld.images`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from errata.core.datasets import DEFAULT
from errata.exceptions import ErrataInputError

# what PIL decodes here, compared case-insensitively (".JPEG", ".jpg", ".Png" ...)
IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png", ".webp", ".bmp"})


def is_image(name: str | os.PathLike[str]) -> bool:
    """Whether a file name ends in an image suffix (any case).

    >>> is_image("ILSVRC2012_val_00000001.JPEG"), is_image("a.Png"), is_image("notes.txt")
    (True, True, False)
    """
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


@dataclass(frozen=True)
class ImageFolder:
    """The images of one folder, in ImageFolder order.

    Attributes
    ----------
    root : Path
        The folder.
    paths : ndarray of object, shape (n,)
        Path of each image relative to ``root`` (``"n01440764/x.JPEG"`` or ``"x.JPEG"``).
    file_names : ndarray of object, shape (n,)
        Identity of each image everywhere in errata: its base name on the validation set, its
        class path on other test sets.
    class_index : ndarray of int16, shape (n,)
        ImageNet class of each image from its wnid folder (or, for flat validation folders, from
        the original validation labels); ``-1`` when unknown.
    dataset : str
        The test set the images belong to.
    """

    root: Path
    paths: np.ndarray
    file_names: np.ndarray
    class_index: np.ndarray
    dataset: str = DEFAULT

    def __len__(self) -> int:
        return len(self.paths)

    def rows_of(self, names: object) -> np.ndarray:
        """``(m,)`` int64 row of the image of each of ``names``, ``-1`` where the folder has
        none. Validation images are found by number, whatever their folder or extension
        (``ILSVRC2012_val_00000001.JPEG`` finds ``ILSVRC2012_val_00000001.png``); other names
        by base name."""
        from errata.core.names import NameIndex, as_names

        paths = self.dataset != DEFAULT
        return NameIndex.of(as_names(self.file_names), paths=paths).rows(as_names(names))


def _sorted_entries(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


@dataclass
class Run:
    """Consecutive images of one sub-folder (``""``: flat images in the folder itself)."""

    folder: str
    count: int


def _scan(root: Path) -> tuple[list[str], list[str], list[Run]]:
    """The images in ``root`` and in its direct sub-folders, sorted by (sub-folder, name) (a flat
    image sorts under its own name): relative paths, base names, and runs (folder, count) of
    consecutive images from one sub-folder (``""``: flat images)."""
    paths: list[str] = []
    names: list[str] = []
    runs: list[Run] = []
    for e in _sorted_entries(str(root)):
        if e.is_dir():
            files = [f.name for f in _sorted_entries(e.path) if is_image(f.name) and f.is_file()]
            paths.extend(f"{e.name}/{f}" for f in files)
            names.extend(files)
            runs.append(Run(e.name, len(files)))
        elif is_image(e.name) and e.is_file():
            paths.append(e.name)
            names.append(e.name)
            if runs and runs[-1].folder == "":
                runs[-1].count += 1
            else:
                runs.append(Run("", 1))
    return paths, names, runs


def _classes(names: list[str], runs: list[Run]) -> np.ndarray:
    """ImageNet class of each image: its wnid folder's (looked up once per folder), or for a flat
    validation image its original label; ``-1`` otherwise."""
    from errata import resources
    from errata.core.names import val_numbers, validation_labels_of

    wnid_index = resources.wnid_index()
    counts = [r.count for r in runs]
    cls = np.repeat(np.array([wnid_index.get(r.folder, -1) for r in runs], dtype=np.int16), counts)
    flat = np.repeat(np.array([r.folder == "" for r in runs], dtype=bool), counts)
    if flat.any():
        numbers = val_numbers(np.array(names, dtype=object)[flat])
        cls[flat] = validation_labels_of(numbers)
    return cls


def _check_utf8(root: Path, paths: list[str]) -> None:
    """Image names go into Parquet and JSON as UTF-8: a name in another encoding is refused."""
    try:
        "\0".join(paths).encode("utf-8")
    except UnicodeEncodeError:
        from errata.io.discover import shown, utf8_problem

        bad = next(p for p in paths if utf8_problem(p))
        raise ErrataInputError(
            f"{shown(root / bad)}: the image name is not UTF-8 text; errata writes image names "
            "as UTF-8: rename it"
        ) from None


def list_images(root: str | Path, *, dataset: str = DEFAULT) -> ImageFolder:
    """List the images under ``root`` (one level of class folders, or flat); ``dataset`` says
    how they are known (:mod:`errata.core.datasets`).

    Raises
    ------
    ErrataInputError
        When ``root`` is not a folder, holds no images, or two images share an identity.
    """
    from errata.core import datasets as D
    from errata.core.names import first_duplicate

    ds = D.get(dataset)

    root = Path(root)
    if not root.is_dir():
        raise ErrataInputError(
            f"{root}: not a folder (expected an image folder in ImageNet layout)"
        )
    paths, names, runs = _scan(root)
    _check_utf8(root, paths)
    if not paths:
        raise ErrataInputError(
            f"{root}: no images found (expected <class folder>/<image> or <image> files ending in "
            f"{', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    if not ds.validation:
        ids = ds.identities(np.array(paths, dtype=str))
        dup = first_duplicate(ids)
        if dup >= 0:
            raise ErrataInputError(
                f"{root}: image {paths[dup]!r} has the identity {str(ids[dup])!r} of another "
                "image (class folder and file name)"
            )
        classes = D.folder_classes(ids)
        row, why = ds.first_outside_folder(classes)
        if row >= 0:
            raise ErrataInputError(f"{root}: image {paths[row]!r} {why}")
        return ImageFolder(
            root=root,
            paths=np.array(paths, dtype=object),
            file_names=ids.astype(object),
            class_index=classes,
            dataset=ds.name,
        )
    file_names = np.array(names, dtype=object)
    dup = first_duplicate(file_names)
    if dup >= 0:
        raise ErrataInputError(
            f"{root}: file name {names[dup]!r} occurs in more than one class folder; "
            "file names identify images and must be unique (other test sets than the "
            "validation set: give --dataset)"
        )
    return ImageFolder(
        root=root,
        paths=np.array(paths, dtype=object),
        file_names=file_names,
        class_index=_classes(names, runs),
    )


def digest(names: np.ndarray) -> str:
    """A short fingerprint of an image list: resuming into output of other images is refused."""
    import hashlib

    return hashlib.sha256("\n".join(names.tolist()).encode("utf-8")).hexdigest()[:16]
