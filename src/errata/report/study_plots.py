"""The plots of the study report (:func:`study_figures`, also ``errata compare --plots``): for
each error category, its share of a model's errors against top-1 accuracy and against MLA, one
point per model, coloured by a model attribute, overall and per group."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from errata.core import categories as K
from errata.exceptions import ErrataInputError, arg
from errata.report import _render as R

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

RASTERIZE_ABOVE = 300  # models: above this, scatter points are rasterised inside the SVG
MAX_LEGEND = 12  # categorical colours shown; rarer values are pooled as "other"
GROUP_TITLES = {"wordnet": "WordNet", "shankar": "Shankar"}
X_AXES = {"top1": "top-1 accuracy", "mla": "MLA"}  # x-axes of the scatter plots

Legend = list[tuple[str, str]]  # (label, colour) of each categorical value shown


def _colors(values: pd.Series | None) -> tuple[np.ndarray, Legend, Normalize | None]:
    """Per-model colours for a metadata column: (colours (m,), legend [(label, colour)], norm)
    — categorical values get a qualitative palette, numbers a continuous colour map."""
    import matplotlib as mpl
    import pandas as pd

    if values is None:
        return np.array(["#0072B2"] * 0, dtype=object), [], None
    if pd.api.types.is_numeric_dtype(values):
        v = values.to_numpy(dtype=np.float64)
        finite = np.isfinite(v)
        lo, hi = (np.nanmin(v), np.nanmax(v)) if finite.any() else (0.0, 1.0)
        norm = mpl.colors.Normalize(lo, hi if hi > lo else lo + 1)
        rgba = mpl.colormaps["viridis"](norm(np.where(finite, v, lo)))
        cols = np.array([mpl.colors.to_hex(c) for c in rgba], dtype=object)
        cols[~finite] = "#bbbbbb"
        return cols, [], norm
    text = values.fillna("").astype(str).replace("", "(none)")
    counts = text.value_counts()
    keep = list(counts.index[:MAX_LEGEND])
    if len(counts) > MAX_LEGEND:
        keep = list(counts.index[: MAX_LEGEND - 1])
    palette = _palette("tab20" if len(keep) > 10 else "tab10")
    cmap = {k: palette[i % len(palette)] for i, k in enumerate(keep)}
    cols = np.array([cmap.get(t, "#999999") for t in text], dtype=object)
    legend = [(k, cmap[k]) for k in keep]
    if len(counts) > len(keep):
        legend.append((f"other ({len(counts) - len(keep)} values)", "#999999"))
    return cols, legend, None


def _palette(name: str) -> list[str]:
    """The colours of a qualitative matplotlib colour map, as hex."""
    import matplotlib as mpl

    cmap = mpl.colormaps[name]
    return [mpl.colors.to_hex(c) for c in cmap(np.arange(cmap.N))]


def _groups(models: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(key, title, column prefix) of "all models" and every group present in the table."""
    out = [("all", "all images", "")]
    for split in ("wordnet", "shankar"):
        names = [
            c[len(split) + 1 : -len("_errors")]
            for c in models.columns
            if c.startswith(f"{split}_") and c.endswith("_errors")
        ]
        order = ["organism", "artifact", "other", "dogs", "other_organisms", "objects"]
        for g in sorted(names, key=lambda n: (order.index(n) if n in order else 99, n)):
            out.append(
                (f"{split}_{g}", f"{g.replace('_', ' ')} ({GROUP_TITLES[split]})", f"{split}_{g}_")
            )
    return out


def shares(models: pd.DataFrame, prefix: str) -> dict[str, np.ndarray]:
    """Per category, each model's share of its errors (in the group ``prefix``): {cat: (m,)}."""
    if prefix:
        total = models[f"{prefix}errors"].to_numpy(dtype=np.float64)
        cols = {c.name: f"{prefix}{c.key}" for c in K.ERRORS}
    else:
        total = models["errors"].to_numpy(dtype=np.float64)
        cols = {c.name: f"n_{c.key}" for c in K.ERRORS}
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for c, col in cols.items():
            if col in models.columns:
                out[c] = np.where(total > 0, models[col].to_numpy(dtype=np.float64) / total, np.nan)
    return out


def _active(models: pd.DataFrame) -> list[str]:
    """The error categories that occur in at least one model."""
    s = shares(models, "")
    return [c for c, v in s.items() if np.nansum(v) > 0]


def scatter_figure(
    models: pd.DataFrame,
    prefix: str,
    title: str,
    categories: list[str],
    colors: np.ndarray,
    legend: Legend,
    norm: Normalize | None,
    color_by: str | None,
) -> Figure:
    """Grid: one row per category, columns share vs top-1 and vs MLA; one point per model."""
    from matplotlib.lines import Line2D

    x_keys = [k for k in X_AXES if k in models.columns]
    fig, axes = R.grid(
        3.2 * len(x_keys) + 0.4,
        2.1 * len(categories) + 1.0,
        nrows=len(categories),
        ncols=len(x_keys),
    )
    sh = shares(models, prefix)
    many = len(models) > RASTERIZE_ABOVE
    size = 6 if many else 14
    for i, c in enumerate(categories):
        y = sh[c]
        for j, xk in enumerate(x_keys):
            ax = axes[i][j]
            x = models[xk].to_numpy(dtype=np.float64)
            ax.scatter(x, y, s=size, c=list(colors), linewidths=0, alpha=0.8, rasterized=many)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(y[ok]) > 0:
                r = float(np.corrcoef(x[ok], y[ok])[0, 1])
                ax.text(
                    0.02,
                    0.95,
                    f"r = {r:+.2f}",
                    transform=ax.transAxes,
                    va="top",
                    fontsize=9,
                    color="#444",
                )
            R.pct_panel(
                ax, i, j, len(categories), ylabel=f"{c}\n(share of errors)", xlabel=X_AXES[xk]
            )
    fig.suptitle(
        f"{title}: share of each error category, one point per model ({len(models):,})",
        fontsize=9,
        x=0.01,
        ha="left",
    )
    if legend:
        handles = [Line2D([], [], marker="o", ls="", color=col, markersize=5) for _, col in legend]
        fig.legend(
            handles,
            [R.short(lab) for lab, _ in legend],
            loc="outside lower center",
            ncols=min(4, len(legend)),
            title=color_by,
        )
    elif norm is not None:
        import matplotlib as mpl

        sm = mpl.cm.ScalarMappable(norm=norm, cmap="viridis")
        fig.colorbar(sm, ax=axes, location="bottom", shrink=0.6, label=color_by, aspect=40)
    return fig


def study_figures(models: pd.DataFrame, *, color_by: str | None = None) -> dict[str, Figure]:
    """The scatter grids by export name (``share_<group>``)."""
    if color_by is not None and color_by not in models.columns:
        raise ErrataInputError(
            f"{arg('color_by')}: '{color_by}' is not a column of the models table or the "
            "metadata CSV"
        )
    color_by = color_by or _by_dataset(models)
    values = models[color_by] if color_by else None
    colors, legend, norm = _colors(values)
    if values is None:
        colors = np.array(["#0072B2"] * len(models), dtype=object)
    cats = _active(models)
    return (
        {
            f"share_{key}": scatter_figure(
                models, prefix, title, cats, colors, legend, norm, color_by
            )
            for key, title, prefix in _groups(models)
        }
        if cats and len(models)
        else {}
    )


def _by_dataset(models: pd.DataFrame) -> str | None:
    """``"dataset"`` when the study holds several test sets (the points are coloured by it)."""
    return "dataset" if "dataset" in models.columns and models["dataset"].nunique() > 1 else None
