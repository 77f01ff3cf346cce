"""The one-model report: headline metrics with intervals, the category breakdown (overall and per
group), MLA variants, the most frequent confused pairs, per-superclass accuracy, and a searchable,
sortable table of every error (with thumbnails when the images are at hand).

Entry points: :func:`model_report` (``errata analyze --report``) and
:func:`model_figures` (the plots alone, for ``--plots``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from errata.core import categories as K
from errata.exceptions import ErrataInputError
from errata.experts import open_world_note
from errata.report import _render as R
from errata.report import population as PR

N_PAIRS = 30  # confused pairs listed
N_SUPERCLASS_PLOT = 30  # superclasses in the accuracy plot (the least accurate)
BREAKDOWN = tuple(c.name for c in K.CATEGORIES if c.is_error or c.name == "correct multi-label")
# ^ what a top-1 error turns out to be


@dataclass(frozen=True)
class ModelFacts:
    """The numbers a one-model report shows, computed once from an Analysis (also used by tests).

    ``breakdown`` rows are (title, {category: count}); ``pairs`` and ``superclasses`` are
    DataFrames; ``category`` (n,) int8 codes of the images of ``analysis.labels``.
    """

    breakdown: list[tuple[str, dict[str, int]]]
    pairs: Any
    superclasses: Any
    category: np.ndarray
    n_pairs: int = 0  # distinct confused pairs (``pairs`` holds the N_PAIRS most frequent)


def _require_errors(analysis: Any) -> None:
    if analysis.context is None or not analysis.summary:
        raise ErrataInputError(
            "report: the analysis has no classified errors (run analyze "
            "without --no-errors / classify_errors=False)"
        )


def facts(analysis: Any) -> ModelFacts:
    """Breakdown per group, confused pairs and per-superclass accuracy of one analysis."""
    import pandas as pd

    _require_errors(analysis)
    summary = analysis.summary
    cat = analysis.classified.category[0]
    breakdown = [("all images", {c: int(summary["categories"][c]["count"]) for c in BREAKDOWN})]
    split_titles = {"wordnet": "WordNet", "shankar": "Shankar"}
    for split, groups in summary.get("groups", {}).items():
        for g, block in groups.items():
            breakdown.append(
                (
                    f"{g} ({split_titles.get(split, split)})",
                    {c: int(block["categories"].get(c, 0)) for c in BREAKDOWN},
                )
            )

    # confused pairs: (original label, prediction) over the multi-label errors
    err = analysis.errors_table
    top1 = err.column("top1").to_numpy().astype(np.int64)
    orig = confused_label(err)
    names = np.asarray(K.NAMES, dtype=object)
    cat_codes, cat_table = _codes(err.column("category"))
    lut = np.array([K.CODE[c] for c in cat_table] or [0], dtype=np.int64)
    codes = lut[np.asarray(cat_codes, dtype=np.int64)]
    frame = pd.DataFrame({"original": orig, "top1": top1, "category": codes})
    per = frame.groupby(["original", "top1", "category"]).size().rename("n").reset_index()
    per = per.sort_values(
        ["original", "top1", "n", "category"], ascending=[True, True, False, True]
    )
    pairs = per.groupby(["original", "top1"], sort=False).agg(
        count=("n", "sum"), category=("category", "first")
    )
    detail = per.assign(text=names[per["category"].to_numpy()] + " " + per["n"].astype(str))
    pairs["categories"] = detail.groupby(["original", "top1"], sort=False)["text"].agg(", ".join)
    pairs = pairs.reset_index()
    pairs["category"] = names[pairs["category"].to_numpy()]
    n_pairs = len(pairs)
    pairs = (
        pairs.sort_values(["count", "original", "top1"], ascending=[False, True, True])
        .head(N_PAIRS)
        .reset_index(drop=True)
    )

    # per-superclass accuracy over the evaluated images, by their original class
    tax = analysis.context.taxonomy
    counts = analysis.scores.tally.counts[0, : tax.n_classes]  # (C, buckets)
    per = analysis.scores.per_class(0)
    n_c = per["evaluated"].astype(np.float64)
    hit_c = counts[:, list(K.CORRECT_CODES)].sum(axis=1)
    err_c = counts[:, list(K.ERROR_CODES)].sum(axis=1)
    fine_c = counts[:, K.CODE["fine-grained"]]
    members = np.asarray(tax.superclass_members, dtype=np.float64)  # (1000, S)
    images = members.T @ n_c
    with np.errstate(invalid="ignore", divide="ignore"):
        sc = pd.DataFrame(
            {
                "superclass": list(tax.superclass_names),
                "classes": members.sum(axis=0).astype(int),
                "images": images.astype(int),
                "accuracy": np.where(images > 0, (members.T @ hit_c) / images, np.nan),
                "errors": (members.T @ err_c).astype(int),
                "fine_grained": (members.T @ fine_c).astype(int),
            }
        )
    sc = sc[sc["images"] > 0].reset_index(drop=True)
    return ModelFacts(
        breakdown=breakdown, pairs=pairs, superclasses=sc, category=cat, n_pairs=n_pairs
    )


def confused_label(err: Any) -> np.ndarray:
    """Per error row, the label the prediction was confused with: the stage's evidence label
    when there is one, else the original label unless the prediction *is* the original label
    (rejected by the multi-label set), in which case the image's first multi-label (-1: none)."""
    import pyarrow as pa

    evidence = err.column("evidence_label").to_numpy().astype(np.int64)
    original = err.column("original").to_numpy().astype(np.int64)
    top1 = err.column("top1").to_numpy().astype(np.int64)
    lists = err.column("labels")
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    values = np.asarray(lists.values.to_numpy(zero_copy_only=False), dtype=np.int64)
    has = np.diff(offsets) > 0
    first_arr = np.full(len(top1), -1, dtype=np.int64)
    first_arr[has] = values[offsets[:-1][has]]
    fallback = np.where(original != top1, original, first_arr)
    return np.where(evidence >= 0, evidence, fallback)


# ---------------------------------------------------------------------------------------------
# plots


def breakdown_figure(breakdown: list[tuple[str, dict[str, int]]], title: str) -> Any:
    """Stacked horizontal bars: what the top-1 errors are, as shares, one bar per group."""
    cats = [c for c in BREAKDOWN if any(row[c] for _, row in breakdown)]
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


def mla_figure(variants: dict[str, dict[str, Any]]) -> Any:
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


def superclass_figure(sc: Any) -> Any:
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


def pairs_figure(pairs: Any, class_names: Any, n_pairs: int = 0) -> Any:
    """Counts of the most frequent confused pairs, coloured by their main category (of
    ``n_pairs`` in all, said in the title when the plot shows fewer)."""
    top = pairs.head(20)
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
    from matplotlib.patches import Patch

    ax.legend([Patch(color=R.category_color(c)) for c in cats], cats, loc="lower right")
    if max(n_pairs, len(pairs)) > len(top):
        ax.set_title(
            f"the {len(top)} most frequent of {max(n_pairs, len(pairs)):,} confused pairs",
            loc="left",
        )
    return fig


def model_figures(analysis: Any, f: ModelFacts | None = None) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------------------------
# the page


Progress = Callable[[int, int, str], None]
STEPS = ("figures", "population", "images", "tables", "page")  # what progress() is told


def model_report(
    analysis: Any,
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
    pairs_note = (
        f"showing the {len(f.pairs):,} most frequent of {f.n_pairs:,} confused pairs; every "
        "error is in the table below and in errors.parquet (errata analyze … --out)"
        if f.n_pairs > len(f.pairs)
        else ""
    )
    context = {
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
        "n_errors": analysis.errors_table.num_rows,
        "pairs_note": pairs_note,
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


def _svgs(figs: dict[str, Any], population: dict[str, Any]) -> dict[str, Any]:
    """The figures as inline SVG (the population figure also into its section)."""
    from markupsafe import Markup

    svgs = {k: Markup(R.svg(fig, k)) for k, fig in figs.items()}
    if PR.FIGURE in svgs:
        population["svg"] = svgs[PR.FIGURE]
    return svgs


def _tables(analysis: Any, f: ModelFacts, thumbs: dict[str, str]) -> dict[str, Any]:
    """The JSON blocks of the page's sortable tables."""
    from markupsafe import Markup

    from errata import resources

    names = list(resources.classes().names)
    blocks = {
        "errors-data": error_table(analysis.errors_table, names, thumbs),
        "pairs-data": pair_table(f.pairs, names),
        "superclass-data": superclass_table(f.superclasses),
    }
    return {k: Markup(R.embed_json(v)) for k, v in blocks.items()}


N_GRID = 12  # example images per category and per confused pair
N_GRID_PAIRS = 10  # confused pairs with an example grid (the most frequent)
GRID_SIZE = 320  # longer side of a grid image in pixels (shown small, full size on a click)
GRID_SHARE = 0.6  # of max_image_bytes for the grids; the table's thumbnails get the rest


def example_images(
    analysis: Any, f: ModelFacts, images: str | Path | None, max_bytes: int, size: int
) -> dict[str, Any]:
    """The example grids (per category, per confused pair), the table's thumbnails and the
    line that says what was shown (or how to get images)."""
    err = analysis.errors_table
    n_err = err.num_rows
    if images is None:
        return {
            "grids": [],
            "thumbs": {},
            "note": "No example images: give the validation images (errata analyze … --report "
            "FILE --images FOLDER, or model_report(…, images=FOLDER)) to see a grid of examples "
            "per category and per confused pair, and each error's thumbnail.",
        }
    from errata.io.images import list_images
    from errata.report.thumbnails import thumbnails

    listing = list_images(images, dataset=analysis.dataset.name)
    file_names = err.column("file_name").to_pylist()
    grids = grid_members(err, f)
    wanted = list(dict.fromkeys(n for g in grids for n in g["files"]))
    big, shown = thumbnails(
        images,
        wanted,
        max_bytes=int(GRID_SHARE * max_bytes),
        size=GRID_SIZE,
        dataset=analysis.dataset.name,
        listing=listing,
    )
    for g in grids:
        g["images"] = [{"file": n, "src": big[n]} for n in g.pop("files") if n in big]
    thumbs, stats = thumbnails(
        images,
        file_names,
        max_bytes=max_bytes - shown["bytes"],
        size=size,
        dataset=analysis.dataset.name,
        listing=listing,
    )
    note = (
        f"{sum(len(g['images']) for g in grids):,} example images in {len(grids)} grids "
        f"(click one to enlarge it); "
        f"{stats['embedded']:,} of {n_err:,} errors shown with a thumbnail "
        f"({(stats['bytes'] + shown['bytes']) / 1e6:.1f} MB in all; {stats['missing']:,} "
        "images not found"
        f"{'; size cap reached' if stats['capped'] else ''})."
    )
    return {"grids": [g for g in grids if g["images"]], "thumbs": thumbs, "note": note}


def grid_members(err: Any, f: ModelFacts) -> list[dict[str, Any]]:
    """Which errors each example grid shows: per error category (in the registry's order) and
    per confused pair (the :data:`N_GRID_PAIRS` most frequent), the first :data:`N_GRID` error
    images of it in table order (``files``), with ``kind``, ``title``, ``count`` and ``id``."""
    from errata import resources

    names = resources.classes().names
    files = np.asarray(err.column("file_name").to_pylist(), dtype=object)
    cats = np.asarray(err.column("category").to_pylist(), dtype=object)
    label = confused_label(err)
    top1 = err.column("top1").to_numpy().astype(np.int64)
    out: list[dict[str, Any]] = []
    for c in K.ERRORS:
        hit = cats == c.name
        if hit.any():
            out.append(
                {
                    "kind": "category",
                    "id": f"grid-{c.key}",
                    "title": c.name,
                    "color": R.category_color(c.name),
                    "count": int(hit.sum()),
                    "files": list(files[hit][:N_GRID]),
                }
            )
    for i, (o, p) in enumerate(zip(f.pairs["original"], f.pairs["top1"], strict=True)):
        if i >= N_GRID_PAIRS:
            break
        hit = (label == o) & (top1 == p)
        out.append(
            {
                "kind": "pair",
                "id": f"grid-pair-{i + 1}",
                "title": f"{names[o] if o >= 0 else '—'} → {names[p]}",
                "color": R.category_color(f.pairs["category"].iloc[i]),
                "count": int(hit.sum()),
                "files": list(files[hit][:N_GRID]),
            }
        )
    return out


def error_table(err: Any, names: list[str], thumbs: dict[str, str]) -> dict[str, Any]:
    """The table of every error (with a thumbnail column when there are thumbnails)."""
    file_names = err.column("file_name").to_pylist()
    reason_codes, reason_table = _codes(err.column("reason"))
    cat_codes, cat_table = _codes(err.column("category"))
    columns = ([{"key": "image", "title": "image", "type": "image"}] if thumbs else []) + [
        {"key": "file_name", "title": "file", "type": "text", "css": "mono"},
        {"key": "original", "title": "original label", "type": "class"},
        {"key": "labels", "title": "labels", "type": "classes"},
        {"key": "top1", "title": "prediction", "type": "class"},
        {
            "key": "category",
            "title": "category",
            "type": "lookup",
            "lookup": "categories",
            "filter": True,
            "swatch": True,
        },
        {"key": "reason", "title": "reason", "type": "lookup", "lookup": "reasons"},
        {
            "key": "severity",
            "title": "severity",
            "type": "num",
            "digits": 1,
            "help": "WordNet LCA height between the prediction and the closest label",
        },
    ]
    sev = np.round(err.column("severity").to_numpy(zero_copy_only=False).astype(np.float64), 2)
    cols = [
        file_names,
        err.column("original").to_numpy().tolist(),
        [lst or [] for lst in err.column("labels").to_pylist()],
        err.column("top1").to_numpy().tolist(),
        cat_codes,
        reason_codes,
        [None if np.isnan(v) else float(v) for v in sev.tolist()],
    ]
    if thumbs:
        cols.insert(0, file_names)
    rows = [list(r) for r in zip(*cols, strict=False)] if err.num_rows else []
    return R.table(
        columns,
        rows,
        classes=names,
        categories=cat_table,
        reasons=reason_table,
        colors=[R.category_color(c) for c in cat_table],
        images=thumbs,
    )


def pair_table(pairs: Any, names: list[str]) -> dict[str, Any]:
    """The table of the most frequent confused pairs."""
    rows = [
        [int(o), int(p), int(n), c, d]
        for o, p, n, c, d in zip(
            pairs["original"],
            pairs["top1"],
            pairs["count"],
            pairs["category"],
            pairs["categories"],
            strict=True,
        )
    ]
    return R.table(
        [
            {
                "key": "original",
                "title": "label",
                "type": "class",
                "help": "the evidence label, else the original label, else the first multi-label",
            },
            {"key": "top1", "title": "prediction", "type": "class"},
            {"key": "count", "title": "errors", "type": "num"},
            {"key": "category", "title": "main category", "type": "text", "filter": True},
            {"key": "categories", "title": "all categories", "type": "text"},
        ],
        rows,
        classes=names,
    )


def superclass_table(sc: Any) -> dict[str, Any]:
    """The table of every superclass's accuracy and errors."""
    return R.table(
        [
            {"key": "superclass", "title": "superclass", "type": "text"},
            {"key": "classes", "title": "classes", "type": "num"},
            {"key": "images", "title": "images", "type": "num"},
            {"key": "accuracy", "title": "accuracy", "type": "pct"},
            {"key": "errors", "title": "errors", "type": "num"},
            {"key": "fine_grained", "title": "fine-grained errors", "type": "num"},
        ],
        [
            [s, int(c), int(i), None if np.isnan(a) else float(a), int(e), int(g)]
            for s, c, i, a, e, g in sc.itertuples(index=False)
        ],
    )


def headline_cards(analysis: Any) -> list[dict[str, Any]]:
    """The headline cards: each metric with its interval, and MLA (under ReaL, from the
    variants)."""
    from errata.core.metrics import METRICS

    cards = []
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
                "images": analysis.metrics.get(analysis.scores.accuracy_key, {}).get("images"),
            }
        )
    return cards


def category_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The category table: each category's images, share of the top-1 errors (the bars) and
    of the multi-label errors."""
    top1_errors = summary["top1_errors"]
    return [
        {
            "name": c,
            "count": row["count"],
            "share": row.get("share"),
            "top1_share": row["count"] / top1_errors
            if c in BREAKDOWN and top1_errors and not row.get("status")
            else None,
            "status": row.get("status", ""),
            "color": R.category_color(c),
        }
        for c, row in summary["categories"].items()
    ]


def interval_note(options: Any) -> str:
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


def population_section(analysis: Any) -> dict[str, Any]:
    """The section among the published models: this model's figures, and whether they are
    comparable (:mod:`errata.report.population`)."""
    values = {k: v[0] for k, v in analysis.scores.values.items()}
    return PR.section(
        [(analysis.predictions.name, PR.run_values(values, analysis.settings))],
        analysis.published(),
        band=PR.band_rows(analysis.band),
    )


def _codes(column: Any) -> tuple[list[int], list[str]]:
    """Dictionary-encode an Arrow string column: (codes per row, distinct values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    return col.indices.to_numpy(zero_copy_only=False).tolist(), [
        str(v) for v in col.dictionary.to_pylist()
    ]
