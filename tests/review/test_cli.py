"""`errata review` commands: init, add-annotator, export, report, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from review_helpers import PASSWORD, synthetic_inputs
from typer.testing import CliRunner

from errata.cli import app


@pytest.fixture
def inputs(tmp_path):
    inp = synthetic_inputs(tmp_path)
    for m in inp["models"]:
        np.savez(
            tmp_path / f"{m.name}.npz", predictions=m.topk[:, 0], file_names=np.array(inp["names"])
        )
    return inp


def run(*args, env=None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        app, list(args), env={"ERRATA_REVIEW_PASSWORD": PASSWORD, **(env or {})}
    )


def test_init_add_export_report(tmp_path, inputs):
    proj = tmp_path / "proj"
    r = run(
        "review",
        "init",
        str(proj),
        "--labels",
        str(inputs["labels"]),
        "-p",
        str(tmp_path / "model-a.npz"),
        "-p",
        str(tmp_path / "model-b.npz"),
        "--images",
        str(inputs["images"]),
        "--classify-images",
        "5",
        "--golden",
        str(inputs["golden"]),
    )
    assert r.exit_code == 0, r.output
    info = json.loads(r.output)
    assert info["items"]["novel"] == 10 and info["items"]["classify"] == 5
    assert info["items"]["novel_golden"] == 1
    assert run("review", "add-annotator", str(proj), "ann", "--queues", "novel").exit_code == 0
    out = tmp_path / "labels.json"
    r = run("review", "export", str(proj), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert len(json.loads(out.read_text())["initial_annots"]) == 40
    r = run("review", "report", str(proj), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["images"] == 0


def test_bad_input_is_one_line_with_exit_code_2(tmp_path, inputs):
    import subprocess
    import sys

    proj = tmp_path / "proj"
    cmd = [
        sys.executable,
        "-m",
        "errata",
        "review",
        "init",
        str(proj),
        "--labels",
        str(inputs["labels"]),
        "-p",
        str(tmp_path / "missing.npy"),
    ]
    r = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env={"ERRATA_REVIEW_PASSWORD": PASSWORD, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert "missing.npy" in r.stderr and "Traceback" not in r.stderr
    assert not (proj / "project.json").exists()
    r = run("review", "export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o.json"))
    assert r.exit_code != 0
    assert "not a review project" in str(r.exception or r.output)
