"""Benchmark: what the open-world stage adds to a 1,000-model study inside the real pipeline.

Builds a synthetic bundle (``errata analyze/compare --openworld``): unit-vector embeddings for all
50,000 validation images, 50,000 training images whose classes follow the validation labels (so
neighbour evidence exists), and random proposal text embeddings; then times ``errata compare`` on
the same synthetic zoo without ``--openworld``, with it and the neighbour search's cache entry
removed before each run (cold: the exact search runs), and with it and the search's result
cached; the median of ``--repeat`` runs each. The stage
memoises each distinct (image, prediction) decision, so models that share errors share the work.

Run: ``uv run --frozen --extra openworld python benchmarks/openworld_study.py [--models 1000]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import zoo as zoos  # noqa: E402

DIM = 64  # the stage's cost barely depends on the width; small keeps the bundle quick to build


def build_bundle(folder: Path, seed: int = 0) -> None:
    from errata import resources
    from errata.openworld.embeddings import Embeddings, save_embeddings
    from errata.openworld.index import build_index, save_index
    from errata.openworld.proposals import build_proposals

    rng = np.random.default_rng(seed)

    def unit(n: int) -> np.ndarray:
        v = rng.normal(size=(n, DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    centres = unit(1000)  # one direction per class
    labels = resources.validation_labels().astype(np.int64)
    val = centres[labels] + 0.7 * unit(len(labels))
    val /= np.linalg.norm(val, axis=1, keepdims=True)
    folder.mkdir(parents=True, exist_ok=True)
    save_embeddings(
        Embeddings(
            file_names=resources.val_file_names(),
            class_index=np.full(len(labels), -1, np.int16),
            vectors=val,
        ),
        folder / "val.npz",
    )
    train_cls = rng.integers(0, 1000, 50_000)
    train = centres[train_cls] + 0.7 * unit(50_000)
    train /= np.linalg.norm(train, axis=1, keepdims=True)
    names = np.array([f"train_{i:06d}.JPEG" for i in range(50_000)], dtype=object)
    save_index(
        build_index(
            Embeddings(file_names=names, class_index=train_cls.astype(np.int16), vectors=train)
        ),
        folder / "index",
    )
    props = build_proposals()
    with open(folder / "texts.npz", "wb") as fh:
        np.savez(fh, vectors=unit(len(props)), wnids=props.wnids.astype(str), key="{}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting (median)")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="errata-ow-"))
    zoo, bundle = work / f"zoo{args.models}", work / "bundle"
    if not zoo.exists():
        zoos.write_zoo(zoo, args.models, mix="imagefolder")
    if not (bundle / "texts.npz").exists():
        t0 = time.perf_counter()
        build_bundle(bundle)
        print(f"bundle built in {time.perf_counter() - t0:.1f} s")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cache = work / "cache"  # errata's disk cache
    env["ERRATA_CACHE_DIR"] = str(cache)
    rows = []
    for label, extra, cold in (
        ("without --openworld", [], False),
        ("with --openworld, cold", ["--openworld", str(bundle)], True),
        ("with --openworld, cached", ["--openworld", str(bundle)], False),
    ):
        cmd = [
            sys.executable,
            "-m",
            "errata",
            "compare",
            str(zoo),
            "--out",
            str(work / f"out-{bool(extra)}"),  # other settings: its own study folder
            "--rebuild",
            "--json",
            *extra,
        ]
        walls = []
        for _ in range(args.repeat):
            if cold:  # the neighbour search's entry only: the other evidence stays cached
                for f in cache.glob("openworld-neighbours-*"):
                    f.unlink()
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            walls.append(time.perf_counter() - t0)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
        wall = statistics.median(walls)
        rows.append((label, wall))
        print(
            f"compare {args.models} models, {label:<26} {wall:7.2f} s "
            f"(runs {min(walls):.2f}-{max(walls):.2f})",
            flush=True,
        )
    print(
        f"the open-world stage adds {rows[1][1] - rows[0][1]:.2f} s, "
        f"{rows[2][1] - rows[0][1]:.2f} s once the neighbour search is cached"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
