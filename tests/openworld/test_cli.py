"""The `errata openworld` and `errata predict` commands: a run, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("open_clip", reason="needs the 'openworld' extra (uv sync --extra openworld)")
pytest.importorskip("faiss", reason="needs the 'openworld' extra (uv sync --extra openworld)")

ENV = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0", "COLUMNS": "200"}


def errata(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from errata.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )


def test_embed_and_index_commands(image_dir: Path, tmp_path: Path) -> None:
    r = errata(
        "openworld",
        "embed",
        "--images",
        str(image_dir),
        "--out",
        str(tmp_path / "emb"),
        "--model",
        "errata-tiny-clip",
        "--pretrained",
        "random",
        "--device",
        "cpu",
        "--workers",
        "0",
        "--shard-size",
        "10",
    )
    assert r.returncode == 0, r.stderr
    assert "weights: random weights" in r.stderr and "skipped n02109961_broken0.JPEG" in r.stderr
    assert "24 images embedded" in r.stdout and "3 shards computed" in r.stdout
    r = errata(
        "openworld", "index", "--train", str(tmp_path / "emb"), "--out", str(tmp_path / "ix")
    )
    assert r.returncode == 0, r.stderr
    assert "index of 24 training images (dim 32)" in r.stdout


def test_one_line_errors(image_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = errata(
        "openworld",
        "embed",
        "--images",
        str(tmp_path / "empty"),
        "--out",
        str(tmp_path / "o"),
        "--model",
        "errata-tiny-clip",
        "--pretrained",
        "random",
    )
    assert r.returncode == 2 and r.stderr.startswith("error:") and "no images found" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    r = errata(
        "openworld",
        "embed",
        "--images",
        str(image_dir),
        "--out",
        str(tmp_path / "o"),
        "--model",
        "ViT-L-14-33",
    )
    assert r.returncode == 2 and "close matches: ViT-L-14-336" in r.stderr
    pytest.importorskip("timm", reason="needs the 'predict' extra")
    r = errata(
        "predict", "--model", "resnet5O", "--images", str(image_dir), "--out", str(tmp_path / "p")
    )
    assert r.returncode == 2 and "unknown model 'resnet5O'" in r.stderr and "resnet50" in r.stderr
    assert "Traceback" not in r.stderr
