"""Fixtures for the batch-prediction tests: generated images and a tiny random-weight timm model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# before Ray is imported anywhere: workers share this venv instead of re-running `uv run`
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")

TINY_MODEL = "test_resnet"  # timm's own ~0.3M-parameter test network; pretrained=False here


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    root = tmp_path_factory.mktemp("val")
    rng = np.random.default_rng(0)
    for i in range(1, 21):  # a flat validation-style folder
        Image.fromarray(rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)).save(
            root / f"ILSVRC2012_val_{i:08d}.JPEG"
        )
    (root / "ILSVRC2012_val_00000021.JPEG").write_bytes(b"\xff\xd8 truncated")
    return root


@pytest.fixture(scope="session")
def tiny_model() -> str:
    return TINY_MODEL
