"""Fixtures of the report tests: a small synthetic model analysed on a planted taxonomy (fast),
a small study of synthetic models, and a headless Chromium (Debian's, through Playwright)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import errata
from errata.core.evidence import Taxonomy
from errata.core.labelset import LabelSet
from tests import planted as P

VAL = "ILSVRC2012_val_{:08d}.JPEG"
# strings that would run script if a report forgot to escape them
PAYLOAD = "<script>window.__pwned=1</script>"
PAYLOAD_ATTR = "<img src=x onerror=window.__pwned=2>"  # no slash: fits in a file name
N_IMAGES = 400


def planted_taxonomy(
    names: tuple[str, ...] = ("fish", "birds", "tools", "vehicles"),
) -> Taxonomy:
    """Four superclasses of 250 consecutive classes, one overlap pair, two group splits."""
    lca = np.full((1000, 1000), 8, dtype=np.int16)
    same = np.arange(1000)[:, None] // 250 == np.arange(1000)[None, :] // 250
    lca[same] = 2
    np.fill_diagonal(lca, 0)
    half = np.arange(1000) < 500
    groups = {
        "wordnet": np.where(half, "organism", "artifact"),
        "shankar": np.where(
            np.arange(1000) < 100, "dogs", np.where(half, "other organisms", "objects")
        ),
    }
    from errata import resources

    tax = P.taxonomy(
        {n: range(250 * i, 250 * (i + 1)) for i, n in enumerate(names)},
        overlap=[(0, 1), (1, 0)],
        lca=lca,
        groups=groups,
    )
    import dataclasses

    return dataclasses.replace(tax, class_names=np.asarray(resources.classes().names), _cache={})


def synthetic_labels(*, odd_name: str | None = None) -> LabelSet:
    """``N_IMAGES`` validation images with their real original labels; every third image also
    accepts the next class. With ``odd_name``, the last image gets that file name instead."""
    from errata import resources

    n = N_IMAGES
    names = [VAL.format(i + 1) for i in range(n)]
    if odd_name is not None:
        names[-1] = odd_name
    original = resources.validation_labels()[:n].astype(np.int64)
    correct = [[int(o)] for o in original]
    for i in range(0, n, 3):
        correct[i] = sorted({int(original[i]), int((original[i] + 1) % 1000)})
    return P.label_set(
        correct,
        original.tolist(),
        problematic=(np.arange(n) % 50 == 7).tolist(),
        names=names,
    )


def synthetic_top1(labels: LabelSet, seed: int, accuracy: float) -> np.ndarray:
    """Predictions: right with probability ``accuracy``, else mostly within the superclass."""
    rng = np.random.default_rng(seed)
    orig = labels.original.astype(np.int64)
    u = rng.random(len(orig))
    same = (orig // 250) * 250 + rng.integers(0, 250, len(orig))
    other = rng.integers(0, 1000, len(orig))
    top1 = np.where(u < accuracy, orig, np.where(u < accuracy + (1 - accuracy) * 0.6, same, other))
    return top1.astype(np.int64)


def synthetic_analysis(
    *,
    name: str = "toy-model",
    odd_name: str | None = None,
    superclass_names: tuple[str, ...] | None = None,
    seed: int = 0,
    accuracy: float = 0.7,
):  # type: ignore[no-untyped-def]
    from errata.analysis import analyze

    labels = synthetic_labels(odd_name=odd_name)
    tax = planted_taxonomy(superclass_names) if superclass_names else planted_taxonomy()
    return analyze(
        synthetic_top1(labels, seed, accuracy),
        labels=labels,
        file_names=labels.file_names,
        name=name,
        options=errata.Options(taxonomy=tax, n_resamples=20),
    )


@pytest.fixture(scope="session")
def small_analysis():  # type: ignore[no-untyped-def]
    return synthetic_analysis()


def write_images(folder: Path, file_names: list[str], size: tuple[int, int] = (96, 128)) -> None:
    """A tiny image folder made here (PIL): one plain JPEG per file name, each its own colour."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(file_names):
        pixel = np.zeros((*size, 3), dtype=np.uint8)
        pixel[..., i % 3] = 40 + (37 * i) % 200
        Image.fromarray(pixel).save(folder / name, format="JPEG")


def write_zoo(folder: Path, n_models: int, *, odd_stem: str | None = None) -> list[Path]:
    """``n_models`` prediction files (.npz with file names) of increasing accuracy."""
    labels = synthetic_labels()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for m in range(n_models):
        stem = odd_stem if (odd_stem and m == 0) else f"model_{m:02d}"
        path = folder / f"{stem}.npz"
        np.savez(
            path,
            top1=synthetic_top1(labels, m, 0.55 + 0.35 * m / max(n_models - 1, 1)),
            file_names=np.array(labels.file_names.tolist()),
        )
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def small_study(tmp_path_factory):  # type: ignore[no-untyped-def]
    from errata.study import compare

    folder = tmp_path_factory.mktemp("zoo")
    write_zoo(folder / "preds", 12, odd_stem=PAYLOAD_ATTR)
    return compare(
        [folder / "preds"],
        labels=synthetic_labels(),
        out=folder / "study",
        options=errata.Options(taxonomy=planted_taxonomy()),
    )


# ---------------------------------------------------------------------------------------------
# the browser


@pytest.fixture()
def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: $ERRATA_SCREENSHOTS when set (to look at them), else a temp dir."""
    env = os.environ.get("ERRATA_SCREENSHOTS")
    path = Path(env) if env else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path
