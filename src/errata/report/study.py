"""The many-model report: for each error category, its share of a model's errors against top-1
accuracy and against MLA, one point per model, coloured by a model attribute from an optional
metadata CSV, overall and per group; key figures (correlations); a sortable table of all models.

Entry points: :func:`study_report` (``errata compare --report``) and :func:`study_figures`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from errata.core import categories as K
from errata.exceptions import ErrataInputError, arg, on_command_line
from errata.io.files import read_json
from errata.report import _render as R
from errata.report import population as PR
from errata.report.study_plots import (
    GROUP_TITLES,
    MAX_LEGEND,
    RASTERIZE_ABOVE,
    X_AXES,
    _active,
    _by_dataset,
    _groups,
    scatter_figure,
    shares,
    study_figures,
)
from errata.report.study_population import (
    N_PLACED,
    openworld_note,
    per_model_comparability,
    population_section,
)

if TYPE_CHECKING:
    import pandas as pd
    from markupsafe import Markup

    from errata.study import Study

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


def load_study(study: Study | str | Path) -> tuple[pd.DataFrame, Mapping[str, object]]:
    """(models DataFrame, manifest) from a :class:`~errata.study.Study` (its
    :class:`~errata.io.studyfolder.StudyManifest`) or its folder (``study.json`` as it is,
    unchecked, so that a study of an older layout still has its report: each field is read
    for what it holds)."""
    import pandas as pd

    if not isinstance(study, (str, Path)):
        return study.models, study.summary
    folder = Path(study)
    path = folder / "models.parquet"
    if not path.exists():
        raise ErrataInputError(
            f"{folder}: no models.parquet (run `errata compare ... --out {folder}` first)"
            if on_command_line()
            else f"{folder}: no models.parquet (run errata.compare(..., out={str(folder)!r}) first)"
        )
    models = pd.read_parquet(path)
    meta: object = {}
    if (folder / "study.json").exists():
        meta = read_json(folder / "study.json", what="the summary of `errata compare --out`")
    return models, meta if isinstance(meta, dict) else {}


def load_metadata(path: str | Path, models: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
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


class KeyFigure(TypedDict):
    """A category's median share of errors and its correlation with top-1 and with MLA."""

    category: str
    color: str
    median: float
    top1: float | None
    mla: float | None


def key_figures(models: pd.DataFrame) -> list[KeyFigure]:
    """Per category: median share of errors, and its correlation with top-1 and with MLA."""
    sh = shares(models, "")

    def r(xk: str, y: np.ndarray) -> float | None:
        if xk not in models.columns:
            return None
        x = models[xk].to_numpy(dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(y[ok]) > 0:
            return float(np.corrcoef(x[ok], y[ok])[0, 1])
        return None

    return [
        {
            "category": c,
            "color": R.category_color(c),
            "median": float(np.nanmedian(sh[c])),
            "top1": r("top1", sh[c]),
            "mla": r("mla", sh[c]),
        }
        for c in _active(models)
    ]


def _label_sets(meta: Mapping[str, object]) -> str:
    """The label set of each test set of a study manifest, in words."""
    from errata.core.datasets import DEFAULT

    labels = meta.get("labels", {})
    if not isinstance(labels, dict):
        return ""
    if "name" in labels:  # one test set (older manifests)
        return str(labels["name"])
    named = {d: str(v.get("name", "")) for d, v in labels.items() if isinstance(v, dict)}
    if len(named) == 1 and DEFAULT in named:  # validation only: as before test sets existed
        return named[DEFAULT]
    return "; ".join(f"{v} ({d})" for d, v in named.items())


def _n_failed(failed: object) -> int:
    """How many files failed, from a manifest's ``failed``: the list of them (path and reason,
    :class:`errata.io.discover.FailedFile`), or a count."""
    if isinstance(failed, list):
        return len(failed)
    return failed if isinstance(failed, int) and not isinstance(failed, bool) else 0


class Panel(TypedDict):
    key: str
    title: str
    svg: Markup


class StudyPage(TypedDict):
    """The context of ``study.html``."""

    version: str
    title: str
    n_models: int
    labels: str
    failed: int
    acc_key: str
    best: dict[str, str | float] | None
    ranges: dict[str, tuple[float, float]]
    key_figures: list[KeyFigure]
    panels: list[Panel]
    color_by: str | None
    sources: object  # the manifest's (per test set), as it is
    notes: object
    population: PR.Section
    openworld_note: str
    tables: dict[str, Markup]


def study_report(
    study: Study | str | Path,
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
    if PR.FIGURE in figs:
        population["svg"] = Markup(R.svg(figs[PR.FIGURE], PR.FIGURE))
    panels: list[Panel] = [
        {"key": key, "title": t, "svg": Markup(R.svg(figs[f"share_{key}"], f"share_{key}"))}
        for key, t, _ in _groups(models)
        if f"share_{key}" in figs
    ]
    step("tables")
    table = models_table(models, attrs)
    acc = "real" if "real" in models.columns else "label_accuracy"
    best = models.sort_values(acc, ascending=False, kind="stable").head(1) if len(models) else None
    context: StudyPage = {
        "version": errata.__version__,
        "title": title or f"errata study — {len(models):,} models",
        "n_models": len(models),
        "labels": _label_sets(meta),
        "failed": _n_failed(meta.get("failed")),
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
        "openworld_note": openworld_note(meta),
        "tables": {"models-data": Markup(R.embed_json(table))},
    }
    step("page")
    written["report"] = R.write_page(path, R.render("study.html", context))
    step("done")
    return written


def models_table(models: pd.DataFrame, attrs: list[str]) -> R.Table:
    """The table of every model: its name (and test set), the metadata ``attrs``, the metrics
    of :data:`TABLE_METRICS` and the count of every error category that occurs."""
    columns: list[R.Column] = [{"key": "model", "title": "model", "type": "text"}]
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
    rows: list[list[R.Cell]] = [
        [R.cell(v) for v in r] for r in frame.itertuples(index=False, name=None)
    ]
    return R.table(columns, rows)


STEPS = ("figures", "population", "tables", "page", "done")  # what study_report's progress hears


__all__ = [
    "GROUP_TITLES",
    "MAX_LEGEND",
    "N_PLACED",
    "RASTERIZE_ABOVE",
    "STEPS",
    "TABLE_METRICS",
    "X_AXES",
    "key_figures",
    "load_metadata",
    "load_study",
    "models_table",
    "per_model_comparability",
    "population_section",
    "scatter_figure",
    "shares",
    "study_figures",
    "study_report",
]
