"""The report options of the CLI: `errata diff` end to end, and bad options that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from errata.cli import app
from tests.report.conftest import write_zoo

runner = CliRunner()


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> list[Path]:  # type: ignore[no-untyped-def]
    return write_zoo(tmp_path_factory.mktemp("cli"), 2)


def test_diff_command_prints_and_writes_the_report(zoo: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "d.html"
    res = runner.invoke(
        app,
        ["diff", str(zoo[0]), str(zoo[1]), "--labels", "original", "--report", str(out), "--json"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["a"] == "model_00" and data["b"] == "model_01"
    assert data["fixed"] > data["introduced"]  # model_01 is the more accurate one
    total = sum(sum(row.values()) for row in data["transitions"].values())
    assert total == data["images"]
    assert out.exists() and "transitions" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "args, message",
    [
        (["analyze", "{a}", "--report", "{tmp}/r.txt"], "expected an .html"),
        (["analyze", "{a}", "--report", "{tmp}/r.html", "--no-errors"], "drop --no-errors"),
        (["analyze", "{a}", "--report", "{tmp}/r.html", "--images", "{tmp}/none"], "not a folder"),
        (
            [
                "compare",
                "{a}",
                "--out",
                "{tmp}/s",
                "--report",
                "{tmp}/s.html",
                "--metadata",
                "{tmp}/m.csv",
            ],
            "no 'model' column",
        ),
        (["diff", "{a}", "{a}", "--report", "{tmp}/d.txt"], "expected an .html"),
    ],
)
def test_bad_report_options_fail_in_one_line(
    zoo: list[Path], tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "m.csv").write_text("name,arch\nx,cnn\n")
    argv = [a.format(a=zoo[0], tmp=tmp_path) for a in args]
    res = runner.invoke(app, argv)
    assert res.exit_code != 0
    assert message in str(res.exception) or message in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def _report_stderr(zoo: list[Path], tmp_path: Path, *extra: str, tty: bool) -> str:
    """stderr of `errata analyze --report` on a pseudo-terminal (tty) or a pipe."""
    import os
    import pty
    import subprocess
    import sys

    args = [sys.executable, "-m", "errata", "analyze", str(zoo[0]), "--labels", "original"]
    args += ["--report", str(tmp_path / "r.html"), *extra]
    if not tty:
        res = subprocess.run(args, capture_output=True, text=True, check=True)
        return res.stderr
    leader, follower = pty.openpty()
    env = os.environ | {"COLUMNS": "100", "TERM": "xterm"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait() == 0
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_report_shows_progress_on_a_terminal_only(zoo: list[Path], tmp_path: Path) -> None:
    shown = _report_stderr(zoo, tmp_path, tty=True)
    assert "report figures" in shown or "report population" in shown, shown[:500]
    assert _report_stderr(zoo, tmp_path, "--quiet", tty=True).strip() == ""
    assert _report_stderr(zoo, tmp_path, tty=False) == ""
    assert (tmp_path / "r.html").stat().st_size > 10_000
