"""Many models at once: stacked results equal single-model results; bad files are skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import errata
from errata import resources
from errata.study import compare, query


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """100 prediction files: 99 good ones (some near-perfect, some random) and one corrupt."""
    folder = tmp_path_factory.mktemp("zoo")
    truth = resources.validation_labels().astype(np.int64)
    rng = np.random.default_rng(0)
    for m in range(99):
        acc = 0.5 + 0.005 * m
        pred = np.where(rng.random(truth.size) < acc, truth, rng.integers(0, 1000, truth.size))
        np.save(folder / f"m{m:03d}.npy", pred.astype(np.int16))
    (folder / "m050_corrupt.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    return folder


def test_corrupt_file_is_skipped_and_others_analysed(zoo: Path, tmp_path: Path) -> None:
    study = compare([zoo], labels="real", out=tmp_path / "study", batch=32)
    assert len(study.models) == 99
    assert len(study.failed) == 1 and "m050_corrupt.npy" in study.failed[0]["error"]
    assert json.loads((tmp_path / "study" / "failed.json").read_text())[0]["path"].endswith(
        "m050_corrupt.npy"
    )
    # stacked results equal the one-model pipeline
    one = errata.analyze(zoo / "m017.npy", labels="real")
    row = study.models.set_index("model").loc["m017"]
    assert row["top1"] == pytest.approx(one.metrics["top1"]["value"])
    assert row["real"] == pytest.approx(one.metrics["real"]["value"])
    assert row["errors"] == one.summary["errors"]
    assert row["n_fine_grained"] == one.summary["categories"]["fine-grained"]["count"]
    assert row["mla_minor"] == pytest.approx(one.summary["mla_variants"]["mla_minor"]["value"])
    # the errors table holds every model's errors and is queryable
    counts = query(tmp_path / "study", "SELECT model, count(*) AS n FROM errors GROUP BY model")
    assert len(counts) == 99
    assert int(counts.set_index("model").loc["m017", "n"]) == one.summary["errors"]
    assert (study.models["top1"].diff().dropna() > -0.02).all()  # accuracy rises with m


def test_cli_exit_code_says_a_file_was_skipped(zoo: Path, tmp_path: Path) -> None:
    files = [str(zoo / "m000.npy"), str(zoo / "m001.npy"), str(zoo / "m050_corrupt.npy")]
    done = subprocess.run(
        [sys.executable, "-m", "errata", "compare", *files, "--out", str(tmp_path / "s"), "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    out = json.loads(done.stdout)
    assert out["counts"]["models"] == 2 and out["counts"]["failed"] == 1
    q = subprocess.run(
        [
            sys.executable,
            "-m",
            "errata",
            "query",
            str(tmp_path / "s"),
            "SELECT count(*) AS n FROM models",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert q.returncode == 0 and json.loads(q.stdout) == [{"n": 2}]
    bad = subprocess.run(
        [sys.executable, "-m", "errata", "query", str(tmp_path / "s"), "SELECT nope FROM models"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: query:")


def test_empty_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "errata", "compare", str(tmp_path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no prediction files" in done.stderr
    assert not (tmp_path / "o").exists()
