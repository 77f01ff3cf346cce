"""Validate errata's crowd aggregation on the real ImageNet-ReaL rater data (Beyer et al. 2020).

Reads ``real_raters/`` from the data directory ($ERRATA_DATA_DIR): 85 raters' no/maybe/yes answers
to 184,962 (image, label) questions, the published Dawid–Skene posteriors (``scores.npz``) and the
ReaL label sets (``real.json``, exactly the labels whose posterior is ≥ 0.8 on the 24,889 rated
images). For majority vote and for our Dawid–Skene (one prior; one prior per "is the original
label" group; the same with every rater's confusion shrunk towards the pooled one) it reports:

* Pearson correlation of our posteriors with the published ones;
* the share of questions on the same side of the 0.8 threshold;
* the share of rated images whose resulting label set is identical to ``real.json``;
* where the disagreements sit (how close to the threshold).

Usage: ``ERRATA_DATA_DIR=../shared/data python benchmarks/real_aggregation.py [--json OUT]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

THRESHOLD = 0.8  # ReaL's rule: a label is in the set when its posterior is at least this


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    import pandas as pd

    from errata import resources
    from errata.io import data
    from errata.review.aggregation import dawid_skene, from_rater_tensor, majority_vote

    t0 = time.perf_counter()
    with np.load(data.path("real-raters")) as z:
        item, worker, answer = from_rater_tensor(z["tensor"])
        info = z["info"]
    with np.load(data.path("real-scores")) as z:
        published = z["tensor"]
        assert (z["info"] == info).all(), "scores.npz and raters.npz list different questions"
    real = json.loads(Path(data.path("real")).read_text())
    load_s = time.perf_counter() - t0

    n = len(published)
    file_names = info[:, 0]
    classes = info[:, 1].astype(np.int64)
    image, image_names = pd.factorize(file_names)
    val_index = pd.Series(image_names).str.slice(15, 23).astype(int).to_numpy() - 1
    is_original = resources.validation_labels()[val_index[image]] == classes

    # sanity: real.json is the published posteriors thresholded at 0.8, on every rated image
    def label_sets(present: np.ndarray) -> list[set[int]]:
        sets: list[set[int]] = [set() for _ in range(len(image_names))]
        for i, c in zip(image[present], classes[present]):
            sets[i].add(int(c))
        return sets

    real_sets = [set(real[v]) for v in val_index]
    published_match = np.mean(
        [a == b for a, b in zip(label_sets(published >= THRESHOLD), real_sets)]
    )

    results = {
        "questions": int(n),
        "answers": int(len(item)),
        "raters": int(worker.max() + 1),
        "rated_images": int(len(image_names)),
        "load_seconds": round(load_s, 2),
        "published_vs_real_json_identical": float(published_match),
        "methods": {},
    }
    runs = {
        "majority vote": lambda: majority_vote(item, worker, answer, n_items=n),
        "dawid-skene (one prior)": lambda: dawid_skene(item, worker, answer, n_items=n),
        "dawid-skene (prior per original/new label)": lambda: dawid_skene(
            item, worker, answer, n_items=n, groups=is_original.astype(np.int64)
        ),
        "dawid-skene (prior per original/new label, confusions shrunk to pooled, 2000)": (
            lambda: dawid_skene(
                item,
                worker,
                answer,
                n_items=n,
                groups=is_original.astype(np.int64),
                shrinkage=2000.0,
            )
        ),
    }
    for name, run in runs.items():
        t = time.perf_counter()
        agg = run()
        seconds = time.perf_counter() - t
        p = agg.posteriors[:, 1]
        same_side = (p >= THRESHOLD) == (published >= THRESHOLD)
        sets = label_sets(p >= THRESHOLD)
        identical = np.array([a == b for a, b in zip(sets, real_sets)])
        dis = ~same_side
        near = (published[dis] > 0.5) & (published[dis] < 0.95)
        results["methods"][name] = {
            "seconds": round(seconds, 2),
            "iterations": agg.iterations,
            "pearson": float(np.corrcoef(p, published)[0, 1]),
            "mean_abs_diff": float(np.abs(p - published).mean()),
            "questions_same_side_of_0.8": float(same_side.mean()),
            "rated_images_identical_to_real_json": float(identical.mean()),
            "disagreeing_questions": int(dis.sum()),
            "disagreeing_published_in_0.5_0.95": float(near.mean()) if dis.any() else 0.0,
            "we_add_label": int((dis & (p >= THRESHOLD)).sum()),
            "we_drop_label": int((dis & (p < THRESHOLD)).sum()),
            "disagreeing_on_original_label": int((dis & is_original).sum()),
        }
        if "prior" in agg.__dict__ and np.ndim(agg.prior) == 2:
            results["methods"][name]["prior_present"] = agg.prior[:, 1].round(4).tolist()

    print(
        f"ReaL rater data: {results['answers']:,} answers by {results['raters']} raters to "
        f"{n:,} questions on {results['rated_images']:,} images (loaded in {load_s:.1f} s)"
    )
    print(
        f"published posteriors ≥ 0.8 reproduce real.json on {100 * published_match:.2f} % of "
        "rated images"
    )
    for name, r in results["methods"].items():
        print(f"\n{name}: {r['seconds']} s, {r['iterations']} EM iterations")
        print(
            f"  Pearson r with published posteriors  {r['pearson']:.4f}"
            f"  (mean |diff| {r['mean_abs_diff']:.4f})"
        )
        print(
            f"  questions on the same side of 0.8    {100 * r['questions_same_side_of_0.8']:.2f} %"
        )
        print(
            f"  rated images identical to real.json  "
            f"{100 * r['rated_images_identical_to_real_json']:.2f} %"
        )
        print(
            f"  disagreements: {r['disagreeing_questions']:,} questions "
            f"({r['we_add_label']:,} labels we add, {r['we_drop_label']:,} we drop; "
            f"{r['disagreeing_on_original_label']:,} about the original label); "
            f"{100 * r['disagreeing_published_in_0.5_0.95']:.0f} % of them have a published "
            "posterior between 0.5 and 0.95"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
