"""The code stays clean: ruff's lint and format checks (settings in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PATHS = ["src", "tests", "tools", "benchmarks"]


def ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(ROOT / ".venv" / "bin")) or shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed (it is in the dev dependency group)")
    return [exe]


def test_ruff_check() -> None:
    done = subprocess.run([*ruff(), "check", *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = subprocess.run(
        [*ruff(), "format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_python_is_supported() -> None:
    assert sys.version_info >= (3, 10)
