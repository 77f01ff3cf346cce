"""Image folders: what counts as an image, ImageFolder order, the class of each image, and
finding an image by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from errata import resources
from errata.exceptions import ErrataInputError
from errata.io.images import is_image, list_images


def _touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


def test_class_folders_and_flat_validation_images(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "ILSVRC2012_val_00000001.JPEG",
        "ILSVRC2012_val_00050001.jpg",  # no such validation image
        "ILSVRC2012_val_00000002.Png",  # suffixes in any case
        "own.webp",
        "notes.txt",
        "n01443537/b.bmp",
        "n01440764/a.JPEG",
        "n01440764/readme.md",
        "n01440764/deeper/c.jpg",  # one level of class folders only
        "n99999999/d.jpg",  # a wnid no class has
        "misc/ILSVRC2012_val_00000003.JPEG",  # not a class folder: class unknown
    )
    folder = list_images(tmp_path)
    assert folder.paths.tolist() == [
        "ILSVRC2012_val_00000001.JPEG",
        "ILSVRC2012_val_00000002.Png",
        "ILSVRC2012_val_00050001.jpg",
        "misc/ILSVRC2012_val_00000003.JPEG",
        "n01440764/a.JPEG",
        "n01443537/b.bmp",
        "n99999999/d.jpg",
        "own.webp",
    ]  # torchvision's ImageFolder order: by folder, then file name
    assert folder.file_names.tolist()[3:5] == ["ILSVRC2012_val_00000003.JPEG", "a.JPEG"]
    val = resources.validation_labels()
    assert folder.class_index.dtype == np.int16
    assert folder.class_index.tolist() == [val[0], val[1], -1, -1, 0, 1, -1, -1]
    assert len(folder) == 8 and is_image("x.JPG") and not is_image("x.jpeg.txt")


def test_rows_of_finds_validation_images_by_number(tmp_path: Path) -> None:
    _touch(tmp_path, "n01440764/ILSVRC2012_val_00000293.png", "n01440764/own.JPEG")
    folder = list_images(tmp_path)
    rows = folder.rows_of(["ILSVRC2012_val_00000293.JPEG", "own.JPEG", "own.png", "other.JPEG"])
    assert rows.tolist() == [0, 1, -1, -1]


@pytest.mark.parametrize(
    ("names", "match"),
    [
        ((), "no images found"),
        (("notes.txt",), "no images found"),
        (("n01440764/x.JPEG", "n01443537/x.JPEG"), "'x.JPEG' occurs in more than one"),
    ],
)
def test_bad_folders_are_one_line(tmp_path: Path, names: tuple[str, ...], match: str) -> None:
    _touch(tmp_path, *names)
    with pytest.raises(ErrataInputError, match=match):
        list_images(tmp_path)
    with pytest.raises(ErrataInputError, match="not a folder"):
        list_images(tmp_path / "missing")
