"""Other test sets and Super-Sub at zoo scale: wall time and peak RSS of real command-line runs.

1. ``errata compare --dataset imagenet-a`` on 1,000 synthetic ImageNet-A files (7,500 images in
   200 class folders, ranked top-5 over the 1000 classes with names as class paths), and the same
   study extended by the validation-set zoo (two test sets in one folder).
2. ``errata supersub`` on a 1,000-model study of the validation set (top-1 files: flat figures),
   under errata's taxonomy and under supersub10.
3. ``errata supersub`` on one (50,000, 1000) float16 logits file: two-stage inference and the
   pipeline on both predictions.

The files are synthetic (``zoo.py`` for the validation set; random ranked classes around the
folder label for ImageNet-A); the images themselves are never read. Wall time is the median of
``--repeat`` runs (one for the studies that are extended).

Usage: ERRATA_DATA_DIR=../shared/data python benchmarks/datasets_supersub.py DIR [--repeat 3]
(DIR keeps the generated files; a zoo written there by ``zoo.py --mix imagefolder`` is reused.)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run.py, zoo.py
import zoo as zoos  # noqa: E402
from run import ERRATA, run_once  # noqa: E402


def timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one command-line run (``run.run_once``); exit code 1
    (some files skipped) still counts as a run."""
    wall, rss, _cpu, rc, _, err = run_once([*ERRATA, *args])
    if rc not in (0, 1):
        raise SystemExit(f"errata {' '.join(args)}: {(err.strip().splitlines() or [''])[-1]}")
    return wall, rss


def a_zoo(folder: Path, models: int) -> None:
    """ImageNet-A-shaped top-5 files: 37-38 images per class, 60-80 % top-1."""
    from errata import resources
    from errata.core import datasets as D

    if folder.exists() and len(list(folder.glob("*.npz"))) == models:
        return
    folder.mkdir(parents=True, exist_ok=True)
    ds = D.get("imagenet-a")
    wnids = np.array(resources.classes().wnids)
    truth = np.repeat(ds.classes, 38)[:7500].astype(np.int64)
    per = np.arange(len(truth)) % 38
    names = np.array([f"imagenet-a/{wnids[c]}/img_{k:03d}.jpg" for c, k in zip(truth, per)])
    rng = np.random.default_rng(0)
    for m in range(models):
        acc = rng.uniform(0.6, 0.8)
        pos = np.where(
            rng.random(len(truth)) < acc,
            np.searchsorted(ds.classes, truth),
            rng.integers(0, 200, len(truth)),
        )
        offsets = np.concatenate([[0], rng.choice(np.arange(1, 200), 4, replace=False)])
        top = ds.classes[(pos[:, None] + offsets[None, :]) % 200]  # 5 distinct subset classes
        np.savez(folder / f"a{m:04d}.npz", topk=top.astype(np.int16), file_names=names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", type=int, default=1000)
    args = parser.parse_args()
    d = args.dir
    d.mkdir(parents=True, exist_ok=True)
    val = d / "zoo"
    if not val.exists():
        print(zoos.write_zoo(val, args.models, mix="imagefolder"), flush=True)
    a_zoo(d / "a", args.models)
    logits = d / "val50k_logits.npz"
    if not logits.exists():
        from errata import resources

        truth = resources.validation_labels().astype(np.int64)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(len(truth), 1000)).astype(np.float16)
        x[np.arange(len(truth)), truth] += 3
        np.savez(logits, logits=x, file_names=resources.val_file_names())
    rows = []

    def run(label: str, argv: list[str], repeat: int) -> None:
        walls, rss = [], []
        for _ in range(repeat):
            w, r = timed(argv)
            walls.append(w)
            rss.append(r)
        rows.append((label, statistics.median(walls), min(walls), max(walls), max(rss)))
        print(
            f"{label}: {statistics.median(walls):.2f} s (runs {min(walls):.2f}-"
            f"{max(walls):.2f}), {max(rss):.0f} MB",
            flush=True,
        )

    study = d / "study"
    run(
        f"compare --dataset imagenet-a, {args.models} top-5 files × 7,500 images",
        [
            "compare",
            str(d / "a"),
            "--dataset",
            "imagenet-a",
            "--out",
            str(d / "a_study"),
            "--rebuild",
            "--json",
        ],
        args.repeat,
    )
    shutil.rmtree(study, ignore_errors=True)
    shutil.copytree(d / "a_study", study)
    run(
        f"… then the validation zoo ({args.models} files) into the same study",
        ["compare", str(val), "--out", str(study), "--json"],
        1,
    )
    run(
        f"supersub on the {args.models} validation models, taxonomy errata",
        ["supersub", str(val), "-t", "errata", "--out", str(d / "ss_e")],
        args.repeat,
    )
    run(
        f"supersub on the {args.models} validation models, taxonomy supersub10",
        ["supersub", str(val), "-t", "supersub10", "--out", str(d / "ss_s")],
        args.repeat,
    )
    for tax in ("errata", "supersub10"):
        run(
            f"supersub, one (50,000, 1000) float16 logits file, two-stage, taxonomy {tax}",
            ["supersub", str(logits), "-t", tax, "--no-per-superclass"],
            args.repeat,
        )
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print("\n| benchmark | wall s | runs min–max s | peak RSS MB |\n|---|---:|---:|---:|")
    for label, med, lo, hi, rss in rows:
        print(f"| {label} | {med:.2f} | {lo:.2f}–{hi:.2f} | {rss:.0f} |")
    print(f"\nload average after the runs: {' '.join(load)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
