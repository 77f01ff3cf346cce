"""A run killed at any point (kill -9) leaves its output folder either as it was or complete:
never a mix of two runs, never half a file. Runs are killed at each step that matters
(``ERRATA_TEST_KILL_AT``, see :func:`errata.io.files.fault_point`) and after random delays."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from errata import resources

pytestmark = pytest.mark.slow


def run(*args: str, kill_at: str | None = None) -> int:
    env = dict(os.environ)
    if kill_at:
        env["ERRATA_TEST_KILL_AT"] = kill_at
    done = subprocess.run([sys.executable, "-m", "errata", *args], env=env, capture_output=True)
    return done.returncode


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def model(tmp: Path, name: str, seed: int) -> Path:
    truth = resources.validation_labels().astype(np.int64)
    rng = np.random.default_rng(seed)
    pred = np.where(rng.random(truth.size) < 0.75, truth, rng.integers(0, 1000, truth.size))
    path = tmp / f"{name}.npy"
    np.save(path, pred.astype(np.int16))
    return path


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def test_killed_analyze_leaves_the_old_folder_or_the_new_one(tmp_path: Path) -> None:
    a, b = model(tmp_path, "a", 1), model(tmp_path, "b", 2)
    out, want = tmp_path / "out", tmp_path / "want"
    assert run("analyze", str(a), "--out", str(out)) == 0
    assert run("analyze", str(b), "--out", str(want)) == 0
    old, new = snapshot(out), snapshot(want)
    assert old != new
    outcomes = set()
    for point in ("folder-built", "folder-swapped"):
        assert run("analyze", str(b), "--out", str(out), kill_at=point) == -signal.SIGKILL
        state = snapshot(out)
        assert state in (old, new), point
        outcomes.add("old" if state == old else "new")
        assert run("analyze", str(a), "--out", str(out)) == 0  # back to the old one
        assert snapshot(out) == old and not siblings(out)  # the dead run's folder is cleaned
    assert outcomes == {"old", "new"}  # killed before the swap: old; after it: new
    for delay in (0.3, 0.6, 0.9, 1.2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "errata", "analyze", str(b), "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert snapshot(out) in (old, new), delay
        assert run("analyze", str(a), "--out", str(out)) == 0


def study_state(folder: Path) -> tuple[str, ...]:
    """The models of a study as its three tables see them; they must agree."""
    from errata.study import query

    manifest = json.loads((folder / "study.json").read_text())
    listed = sorted(m["model"] for m in manifest["models"])
    rows = sorted(query(folder, "SELECT model FROM models")["model"])
    with_errors = sorted(query(folder, "SELECT DISTINCT model FROM errors")["model"])
    assert listed == rows == with_errors
    return tuple(listed)


def test_killed_compare_leaves_the_old_study_or_the_new_one(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    for i in range(3):
        model(zoo, f"m{i}", i)
    out = tmp_path / "study"
    assert run("compare", str(zoo), "--out", str(out), "--batch", "1") == 0
    old = study_state(out)
    for i in range(3, 6):
        model(zoo, f"m{i}", i)
    new = tuple(f"m{i}" for i in range(6))
    seen = set()
    for point in ("parts-written", "folder-built", "folder-swapped"):
        code = run("compare", str(zoo), "--out", str(out), "--batch", "1", kill_at=point)
        assert code == -signal.SIGKILL
        state = study_state(out)
        assert state in (old, new), point
        seen.add(state)
        if state == new:  # start over from the old study
            for i in range(3, 6):
                (zoo / f"m{i}.npy").rename(tmp_path / f"m{i}.npy")
            assert run("compare", str(zoo), "--out", str(out), "--batch", "1") == 0
            for i in range(3, 6):
                (tmp_path / f"m{i}.npy").rename(zoo / f"m{i}.npy")
        assert study_state(out) == old
    assert seen == {old, new}
    assert run("compare", str(zoo), "--out", str(out), "--batch", "1") == 0
    assert study_state(out) == new and not siblings(out)
