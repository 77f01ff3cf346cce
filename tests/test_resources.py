"""Package resources: equal to what tools/ would generate, and consistent with ../shared/data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from errata import resources
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import sources  # noqa: E402

RESOURCE_FILES = [
    "classes.tsv",
    "validation_labels.npy",
    "real_labels.npz",
    "imagenet_a_classes.tsv",
    "imagenet_r_classes.tsv",
]


@pytest.mark.skipif(
    sources.wheel_path("timm") is None or sources.wheel_path("tensorflow-datasets") is None,
    reason="source wheels not fetched (make sources)",
)
def test_resources_equal_a_fresh_rebuild(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_resources.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    for name in RESOURCE_FILES + [f + ".source.json" for f in RESOURCE_FILES]:
        assert (tmp_path / name).read_bytes() == resources.read_bytes(name), name


@pytest.mark.parametrize("name", RESOURCE_FILES)
def test_every_resource_records_source_and_license(name: str) -> None:
    meta = resources.source_of(name)
    assert meta["license"] and meta["source"]["package"] and meta["source"]["version"]
    assert len(meta["source"]["wheel_sha256"]) == 64


def test_classes_are_sorted_wordnet_ids() -> None:
    c = resources.classes()
    assert len(c.wnids) == 1000 and list(c.wnids) == sorted(c.wnids)
    assert c.names[0] == "tench" and c.wnids[0] == "n01440764"
    assert all(d for d in c.definitions)


def test_validation_labels_agree_with_cleanlab(data_dir: Path) -> None:
    paths = json.loads(
        (data_dir / "cleanlab_resnet" / "imagenet_val_set_index_to_filepath.json").read_text()
    )
    original = np.load(data_dir / "cleanlab_resnet" / "imagenet_val_set_original_labels.npy")
    numbers = np.array([int(p.split("_")[-1][:8]) - 1 for p in paths])
    assert np.array_equal(resources.validation_labels()[numbers], original)
    # the folder in each path is the WordNet id of the label
    wnids = np.array(resources.classes().wnids)
    assert all(p.split("/")[1] == w for p, w in zip(paths[::997], wnids[original[::997]]))


def test_real_labels_agree_with_shared_real_json(data_dir: Path) -> None:
    real = json.loads((data_dir / "real_raters" / "real.json").read_text())
    indptr, indices = resources.real_labels()
    assert len(indptr) == 50001
    rebuilt = [indices[indptr[i] : indptr[i + 1]].tolist() for i in range(50000)]
    assert rebuilt == real
