"""The plots of the one-model report (:func:`model_figures`, also ``errata analyze --plots``):
what the top-1 errors are per group, MLA and its variants, the most frequent confused pairs and
the least accurate superclasses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from errata.report import _render as R
from errata.report.model_facts import Breakdown, ModelFacts, breakdown_categories, facts

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from errata.analysis import Analysis
    from errata.core.scoring import MLAVariant

N_SUPERCLASS_PLOT = 30  # superclasses in the accuracy plot (the least accurate)
N_PAIRS_PLOT = 20  # confused pairs in the plot (the most frequent)


def breakdown_figure(breakdown: Breakdown, title: str) -> Figure:
    """Stacked horizontal bars: what the top-1 errors are, as shares, one bar per group."""
    cats = [c for c in breakdown_categories() if any(row[c] for _, row in breakdown)]
    fig, ax = R.figure(7.5, 0.45 * len(breakdown) + 1.3)
    y = np.arange(len(breakdown))[::-1]
    totals = np.array([max(sum(row.values()), 1) for _, row in breakdown], dtype=np.float64)
    left = np.zeros(len(breakdown))
    for c in cats:
        share = np.array([row[c] for _, row in breakdown]) / totals
        ax.barh(
            y,
            share,
            left=left,
            color=R.category_color(c),
            label=c,
            height=0.7,
            edgecolor="white",
            linewidth=0.5,
        )
        for yi, li, si in zip(y, left, share, strict=False):
            if si >= 0.06:
                ax.text(li + si / 2, yi, f"{100 * si:.0f}", ha="center", va="center", fontsize=9)
        left += share
    ax.set_yticks(
        y, [f"{R.short(t)} ({int(n):,})" for (t, _), n in zip(breakdown, totals, strict=True)]
    )
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(R.pct_formatter())
    ax.set_xlabel("share of top-1 errors")
    ax.set_title(title, loc="left")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=4)
    return fig


def mla_figure(variants: Mapping[str, MLAVariant]) -> Figure:
    """MLA and its variants that count more categories as correct."""
    keys = list(variants)
    values = np.array([variants[k]["value"] for k in keys])
    fig, ax = R.figure(7.5, 0.4 * len(keys) + 0.9)
    y = np.arange(len(keys))[::-1]
    ax.barh(y, values, color="#0072B2", height=0.6)
    for yi, v in zip(y, values, strict=False):
        ax.text(v, yi, f" {100 * v:.2f} %", va="center", fontsize=9)
    ax.set_yticks(y, [variants[k]["title"] for k in keys])
    lo = max(0.0, float(values.min()) - 0.1)
    ax.set_xlim(lo, 1.0)
    ax.xaxis.set_major_formatter(R.pct_formatter())
    ax.set_xlabel("class-averaged multi-label accuracy")
    return fig


def superclass_figure(sc: pd.DataFrame) -> Figure:
    """Accuracy of the least accurate superclasses (by original class of the image)."""
    worst = sc.sort_values(["accuracy", "superclass"]).head(N_SUPERCLASS_PLOT)
    fig, ax = R.figure(7.5, 0.22 * len(worst) + 0.9)
    y = np.arange(len(worst))[::-1]
    ax.barh(y, worst["accuracy"].to_numpy(), color="#56B4E9", height=0.7)
    ticks = [
        f"{R.short(s)} ({n:,})" for s, n in zip(worst["superclass"], worst["images"], strict=True)
    ]
    ax.set_yticks(y, ticks, fontsize=9)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(R.pct_formatter())
    ax.set_xlabel("accuracy (multi-label) of images whose original class is in the superclass")
    if len(sc) > len(worst):  # say what the plot leaves out: the table has every superclass
        ax.set_title(
            f"the {len(worst)} least accurate of {len(sc):,} superclasses (all in the table)",
            loc="left",
        )
    return fig


def pairs_figure(pairs: pd.DataFrame, class_names: Sequence[str], n_pairs: int = 0) -> Figure:
    """Counts of the most frequent confused pairs, coloured by their main category (of
    ``n_pairs`` in all, said in the title when the plot shows fewer)."""
    from matplotlib.patches import Patch

    top = pairs.head(N_PAIRS_PLOT)
    fig, ax = R.figure(7.5, 0.25 * len(top) + 0.9)
    y = np.arange(len(top))[::-1]
    ax.barh(
        y, top["count"].to_numpy(), color=[R.category_color(c) for c in top["category"]], height=0.7
    )
    ax.set_yticks(
        y,
        [
            f"{R.short(class_names[o]) if o >= 0 else '—'} → {R.short(class_names[p])}"
            for o, p in zip(top["original"], top["top1"], strict=False)
        ],
        fontsize=9,
    )
    ax.set_xlabel("errors")
    cats = list(dict.fromkeys(top["category"]))
    ax.legend([Patch(color=R.category_color(c)) for c in cats], cats, loc="lower right")
    if max(n_pairs, len(pairs)) > len(top):
        ax.set_title(
            f"the {len(top)} most frequent of {max(n_pairs, len(pairs)):,} confused pairs",
            loc="left",
        )
    return fig


def model_figures(analysis: Analysis, f: ModelFacts | None = None) -> dict[str, Figure]:
    """The report's matplotlib figures by export name."""
    from errata import resources

    f = f or facts(analysis)
    figs = {
        "category_breakdown": breakdown_figure(
            f.breakdown, f"{R.short(analysis.predictions.name)}: what the top-1 errors are"
        )
    }
    if analysis.summary.get("mla_variants"):
        figs["mla_variants"] = mla_figure(analysis.summary["mla_variants"])
    if len(f.pairs):
        figs["confused_pairs"] = pairs_figure(f.pairs, resources.classes().names, f.n_pairs)
    if len(f.superclasses):
        figs["superclass_accuracy"] = superclass_figure(f.superclasses)
    return figs
