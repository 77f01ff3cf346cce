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


# --- two writers at once (issue 20) -------------------------------------------------------------

A_WNID = resources.classes().wnids[6]  # stingray, an ImageNet-A class


def a_model(folder: Path, name: str) -> Path:
    names = np.array([f"imagenet-a/{A_WNID}/img_{i}.jpg" for i in range(20)])
    folder.mkdir(parents=True, exist_ok=True)
    other = int(resources.subset_classes("imagenet-a")[1])  # wrong on every other image
    np.savez(folder / f"{name}.npz", top1=np.tile([6, other], 10), file_names=names)
    return folder / f"{name}.npz"


def start(*args: str, pause: str | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    if pause:
        env["ERRATA_TEST_PAUSE_AT"] = pause
    return subprocess.Popen(
        [sys.executable, "-m", "errata", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def holding(out: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until ``proc`` holds the lock of study ``out`` (its pid is in the lock file)."""
    lock = out.parent / f".{out.name}.lock"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if lock.exists() and lock.read_text().split()[:1] == [str(proc.pid)]:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the first writer never took the lock")


def test_two_compare_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    """An ImageNet-val --rebuild and an ImageNet-A run started together: the second waits for
    the first (and says so), and the study ends with both test sets' models."""
    zoo, out = tmp_path / "zoo", tmp_path / "study"
    zoo.mkdir()
    for i in range(2):
        model(zoo, f"m{i}", i)
    assert run("compare", str(zoo), "--out", str(out)) == 0
    a = [str(a_model(tmp_path / "a", f"a{i}")) for i in range(3)]
    first = start("compare", str(zoo), "--out", str(out), "--rebuild", pause="parts-written:3")
    holding(out, first)
    second = start("compare", *a, "--out", str(out), "--dataset", "imagenet-a", "--json")
    (_, err1), (out2, err2) = first.communicate(timeout=120), second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert err2.strip().splitlines()[0].startswith("waiting: another errata run (process ")
    assert f"is writing {out}; this run goes on when it ends" in err2
    assert json.loads(out2)["counts"]["scored"] == 3
    manifest = json.loads((out / "study.json").read_text())
    assert sorted((m["dataset"], m["model"]) for m in manifest["models"]) == [
        ("imagenet-a", "a0"),
        ("imagenet-a", "a1"),
        ("imagenet-a", "a2"),
        ("imagenet-val", "m0"),
        ("imagenet-val", "m1"),
    ]
    from errata.study import query

    assert len(query(out, "SELECT * FROM models")) == 5
    assert sorted(query(out, "SELECT DISTINCT dataset FROM errors")["dataset"]) == [
        "imagenet-a",
        "imagenet-val",
    ]
    assert not siblings(out)  # no lock file, no work folder left


def test_the_settings_guard_holds_under_concurrency(tmp_path: Path) -> None:
    """Two fresh runs with other --labels at once: the second sees the first one's study and is
    refused with one line; with --no-wait it stops at once with one line."""
    zoo, out = tmp_path / "zoo", tmp_path / "study"
    zoo.mkdir()
    model(zoo, "m0", 0)
    first = start(
        "compare", str(zoo), "--out", str(out), "--labels", "real", pause="parts-written:4"
    )
    holding(out, first)
    hasty = start("compare", str(zoo), "--out", str(out), "--labels", "original", "--no-wait")
    _, err = hasty.communicate(timeout=120)
    assert hasty.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}: another errata run (process ")
    assert lines[0].endswith(
        "is writing it; run again when it has finished (or without --no-wait, to wait for it)"
    )
    second = start("compare", str(zoo), "--out", str(out), "--labels", "original")
    (_, err1), (_, err2) = first.communicate(timeout=120), second.communicate(timeout=120)
    assert first.returncode == 0, err1
    assert second.returncode == 2
    assert err2.strip().splitlines()[-1] == (
        f"error: {out}: the study's imagenet-val models were made with other settings (labels, "
        "labels_source); use --rebuild to redo them, or another --out"
    )
    manifest = json.loads((out / "study.json").read_text())
    assert manifest["settings"]["imagenet-val"]["labels"] == "real"
    assert not siblings(out)
