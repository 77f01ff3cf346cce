"""Shared fixtures: the reference data directory and small planted inputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Derived arrays (the taxonomy's disk cache) go to a folder of the test session's own, so
    no test reads a user's cache and every session builds them once."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ERRATA_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


# browser fixtures (one Playwright for the session): browser, chromium_page
from tests._browser import browser, chromium_page, playwright_session  # noqa: E402,F401


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The reference data (../shared/data), through ERRATA_DATA_DIR as users set it."""
    env = os.environ.get("ERRATA_DATA_DIR")
    if not env or not (Path(env) / "cleanlab_resnet").is_dir():
        pytest.skip("reference data not available: set ERRATA_DATA_DIR to ../shared/data")
    return Path(env)


@pytest.fixture(scope="session")
def resnet_top1(data_dir: Path) -> np.ndarray:
    """The reference ResNet-50's top-1 predictions, ImageFolder order."""
    return np.load(
        data_dir / "cleanlab_resnet" / "imagenet_val_set_pyx_argmax_predicted_labels.npy"
    )


@pytest.fixture(scope="session")
def real_labels():  # type: ignore[no-untyped-def]
    from errata.io.labels import load_labels

    return load_labels("real")


def listing(path: Path) -> list[str]:
    """Every file under ``path`` (to assert that a failed command wrote nothing)."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []
