"""Batches of decoded images that skip unreadable files, and the torch device to decode for.

Shared by the embedding step (``errata openworld embed``) and batch prediction (``errata predict``)
over the images that :func:`errata.io.images.list_images` finds, so both see the same images in
the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import torch
    from PIL import Image

Transform = Callable[["Image.Image"], "torch.Tensor"]  # a model's eval preprocessing
Decoded = tuple[int, "torch.Tensor | None", str]  # (row, image tensor or None, why not)
Batch = tuple[
    NDArray[np.int64], "torch.Tensor | None", list[tuple[int, str]]
]  # (rows, batch, skips)


class _Decoded:
    """torch Dataset over image paths that returns ``(row, tensor | None, error)``: an unreadable
    image becomes a listed skip, never an exception that kills the whole run."""

    def __init__(self, root: Path, paths: np.ndarray, transform: Transform) -> None:
        self.root, self.paths, self.transform = root, paths, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Decoded:
        from PIL import Image

        try:
            with Image.open(self.root / self.paths[i]) as im:
                return i, self.transform(im.convert("RGB")), ""
        except Exception as exc:  # PIL raises many types for corrupt files; all mean "skip it"
            return i, None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _collate(items: list[Decoded]) -> Batch:
    import torch

    ok = [(i, t) for i, t, _ in items if t is not None]
    bad = [(i, e) for i, t, e in items if t is None]
    rows = np.array([i for i, _ in ok], dtype=np.int64)
    batch = torch.stack([t for _, t in ok]) if ok else None
    return rows, batch, bad


def iter_batches(
    root: Path,
    paths: np.ndarray,
    transform: Transform,
    *,
    batch_size: int,
    workers: int = 0,
) -> Iterator[Batch]:
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

    # a map-style dataset needs only __len__ and __getitem__; torch types it as its own class
    dataset = cast("torch.utils.data.Dataset[Decoded]", _Decoded(root, paths, transform))
    loader: Iterable[Batch] = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_collate,
        persistent_workers=False,
    )
    yield from loader


def device_batches(
    root: Path,
    paths: np.ndarray,
    transform: Transform,
    *,
    batch_size: int,
    workers: int,
    device: str,
    skipped: list[tuple[int, str]],
) -> Iterator[tuple[NDArray[np.int64], torch.Tensor]]:
    """:func:`iter_batches` moved to ``device``: yields ``(rows, batch)`` for the batches that
    decoded and appends the images that did not to ``skipped``."""
    for rows, batch, skip in iter_batches(
        root, paths, transform, batch_size=batch_size, workers=workers
    ):
        skipped.extend(skip)
        if batch is not None:
            yield rows, batch.to(device, non_blocking=True)


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
