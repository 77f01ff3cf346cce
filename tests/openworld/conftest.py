"""Fixtures for the open-world tests: a few dozen generated images in ImageNet layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

WNIDS = ("n02109961", "n02110063", "n02110185", "n01440764")  # Eskimo dog, malamute, husky, tench


def make_folder(root: Path, *, per_class: int = 6, corrupt: int = 0, seed: int = 0) -> Path:
    """Write ``per_class`` random JPEGs into each of four wnid folders (+ ``corrupt`` bad files)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for w in WNIDS:
        (root / w).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            arr = rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / w / f"{w}_{i}.JPEG", quality=80)
    for i in range(corrupt):
        (root / WNIDS[0] / f"{WNIDS[0]}_broken{i}.JPEG").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    return root


@pytest.fixture(scope="session")
def folder_maker():
    """The image-folder writer, for tests that need a folder of their own."""
    return make_folder


@pytest.fixture(scope="session")
def class_wnids() -> tuple[str, ...]:
    return WNIDS


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("images"), corrupt=1)


@pytest.fixture(scope="session")
def tiny_clip():
    import torch

    from errata.openworld import TINY_MODEL, load_clip

    torch.manual_seed(0)
    return load_clip(TINY_MODEL, pretrained=None, device="cpu")
