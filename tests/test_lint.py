"""The code stays clean: ruff's lint and format checks, mypy, and the package's layers
(import-linter contracts); settings in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PATHS = ["src", "tests", "tools", "benchmarks"]


def tool(name: str) -> list[str]:
    exe = shutil.which(name, path=str(ROOT / ".venv" / "bin")) or shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed (it is in the dev dependency group)")
    return [exe]


def ruff() -> list[str]:
    return tool("ruff")


def test_layers_import_only_downwards() -> None:
    """Every import, at module level or inside a function, follows the layers of
    docs/architecture.md (cli > report/review/predict > experts/labelissues/supersub/headline >
    study > analysis > openworld > io > taxonomy > core > resources), and the core imports no
    I/O or presentation library."""
    done = subprocess.run([*tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr


def test_ruff_check() -> None:
    done = subprocess.run([*ruff(), "check", *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = subprocess.run(
        [*ruff(), "format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy() -> None:
    """The package type-checks under the project's mypy settings (as ``make lint`` runs it)."""
    done = subprocess.run([*tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr


def test_python_is_supported() -> None:
    assert sys.version_info >= (3, 10)
