"""The many-model report: for each error category, its share of a model's errors against top-1
accuracy and against MLA, one point per model, coloured by a model attribute from an optional
metadata CSV, overall and per group; key figures (correlations); a sortable table of all models.

Entry points: :func:`study_report` (``errata compare --report``) and :func:`study_figures`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from errata.core import categories as K
from errata.exceptions import ErrataInputError, arg, on_command_line
from errata.io.files import read_json
from errata.report import _render as R
from errata.report import population as PR
from errata.resources import N_VAL

RASTERIZE_ABOVE = 300  # models: above this, scatter points are rasterised inside the SVG
MAX_LEGEND = 12  # categorical colours shown; rarer values are pooled as "other"
GROUP_TITLES = {"wordnet": "WordNet", "shankar": "Shankar"}
X_AXES = {"top1": "top-1 accuracy", "mla": "MLA"}  # x-axes of the scatter plots
TABLE_METRICS = (
    "top1",
    "top5",
    "real",
    "label_accuracy",
    "mla",
    "mla_overlap",
    "mla_minor",
    "mla_explainable",
    "errors",
    "mean_severity",
)  # model-table columns, in order


def load_study(study: Any) -> tuple[Any, dict[str, Any]]:
    """(models DataFrame, study.json dict) from a :class:`~errata.study.Study` or its folder."""
    import pandas as pd

    if hasattr(study, "models"):
        return study.models, dict(getattr(study, "summary", {}) or {})
    folder = Path(study)
    path = folder / "models.parquet"
    if not path.exists():
        raise ErrataInputError(
            f"{folder}: no models.parquet (run `errata compare ... --out {folder}` first)"
            if on_command_line()
            else f"{folder}: no models.parquet (run errata.compare(..., out={str(folder)!r}) first)"
        )
    models = pd.read_parquet(path)
    meta = {}
    if (folder / "study.json").exists():
        meta = read_json(folder / "study.json", what="the summary of `errata compare --out`")
    return models, meta


def load_metadata(path: str | Path, models: Any) -> Any:
    """Read a metadata CSV (a ``model`` column, then any attributes) and join it to ``models``.

    Models the CSV does not list get empty attributes; a CSV without a ``model`` column, or one
    that lists a model twice, is an :class:`ErrataInputError`.
    """
    import pandas as pd

    path = Path(path)
    try:
        meta = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ErrataInputError(f"{arg('metadata', path)}: file not found") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ErrataInputError(f"{arg('metadata', path)}: not a readable CSV ({exc})") from None
    if "model" not in meta.columns:
        raise ErrataInputError(
            f"{arg('metadata', path)}: no 'model' column (header: "
            f"{', '.join(meta.columns) or 'empty'})"
        )
    dup = meta["model"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise ErrataInputError(
            f"{arg('metadata', path)}: line {row + 2}: model '{meta['model'].iloc[row]}' is "
            "listed twice"
        )
    clash = [c for c in meta.columns if c != "model" and c in models.columns]
    if clash:
        meta = meta.rename(columns={c: f"meta_{c}" for c in clash})
    attrs = [c for c in meta.columns if c != "model"]
    for c in attrs:  # numeric attributes (parameters, year …) become numbers
        num = pd.to_numeric(meta[c], errors="coerce")
        if len(meta) and num.notna().all():
            meta[c] = num
    return models.merge(meta, on="model", how="left"), attrs


def _colors(values: Any) -> tuple[np.ndarray, list[tuple[str, str]], Any]:
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
    palette = mpl.colormaps["tab20" if len(keep) > 10 else "tab10"].colors  # type: ignore[attr-defined]
    cmap = {k: mpl.colors.to_hex(palette[i % len(palette)]) for i, k in enumerate(keep)}
    cols = np.array([cmap.get(t, "#999999") for t in text], dtype=object)
    legend = [(k, cmap[k]) for k in keep]
    if len(counts) > len(keep):
        legend.append((f"other ({len(counts) - len(keep)} values)", "#999999"))
    return cols, legend, None


def _groups(models: Any) -> list[tuple[str, str, str]]:
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


def shares(models: Any, prefix: str) -> dict[str, np.ndarray]:
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


def _active(models: Any) -> list[str]:
    """The error categories that occur in at least one model."""
    s = shares(models, "")
    return [c for c, v in s.items() if np.nansum(v) > 0]


def scatter_figure(
    models: Any,
    prefix: str,
    title: str,
    categories: list[str],
    colors: np.ndarray,
    legend: list[tuple[str, str]],
    norm: Any,
    color_by: str | None,
) -> Any:
    """Grid: one row per category, columns share vs top-1 and vs MLA; one point per model."""
    from matplotlib.lines import Line2D

    x_keys = [k for k in X_AXES if k in models.columns]
    fig, axes = R.figure(
        3.2 * len(x_keys) + 0.4,
        2.1 * len(categories) + 1.0,
        nrows=len(categories),
        ncols=len(x_keys),
        squeeze=False,
        sharex="col",
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


def study_figures(models: Any, *, color_by: str | None = None) -> dict[str, Any]:
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


def key_figures(models: Any) -> list[dict[str, Any]]:
    """Per category: median share of errors, and its correlation with top-1 and with MLA."""
    out = []
    sh = shares(models, "")
    for c in _active(models):
        row: dict[str, Any] = {
            "category": c,
            "color": R.category_color(c),
            "median": float(np.nanmedian(sh[c])),
        }
        for xk in X_AXES:
            if xk not in models.columns:
                row[xk] = None
                continue
            x = models[xk].to_numpy(dtype=np.float64)
            ok = np.isfinite(x) & np.isfinite(sh[c])
            row[xk] = (
                float(np.corrcoef(x[ok], sh[c][ok])[0, 1])
                if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(sh[c][ok]) > 0
                else None
            )
        out.append(row)
    return out


def _by_dataset(models: Any) -> str | None:
    """``"dataset"`` when the study holds several test sets (the points are coloured by it)."""
    return "dataset" if "dataset" in models.columns and models["dataset"].nunique() > 1 else None


def _label_sets(meta: dict[str, Any]) -> str:
    """The label set of each test set of a study manifest, in words."""
    from errata.core.datasets import DEFAULT

    labels = meta.get("labels", {})
    if not isinstance(labels, dict):
        return ""
    if "name" in labels:  # one test set (older manifests)
        return str(labels["name"])
    named = {d: v.get("name", "") for d, v in labels.items() if isinstance(v, dict)}
    if len(named) == 1 and DEFAULT in named:  # validation only: as before test sets existed
        return named[DEFAULT]
    return "; ".join(f"{v} ({d})" for d, v in named.items())


def study_report(
    study: Any,
    path: str | Path,
    *,
    metadata: str | Path | None = None,
    color_by: str | None = None,
    plots: str | Path | None = None,
    title: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Path]:
    """Write the report of a study of many models as one self-contained HTML file.

    Parameters
    ----------
    study : errata.study.Study or folder
        The result of :func:`errata.study.compare`, or the folder it wrote.
    path : path
        The HTML file (written atomically).
    metadata : CSV path, optional
        One row per model: a ``model`` column (the names in the models table) and any attributes
        (architecture, pre-training data, parameters …), shown in the table.
    color_by : str, optional
        The attribute (metadata or models-table column) that colours the points.
    plots : folder, optional
        Also write every plot as SVG, PDF and PNG here.
    progress : callable(done, total, what), optional
        Told as each step of :data:`STEPS` starts (the CLI draws a bar from it).
    """
    from markupsafe import Markup

    import errata

    def step(what: str) -> None:
        if progress is not None:
            progress(STEPS.index(what), len(STEPS) - 1, what)

    step("figures")
    models, meta = load_study(study)
    attrs: list[str] = []
    if metadata is not None:
        models, attrs = load_metadata(metadata, models)
    if color_by is not None and color_by not in models.columns:
        raise ErrataInputError(
            f"{arg('color_by')}: '{color_by}' is not a column of the metadata CSV "
            f"({', '.join(attrs) or 'no metadata given'})"
        )
    figs = study_figures(models, color_by=color_by)
    step("population")
    population = population_section(models, meta)
    if "figure" in population:
        figs[PR.FIGURE] = population.pop("figure")
    written: dict[str, Path] = {}
    if plots is not None:
        written |= R.export(figs, plots)
    groups = _groups(models)
    if PR.FIGURE in figs:
        population["svg"] = Markup(R.svg(figs[PR.FIGURE], PR.FIGURE))
    panels = [
        {"key": key, "title": t, "svg": Markup(R.svg(figs[f"share_{key}"], f"share_{key}"))}
        for key, t, _ in groups
        if f"share_{key}" in figs
    ]

    step("tables")
    columns: list[dict[str, Any]] = [{"key": "model", "title": "model", "type": "text"}]
    if _by_dataset(models):
        columns.append({"key": "dataset", "title": "dataset", "type": "text", "filter": True})
    for a in attrs:
        numeric = models[a].dtype.kind in "if"
        columns.append(
            {
                "key": a,
                "title": a,
                "type": "num" if numeric else "text",
                "filter": not numeric and models[a].nunique() <= 50,
            }
        )
    for k in TABLE_METRICS:
        if k in models.columns:
            kind = "num" if k in ("errors", "mean_severity") else "pct"
            columns.append({"key": k, "title": k.replace("_", " "), "type": kind, "digits": 2})
    for c in (c.name for c in K.ERRORS):
        col = f"n_{K.slug(c)}"
        if col in models.columns and models[col].sum() > 0:
            columns.append({"key": col, "title": c, "type": "num"})
    frame = models[[c["key"] for c in columns]]
    rows = [[R.cell(v) for v in r] for r in frame.itertuples(index=False, name=None)]
    acc = "real" if "real" in models.columns else "label_accuracy"
    best = models.sort_values(acc, ascending=False).head(1) if len(models) else None
    context = {
        "version": errata.__version__,
        "title": title or f"errata study — {len(models):,} models",
        "n_models": len(models),
        "labels": _label_sets(meta),
        "failed": meta.get("failed", 0),
        "acc_key": acc,
        "best": None
        if best is None or best.empty
        else {"model": str(best["model"].iloc[0]), "value": float(best[acc].iloc[0])},
        "ranges": {
            k: (float(models[k].min()), float(models[k].max()))
            for k in ("top1", acc, "mla")
            if k in models.columns and len(models)
        },
        "key_figures": key_figures(models) if len(models) else [],
        "panels": panels,
        "color_by": color_by or _by_dataset(models),
        "sources": meta.get("sources", {}),
        "notes": meta.get("notes", []),
        "population": population,
        "openworld_note": _openworld_note(meta),
        "tables": {"models-data": Markup(R.embed_json(R.table(columns, rows)))},
    }
    step("page")
    written["report"] = R.write_page(path, R.render("study.html", context))
    step("done")
    return written


STEPS = ("figures", "population", "tables", "page", "done")  # what study_report's progress hears
N_PLACED = 50  # models listed in the placement table (all are drawn)


def _openworld_note(meta: dict[str, Any]) -> str:
    """:func:`errata.experts.open_world_caveat` when the study's validation models ran without
    the fine-grained-OOV stage (counted with errata's default evidence, or the study's preset),
    else ``""``."""
    from errata.core.datasets import DEFAULT
    from errata.core.population import not_run
    from errata.experts import open_world_caveat
    from errata.io.evidence import Options

    settings = meta.get("settings") or {}
    if isinstance(settings.get(DEFAULT), dict):  # format 3: settings per test set
        settings = settings[DEFAULT]
    if "n_fine_grained_oov" not in not_run(settings):
        return ""
    preset = settings.get("preset")
    return open_world_caveat(Options(preset=preset) if isinstance(preset, str) else None)


def population_section(models: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """The section among the published models (:mod:`errata.report.population`): every model of
    the study drawn on the published plots, and whether each is comparable — judged per model
    (:func:`per_model_comparability`): a model that covers a subset of the images has no
    comparable top-1, the others keep theirs."""
    from errata.core.datasets import DEFAULT
    from errata.io.published_band import models_bands

    settings = meta.get("settings") or {}
    if isinstance(settings.get(DEFAULT), dict):  # format 3: settings per test set
        settings = settings[DEFAULT]
    if "dataset" in models.columns:  # only the validation models stand beside the published
        models = models[models["dataset"] == DEFAULT]
    study, figures, note = per_model_comparability(models, settings)
    runs = [
        (str(r["model"]), PR.run_values(r, settings), f)
        for r, f in zip(models.to_dict(orient="records"), figures, strict=True)
    ]
    out = PR.section(
        runs, study, band=PR.band_study(models_bands(models, settings)), n_placed=N_PLACED
    )
    out["per_model_note"] = note
    if "placement" in out and len(runs) > N_PLACED:
        out["placement_note"] = (
            f"showing {N_PLACED} of {len(runs):,} models (in study order); every model is drawn "
            'above, and all are in models.parquet (errata query STUDY "SELECT * FROM models")'
        )
    return out


def per_model_comparability(
    models: Any, settings: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, bool]], str]:
    """Whether the study's validation models stand beside the published ones, model by model:
    (the study's verdict for a model that covers the 50,000 images — or for none, when no model
    does —, each model's ``figures``, and a sentence on the models whose verdict differs: those
    that predict a subset, whose top-1 is not comparable)."""
    from errata.core.population import comparability

    col = "top1_images" if "top1_images" in models.columns else "images"
    if col not in models.columns or not len(models):
        verdict = comparability(settings, full_val=None)
        return verdict, [verdict["figures"]] * len(models), ""
    full = models[col].to_numpy() == N_VAL
    whole = comparability(settings, full_val=True)
    part = comparability(settings, full_val=False)
    verdict = whole if full.any() else part
    figures = [whole["figures"] if f else part["figures"] for f in full]
    if full.all() or not full.any():
        return verdict, figures, ""
    subset = models.loc[~full, "model"].astype(str).tolist()
    names = ", ".join(subset[:5]) + (f" and {len(subset) - 5:,} more" if len(subset) > 5 else "")
    note = (
        f"top-1 is comparable for {int(full.sum()):,} of the {len(full):,} models; the other "
        f"{len(subset):,} predict a subset of the 50,000 validation images ({names}), so their "
        "top-1 is not ranked among the published"
    )
    return verdict, figures, note
