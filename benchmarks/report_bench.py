"""Report benchmarks: generation time and size of the reference ResNet-50 report and of a
1,000-model study report, and how long Chromium takes to open each (load + tables built).

Usage: ERRATA_DATA_DIR=../shared/data python benchmarks/report_bench.py [--models 1000]
       [--study DIR (an existing `errata compare --out` folder)] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from errata.report.model import model_report

HERE = Path(__file__).resolve().parent


def open_time(path: Path, repeat: int = 3) -> float | None:
    """Median seconds from navigation to the page's tables being built, in headless chromium."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        return None
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        for _ in range(repeat):
            page = browser.new_page()
            t = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("document.documentElement.dataset.ready === '1'")
            times.append(time.perf_counter() - t)
            page.close()
        browser.close()
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--study", type=Path, help="reuse this compare output folder")
    ap.add_argument("--keep", type=Path, help="write the reports here (default: a temp dir)")
    args = ap.parse_args()
    out = args.keep or Path(tempfile.mkdtemp(prefix="errata-report-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    results = {}

    import errata
    from errata.report.study import study_report

    t = time.perf_counter()
    a = errata.analyze("cleanlab-resnet50", labels="real")
    analyse_s = time.perf_counter() - t
    t = time.perf_counter()
    page = model_report(a, out / "resnet50.html")["report"]
    results["resnet50"] = {
        "analyze_s": analyse_s,
        "report_s": time.perf_counter() - t,
        "bytes": page.stat().st_size,
        "errors": len(a.errors),
        "open_s": open_time(page),
    }

    study = args.study
    if study is None:
        sys.path.insert(0, str(HERE))
        import zoo as zoos

        from errata.study import compare

        zoo = out / "zoo"
        zoos.write_zoo(zoo, args.models, mix="imagefolder")
        study = out / "study"
        compare([zoo], labels="real", out=study)
    t = time.perf_counter()
    page = study_report(study, out / "study.html")["report"]
    results["study"] = {
        "models": args.models,
        "report_s": time.perf_counter() - t,
        "bytes": page.stat().st_size,
        "open_s": open_time(page),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
