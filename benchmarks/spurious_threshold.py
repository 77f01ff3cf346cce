"""The significance level of the rejected-proposal evidence, and what it does (issue 12, item 3).

Usage:  ERRATA_DATA_DIR=../shared/data python benchmarks/spurious_threshold.py

The rule ``above-chance`` (``errata.Options(spurious="above-chance")``, errata's default before
the band floor of benchmarks/spurious_rules.py; the default now asks for a share of the label's
images instead, which no level changes) calls a (label, prediction) pair spurious when models
proposed the prediction for other images of the label and raters rejected it there *more often
than chance would*: a one-sided Poisson test of the count against ``holding(label) ×
rate(prediction)``, at level ``alpha`` (and never fewer than 2 images). ``alpha`` = 0.01 is the
conventional level, chosen before looking at any expert row; this script prints the curve
around it:

- ViT-3B expert rows (Vasudevan et al. 2022; ReaL labels, errata taxonomy): the share of the
  expert "Spurious Correlation" errors errata calls spurious (target ≥ 60 %), the share of the
  expert fine-grained errors it does not call fine-grained or overlapping (must not rise), the
  agreement on errors and Cohen's κ. In-sample only in the sense that the curve is shown on the
  rows it is reported for; alpha itself was not chosen on them.
- The published pipeline's example rows (dev half, their own multi-labels): of its
  model-failure rows and its spurious rows whose prediction shares no peychev2023 superclass
  with a label, the share our rejected-proposal evidence alone flags (the published spurious
  stage uses co-occurrence in label sets only, so this shows how much more the rater evidence
  calls spurious than the paper did).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# the published rows as tools/derive_peychev2023.py reads them
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import derive_peychev2023 as derive  # noqa: E402

ALPHAS = (0.2, 0.1, 0.05, 0.01, 1e-3, 1e-4, 1e-6)


def main() -> int:
    import errata
    from errata import taxonomy
    from errata.core.names import NameIndex
    from errata.experts import expert_agreement
    from errata.io.rejections import rejections

    rows = derive.dev_records()
    same = taxonomy.load("peychev2023").same_superclass
    base = expert_agreement("vit3b-mistakes", labels="real", options=errata.Options(proposals=()))
    print(
        f"{'alpha':>8}  {'spurious':>9}  {'FG lost':>8}  {'agree':>6}  {'kappa':>6}  "
        f"{'published MF flagged':>21}  {'published spurious flagged':>27}"
    )
    b = base.summary
    fg_lost_base = 1 - b["per_category"]["Fine-grained error"]["recall"]
    print(
        f"{'none':>8}  {b['per_category']['Spurious Correlation']['recall']:9.1%}  "
        f"{fg_lost_base:8.1%}  {b['agreement']:6.1%}  {b['cohen_kappa']:6.3f}"
    )
    for alpha in ALPHAS:
        opts = errata.Options(
            proposals=("real-raters",), proposal_alpha=alpha, spurious="above-chance"
        )
        s = expert_agreement("vit3b-mistakes", labels="real", options=opts).summary
        rej = rejections(("real-raters",), alpha=alpha)
        index = NameIndex.of(rej.file_names)
        flagged: dict[str, list[bool]] = {"model_failure": [], "spurious_correlation": []}
        for r in rows:
            if r["kind"] not in flagged:
                continue
            p = r["pred"]
            labels = [x for x in r["multi_labels"] if x != p and not same[x, p]]
            row = int(index.rows(np.array([r["file"]]))[0])
            hit = False
            for lab in labels:
                own = (
                    row >= 0
                    and bool(rej.sets.contains_at(np.array([row]), np.array([lab]))[0])
                    and bool(rej.rejected.contains_at(np.array([row]), np.array([p]))[0])
                )
                if rej.counts[lab, p] - own >= rej.threshold[lab, p]:
                    hit = True
                    break
            flagged[r["kind"]].append(hit)
        print(
            f"{alpha:8.0e}  {s['per_category']['Spurious Correlation']['recall']:9.1%}  "
            f"{1 - s['per_category']['Fine-grained error']['recall']:8.1%}  "
            f"{s['agreement']:6.1%}  {s['cohen_kappa']:6.3f}  "
            f"{np.mean(flagged['model_failure']):21.1%}  "
            f"{np.mean(flagged['spurious_correlation']):27.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
