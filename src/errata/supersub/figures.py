"""One model's superclass figures (flat, and two-stage with scores, scored by the pipeline) and
a batch of top-1 files' flat figures as one stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from errata.core import categories as K
from errata.core.evidence import Context, Taxonomy
from errata.core.names import Alignment
from errata.core.pipeline import Classifier
from errata.core.scoring import make_scores, score, topk_counts
from errata.core.supersub import superclass_scores, two_stage
from errata.io.evidence import Options
from errata.io.labels import LabelSet
from errata.io.predictions import Predictions

if TYPE_CHECKING:
    import pandas as pd

PIPELINE = ("top1", "top5", "real", "label_accuracy", "mla", "errors")  # pipeline columns kept
Row = dict[str, object]  # one model's row of SuperSub.models


def _flat_batch(
    batch: list[tuple[int, Predictions, Alignment]],
    tax: Taxonomy,
    members: np.ndarray,
    names_s: np.ndarray,
    dataset: str,
    rows: list[Row],
    per: list[pd.DataFrame],
) -> None:
    """The flat superclass figures of a batch of top-1 files sharing one alignment, as one
    stack: each file's row (``rows[slot]``) and its superclass rows (appended to ``per``);
    ``members`` is the taxonomy's ``superclass_members`` as bool."""
    import pandas as pd

    if not batch:
        return
    al = batch[0][2]
    top1 = np.stack([b[1].top1 for b in batch])
    s = superclass_scores(top1, al.original, members, names_s, same=tax.same_superclass)
    vals = s.values()
    for j, (slot, _, _) in enumerate(batch):
        rows[slot] |= {"scores": False} | {f"flat_{k}": a[j] for k, a in vals.items()}
    per_model = [s.per_superclass(j) for j in range(len(batch))]
    frame = pd.DataFrame({k: np.concatenate([m[k] for m in per_model]) for k in per_model[0]})
    frame["variant"] = "flat"
    frame["model"] = np.repeat([b[1].name for b in batch], len(names_s))
    frame["dataset"] = dataset
    per.append(frame)
    batch.clear()


def _one(
    pred: Predictions,
    al: Alignment,
    label_set: LabelSet,
    tax: Taxonomy,
    members: np.ndarray,
    covered: np.ndarray,
    names_s: np.ndarray,
    classifier: Classifier | None,
    ctx: Context | None,
    opts: Options,
) -> tuple[Row, pd.DataFrame]:
    """One model's row and superclass rows: flat figures always, two-stage ones with scores."""
    import pandas as pd

    truth = al.original.astype(np.int64)  # (n_rows,) the true class of each prediction row
    variants = {"flat": pred.topk}
    if pred.scores is not None:
        variants["two_stage"] = two_stage(pred.scores, members, k=pred.k)[0]
    row: Row = {"scores": pred.scores is not None}
    per = []
    for v, topk in variants.items():
        s = superclass_scores(topk[:, 0], truth, members, names_s, same=tax.same_superclass)
        row |= {f"{v}_{k}": a[0] for k, a in s.values().items()}
        per.append(pd.DataFrame(s.per_superclass(0)).assign(variant=v))
    if len(variants) > 1:  # the pipeline on both, over the images in scope
        row |= _pipeline_figures(variants, al, truth, covered, label_set, classifier, ctx, opts)
    return row, pd.concat(per, ignore_index=True)


def _pipeline_figures(
    variants: dict[str, np.ndarray],
    al: Alignment,
    truth: np.ndarray,
    covered: np.ndarray,
    label_set: LabelSet,
    classifier: Classifier | None,
    ctx: Context | None,
    opts: Options,
) -> Row:
    """The pipeline's figures (``<variant>_pipeline_<figure>``, ``<variant>_n_<category>``) of
    each variant's ranking (n_rows, k), over the images whose true class the taxonomy covers."""
    row: Row = {}
    in_scope = (truth >= 0) & covered[np.clip(truth, 0, None)]
    rows, images = al.rows, al.images
    keep = in_scope[rows]
    stack, hits, ns = [], [], []
    for topk in variants.values():
        top1 = np.full(al.n_images, -1, dtype=np.int64)
        top1[images[keep]] = topk[rows[keep], 0]
        stack.append(top1)
        h, n = topk_counts(topk[in_scope], al.original[in_scope], label_set.multi.n_classes)
        hits.append(h)
        ns.append(n)
    tally_, _ = score(
        label_set,
        np.stack(stack),
        topk_hits=np.stack(hits),
        topk_n=np.stack(ns),
        context=classifier,
    )
    sc = make_scores(label_set, list(variants), tally_, context=ctx, options=opts.scoring)
    vals = sc.values
    for j, v in enumerate(variants):
        for key in PIPELINE:
            if key in vals:
                row[f"{v}_pipeline_{key}"] = vals[key][j]
        for c in K.ERRORS:
            if f"n_{c.key}" in vals:
                row[f"{v}_n_{c.key}"] = vals[f"n_{c.key}"][j]
    return row
