"""Label issues from model consensus (``errata label-issues``) measured against a truth set.

The label set audited is the original labels, the truth ReaL (Beyer et al. 2020): an image whose
original label is outside its non-empty ReaL set has a wrong label; an (image, class) pair with
the class in ReaL but not the original label is a missing label. Images whose ReaL set is empty
(3,163) are not judged. For each ranking it prints precision and recall at k, the precision of
cleanlab's flagged set, and the base rate, with the wall time and peak memory of the run
(in-process, cleanlab imported beforehand, so the import is not counted).

Usage:
    ERRATA_DATA_DIR=../shared/data uv run --frozen --extra labelissues \\
        python benchmarks/label_issues.py [PREDICTIONS ...] [--k 100,1000,5000]

With no PREDICTIONS: the reference ResNet-50 (``cleanlab-resnet50``, top-1 only). Several files
form a zoo (their probabilities are averaged; a top-1-only model is a one-hot vote).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictions", nargs="*", default=["cleanlab-resnet50"])
    parser.add_argument("--labels", default="original")
    parser.add_argument("--truth", default="real")
    parser.add_argument("--k", default="100,1000,5000")
    args = parser.parse_args(argv)
    ks = tuple(int(v) for v in args.k.split(","))

    import cleanlab.filter  # noqa: F401  (the import is not the method's cost)

    from errata.labelissues import label_issues

    t0 = time.perf_counter()
    r = label_issues(args.predictions, labels=args.labels, truth=args.truth, ks=ks)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    s = r.summary
    v = s["validation"]
    print(f"models: {', '.join(s['models'])}; labels {s['labels']}, truth {s['truth']}")
    print(f"{wall:.1f} s, peak RSS {rss:.0f} MB; {v['images_judged']:,} images judged")
    for note in s["notes"]:
        print(f"note: {note}")
    print()
    print("| ranking | positives | k | hits | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, title in (("images", "wrong labels"), ("pairs", "missing pairs")):
        if kind not in v:
            continue
        b = v[kind]
        for i, (k, m) in enumerate(b["at_k"].items()):
            print(
                f"| {title if i == 0 else ''} | {b['positives']:,} | {k} | {m['hits']:,} | "
                f"{100 * m['precision']:.1f} % | {100 * m['recall']:.2f} % |"
            )
        if kind == "images":
            print(
                f"| | | flagged {b['flagged']:,} | | {100 * b['flag_precision']:.1f} % | "
                f"{100 * b['flag_recall']:.2f} % |"
            )
            print(f"| | | base rate | | {100 * b['base_rate']:.1f} % | |")
        else:
            print(
                f"| | | all {b['ranked']:,} ranked | {b['ranked_positives']:,} | "
                f"{100 * b['all_precision']:.1f} % | {100 * b['all_recall']:.2f} % |"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
