"""Image folders in ImageNet layout, and batches of decoded images that skip unreadable files.

Shared by the embedding step (``errata openworld embed``) and batch prediction (``errata predict``),
so both see the same images in the same order. A folder is either ImageFolder-style
(``root/<wnid>/<file>``, as ImageNet train and the re-sorted validation set are) or flat
(``root/ILSVRC2012_val_00000001.JPEG`` ...). Rows are sorted by (class folder, file name), the
order torchvision's ImageFolder uses. Image identity is the file name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from errata.exceptions import ErrataInputError

IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png", ".webp", ".bmp"})  # what PIL decodes here
_WNID = re.compile(r"^n\d{8}$")  # WordNet noun id, the class folder names of ImageNet
_VAL_NAME = re.compile(r"^ILSVRC2012_val_(\d{8})\.")  # flat validation file names


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
        Base name of each image: its identity everywhere in errata.
    class_index : ndarray of int16, shape (n,)
        ImageNet class of each image from its wnid folder (or, for flat validation folders, from
        the original validation labels); ``-1`` when unknown.
    """

    root: Path
    paths: np.ndarray
    file_names: np.ndarray
    class_index: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


def list_images(root: str | Path) -> ImageFolder:
    """List the images under ``root`` (one level of class folders, or flat).

    Raises
    ------
    ErrataInputError
        When ``root`` is not a folder, holds no images, or two images share a file name.
    """
    from errata import resources

    root = Path(root)
    if not root.is_dir():
        raise ErrataInputError(
            f"{root}: not a folder (expected an image folder in ImageNet layout)"
        )
    rel: list[str] = []
    for p in sorted(root.iterdir()):
        if p.is_dir():
            rel.extend(
                f"{p.name}/{q.name}"
                for q in sorted(p.iterdir())
                if q.suffix.lower() in IMAGE_SUFFIXES and q.is_file()
            )
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            rel.append(p.name)
    if not rel:
        raise ErrataInputError(
            f"{root}: no images found (expected <class folder>/<image> or <image> files ending in "
            f"{', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    paths = np.array(rel, dtype=object)
    names = np.array([r.rsplit("/", 1)[-1] for r in rel], dtype=object)
    uniq, counts = np.unique(names, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][0]
        raise ErrataInputError(
            f"{root}: file name {dup!r} occurs in more than one class folder; "
            "file names identify images and must be unique"
        )
    wnid_index = {w: i for i, w in enumerate(resources.classes().wnids)}
    val = resources.validation_labels()
    cls = np.full(len(rel), -1, dtype=np.int16)
    for i, r in enumerate(rel):  # listing cost, once per folder; not a hot path
        folder = r.split("/", 1)[0] if "/" in r else ""
        if _WNID.match(folder):
            cls[i] = wnid_index.get(folder, -1)
        elif (m := _VAL_NAME.match(r)) and 1 <= int(m.group(1)) <= len(val):
            cls[i] = int(val[int(m.group(1)) - 1])
    return ImageFolder(root=root, paths=paths, file_names=names, class_index=cls)


def digest(names: np.ndarray) -> str:
    """A short fingerprint of an image list: resuming into output of other images is refused."""
    import hashlib

    return hashlib.sha256("\n".join(names.tolist()).encode("utf-8")).hexdigest()[:16]


class _Decoded:
    """torch Dataset over image paths that returns ``(row, tensor | None, error)``: an unreadable
    image becomes a listed skip, never an exception that kills the whole run."""

    def __init__(self, root: Path, paths: np.ndarray, transform: Callable[[Any], Any]) -> None:
        self.root, self.paths, self.transform = root, paths, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, Any, str]:
        from PIL import Image

        try:
            with Image.open(self.root / self.paths[i]) as im:
                return i, self.transform(im.convert("RGB")), ""
        except Exception as exc:  # PIL raises many types for corrupt files; all mean "skip it"
            return i, None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _collate(items: list[tuple[int, Any, str]]) -> tuple[np.ndarray, Any, list[tuple[int, str]]]:
    import torch

    ok = [(i, t) for i, t, _ in items if t is not None]
    bad = [(i, e) for i, t, e in items if t is None]
    rows = np.array([i for i, _ in ok], dtype=np.int64)
    batch = torch.stack([t for _, t in ok]) if ok else None
    return rows, batch, bad


def iter_batches(
    root: Path,
    paths: np.ndarray,
    transform: Callable[[Any], Any],
    *,
    batch_size: int,
    workers: int = 0,
) -> Iterator[tuple[np.ndarray, Any, list[tuple[int, str]]]]:
    """Decode ``paths`` (relative to ``root``) in batches.

    Yields
    ------
    rows : ndarray of int64, shape (b,)
        Positions in ``paths`` of the decoded images.
    batch : torch.Tensor of shape (b, 3, H, W), or None when the whole batch failed
    skipped : list of (row, reason)
        Images that could not be decoded.
    """
    import torch

    loader: Any = torch.utils.data.DataLoader(
        _Decoded(root, paths, transform),  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_collate,
        persistent_workers=False,
    )
    yield from loader


def device_auto(device: str = "auto") -> str:
    """``"cuda"`` when a GPU is visible, else ``"mps"`` on Apple silicon, else ``"cpu"``."""
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
