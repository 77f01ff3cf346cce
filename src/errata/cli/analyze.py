"""`errata analyze` — score one model and classify its errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from errata.cli import app
from errata.cli._common import (
    MAX_RESAMPLES,
    console,
    dataset_opt,
    dataset_option,
    experts_opt,
    imagenet_x_opt,
    interval_opt,
    json_opt,
    labels_opt,
    make_options,
    openworld_opt,
    order_opt,
    order_option,
    outside_opt,
    pct,
    plots_opt,
    preset_opt,
    print_json,
    print_written,
    progress_bar,
    proposals_opt,
    report_option,
    seed_opt,
    taxonomy_opt,
    written_json,
)
from errata.cli._tables import print_table

if TYPE_CHECKING:
    from errata.analysis import Analysis


@app.command()
def analyze(
    predictions: str = typer.Argument(
        ...,
        help="Predictions file (.npy/.npz/.csv/.parquet: top-1, top-k or 1000 scores per "
        "image) or a registry name such as cleanlab-resnet50.",
    ),
    labels: str = labels_opt(),
    dataset: str = dataset_opt(),
    outside: str = outside_opt(),
    order: str = order_opt(),
    file_names: str = typer.Option(
        None,
        "--file-names",
        help="File name of each row: a JSON list or text file, or the column/array holding them.",
    ),
    name: str = typer.Option(None, "--name", help="Model name for tables and outputs."),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Write metrics.json, per_image.parquet, "
        "errors.parquet and summary.json into this folder.",
    ),
    json_: bool = json_opt(),
    expert_files: list[str] = experts_opt(),
    imagenet_x: bool = imagenet_x_opt(),
    openworld: Path = openworld_opt(),
    taxonomy: str = taxonomy_opt(),
    proposals: list[str] = proposals_opt(),
    preset: str = preset_opt(),
    no_errors: bool = typer.Option(False, "--no-errors", help="Only compute the metrics."),
    interval: str = interval_opt(),
    bootstrap: int = typer.Option(
        1000,
        "--bootstrap",
        min=10,
        max=MAX_RESAMPLES,
        help=f"Resamples of --interval bootstrap (10 to {MAX_RESAMPLES:,}).",
    ),
    seed: int = seed_opt(),
    report: Path = typer.Option(
        None,
        "--report",
        help="Write a self-contained HTML report (plots inline, searchable table of every error).",
    ),
    images: Path = typer.Option(
        None,
        "--images",
        help="ImageNet validation images (flat or one "
        "folder per class): embed thumbnails of the errors in --report.",
    ),
    plots: Path = plots_opt(),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress display while --report is built."
    ),
) -> None:
    """Score one model and sort its errors into the expert categories.

    Prints top-1/top-5, ReaL or multi-label accuracy with 95 % intervals, then the errors by
    category (overall and per group), MLA variants and mean severity.

    Example: errata analyze preds.npy --labels real --out results/
    """
    from errata.analysis import analyze as run

    _check_outputs(report=report, images=images, plots=plots, no_errors=no_errors)
    dataset, outside = dataset_option(dataset, outside=outside)
    options = make_options(
        expert_files=expert_files,
        imagenet_x=imagenet_x,
        openworld=openworld,
        classify=not no_errors,
        interval=interval,
        n_resamples=bootstrap,
        seed=seed,
        taxonomy=taxonomy,
        proposals=proposals,
        preset=preset,
    )
    result = run(
        predictions,
        labels=labels,
        order=order_option(order),
        file_names=file_names,
        name=name,
        options=options,
        dataset=dataset,
        outside=outside,
    )
    written = result.save(out) if out is not None else {}
    written |= _write_report(result, report, images, plots, quiet=quiet or json_)
    from errata.experts import open_world_note

    caveat = open_world_note(result.summary, result.options) if result.summary else ""
    if json_:
        doc = result.to_dict()
        doc["notes"] = [*doc["notes"], *([caveat] if caveat else [])]
        print_json(doc | written_json(written))
        return
    from rich.markup import escape

    render(result)
    if caveat:
        console().print(f"note: {caveat}", soft_wrap=True)
    if written:
        print_written(written, 10)
        if report is not None:
            console().print(
                f"[bold]open the report in a browser:[/] {escape(Path(report).resolve().as_uri())}",
                soft_wrap=True,
                markup=True,
            )


def _check_outputs(
    *, report: Path | None, images: Path | None, plots: Path | None, no_errors: bool
) -> None:
    """One-line errors for --report, --images and --plots that cannot be honoured."""
    from errata.exceptions import ErrataInputError

    if (report is not None or plots is not None) and no_errors:
        raise ErrataInputError("--report/--plots: need the error pipeline (drop --no-errors)")
    report_option(report)
    if images is not None and report is None:
        raise ErrataInputError("--images: only used with --report")
    if images is not None and not images.is_dir():
        raise ErrataInputError(f"--images {images}: not a folder")


def _write_report(
    result: Analysis, report: Path | None, images: Path | None, plots: Path | None, *, quiet: bool
) -> dict[str, Path]:
    """Write --report (with a progress bar unless ``quiet``) and --plots; the files written."""
    if report is not None:
        from errata.report.model import model_report

        with progress_bar("report", disable=quiet) as progress:
            return model_report(result, report, images=images, plots=plots, progress=progress)
    if plots is not None:
        from errata.report import _render
        from errata.report.model import model_figures

        return _render.export(model_figures(result), plots)
    return {}


def render(result: Analysis) -> None:
    """Print the metrics table (and the error table when errors were classified)."""
    from rich.table import Table

    from errata.core.metrics import METRICS

    c = console()
    labels = result.labels
    where = "" if result.dataset.validation else f" — {result.dataset.title}"
    t = Table(
        title=f"{result.predictions.name}{where} — labels: {labels.name}", title_justify="left"
    )
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column("95 % CI", justify="right")
    t.add_column("images", justify="right")
    for key, m in result.metrics.items():
        title = METRICS[key].title
        if key == "imagenet_m":
            t.add_row(title, f"{m['value']} / {m['of']}", "", f"{m['images']:,}")
            continue
        lo, hi = m["ci95"]
        t.add_row(
            title,
            pct(m["value"], 3),
            f"{pct(lo, 2, unit='')} – {pct(hi, 2, unit='')}",
            f"{m['images']:,}",
        )
    print_table(t, c)
    for note in result.notes():
        c.print(f"note: {note}", soft_wrap=True)
    if result.summary:
        from errata.cli._tables import error_tables

        for table in error_tables(result.summary):
            print_table(table, c)
        from errata.cli._band import print_band

        print_band(result.band)
