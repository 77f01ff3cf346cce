"""Thumbnails of validation images for a report: found in a folder laid out as ImageNet's
validation set (flat, or one sub-folder per class; :func:`errata.io.images.list_images`),
resized, re-encoded as JPEG and returned as ``data:`` URIs, until a cap on their total size."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

from errata.io.images import ImageFolder, list_images

JPEG_QUALITY = 70  # thumbnails only need to show what is in the picture


class Stats(TypedDict):
    """What :func:`thumbnails` embedded, and what it could not."""

    embedded: int
    missing: int
    unreadable: int
    bytes: int
    capped: bool


def thumbnail(path: Path, size: int) -> bytes:
    """The image at ``path`` as a JPEG whose longer side is at most ``size`` pixels."""
    from PIL import Image

    with Image.open(path) as src:
        src.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
        im = src.convert("RGB")
        im.thumbnail((size, size))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        return buf.getvalue()


def thumbnails(
    folder: str | Path,
    file_names: Sequence[str],
    *,
    max_bytes: int,
    size: int,
    dataset: str = "imagenet-val",
    listing: ImageFolder | None = None,
) -> tuple[dict[str, str], Stats]:
    """Data URIs of the images of ``file_names`` (in that order) until ``max_bytes`` of JPEG.

    Returns ``(uris by file name, stats)`` with stats ``embedded``, ``missing``, ``unreadable``,
    ``bytes`` and ``capped``. An image is found by its file name (a validation image by its
    number, whatever its extension; an image of another test set by its class path); an
    unreadable one is skipped and counted, never fatal; so is one whose path leads out of
    ``folder`` (a symbolic link elsewhere): only images inside the folder are read. ``listing``:
    the folder already listed (:func:`errata.io.images.list_images`).
    """
    images = listing if listing is not None else list_images(folder, dataset=dataset)
    root = Path(images.root).resolve()
    wanted = list(dict.fromkeys(file_names))
    uris: dict[str, str] = {}
    stats: Stats = {"embedded": 0, "missing": 0, "unreadable": 0, "bytes": 0, "capped": False}
    for name, row in zip(wanted, images.rows_of(wanted).tolist()):
        if row < 0:
            stats["missing"] += 1
            continue
        path = (images.root / images.paths[row]).resolve()
        if not path.is_relative_to(root):
            stats["unreadable"] += 1
            continue
        try:
            data = thumbnail(path, size)
        except (OSError, ValueError):
            stats["unreadable"] += 1
            continue
        if stats["bytes"] + len(data) > max_bytes:
            stats["capped"] = True
            break
        stats["bytes"] += len(data)
        stats["embedded"] += 1
        uris[name] = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    return uris, stats
