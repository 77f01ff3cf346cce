"""Record the golden test's expected behaviour (``make golden``): run every case of
``tests/golden/cases.py`` and write ``tests/golden/expected/<case>.txt``.

Re-record only for an output change that is intended, and review the diff of
``tests/golden/expected/`` before committing it: every changed line is a change users see.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.golden.cases import CASES  # noqa: E402
from tests.golden.harness import EXPECTED, TIMES, expected_path, run_all  # noqa: E402


def main() -> int:
    data = os.environ.get("ERRATA_DATA_DIR")
    if not data or not (Path(data) / "cleanlab_resnet").is_dir():
        print("error: set ERRATA_DATA_DIR to the reference data (../shared/data)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="errata-golden-") as tmp:
        records = run_all(Path(tmp), Path(data))
    EXPECTED.mkdir(exist_ok=True)
    keep = {expected_path(c).name for c in CASES}
    for stale in EXPECTED.glob("*.txt"):
        if stale.name not in keep:
            stale.unlink()
    missing = []
    for case in CASES:
        record = records[case.name]
        if record is None:
            missing.append(case.name)
            continue
        with expected_path(case).open("w", encoding="utf-8", newline="") as f:
            f.write(record)
    slow = sorted(TIMES.items(), key=lambda kv: -kv[1])[:5]
    print(f"{sum(TIMES.values()):.1f} s; slowest: " + ", ".join(f"{n} {t:.1f} s" for n, t in slow))
    print(f"recorded {len(CASES) - len(missing)} cases in {EXPECTED.relative_to(ROOT)}")
    if missing:
        print(f"not recorded (optional extras missing): {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
