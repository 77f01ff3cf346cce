"""The two taxonomies side by side against the experts and the published rows (issue 12, items
1 and 2).

Usage:  ERRATA_DATA_DIR=../shared/data python benchmarks/taxonomies_vs_experts.py [--rows]

1. ViT-3B expert rows (Vasudevan et al. 2022), ReaL labels, the default evidence (co-occurrence
   and rejected proposals; ``--imagenet-x`` when the imagenetx extra is installed): per expert
   category, the share of its errors that each taxonomy's pipeline files under an agreeing
   category; agreement on errors and Cohen's κ.
2. Where errata's superclasses depart from the published ones (peychev2023) on these rows: the
   error rows whose prediction shares a superclass with a label under one taxonomy and not the
   other, by the errata superclass involved and the experts' verdict. A departure is right when
   it puts together what experts call fine-grained, or apart what they call something else.
3. The published example rows (dev half): fine-grained rows sharing a superclass, later-stage
   rows sharing none (for peychev2023 in-sample: it was derived from these rows).

errata's superclasses were curated while looking at the ViT-3B rows, so (1) and (2) are
in-sample for it.
"""

from __future__ import annotations

import argparse
import collections
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np

# the published rows are read and scored as tools/derive_peychev2023.py reads and scores them
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import derive_peychev2023 as derive  # noqa: E402

TAXONOMIES = ("errata", "peychev2023")


def main(argv: list[str] | None = None) -> int:
    import errata
    from errata import resources, taxonomy
    from errata.experts import expert_agreement

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", action="store_true", help="list every departing row")
    args = parser.parse_args(argv)
    imagenet_x = find_spec("imagenet_x") is not None
    results = {
        name: expert_agreement(
            "vit3b-mistakes",
            labels="real",
            options=errata.Options(taxonomy=name, imagenet_x=imagenet_x),
        )
        for name in TAXONOMIES
    }
    print(
        f"1. ViT-3B expert rows, ReaL, rejected proposals on, ImageNet-X "
        f"{'on' if imagenet_x else 'off (extra not installed)'}"
    )
    print(f"{'expert category':38s} {'errors':>6}  " + "  ".join(f"{n:>12}" for n in TAXONOMIES))
    first = results[TAXONOMIES[0]].summary["per_expert_category"]
    for cat, r in first.items():
        cells = []
        for name in TAXONOMIES:
            x = results[name].summary["per_expert_category"][cat]
            share = "" if x["agree_share"] is None else f"{x['agree_share']:.1%}"
            cells.append(f"{x['agree']:>3} {share:>8}")
        print(f"{cat:38s} {r['errors_under_labels']:6d}  " + "  ".join(cells))
    for key, fmt in (("agreement", "{:12.1%}"), ("cohen_kappa", "{:12.3f}")):
        vals = "  ".join(fmt.format(results[n].summary[key]) for n in TAXONOMIES)
        print(f"{key:38s} {'':6s}  {vals}")

    print("\n2. Where errata departs from peychev2023 on the ViT-3B errors")
    e_tax, p_tax = taxonomy.load("errata"), taxonomy.load("peychev2023")
    names = resources.classes().names
    indptr, indices = resources.real_labels()
    original = resources.validation_labels()
    rows = results["errata"].rows
    rows = rows[~rows["category"].isin(["correct", "correct multi-label", "excluded"])]
    tally: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
    listing = []
    for _, r in rows.iterrows():
        n = int(r.file_name[15:23]) - 1
        p = int(r.top1)
        labels = sorted(
            {int(x) for x in indices[indptr[n] : indptr[n + 1]]} | {int(original[n])} - {p}
        )
        in_e = bool(e_tax.same_superclass[p, labels].any())
        in_p = bool(p_tax.same_superclass[p, labels].any())
        if in_e == in_p:
            continue
        fine = r.expert_category in ("Fine-grained error", "Fine-grained with Multilabel Options")
        right = in_e == fine
        shared = [e_tax.first_shared[x, p] for x in labels if e_tax.first_shared[x, p] >= 0]
        where = str(e_tax.superclass_names[shared[0]]) if shared else "(none in errata)"
        kind = "errata joins" if in_e else "errata splits"
        tally[(kind, where)][0 if right else 1] += 1
        listing.append(
            f"  {kind:13s} {'right' if right else 'wrong':5s} {r.expert_category:28s} "
            f"{names[p]} <- {', '.join(names[x] for x in labels)}"
        )
    right = sum(v[0] for v in tally.values())
    wrong = sum(v[1] for v in tally.values())
    print(f"{right + wrong} departing rows: errata right on {right}, wrong on {wrong}")
    for (kind, where), (ok, bad) in sorted(tally.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {kind:13s} {where:28s} right {ok:3d}  wrong {bad:3d}")
    if args.rows:
        print("\n".join(listing))

    print("\n3. Published example rows (dev half)")
    pub = derive.read_rows()
    for name in TAXONOMIES:
        fg, late = derive.row_hits(taxonomy.load(name).same_superclass, pub)
        print(
            f"  {name:12s} fine-grained rows sharing a superclass {np.mean(fg):6.1%} of {len(fg)}"
            f"; later-stage rows sharing none {np.mean(late):6.1%} of {len(late)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
