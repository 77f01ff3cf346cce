"""The one-model report: headline metrics with intervals, the category breakdown (overall and per
group), MLA variants, the most frequent confused pairs, per-superclass accuracy, and a searchable,
sortable table of every error (with thumbnails when the images are at hand).

Entry points: :func:`model_report` (``errata analyze --report``) and
:func:`model_figures` (the plots alone, for ``--plots``). The page is built one section at a
time: the numbers (:mod:`errata.report.model_facts`), the plots
(:mod:`errata.report.model_plots`), the tables and example images
(:mod:`errata.report.model_tables`), the published population
(:mod:`errata.report.population`) and the cards and category table here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from errata.experts import open_world_note
from errata.report import _render as R
from errata.report import population as PR
from errata.report.model_facts import (
    N_PAIRS,
    ModelFacts,
    breakdown_categories,
    confused_label,
    facts,
)
from errata.report.model_plots import (
    N_SUPERCLASS_PLOT,
    breakdown_figure,
    mla_figure,
    model_figures,
    pairs_figure,
    superclass_figure,
)
from errata.report.model_tables import (
    GRID_SHARE,
    GRID_SIZE,
    N_GRID,
    N_GRID_PAIRS,
    Grid,
    error_table,
    example_images,
    grid_members,
    pair_table,
    superclass_table,
)

if TYPE_CHECKING:
    from markupsafe import Markup
    from matplotlib.figure import Figure

    from errata.analysis import Analysis, Metric
    from errata.core.evidence import Source
    from errata.core.scoring import ErrorSummary
    from errata.io.evidence import Options

Progress = Callable[[int, int, str], None]
STEPS = ("figures", "population", "images", "tables", "page")  # what progress() is told


class Card(TypedDict):
    """A headline card: a metric, its value and interval in words, and its images."""

    key: str
    title: str
    value: str
    ci: str
    images: int | None


class CategoryRow(TypedDict):
    """A row of the category table."""

    name: str
    count: int
    share: float | None
    top1_share: float | None
    status: str
    color: str


class ModelPage(TypedDict):
    """The context of ``model.html``."""

    version: str
    title: str
    model: str
    source: str
    labels: str
    dataset: str
    n_images: int
    metrics: list[Card]
    summary: ErrorSummary
    categories: list[CategoryRow]
    openworld_note: str
    svgs: dict[str, Markup]
    sources: dict[str, Source]
    thumb_note: str
    grids: list[Grid]
    interval_note: str
    notes: list[str]
    n_errors: int
    pairs_note: str
    population: PR.Section
    tables: dict[str, Markup]


def model_report(
    analysis: Analysis,
    path: str | Path,
    *,
    images: str | Path | None = None,
    plots: str | Path | None = None,
    max_image_bytes: int = 8_000_000,
    thumbnail_size: int = 112,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Write one model's report as a single self-contained HTML file.

    Parameters
    ----------
    analysis : errata.analysis.Analysis
        With classified errors.
    path : path
        The HTML file (written atomically).
    images : folder, optional
        ImageNet validation images (flat or one folder per class): a grid of examples per
        category and per confused pair (click one to enlarge it), and thumbnails of the errors
        in the table, in table order, until ``max_image_bytes`` of JPEG data. Only images inside
        the folder are read.
    plots : folder, optional
        Also write every plot as SVG, PDF and PNG here.
    max_image_bytes, thumbnail_size : int
        Cap on the embedded thumbnails' total size, and their longer side in pixels.
    progress : callable(done, total, what), optional
        Told as each step of :data:`STEPS` starts (the CLI draws a bar from it).

    Returns
    -------
    dict
        ``{"report": path, "<plot>.svg": …}`` of the files written.
    """
    import errata

    step = _stepper(progress)
    step("figures")
    f = facts(analysis)
    figs = model_figures(analysis, f)
    step("population")
    population = population_section(analysis)
    if "figure" in population:
        figs[PR.FIGURE] = population.pop("figure")
    written: dict[str, Path] = {}
    if plots is not None:
        written |= R.export(figs, plots)
    svgs = _svgs(figs, population)
    step("images")
    pictures = example_images(analysis, f, images, max_image_bytes, thumbnail_size)
    step("tables")
    n_errors = 0 if analysis.errors_table is None else analysis.errors_table.num_rows
    context: ModelPage = {
        "version": errata.__version__,
        "title": f"errata report — {analysis.predictions.name}",
        "model": analysis.predictions.name,
        "source": str(analysis.predictions.source),
        "labels": analysis.labels.name,
        "dataset": analysis.dataset.title,
        "n_images": len(analysis.predictions),
        "metrics": headline_cards(analysis),
        "summary": analysis.summary,
        "categories": category_rows(analysis.summary),
        "openworld_note": open_world_note(analysis.summary, analysis.options),
        "svgs": svgs,
        "sources": analysis.summary.get("sources", {}),
        "thumb_note": pictures["note"],
        "grids": pictures["grids"],
        "interval_note": interval_note(analysis.options),
        "notes": analysis.notes(),
        "n_errors": n_errors,
        "pairs_note": pairs_note(f),
        "population": population,
        "tables": _tables(analysis, f, pictures["thumbs"]),
    }
    step("page")
    written["report"] = R.write_page(path, R.render("model.html", context))
    if progress is not None:
        progress(len(STEPS), len(STEPS), "done")
    return written


def _stepper(progress: Progress | None) -> Callable[[str], None]:
    """``step(what)``: tell ``progress`` that step ``what`` of :data:`STEPS` starts."""

    def step(what: str) -> None:
        if progress is not None:
            progress(STEPS.index(what), len(STEPS), what)

    return step


def _svgs(figs: dict[str, Figure], population: PR.Section) -> dict[str, Markup]:
    """The figures as inline SVG (the population figure also into its section)."""
    from markupsafe import Markup

    svgs = {k: Markup(R.svg(fig, k)) for k, fig in figs.items()}
    if PR.FIGURE in svgs:
        population["svg"] = svgs[PR.FIGURE]
    return svgs


def _tables(analysis: Analysis, f: ModelFacts, thumbs: dict[str, str]) -> dict[str, Markup]:
    """The JSON blocks of the page's sortable tables."""
    from markupsafe import Markup

    from errata import resources

    assert analysis.errors_table is not None
    names = list(resources.classes().names)
    blocks = {
        "errors-data": error_table(analysis.errors_table, names, thumbs),
        "pairs-data": pair_table(f.pairs, names),
        "superclass-data": superclass_table(f.superclasses),
    }
    return {k: Markup(R.embed_json(v)) for k, v in blocks.items()}


def pairs_note(f: ModelFacts) -> str:
    """What the pairs table leaves out, and where every error is (``""`` when it shows all)."""
    if f.n_pairs <= len(f.pairs):
        return ""
    return (
        f"showing the {len(f.pairs):,} most frequent of {f.n_pairs:,} confused pairs; every "
        "error is in the table below and in errors.parquet (errata analyze … --out)"
    )


def headline_cards(analysis: Analysis) -> list[Card]:
    """The headline cards: each metric with its interval, and MLA (under ReaL, from the
    variants)."""
    from errata.core.metrics import METRICS

    cards: list[Card] = []
    for key, m in analysis.metrics.items():
        title = METRICS[key].title if key in METRICS else key
        if key == "imagenet_m":
            value, ci = f"{m['value']} / {m['of']}", ""
        else:
            lo, hi = m["ci95"]
            value, ci = f"{100 * m['value']:.2f} %", f"95 % CI {100 * lo:.2f} – {100 * hi:.2f}"
        cards.append({"key": key, "title": title, "value": value, "ci": ci, "images": m["images"]})
    mla = analysis.summary.get("mla_variants", {}).get("mla")
    if "mla" not in analysis.metrics and mla is not None:  # ReaL: MLA from the variants
        cards.append(
            {
                "key": "mla",
                "title": mla["title"],
                "value": f"{100 * mla['value']:.2f} %",
                "ci": "class-averaged",
                "images": _images(analysis.metrics.get(analysis.scores.accuracy_key)),
            }
        )
    return cards


def _images(metric: Metric | None) -> int | None:
    return None if metric is None else metric["images"]


def category_rows(summary: ErrorSummary) -> list[CategoryRow]:
    """The category table: each category's images, share of the top-1 errors (the bars) and
    of the multi-label errors."""
    top1_errors = summary["top1_errors"]
    return [
        {
            "name": c,
            "count": row["count"],
            "share": row.get("share"),
            "top1_share": row["count"] / top1_errors
            if c in breakdown_categories() and top1_errors and not row.get("status")
            else None,
            "status": row.get("status", ""),
            "color": R.category_color(c),
        }
        for c, row in summary["categories"].items()
    ]


def interval_note(options: Options) -> str:
    """How the report's intervals were computed, from the run's own settings."""
    if getattr(options, "interval", "wilson") == "bootstrap":
        return (
            f"Intervals (95 %): percentile bootstrap over images, {options.n_resamples:,} "
            f"resamples, seed {options.seed}; class-averaged metrics (MLA): the variance of a "
            "mean of per-class proportions."
        )
    return (
        "Intervals (95 %): Wilson score interval over images; class-averaged metrics (MLA): "
        "the variance of a mean of per-class proportions."
    )


def population_section(analysis: Analysis) -> PR.Section:
    """The section among the published models: this model's figures, and whether they are
    comparable (:mod:`errata.report.population`)."""
    values = {k: v[0] for k, v in analysis.scores.values.items()}
    return PR.section(
        [(analysis.predictions.name, PR.run_values(values, analysis.settings))],
        analysis.published(),
        band=PR.band_rows(analysis.band),
    )


__all__ = [
    "breakdown_categories",
    "GRID_SHARE",
    "GRID_SIZE",
    "N_GRID",
    "N_GRID_PAIRS",
    "N_PAIRS",
    "N_SUPERCLASS_PLOT",
    "STEPS",
    "ModelFacts",
    "breakdown_figure",
    "category_rows",
    "confused_label",
    "error_table",
    "example_images",
    "facts",
    "grid_members",
    "headline_cards",
    "interval_note",
    "mla_figure",
    "model_figures",
    "model_report",
    "pair_table",
    "pairs_figure",
    "population_section",
    "superclass_figure",
    "superclass_table",
]
