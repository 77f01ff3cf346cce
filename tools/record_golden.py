"""Record the golden test's expected behaviour (``make golden``): run every case of
``tests/golden/cases.py`` and write ``tests/golden/expected/<case>.txt``.

``python tools/record_golden.py --only label-issues,data-list`` re-records those cases alone.

Re-record only for an output change that is intended, and review the diff of
``tests/golden/expected/`` before committing it: every changed line is a change users see.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden.cases import CASES  # noqa: E402
from tests.golden.harness import EXPECTED, TIMES, expected_path, run_all  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", metavar="CASE[,CASE...]", help="re-record these cases alone (comma-separated)"
    )
    args = parser.parse_args(argv)
    data = os.environ.get("ERRATA_DATA_DIR")
    if not data or not (Path(data) / "cleanlab_resnet").is_dir():
        print("error: set ERRATA_DATA_DIR to the reference data (../shared/data)", file=sys.stderr)
        return 2
    cases = list(CASES)
    if args.only is not None:
        only = set(args.only.split(","))
        unknown = only - {c.name for c in CASES}
        if unknown:
            print(f"error: --only: no case {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        cases = [c for c in CASES if c.name in only]
    with tempfile.TemporaryDirectory(prefix="errata-golden-") as tmp:
        records = run_all(Path(tmp), Path(data), cases)
    EXPECTED.mkdir(exist_ok=True)
    if len(cases) == len(CASES):
        keep = {expected_path(c).name for c in CASES}
        for stale in EXPECTED.glob("*.txt"):
            if stale.name not in keep:
                stale.unlink()
    missing = []
    for case in cases:
        record = records[case.name]
        if record is None:
            missing.append(case.name)
            continue
        with expected_path(case).open("w", encoding="utf-8", newline="") as f:
            f.write(record)
    slow = sorted(TIMES.items(), key=lambda kv: -kv[1])[:5]
    print(f"{sum(TIMES.values()):.1f} s; slowest: " + ", ".join(f"{n} {t:.1f} s" for n, t in slow))
    print(f"recorded {len(cases) - len(missing)} cases in {EXPECTED.relative_to(ROOT)}")
    if missing:
        print(f"not recorded (optional extras missing): {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
