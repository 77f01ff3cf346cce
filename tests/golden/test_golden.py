"""Behaviour kept byte for byte: every golden case's stdout, stderr, exit status and written
files equal the record in ``tests/golden/expected/`` (re-record an intended change with
``make golden`` and review the diff)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.golden.cases import CASES, Case
from tests.golden.harness import EXPECTED, available, expected_path, run_all, safe_name


@pytest.fixture(scope="module")
def records(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    return run_all(tmp_path_factory.mktemp("golden"), data_dir)


def test_cases_are_recorded() -> None:
    """Each case has a record and each record a case (stale records are removed by
    ``make golden``); at least 30 commands."""
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) >= 30
    assert all(safe_name(n) for n in names)
    recorded = {p.stem for p in EXPECTED.glob("*.txt")}
    assert recorded == set(names), "run `make golden` (review the diff) to record the cases"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden(case: Case, records: dict[str, str | None]) -> None:
    if not available(case):
        pytest.skip(f"needs {', '.join(case.needs)}")
    with expected_path(case).open(encoding="utf-8", newline="") as f:
        want = f.read()
    got = records[case.name]
    assert got is not None
    if got != want:
        diff = "".join(
            difflib.unified_diff(
                want.splitlines(keepends=True),
                got.splitlines(keepends=True),
                f"expected/{case.name}.txt",
                "this run",
                n=2,
            )
        )
        pytest.fail(
            f"errata {' '.join(case.args)}: output changed (if intended, `make golden` and "
            f"review the diff)\n{diff[:6000]}",
            pytrace=False,
        )
