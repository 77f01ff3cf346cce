"""Layer 8 — agreement of the automated pipeline with expert reviewers (Vasudevan et al. 2022).

An expert file (dough-bagel schema) names, for each reviewed mistake, the model's top prediction,
the expert's failure category and its severity. :func:`expert_agreement` runs the pipeline on
exactly those images and predictions and cross-tabulates automated × expert category.

The expert file under evaluation is never used as evidence for the non-prototypical stage (that
would make agreement on those rows circular); other expert files may be passed as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from errata import errors as E
from errata.exceptions import ErrataInputError
from errata.labels import LabelSet, load_labels
from errata.predictions import Order, load_predictions

# which automated categories agree with each expert category
AGREES: dict[str, tuple[str, ...]] = {
    "Fine-grained error": (E.FINE, E.OVERLAP),
    "Fine-grained with Multilabel Options": (E.FINE, E.OVERLAP),
    "Fine-grained error with OOV": (E.OOV,),
    "Spurious Correlation": (E.SPURIOUS,),
    "Non-prototypical": (E.NONPROTO, E.NONPROTO_X),
}


@dataclass
class Agreement:
    """Result of :func:`expert_agreement`.

    ``rows`` is one row per expert image (file_name, top1, expert category and severity,
    automated category, reason, agrees); ``confusion`` counts automated × expert category.
    """

    rows: Any  # pandas DataFrame
    confusion: Any  # pandas DataFrame (automated category × expert category)
    severity: Any  # pandas DataFrame (automated category × expert severity)
    summary: dict[str, Any]


def expert_agreement(
    expert_file: str | Path,
    *,
    predictions: str | Path | None = None,
    labels: str | Path | LabelSet = "real",
    order: Order = "filename",
    **pipeline_options: Any,
) -> Agreement:
    """Compare the pipeline's categories with an expert file's, image by image.

    Parameters
    ----------
    expert_file : path
        Dough-bagel schema (``vit3b_mistakes.json``).
    predictions : path, optional
        A model's predictions; by default the expert file's own ``top_prediction`` is used.
    labels : label set used to decide what is an error (default ReaL).
    **pipeline_options
        Passed to :func:`errata.errors.build_context` (not the expert file itself).
    """
    import pandas as pd

    used = [Path(p).resolve() for p in pipeline_options.get("expert_files", [])]
    if Path(expert_file).resolve() in used:
        raise ErrataInputError(
            f"{expert_file}: the file under evaluation cannot also be evidence "
            "(its 'Non-prototypical' rows would agree with themselves)"
        )
    experts = E.load_expert_file(expert_file)
    full = load_labels(labels)
    rows = full.positions(experts["file_name"].to_numpy(dtype=object))
    if (rows < 0).any():
        missing = experts["file_name"].to_numpy()[rows < 0]
        raise ErrataInputError(
            f"{expert_file}: {len(missing)} images are not in label set "
            f"'{full.name}' (e.g. '{missing[0]}')"
        )
    if predictions is None:
        top1 = experts["top_prediction"].to_numpy().astype(np.int64)
        pred_name = f"{Path(expert_file).name} top_prediction"
    else:
        pred = load_predictions(predictions, order=order)
        pos = {n: i for i, n in enumerate(pred.file_names.tolist())}
        idx = np.array([pos.get(n, -1) for n in experts["file_name"].tolist()])
        if (idx < 0).any():
            raise ErrataInputError(
                f"{predictions}: no prediction for "
                f"'{experts['file_name'].iloc[int(np.argmax(idx < 0))]}' of "
                f"{expert_file}"
            )
        top1 = pred.top1[idx].astype(np.int64)
        pred_name = pred.name
    pipeline_options.setdefault("cooccurrence", full)
    # the context restricted to the expert images: counts still come from the full set
    sub_ctx = E.build_context(full, **pipeline_options).take(rows)
    result = E.classify(sub_ctx, top1)
    cats = np.array([E.CATEGORIES[c] for c in result.category[0]], dtype=object)
    err_rows = np.flatnonzero(np.isin(result.category[0], [E.CODE[c] for c in E.ERROR_CATEGORIES]))
    reason = np.full(len(cats), "", dtype=object)
    reason[err_rows] = E.reasons(sub_ctx, result, top1, err_rows)
    reason[cats == E.CORRECT] = f"counted correct by label set '{full.name}'"
    reason[cats == E.CORRECT_MULTI] = f"counted correct by label set '{full.name}'"
    agrees = np.array([c in AGREES.get(x, ()) for c, x in zip(cats, experts["category"])])
    table = pd.DataFrame(
        {
            "file_name": experts["file_name"],
            "top1": top1,
            "expert_category": experts["category"],
            "expert_severity": experts["severity"],
            "category": cats,
            "reason": reason,
            "agrees": agrees,
        }
    )
    is_error = np.isin(cats, E.ERROR_CATEGORIES)
    confusion = pd.crosstab(
        table["category"], table["expert_category"], margins=True, margins_name="total"
    )
    severity = pd.crosstab(
        table["category"], table["expert_severity"], margins=True, margins_name="total"
    )
    per_expert = {}
    for cat, agree_with in AGREES.items():
        sel = (table["expert_category"] == cat).to_numpy()
        err = sel & is_error
        per_expert[cat] = {
            "rows": int(sel.sum()),
            "errors_under_labels": int(err.sum()),
            "agree": int((agrees & err).sum()),
            "agree_share": float((agrees & err).sum() / err.sum()) if err.any() else None,
            "agreeing_categories": list(agree_with),
        }
    summary = {
        "expert_file": str(expert_file),
        "predictions": pred_name,
        "labels": full.name,
        "rows": len(table),
        "counted_correct": int((~is_error & (cats != E.EXCLUDED)).sum()),
        "excluded": int((cats == E.EXCLUDED).sum()),
        "errors": int(is_error.sum()),
        "agreement": float(agrees[is_error].mean()) if is_error.any() else None,
        "per_expert_category": per_expert,
        "sources": sub_ctx.sources_used,
    }
    return Agreement(rows=table, confusion=confusion, severity=severity, summary=summary)
