"""Which ImageNet-X factors mark a non-prototypical image (issue 12, item 4).

Usage:  ERRATA_DATA_DIR=../shared/data python benchmarks/imagenet_x_calibration.py
        (needs the imagenetx extra: pip install 'imagenet-errata[imagenetx]'; the ImageNet-X
        annotations are CC BY-NC 4.0)

For each of the 16 ImageNet-X factors (multi-factor annotations, Idrissi et al. 2022), among
the 378 ViT-3B expert rows (Vasudevan et al. 2022) that ImageNet-X annotates: how many carry it,
how many of those the experts call "Non-prototypical" (precision), the share of the expert
non-prototypical rows that carry it (recall), and the lift (precision / base rate). The rule
errata uses (``errata.io.annotations.IMAGENET_X_FACTORS``): the factors with lift ≥ 1.5 on at least
3 expert non-prototypical rows. Calibrated on these rows, so every figure here is in-sample.
Then the pipeline with the rule: precision and recall of the ImageNet-X stage on the errors.
"""

from __future__ import annotations

import sys

MIN_LIFT, MIN_ROWS = 1.5, 3  # the calibration rule


def main() -> int:
    import errata
    from errata.experts import expert_agreement
    from errata.io import annotations as EA

    names, factors = EA.load_imagenet_x(EA.imagenet_x_path(True))
    a = expert_agreement("vit3b-mistakes", labels="real", options=errata.Options(proposals=()))
    rows = a.rows
    pos = {n: i for i, n in enumerate(names.tolist())}
    keep = rows["file_name"].isin(list(pos)).to_numpy()
    t = rows[keep]
    fac = factors[[pos[n] for n in t["file_name"]]]
    is_np = (t["expert_category"] == "Non-prototypical").to_numpy()
    base = is_np.mean()
    print(f"{len(t)} expert rows annotated by ImageNet-X, {is_np.sum()} non-prototypical")
    head = ("factor", "rows", "NP", "precision", "recall", "lift")
    print("{:18s} {:>5} {:>4} {:>9} {:>7} {:>5}  chosen".format(*head))
    for j, f in enumerate(EA.IMAGENET_X_ALL_FACTORS):
        has = fac[:, j]
        if not has.any():
            continue
        prec = is_np[has].mean()
        lift = prec / base
        chosen = lift >= MIN_LIFT and is_np[has].sum() >= MIN_ROWS
        print(
            f"{f:18s} {has.sum():5d} {is_np[has].sum():4d} {prec:9.1%} "
            f"{has[is_np].mean():7.1%} {lift:5.2f}  {'yes' if chosen else ''}"
        )
    s = expert_agreement(
        "vit3b-mistakes", labels="real", options=errata.Options(imagenet_x=True)
    ).summary
    c = s["per_category"]["Non-prototypical"]
    print(
        f"pipeline (ReaL, errata taxonomy, rater evidence): the non-prototypical stages claim "
        f"{c['automated']} errors, {c['both']} of them expert non-prototypical: precision "
        f"{c['precision'] or 0:.1%}, recall {c['recall'] or 0:.1%} of {c['expert']}; agreement "
        f"on errors {s['agreement']:.1%}, kappa {s['cohen_kappa']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
