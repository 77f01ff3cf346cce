"""errata's speed benchmarks (`make bench`): prints a table and writes benchmarks/RESULTS.md and
benchmarks/results.json.

What is measured (wall time of real command-line runs, peak RSS of the child process):

* ``errata --help``;
* ``errata analyze`` on the reference ResNet-50's 50,000 top-1 predictions (metrics only, and
  with the error pipeline), when ERRATA_DATA_DIR holds the reference data;
* ``errata compare`` on synthetic but realistic zoos of 1, 100 and 1,000 models × 50,000 images:
  per-model accuracy drawn from 60–90 %, per-class difficulty varying, and errors concentrated on
  confusable classes (70 % of wrong predictions fall in a superclass of the true class, the rest
  spread over all classes).

Usage: python benchmarks/run.py [--models 1,100,1000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ERRATA = [sys.executable, "-m", "errata"]
# measure what users get: Python caching compiled modules (some shells switch that off)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], repeat: int = 1) -> dict[str, float]:
    """Median wall time (s) over ``repeat`` runs and the largest peak RSS (MB) of the child
    (GNU time's %M when installed, else the RUSAGE_CHILDREN high-water mark)."""
    gnu_time = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
    walls, rss = [], 0.0
    for _ in range(repeat):
        full = [gnu_time, "-f", "%M", *cmd] if gnu_time else cmd
        t0 = time.perf_counter()
        done = subprocess.run(full, capture_output=True, text=True, env=ENV)
        walls.append(time.perf_counter() - t0)
        if done.returncode not in (0, 1):
            raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{done.stderr}")
        if gnu_time:
            rss = max(rss, int(done.stderr.strip().splitlines()[-1]) / 1024)
        else:
            rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return {"wall_s": statistics.median(walls), "peak_rss_mb": rss}


def synthetic_zoo(folder: Path, n_models: int, seed: int = 0) -> None:
    """Write ``n_models`` top-1 prediction files (file-name order) into ``folder``."""
    from errata import resources

    try:
        from errata import taxonomy

        same = np.asarray(taxonomy.same_superclass(), dtype=bool).copy()
    except Exception:  # the taxonomy is optional here: fall back to neighbouring class indices
        idx = np.arange(1000)
        same = np.abs(idx[:, None] - idx[None, :]) <= 5
    np.fill_diagonal(same, False)
    confusable = [np.flatnonzero(row) for row in same]
    # padded table of confusable classes per class, for a vectorised draw
    width = max(1, max(len(c) for c in confusable))
    table = np.array(
        [
            np.resize(c, width) if len(c) else np.array([(i + 1) % 1000] * width)
            for i, c in enumerate(confusable)
        ]
    )
    truth = resources.validation_labels().astype(np.int64)
    n = truth.size
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1.0, 1000)  # some classes are harder for every model
    folder.mkdir(parents=True, exist_ok=True)
    for m in range(n_models):
        acc = rng.uniform(0.60, 0.90)
        logit = np.log(acc / (1 - acc)) - difficulty[truth] + rng.normal(0, 0.5, n)
        right = rng.random(n) < 1 / (1 + np.exp(-logit))
        near = rng.random(n) < 0.7
        pred = np.where(near, table[truth, rng.integers(0, width, n)], rng.integers(0, 1000, n))
        pred = np.where(right, truth, pred).astype(np.int16)
        np.save(folder / f"model_{m:04d}.npy", pred)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="1,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the synthetic zoo here")
    args = parser.parse_args(argv)
    rows: list[dict] = []

    def add(name: str, cmd: list[str], repeat: int, extra: dict | None = None) -> None:
        r = timed(cmd, repeat)
        rows.append({"benchmark": name, **r, **(extra or {})})
        print(f"{name:<55} {r['wall_s']:8.2f} s {r['peak_rss_mb']:8.0f} MB", flush=True)

    add("errata --help", [*ERRATA, "--help"], args.repeat)
    data_dir = os.environ.get("ERRATA_DATA_DIR")
    if data_dir and (Path(data_dir) / "cleanlab_resnet").is_dir():
        base = [*ERRATA, "analyze", "cleanlab-resnet50", "--order", "imagefolder"]
        add("analyze ResNet-50, 50k top-1, metrics only", [*base, "--no-errors"], args.repeat)
        add("analyze ResNet-50, 50k top-1, metrics + error pipeline", base, args.repeat)
        with tempfile.TemporaryDirectory() as tmp:
            add("analyze ResNet-50 + errors, writing --out", [*base, "--out", tmp], args.repeat)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="errata-bench-"))
    try:
        for n_models in [int(x) for x in args.models.split(",") if x]:
            zoo = work / f"zoo{n_models}"
            if not zoo.exists() or len(list(zoo.glob("*.npy"))) != n_models:
                t0 = time.perf_counter()
                synthetic_zoo(zoo, n_models)
                print(
                    f"  (generated {n_models} synthetic models in {time.perf_counter() - t0:.1f} s)"
                )
            cmd = [*ERRATA, "compare", str(zoo), "--out", str(work / f"out{n_models}"), "--json"]
            add(
                f"compare {n_models} models × 50k images (full pipeline, no CLIP)",
                cmd,
                1 if n_models >= 100 else args.repeat,
                {"models": n_models},
            )
            rows[-1]["models_per_s"] = n_models / rows[-1]["wall_s"]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }
    (HERE / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {meta['cpus']} CPUs, Python {meta['python']},"
        f" {meta['date']}. Wall time is the median of the runs; RSS is the child's peak.",
        "",
        "| benchmark | wall (s) | peak RSS (MB) | models/s |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        mps = f"{r['models_per_s']:.1f}" if "models_per_s" in r else ""
        lines.append(f"| {r['benchmark']} | {r['wall_s']:.2f} | {r['peak_rss_mb']:.0f} | {mps} |")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
