"""The command-line tables at a real terminal's width: each command runs under a pseudo-terminal
of 80 and 100 columns (COLUMNS unset, the window size set with TIOCSWINSZ, as a terminal emulator
does), and its output must keep every model name on one line and every figure whole — no '…' —
and a table that is drawn must fit the terminal."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

ERRATA = str(Path(sys.executable).with_name("errata"))
LONG = "vit_large_patch14_clip_336.openai_ft_in12k_in1k"  # a timm name, 47 characters
WIDTHS = (80, 100)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
BOX = set("│┃┏┗└┌┡╇┼━─")


def in_terminal(args: list[str], columns: int) -> str:
    """stdout of ``errata ARGS`` written to a pseudo-terminal ``columns`` wide (stderr, where
    progress bars go, to /dev/null), without colour codes."""
    import fcntl
    import pty
    import struct
    import termios

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["NO_COLOR"] = "1"
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(
            [ERRATA, *args], stdin=follower, stdout=follower, stderr=devnull, env=env
        )
    os.close(follower)
    out = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 300)
        if not ready:
            proc.kill()
            raise AssertionError(f"errata {' '.join(args)}: no output for 300 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower closed: the command ended
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.wait(60) in (0, 1), f"errata {' '.join(args)} failed"
    return ANSI.sub("", out.decode("utf-8")).replace("\r\n", "\n")


def assert_whole(text: str, columns: int, names: list[str], figures: list[str]) -> None:
    assert "…" not in text, text
    for name in names:
        assert name in text, f"{name!r} not whole at {columns} columns:\n{text}"
    for figure in figures:
        assert re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d,]|\.\d)", text), (
            f"{figure!r} not whole at {columns} columns:\n{text}"
        )
    drawn = [line for line in text.splitlines() if BOX & set(line)]
    assert all(len(line) <= columns for line in drawn), f"a table wider than {columns}:\n{text}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    """Two top-1 files in ImageFolder order: the reference ResNet-50 ('resnet50') and the same
    with half of its errors put right, under a long timm name."""
    folder = tmp_path_factory.mktemp("runs")
    ref = data_dir / "cleanlab_resnet"
    top1 = np.load(ref / "imagenet_val_set_pyx_argmax_predicted_labels.npy")
    original = np.load(ref / "imagenet_val_set_original_labels.npy")
    better = top1.copy()
    fix = np.random.default_rng(0).random(len(top1)) < 0.5
    better[fix] = original[fix]
    np.save(folder / "resnet50.npy", top1)
    np.save(folder / f"{LONG}.npy", better)
    return folder


@pytest.fixture(scope="module")
def study(runs: Path, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("study") / "study"
    subprocess.run(
        [ERRATA, "compare", str(runs), "--order", "imagefolder", "--out", str(out), "--json"],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def study_models(study: Path):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.read_parquet(study / "models.parquet")


@pytest.mark.parametrize("columns", WIDTHS)
def test_analyze(columns: int, runs: Path) -> None:
    out = in_terminal(["analyze", str(runs / f"{LONG}.npy"), "--order", "imagefolder"], columns)
    doc = json.loads(
        subprocess.run(
            [ERRATA, "analyze", str(runs / f"{LONG}.npy"), "--order", "imagefolder", "--json"],
            check=True,
            capture_output=True,
        ).stdout
    )
    m = doc["metrics"]
    figures = [f"{100 * m['top1']['value']:.3f} %", f"{100 * m['real']['value']:.3f} %"]
    figures += [f"{c['count']:,}" for c in doc["errors"]["categories"].values()]
    assert_whole(out, columns, [LONG, "non-prototypical", "fine-grained"], figures)


@pytest.mark.parametrize("columns", WIDTHS)
def test_compare(columns: int, runs: Path, study: Path, study_models) -> None:  # type: ignore[no-untyped-def]
    out = in_terminal(
        ["compare", str(runs), "--order", "imagefolder", "--out", str(study)], columns
    )
    figures = []
    for _, r in study_models.iterrows():
        figures += [f"{100 * r[k]:.2f}" for k in ("top1", "real", "mla")]
        figures += [f"{int(r['errors']):,}", f"{int(r['n_fine_grained']):,}"]
    assert_whole(out, columns, [LONG, "resnet50"], figures)
    assert "2 models: 0 scored, 2 kept from the study" in out


@pytest.mark.parametrize("columns", WIDTHS)
def test_diff(columns: int, runs: Path) -> None:
    out = in_terminal(
        ["diff", str(runs / "resnet50.npy"), str(runs / f"{LONG}.npy"), "--order", "imagefolder"],
        columns,
    )
    assert_whole(out, columns, [LONG, "resnet50"], ["72.73 %", "77.61 %"])
    files = re.findall(r"ILSVRC2012_val_\S*", out)
    assert len(files) == 20 and all(re.fullmatch(r"ILSVRC2012_val_\d{8}\.JPEG", f) for f in files)


@pytest.mark.parametrize("columns", WIDTHS)
def test_experts(columns: int, data_dir: Path) -> None:
    out = in_terminal(["experts", "vit3b-mistakes"], columns)
    assert_whole(out, columns, ["Non-prototypical", "Fine-grained"], ["241", "378"])


@pytest.mark.parametrize("columns", WIDTHS)
def test_supersub(columns: int, study: Path, study_models) -> None:  # type: ignore[no-untyped-def]
    out = in_terminal(["supersub", str(study)], columns)
    figures = [f"{100 * v:.2f}" for v in study_models["top1"]]
    assert_whole(out, columns, [LONG, "resnet50"], figures + ["50,000"])


@pytest.mark.parametrize("columns", WIDTHS)
def test_query(columns: int, study: Path, study_models) -> None:  # type: ignore[no-untyped-def]
    out = in_terminal(
        ["query", str(study), "SELECT model, top1, real, mla, errors, n_fine_grained FROM models"],
        columns,
    )
    figures = [f"{v:.4g}" for v in study_models["top1"]] + [str(v) for v in study_models["errors"]]
    assert_whole(out, columns, [LONG, "resnet50"], figures)


@pytest.mark.parametrize("columns", WIDTHS)
def test_label_issues(columns: int, runs: Path) -> None:
    pytest.importorskip("cleanlab", reason="needs the 'labelissues' extra")
    out = in_terminal(
        [
            "label-issues",
            str(runs / "resnet50.npy"),
            str(runs / f"{LONG}.npy"),
            "--order",
            "imagefolder",
            "--truth",
            "real",
            "--top",
            "5",
        ],
        columns,
    )
    assert_whole(out, columns, [LONG, "resnet50", "ILSVRC2012_val_"], ["15,389"])


def test_records_when_too_wide() -> None:
    """A table that cannot fit is printed one record per block, every cell whole."""
    from rich.console import Console
    from rich.table import Table

    from errata.cli._tables import print_table

    t = Table(title="wide")
    t.add_column("model")
    for i in range(12):
        t.add_column(f"figure {i}", justify="right")
    t.add_row(LONG, *[f"{1000 * i:,}" for i in range(12)])
    c = Console(width=60, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    print_table(t, c)
    text = c.export_text()
    assert text.splitlines()[:2] == ["wide", LONG]
    assert "…" not in text
    assert all(f"figure {i}: {1000 * i:,}" in text for i in range(12))
    assert all(len(line) <= 60 for line in text.splitlines())


def test_help_flags_and_plurals() -> None:
    out = subprocess.run(
        [ERRATA, "compare", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "<bool>" not in out
    assert "--json" in out and "--rebuild" in out
    from errata.cli._common import plural

    assert (plural(1, "model"), plural(2, "model"), plural(1200, "row")) == (
        "1 model",
        "2 models",
        "1,200 rows",
    )
