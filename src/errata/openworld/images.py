"""Batches of decoded images that skip unreadable files, and the torch device to decode for.

Shared by the embedding step (``errata openworld embed``) and batch prediction (``errata predict``)
over the images that :func:`errata.io.images.list_images` finds, so both see the same images in
the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np


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


def device_batches(
    root: Path,
    paths: np.ndarray,
    transform: Callable[[Any], Any],
    *,
    batch_size: int,
    workers: int,
    device: str,
    skipped: list[tuple[int, str]],
) -> Iterator[tuple[np.ndarray, Any]]:
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
