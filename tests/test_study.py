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
from errata.exceptions import ErrataInputError
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


# --- a growing zoo ---------------------------------------------------------------------------


def _zoo(folder: Path, seeds: list[int]) -> None:
    truth = resources.validation_labels().astype(np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    for s in seeds:
        rng = np.random.default_rng(s)
        pred = np.where(rng.random(truth.size) < 0.8, truth, rng.integers(0, 1000, truth.size))
        np.save(folder / f"m{s:02d}.npy", pred.astype(np.int16))


def test_a_growing_zoo_scores_only_new_or_changed_files(tmp_path: Path) -> None:
    import os

    zoo, out = tmp_path / "zoo", tmp_path / "study"
    _zoo(zoo, [1, 2, 3, 4])
    first = compare([zoo], out=out, batch=2)
    assert first.summary["counts"] == {
        "models": 4,
        "scored": 4,
        "reused": 0,
        "removed": 0,
        "failed": 0,
    }
    errors_before = query(out, "SELECT model, count(*) AS n FROM errors GROUP BY 1")
    # grow: one new file, one changed, one touched (same bytes, new mtime), one removed
    _zoo(zoo, [5])
    changed = np.load(zoo / "m02.npy")
    changed[:1000] = 0
    np.save(zoo / "m02.npy", changed)
    os.utime(zoo / "m03.npy", ns=(1, 1))
    (zoo / "m04.npy").unlink()
    second = compare([zoo], out=out, batch=2)
    assert second.summary["counts"] == {
        "models": 4,
        "scored": 2,
        "reused": 2,
        "removed": 1,
        "failed": 0,
    }
    assert sorted(second.models["model"]) == ["m01", "m02", "m03", "m05"]
    # the rows and errors equal a study made from scratch
    fresh = compare([zoo], out=tmp_path / "fresh", batch=2)
    cols = [c for c in fresh.models.columns if c not in ("path", "dataset")]
    got = second.models.set_index("model").sort_index()[cols[1:]]
    want = fresh.models.set_index("model").sort_index()[cols[1:]]
    assert np.allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), equal_nan=True)
    sql = "SELECT model, file_name, category, evidence_label FROM errors ORDER BY 1, 2"
    assert query(out, sql).equals(query(tmp_path / "fresh", sql))
    n = query(out, "SELECT model, count(*) AS n FROM errors GROUP BY 1").set_index("model")
    assert "m04" not in n.index
    assert n.loc["m01", "n"] == errors_before.set_index("model").loc["m01", "n"]
    # nothing new: nothing scored, and every part is the same file (hard-linked), not a copy
    inodes = {p.name: p.stat().st_ino for p in (out / "errors").iterdir()}
    third = compare([zoo], out=out)
    assert third.summary["counts"]["scored"] == 0 and third.summary["counts"]["reused"] == 4
    assert {p.name: p.stat().st_ino for p in (out / "errors").iterdir()} == inodes
    # --rebuild scores everything again
    assert compare([zoo], out=out, rebuild=True).summary["counts"]["scored"] == 4


def test_a_study_of_other_settings_is_not_extended(tmp_path: Path) -> None:
    from errata.exceptions import ErrataInputError

    zoo, out = tmp_path / "zoo", tmp_path / "study"
    _zoo(zoo, [1])
    compare([zoo], out=out)
    with pytest.raises(
        ErrataInputError,
        match=r"other settings \(labels, labels_source\); use "
        r"rebuild=True to redo them, or another out folder$",  # Python names keywords
    ):
        compare([zoo], out=out, labels="original")
    assert compare([zoo], out=out, labels="original", rebuild=True).summary["counts"]["scored"] == 1


def test_a_failed_run_leaves_the_previous_study_as_it_was(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from errata.study import scoring as study_module
    from tests.conftest import listing

    zoo, out = tmp_path / "zoo", tmp_path / "study"
    _zoo(zoo, [1, 2])
    compare([zoo], out=out)
    before = {p: (out / p).read_bytes() for p in listing(out) if (out / p).is_file()}
    _zoo(zoo, [3, 4, 5])

    def broken(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(study_module, "write_part", broken)
    with pytest.raises(ErrataInputError, match="cannot write \\(disk full\\)"):
        compare([zoo], out=out, batch=1)
    after = {p: (out / p).read_bytes() for p in listing(out) if (out / p).is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study", "zoo"]  # no work folders
