"""Thumbnails of validation images for a report: found in a folder laid out as ImageNet's
validation set (flat, or one sub-folder per class), resized, re-encoded as JPEG and returned as
``data:`` URIs, until a cap on their total size."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from errata.exceptions import ErrataInputError

JPEG_QUALITY = 70  # thumbnails only need to show what is in the picture
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")  # what a validation folder may hold


def index_images(folder: str | Path) -> dict[str, Path]:
    """Map file name → path for the images in ``folder`` and its direct sub-folders.

    Names are matched with and without their suffix, so ``ILSVRC2012_val_00000001.JPEG`` finds a
    ``ILSVRC2012_val_00000001.png`` too.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ErrataInputError(
            f"--images {folder}: not a folder (expected ImageNet validation "
            "images, flat or one folder per class)"
        )
    out: dict[str, Path] = {}

    def scan(d: str) -> list[str]:
        subdirs = []
        with os.scandir(d) as it:
            for e in it:
                if e.is_dir():
                    subdirs.append(e.path)
                elif e.name.lower().endswith(IMAGE_SUFFIXES):
                    out.setdefault(e.name, Path(e.path))
                    out.setdefault(os.path.splitext(e.name)[0], Path(e.path))
        return subdirs

    for sub in scan(str(folder)):
        scan(sub)
    return out


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
    folder: str | Path, file_names: Sequence[str], *, max_bytes: int, size: int
) -> tuple[dict[str, str], dict[str, Any]]:
    """Data URIs of the images of ``file_names`` (in that order) until ``max_bytes`` of JPEG.

    Returns ``(uris by file name, stats)`` with stats ``embedded``, ``missing``, ``unreadable``,
    ``bytes`` and ``capped``. An unreadable image is skipped and counted, never fatal.
    """
    index = index_images(folder)
    uris: dict[str, str] = {}
    stats = {"embedded": 0, "missing": 0, "unreadable": 0, "bytes": 0, "capped": False}
    for name in dict.fromkeys(file_names):
        path = index.get(name) or index.get(os.path.splitext(name)[0])
        if path is None:
            stats["missing"] += 1
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
