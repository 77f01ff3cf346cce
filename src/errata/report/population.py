"""The report section that places a run among the 962 published models (Peychev et al. 2023):
the paper's scatter plots — each error category's share of the multi-label errors against top-1
and against MLA, the population coloured by training-data size — with the run's model(s) drawn on
top, a table of where each figure falls, and the plain statement of whether the run is comparable
(:func:`errata.core.population.comparability`) and what would make it so.

Used by both reports (:mod:`errata.report.model`, :mod:`errata.report.study`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, SupportsFloat, TypedDict

import numpy as np

from errata.core import band as B
from errata.core import categories as K
from errata.core import population as PC
from errata.core import published_band as PB
from errata.io import population as P
from errata.report import _render as R

if TYPE_CHECKING:
    import pandas as pd
    from markupsafe import Markup
    from matplotlib.figure import Figure

    from errata.core.population import Comparability, Figures
    from errata.core.population import Placed as Placement

Run = tuple[str, dict[str, float], "Figures | None"]
# ^ a run drawn on the plots: name, figures (run_values), which figures are comparable (None:
#   the section's verdict holds)


class BandTable(TypedDict):
    """The band table of a run or a study: a sentence, and a row per category."""

    note: str
    rows: list[dict[str, object]]


class Placed(TypedDict):
    model: str
    figures: dict[str, Placement]  # errata.core.population.placement


class Section(TypedDict, total=False):
    """The template context of the section (:func:`section`); the reports add ``svg`` (the
    figure inline) and a study its notes on models judged apart and placed."""

    comparability: Comparability
    present: bool
    band: BandTable
    fetch: str
    n_models: int
    figure: Figure
    placement: list[Placed]
    titles: dict[str, str]
    svg: Markup
    per_model_note: str
    placement_note: str


X_AXES = {
    "top1": "top-1 accuracy (50,000 images)",
    "mla_overlap": "MLA (overlapping classes forgiven)",
}
RUN_COLOR = "#d62728"  # the run's points, on top of the viridis population
FIGURE = "published_population"


def _category_name(col: str) -> str:
    key = col[len("n_") :]
    return next((c.name for c in K.CATEGORIES if c.key == key), key)


def run_values(
    row: Mapping[str, SupportsFloat | None], settings: Mapping[str, object]
) -> dict[str, float]:
    """A run's figures in the population's terms, from a models-table row (or the ``values`` of
    one model): ``top1``, ``mla_overlap`` and ``share_<category>`` (NaN for a category whose
    stage did not run: it is not drawn as a share of 0)."""

    def get(key: str) -> float:
        v = row.get(key)
        return float("nan") if v is None else float(v)

    out = {"top1": get("top1"), "mla_overlap": get("mla_overlap")}
    counts = {k: get(k) for k in (*PC.MLE_CATEGORIES, "n_non_prototypical_imagenet_x")}
    out |= PC.run_shares(counts, not_run=PC.not_run(settings))
    return out


def figure(pop: pd.DataFrame, runs: Sequence[Run], comparable: Mapping[str, object]) -> Figure:
    """One row per category of the paper's plots, columns against top-1 and against MLA."""
    import matplotlib as mpl
    from matplotlib.lines import Line2D

    cats = list(PC.MLE_CATEGORIES)
    fig, axes = R.grid(7.2, 2.0 * len(cats) + 1.4, nrows=len(cats), ncols=len(X_AXES))
    size = pop["training_data_size"].to_numpy(dtype=np.float64)
    finite = np.isfinite(size) & (size > 0)
    norm = mpl.colors.LogNorm(float(size[finite].min()), float(size[finite].max()))
    colors = mpl.colormaps["viridis"](norm(np.where(finite, size, size[finite].min())))
    ok = bool(comparable["comparable"])
    for i, col in enumerate(cats):
        y = PC.population_values(pop, f"share_{col}")
        for j, xk in enumerate(X_AXES):
            ax = axes[i][j]
            x = PC.population_values(pop, xk)
            ax.scatter(x, y, s=6, c=colors, linewidths=0, alpha=0.7, rasterized=True)
            xs = np.array([v.get(xk, np.nan) for _, v, _ in runs], dtype=np.float64)
            ys = np.array([v.get(f"share_{col}", np.nan) for _, v, _ in runs], dtype=np.float64)
            shown = np.isfinite(xs) & np.isfinite(ys)
            if shown.any():  # all the run's models in one call (a study has a thousand)
                ax.scatter(
                    xs[shown],
                    ys[shown],
                    s=70 if len(runs) <= 5 else 24,
                    marker="*",
                    zorder=5,
                    linewidths=1.0 if len(runs) <= 5 else 0.6,
                    facecolors=RUN_COLOR if ok else "none",
                    edgecolors=RUN_COLOR,
                    rasterized=len(runs) > 300,
                )
            if len(runs) <= 5:
                for (name, _, _), xv, yv, on in zip(runs, xs, ys, shown):
                    if on:
                        ax.annotate(
                            R.short(name, 24),
                            (xv, yv),
                            xytext=(4, 3),
                            textcoords="offset points",
                            fontsize=9,
                            color=RUN_COLOR,
                        )
            R.pct_panel(
                ax,
                i,
                j,
                len(cats),
                ylabel=f"{_category_name(col)}\n(share of MLE)",
                xlabel=X_AXES[xk],
            )
    title = f"The {len(pop):,} published models (Peychev et al. 2023)"
    title += " and this run" if ok else "; this run drawn hollow: NOT COMPARABLE (see the note)"
    fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    sm = mpl.cm.ScalarMappable(norm=norm, cmap="viridis")
    fig.colorbar(
        sm, ax=axes, location="bottom", shrink=0.6, aspect=40, label="training images (log scale)"
    )
    handle = Line2D(
        [],
        [],
        marker="*",
        ls="",
        markersize=9,
        markeredgecolor=RUN_COLOR,
        markerfacecolor=RUN_COLOR if ok else "none",
    )
    fig.legend(
        [handle],
        ["this run" if ok else "this run (not comparable)"],
        loc="outside lower left",
        fontsize=9,
    )
    return fig


def band_rows(bands: PB.RunBands | str, j: int = 0) -> BandTable:
    """The band table of one run for the template: ``note`` and per category its share, the
    band, its top with the stages that did not run, where the share falls, and the reasons it
    may differ (for a share outside its band)."""
    if isinstance(bands, str):
        return {"note": bands, "rows": []}
    rows: list[dict[str, object]] = []
    for c, (name, key) in enumerate(zip(PB.BAND_CATEGORIES, PB.BAND_KEYS, strict=True)):
        one = bands.category(j, c)
        pos = "" if one["outside"] is None else one["direction"] or "inside"
        if pos == "inside" and one["inside_with_not_run"]:
            pos = "inside (with the stages not run)"
        rows.append(
            one
            | {
                "category": name,
                "position": pos,
                "reasons": bands.reasons[key] if one["outside"] else [],
            }
        )
    return {"note": bands.note(j), "rows": rows}


def band_study(bands: PB.RunBands | str) -> BandTable:
    """The band summary of a study for the template: per category, how many models have a
    band and a share, and how many fall below, inside and above it, with the reasons."""
    if isinstance(bands, str):
        return {"note": bands, "rows": []}
    pos = bands.position
    rows: list[dict[str, object]] = []
    for c, (name, key) in enumerate(zip(PB.BAND_CATEGORIES, PB.BAND_KEYS, strict=True)):
        known = np.isfinite(pos[:, c])
        rows.append(
            {
                "category": name,
                "placed": int(known.sum()),
                "below": int((pos[:, c] < 0).sum()),
                "inside": int((pos[:, c] == 0).sum()),
                "above": int((pos[:, c] > 0).sum()),
                "reasons": bands.reasons[key] if (np.abs(pos[known, c]) > 0).any() else [],
            }
        )
    no_band = int((~np.isfinite(bands.low).any(axis=1)).sum())
    note = (
        f"each model's shares against p10–p90 of the published models within "
        f"±{100 * B.WINDOW:.0f} points of its top-1"
        + (
            f"; {no_band:,} models have no band (fewer than {B.MIN_MODELS} published models "
            "near their top-1, or another test set)"
            if no_band
            else ""
        )
    )
    return {"note": note, "rows": rows}


def section(
    runs: Sequence[Run | tuple[str, dict[str, float]]],
    comparable: Comparability,
    *,
    band: BandTable | None = None,
    n_placed: int = 20,
) -> Section:
    """The template context of the section: ``present`` (the published files are here),
    ``comparable``, the band table (``band``: :func:`band_rows` or :func:`band_study`), the
    figure, and a placement table of the first ``n_placed`` runs; without the files, how to get
    them. A run may carry its own ``figures`` (which are comparable: a study judges each model),
    else ``comparable``'s hold. The figure is under ``figure`` (a matplotlib Figure, for
    ``--plots``)."""
    out: Section = {"comparability": comparable, "present": P.is_present()}
    if band is not None:
        out["band"] = band
    if not out["present"]:
        missing = [n for n in P.registry_names() if not _present(n)]
        out["fetch"] = " && ".join(f"errata data fetch {n}" for n in missing)
        return out
    pop = P.population(datasets=("imagenet",))
    full: list[Run] = [r if len(r) == 3 else (r[0], r[1], None) for r in runs]
    out["n_models"] = len(pop)
    out["figure"] = figure(pop, full, comparable)
    rows: list[Placed] = []
    for name, values, own in full[:n_placed]:
        figures = comparable["figures"] if own is None else own
        rows.append({"model": name, "figures": PC.placement(values, pop, figures=figures)})
    out["placement"] = rows
    out["titles"] = {"top1": "top-1", "mla_overlap": "MLA (+ overlapping)"} | {
        f"share_{c}": f"{_category_name(c)} share" for c in PC.MLE_CATEGORIES
    }
    return out


def _present(name: str) -> bool:
    from errata.io import data

    return data.is_present(name)
