"""Two models side by side: which errors model B fixes, which it introduces, and how the images'
categories move (a transition matrix over the categories of :mod:`errata.errors`).

:func:`model_diff` computes (``errata diff`` prints it); :func:`diff_report` writes the HTML page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from errata.core import categories as K
from errata.exceptions import ErrataInputError
from errata.report import _render as R

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from errata.analysis import Analysis, Metric
    from errata.core.paired import McNemarTest


def states() -> tuple[str, ...]:
    """The transition matrix's axes: every category but excluded, in code order (excluded is
    the registry's last), from the registry as it is now."""
    return tuple(c.name for c in K.CATEGORIES if c.tier != "excluded")


CHANGES = ("fixed", "introduced", "recategorised", "other prediction")  # kinds of changed image


@dataclass(frozen=True)
class ModelDiff:
    """The difference between two analyses on the images both evaluated.

    Attributes
    ----------
    names : (str, str)
        Model names A and B.
    transitions : pandas.DataFrame
        Counts of images by category under A (rows) and under B (columns).
    changes : pandas.DataFrame
        One row per image whose outcome differs: file_name, original, labels (list), top1_a,
        category_a, top1_b, category_b, change (one of :data:`CHANGES`).
    summary : dict
        Images compared, errors of A and B, counts per kind of change (snake_case keys), both
        models' metrics, and ``mcnemar``: McNemar's exact test on top-1 (every shared image)
        and on multi-label correctness (correct or correct multi-label, on the images both
        evaluate) — ``a_only``, ``b_only`` (the discordant images) and ``p_value``.
    """

    names: tuple[str, str]
    transitions: pd.DataFrame
    changes: pd.DataFrame
    summary: DiffSummary


class McNemar(TypedDict):
    """McNemar's exact tests (:func:`errata.core.paired.mcnemar`) on both kinds of correct."""

    top1: McNemarTest
    multi_label: McNemarTest


class DiffSummary(TypedDict):
    """:attr:`ModelDiff.summary`: the images compared, both models' errors, the images of
    each kind of change (:data:`CHANGES`, snake_case), both models' metrics and MLA variants
    (``[A, B]``), the label set and McNemar's tests."""

    images: int
    errors_a: int
    errors_b: int
    fixed: int
    introduced: int
    recategorised: int
    other_prediction: int
    metrics: dict[str, list[float | None]]
    mla_variants: dict[str, list[float]]
    labels: str
    mcnemar: McNemar


def model_diff(a: Analysis, b: Analysis) -> ModelDiff:
    """Compare two :class:`~errata.analysis.Analysis` results with classified errors.

    Images are matched by file name; only images evaluated for both models (not excluded for
    either) are compared.
    """
    import pandas as pd

    for x, which in ((a, "A"), (b, "B")):
        if x.context is None:
            raise ErrataInputError(
                f"diff: model {which} ({x.predictions.name}) has no classified errors"
            )
    if a.labels.name != b.labels.name:
        raise ErrataInputError(
            f"diff: models were scored against different label sets "
            f"('{a.labels.name}' vs '{b.labels.name}')"
        )
    pos_b = b.labels.positions(a.labels.file_names)
    rows_a = np.flatnonzero(pos_b >= 0)
    rows_b = pos_b[rows_a]
    if not len(rows_a):
        raise ErrataInputError(
            f"diff: {a.predictions.name} and {b.predictions.name} share no images"
        )
    from errata.core.paired import mcnemar

    top1_test = mcnemar(  # top-1 on every shared image, as the top-1 metric counts them
        a.top1[rows_a] == a.labels.original[rows_a], b.top1[rows_b] == b.labels.original[rows_b]
    )
    cat_a = a.classified.category[0][rows_a].astype(np.int64)
    cat_b = b.classified.category[0][rows_b].astype(np.int64)
    both = (cat_a >= 0) & (cat_b >= 0) & (cat_a != K.EXCLUDED) & (cat_b != K.EXCLUDED)
    rows_a, rows_b, cat_a, cat_b = rows_a[both], rows_b[both], cat_a[both], cat_b[both]
    axes = states()
    k = len(axes)
    matrix = np.bincount(cat_a * k + cat_b, minlength=k * k).reshape(k, k)
    transitions = pd.DataFrame(
        matrix, index=pd.Index(axes, name="A"), columns=pd.Index(axes, name="B")
    )

    top1_a = a.top1[rows_a].astype(np.int64)
    top1_b = b.top1[rows_b].astype(np.int64)
    err_a, err_b = np.isin(cat_a, K.ERROR_CODES), np.isin(cat_b, K.ERROR_CODES)
    ok_a, ok_b = np.isin(cat_a, K.CORRECT_CODES), np.isin(cat_b, K.CORRECT_CODES)
    change = np.full(len(cat_a), -1, dtype=np.int64)
    change[(top1_a != top1_b) & ~(err_a & ok_b) & ~(ok_a & err_b)] = 3
    change[err_a & err_b & (cat_a != cat_b)] = 2
    change[ok_a & err_b] = 1
    change[err_a & ok_b] = 0
    sel = np.flatnonzero(change >= 0)
    names = np.asarray(K.NAMES, dtype=object)
    r = rows_a[sel]
    labels = a.labels.multi.take(r).lists()  # changed rows only
    changes = pd.DataFrame(
        {
            "file_name": a.labels.file_names[r],
            "original": a.labels.original[r].astype(np.int64),
            "labels": labels,
            "top1_a": top1_a[sel],
            "category_a": names[cat_a[sel]],
            "top1_b": top1_b[sel],
            "category_b": names[cat_b[sel]],
            "change": np.asarray(CHANGES, dtype=object)[change[sel]],
        }
    )
    counts = np.bincount(change[sel], minlength=len(CHANGES)).tolist()
    acc_key = "real" if "real" in a.metrics else "label_accuracy"
    summary: DiffSummary = {
        "images": int(len(cat_a)),
        "errors_a": int(err_a.sum()),
        "errors_b": int(err_b.sum()),
        "fixed": counts[0],  # the kinds of CHANGES, in order
        "introduced": counts[1],
        "recategorised": counts[2],
        "other_prediction": counts[3],
        "metrics": {
            key: [_value(a.metrics.get(key)), _value(b.metrics.get(key))]
            for key in ("top1", "top5", acc_key, "mla")
            if key in a.metrics or key in b.metrics
        },
        "mla_variants": {
            k: [a.summary["mla_variants"][k]["value"], b.summary["mla_variants"][k]["value"]]
            for k in a.summary.get("mla_variants", {})
            if k in b.summary.get("mla_variants", {})
        },
        "labels": a.labels.name,
        "mcnemar": {  # paired exact tests: discordant images and the two-sided p-value
            "top1": top1_test,
            "multi_label": mcnemar(ok_a, ok_b),  # correct or correct multi-label, evaluated
        },
    }
    return ModelDiff(
        names=(a.predictions.name, b.predictions.name),
        transitions=transitions,
        changes=changes,
        summary=summary,
    )


def _value(m: Metric | None) -> float | None:
    return None if m is None else float(m["value"])


def transition_figure(d: ModelDiff) -> Figure:
    """The transition matrix as a heat map (log-scaled colour, counts written in the cells)."""
    import matplotlib as mpl

    t = d.transitions
    keep = [s for s in states() if t.loc[s].sum() or t[s].sum()]
    m = t.loc[keep, keep].to_numpy()
    fig, ax = R.figure(1.0 + 0.75 * len(keep), 0.9 + 0.6 * len(keep))
    ax.imshow(
        np.log1p(m),
        cmap="Blues",
        aspect="auto",
        norm=mpl.colors.Normalize(0, max(np.log1p(m).max(), 1)),
    )
    hi = np.log1p(m).max()
    for i in range(len(keep)):
        for j in range(len(keep)):
            ax.text(
                j,
                i,
                f"{m[i, j]:,}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if np.log1p(m[i, j]) > 0.6 * hi else "black",
            )
    ax.set_xticks(range(len(keep)), keep, rotation=35, ha="right")
    ax.set_yticks(range(len(keep)), keep)
    ax.set_xlabel(f"B: {R.short(d.names[1])}")
    ax.set_ylabel(f"A: {R.short(d.names[0])}")
    ax.spines[:].set_visible(False)
    return fig


def diff_report(
    d: ModelDiff, path: str | Path, *, plots: str | Path | None = None
) -> dict[str, Path]:
    """Write the diff of two models as one self-contained HTML file (and the plot to ``plots``)."""
    from markupsafe import Markup

    import errata
    from errata import resources
    from errata.core.paired import sentence

    figs = {"transitions": transition_figure(d)}
    written: dict[str, Path] = {}
    if plots is not None:
        written |= R.export(figs, plots)
    ch = d.changes
    columns: list[R.Column] = [
        {"key": "change", "title": "change", "type": "text", "filter": True},
        {"key": "file_name", "title": "file", "type": "text"},
        {"key": "original", "title": "original label", "type": "class"},
        {"key": "labels", "title": "labels", "type": "classes"},
        {"key": "top1_a", "title": f"A: {d.names[0]}", "type": "class"},
        {"key": "category_a", "title": "A category", "type": "text", "filter": True},
        {"key": "top1_b", "title": f"B: {d.names[1]}", "type": "class"},
        {"key": "category_b", "title": "B category", "type": "text", "filter": True},
    ]
    rows: list[list[R.Cell]] = [
        list(r)
        for r in zip(
            ch["change"].tolist(),
            ch["file_name"].tolist(),
            ch["original"].tolist(),
            ch["labels"].tolist(),
            ch["top1_a"].tolist(),
            ch["category_a"].tolist(),
            ch["top1_b"].tolist(),
            ch["category_b"].tolist(),
            strict=False,
        )
    ]
    t = d.transitions
    keep = [s for s in states() if t.loc[s].sum() or t[s].sum()]
    context = {
        "version": errata.__version__,
        "title": f"errata diff — {d.names[0]} → {d.names[1]}",
        "names": d.names,
        "summary": d.summary,
        "mcnemar": sentence(d.summary["mcnemar"]["top1"], d.summary["mcnemar"]["multi_label"]),
        "changes_kinds": CHANGES,
        "matrix": {"states": keep, "rows": [[int(v) for v in t.loc[s, keep]] for s in keep]},
        "svg": Markup(R.svg(figs["transitions"], "transitions")),
        "tables": {
            "changes-data": Markup(
                R.embed_json(R.table(columns, rows, classes=list(resources.classes().names)))
            )
        },
    }
    written["report"] = R.write_page(path, R.render("diff.html", context))
    return written
