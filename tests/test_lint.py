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
    """The package type-checks under the project's mypy settings (as ``make lint`` runs it),
    which are strict: ``--strict`` is passed too, so that dropping ``strict = true`` from
    pyproject.toml cannot quietly loosen the check."""
    done = subprocess.run([*tool("mypy"), "--strict"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr


def test_python_is_supported() -> None:
    assert sys.version_info >= (3, 10)


MODULE_LINES = 500  # issue 22's limits: one job per module, one step per function
FUNCTION_LINES = 120


def _sizes() -> tuple[list[str], list[str]]:
    import ast

    long_modules, long_functions = [], []
    for path in sorted((ROOT / "src").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        if text.count("\n") > MODULE_LINES:
            long_modules.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > FUNCTION_LINES:
                    long_functions.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    return long_modules, long_functions


def test_modules_and_functions_stay_small() -> None:
    """No module in src/ over 500 lines and no function over 120 (docstring included)."""
    long_modules, long_functions = _sizes()
    assert not long_modules, "split these modules:\n" + "\n".join(long_modules)
    assert not long_functions, "split these functions:\n" + "\n".join(long_functions)
