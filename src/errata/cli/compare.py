"""`errata compare` and `errata query` — many models at once, and SQL over the results."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import typer

from errata.cli import app
from errata.cli._common import (
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
    plural,
    preset_opt,
    print_json,
    progress_bar,
    proposals_opt,
    report_option,
    seed_opt,
    taxonomy_opt,
    written_json,
)
from errata.cli._tables import print_table

if TYPE_CHECKING:
    from errata.core.published_band import RunBands
    from errata.io.studyfolder import ModelRecord, StudyManifest
    from errata.study import Study
    from errata.study.table import Models


@app.command()
def compare(
    paths: list[Path] = typer.Argument(..., help="Prediction files, or folders of them."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Study folder (models.parquet, errors/, failed.json, study.json). An existing "
        "study of the same settings is extended: only new or changed files are scored. A file "
        "is unchanged when its size, modification time, status-change time (ctime) and inode "
        "are the recorded ones, or else when its sha256 is; a rewritten file has another ctime "
        "even when its size and modification time are put back. One run writes a study at a "
        "time: a second waits (see --no-wait).",
    ),
    labels: str = labels_opt(),
    dataset: str = dataset_opt(
        "Test set of these files (see errata analyze --help). A study holds several side by "
        "side: run compare once per test set with the same --out; each row carries its dataset."
    ),
    outside: str = outside_opt(),
    order: str = order_opt(),
    expert_files: list[str] = experts_opt(),
    imagenet_x: bool = imagenet_x_opt(),
    openworld: Path = openworld_opt(),
    taxonomy: str = taxonomy_opt(),
    proposals: list[str] = proposals_opt(),
    preset: str = preset_opt(),
    batch: int = typer.Option(
        64, "--batch", min=1, max=1024, help="Models classified together (1-1024; memory)."
    ),
    interval: str = interval_opt(
        "95 % interval of accuracies over images: 'wilson' or 'bootstrap' (--seed)."
    ),
    seed: int = seed_opt(),
    rebuild: bool = typer.Option(
        False,
        "--rebuild",
        help="Score every file again, even those the study already holds; also the way out of "
        "a damaged study (its lost models of other test sets are dropped, and said).",
    ),
    no_wait: bool = typer.Option(
        False,
        "--no-wait",
        help="When another errata run is writing --out, stop with an error instead of waiting "
        "for it to finish.",
    ),
    json_: bool = json_opt("Print a JSON summary instead of a table."),
    report: Path = typer.Option(
        None,
        "--report",
        help="Write a self-contained HTML page: each "
        "error category's share against top-1 and MLA, per group, and a "
        "sortable table of all models.",
    ),
    metadata: Path = typer.Option(
        None,
        "--metadata",
        help="CSV with a 'model' column and model "
        "attributes (architecture, pre-training data …) for --report.",
    ),
    color_by: str = typer.Option(
        None, "--color-by", help="Metadata column that colours the points of the --report plots."
    ),
    plots: Path = plots_opt(),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress display (while scoring and building --report)."
    ),
) -> None:
    """Analyse many models at once and write Parquet tables for DuckDB.

    All files are classified as one stacked array, in batches.
    A file that fails validation is listed and skipped; the exit code is 1 when any was skipped.

    Example: errata compare runs/ --out study/
    then:    errata query study/ "SELECT model, real FROM models"
    """
    from errata.study import compare as run

    report_option(report)
    _check_metadata(metadata, color_by, report, plots)
    dataset, outside = dataset_option(dataset, outside=outside)
    options = make_options(
        expert_files=expert_files,
        imagenet_x=imagenet_x,
        openworld=openworld,
        interval=interval,
        seed=seed,
        taxonomy=taxonomy,
        proposals=proposals,
        preset=preset,
    )
    quiet = json_ or quiet
    with _progress("models", quiet) as progress:  # no bar: not even rich imported
        study = run(
            paths,
            labels=labels,
            order=order_option(order),
            out=out,
            batch=batch,
            progress=progress,
            options=options,
            rebuild=rebuild,
            dataset=dataset,
            outside=outside,
            wait=not no_wait,
            on_wait=_waiting,
        )
    if report is not None or plots is not None:
        _write_report(study, report, metadata, color_by, plots, quiet)
    from errata.cli._band import study_bands

    bands = study_bands(study.table, _val_settings(study.summary))
    (_print_json if json_ else _print_study)(study, bands)
    if study.failed:
        raise typer.Exit(1)


def _print_json(study: Study, bands: RunBands | str) -> None:
    """compare --json: the manifest, each model's figures, the failures, the bands, the files."""
    from errata.cli._band import study_band_json

    print_json(
        study.summary
        | {"models": models_json(study.summary.get("models", []), study.table)}
        | {"failed_files": study.failed}
        | {"published_band": study_band_json(study.table, bands)}
        | written_json(study.written)
    )


def _progress(
    label: str, quiet: bool
) -> contextlib.AbstractContextManager[Callable[[int, int, str], None] | None]:
    """The progress bar's callback, or None (``--json``, ``--quiet``) without importing rich."""
    return contextlib.nullcontext(None) if quiet else progress_bar(label)


def _write_report(
    study: Study,
    report: Path | None,
    metadata: Path | None,
    color_by: str | None,
    plots: Path | None,
    quiet: bool,
) -> None:
    """--report (the HTML page, with --plots beside it) or --plots alone."""
    from errata.report import _render
    from errata.report.study import load_metadata, study_figures, study_report

    if report is not None:
        with _progress("report", quiet) as progress:
            study.written |= study_report(
                study, report, metadata=metadata, color_by=color_by, plots=plots, progress=progress
            )
        return
    assert plots is not None
    models = study.models
    if metadata is not None:
        models, _ = load_metadata(metadata, models)
    study.written |= _render.export(study_figures(models, color_by=color_by), plots)


def _num(v: object) -> int | float | None:
    """A models-table value for JSON: None for text, None and NaN; a whole number of an integer
    column as an int."""
    if v is None or isinstance(v, str) or not isinstance(v, (int, float, np.number)):
        return None
    f = float(v)
    if math.isnan(f):
        return None
    return int(f) if f.is_integer() and not isinstance(v, (float, np.floating)) else f


def models_json(entries: list[ModelRecord], models: Models) -> list[dict[str, object]]:
    """compare --json's ``models``: each manifest entry (file, size, times, sha256, part) with
    the model's figures from models.parquet — ``metrics`` (each as analyze --json gives it:
    value, ci95, images), ``mla_variants`` and ``errors`` (multi-label errors, top-1 errors,
    excluded, mean severity and each category's count by category key). NaN is null."""
    from errata.core import categories as K
    from errata.core.metrics import METRICS

    num = _num
    rows = {(str(r["model"]), str(r["dataset"])): r for r in models.records()}
    out: list[dict[str, object]] = []
    for entry in entries:
        r = rows.get((str(entry.get("model")), str(entry.get("dataset"))))
        if r is None:
            out.append(dict(entry))
            continue
        metrics = {}
        for key in METRICS:
            if key not in r or num(r[key]) is None:
                continue
            m: dict[str, object] = {"value": num(r[key])}
            if f"{key}_lo" in r:
                m["ci95"] = [num(r[f"{key}_lo"]), num(r[f"{key}_hi"])]
            if f"{key}_images" in r:
                m["images"] = num(r[f"{key}_images"])
            if f"{key}_of" in r:  # imagenet_m: correct of its images, as analyze gives it
                m["of"] = m["images"] = num(r[f"{key}_of"])
            metrics[key] = m
        variants = {k: num(r[k]) for k in K.mla_variants() if k in r}
        errors: dict[str, object] = {
            k: num(r[k]) for k in ("errors", "top1_errors", "excluded", "mean_severity")
        }
        errors["categories"] = {
            c.key: num(r[f"n_{c.key}"]) for c in K.CATEGORIES if f"n_{c.key}" in r
        }
        out.append({**entry, "metrics": metrics, "mla_variants": variants, "errors": errors})
    return out


def _check_metadata(
    metadata: Path | None, color_by: str | None, report: Path | None, plots: Path | None
) -> None:
    """--metadata and --color-by, checked before the long run, not after."""
    from errata.exceptions import ErrataInputError

    if (metadata is not None or color_by is not None) and report is None and plots is None:
        raise ErrataInputError("--metadata/--color-by: only used with --report or --plots")
    if metadata is not None:
        import pandas as pd

        from errata.report.study import load_metadata

        _, attrs = load_metadata(metadata, pd.DataFrame({"model": pd.Series([], dtype=str)}))
        if color_by is not None and color_by not in attrs:
            raise ErrataInputError(
                f"--color-by: '{color_by}' is not a column of {metadata} "
                f"({', '.join(attrs) or 'no attributes'})"
            )


def _waiting(message: str) -> None:
    """Say on stderr that this run waits for another one writing the study."""
    console(stderr=True).print(message, soft_wrap=True)


def _val_settings(summary: StudyManifest) -> dict[str, object] | None:
    """The settings of the study's validation-set models (None without them)."""
    from errata.core.datasets import DEFAULT

    got = (summary.get("settings") or {}).get(DEFAULT)
    return dict(got) if isinstance(got, dict) else None


def _best(values: npt.NDArray[np.generic], n: int) -> npt.NDArray[np.intp]:
    """The rows of the ``n`` largest values, largest first, NaN last, ties in row order — as
    pandas' ``sort_values(ascending=False, kind="stable")`` gives (its ``nargsort``). Stable:
    an unstable sort orders ties by the CPU's sort kernel, so two machines would list tied
    models differently."""
    v = np.asarray(values, dtype=np.float64)
    idx = np.arange(len(v))
    nan = np.isnan(v)
    order = idx[~nan][np.argsort(-v[~nan], kind="stable")]
    return np.concatenate([order, idx[nan]])[:n]


def _print_study(study: Study, bands: RunBands | str) -> None:
    """The best 15 models (by ReaL / label accuracy) with their error categories and the
    categories outside their published band, then what was scored, kept, removed and
    skipped."""
    from rich.markup import escape
    from rich.table import Table

    from errata.cli._band import outside_cell
    from errata.core import categories as K

    c = console()
    df = study.table
    if len(df) and "top1" in df:
        acc = "real" if "real" in df else "label_accuracy"
        cols: list[tuple[str, str, str]] = [  # (column, header, kind)
            ("top1", "top-1 %", "pct"),
            (acc, "ReaL %" if acc == "real" else "labels %", "pct"),
            ("mla", "MLA %", "pct"),
            ("errors", "errors", "num"),
        ] + [(f"n_{cat.key}", cat.short, "num") for cat in K.ERRORS if f"n_{cat.key}" in df]
        t = Table(title=f"{plural(len(df), 'model')} (best 15 by {acc})", title_justify="left")
        t.add_column("model", overflow="fold")
        for _, header, _ in cols:
            t.add_column(header, justify="right", no_wrap=True)
        t.add_column("outside band")
        for j in _best(df[acc], 15).tolist():
            t.add_row(
                str(df["model"][j]),
                *[
                    pct(df[col][j], 2, unit="") if kind == "pct" else f"{int(df[col][j]):,}"
                    for col, _, kind in cols
                ],
                outside_cell(bands, j),
            )
        print_table(t, c)
        if not isinstance(bands, str):
            c.print(
                "outside band: the categories whose share of the multi-label errors is outside "
                "p10–p90 of the published models within ±2 points of the model's top-1 (▲ "
                "above, ▼ below; compare --json gives every figure and the reasons)",
                soft_wrap=True,
            )
            _print_reasons(bands)
        else:
            c.print(f"note: {bands}", soft_wrap=True)
    for f in study.failed:
        console(stderr=True).print(
            f"[yellow]skipped:[/] {escape(f['error'])}", soft_wrap=True, markup=True
        )
    for note in study.summary.get("notes", []):
        c.print(f"note: {note}", soft_wrap=True)
    n = study.summary.get("counts", {})
    c.print(
        f"{plural(n.get('models', 0), 'model')}: {n.get('scored', 0)} scored, "
        f"{n.get('reused', 0)} kept from the study, {n.get('removed', 0)} removed, "
        f"{n.get('failed', 0)} failed"
    )
    if study.written:
        c.print("written: " + ", ".join(str(p) for p in study.written.values()), soft_wrap=True)


def _print_reasons(bands: RunBands) -> None:
    """Why the study's shares may differ from the published ones, per category outside its
    band for some model (the reasons come from the settings, which every model shares)."""
    from errata.core import published_band as PB

    off = bands.outside().sum(axis=0)
    for i, key in enumerate(PB.BAND_KEYS):
        if off[i] and bands.reasons[key]:
            console().print(
                f"why {PB.BAND_CATEGORIES[i]} may differ ({int(off[i])} "
                f"model{'s' if off[i] != 1 else ''} outside): " + "; ".join(bands.reasons[key]),
                soft_wrap=True,
            )


@app.command()
def query(
    folder: Path = typer.Argument(..., help="A folder written by `errata compare --out`."),
    sql: str = typer.Argument(
        ...,
        help="SQL over the views `models` and `errors` (DuckDB), and `published`: the 962 "
        "models of Peychev et al. 2023, one row each, errata's column names (read from the data "
        "directory when the SQL names it).",
    ),
    json_: bool = typer.Option(False, "--json", help="Print records as JSON."),
    csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    limit: int = typer.Option(
        50, "--limit", min=0, help="Rows shown in the table (not for --json/--csv)."
    ),
) -> None:
    """Query a study with SQL (DuckDB).

    Example: errata query study/ "SELECT category, count(*) FROM errors GROUP BY 1 ORDER BY 2 DESC"
    Nearest published model by top-1: errata query study/ "SELECT m.model, p.model FROM models m
    ASOF JOIN published p ON m.top1 >= p.top1"
    """
    import sys

    from rich.table import Table

    from errata.study import query as run

    df = run(folder, sql)
    if json_:
        print_json(df.to_dict(orient="records"))
        return
    if csv:
        df.to_csv(sys.stdout, index=False)
        return
    if len(df.columns) > WIDE:  # one record at a time, as psql's expanded display
        c = console()
        shown = df.head(limit)
        for i, row in enumerate(shown.itertuples(index=False)):
            t = Table(title=f"row {i + 1} of {len(df)}", title_justify="left", show_header=False)
            t.add_column("column", no_wrap=True)
            t.add_column("value", overflow="fold")
            for col, v in zip(df.columns, row):
                t.add_row(str(col), _cell(v))
            print_table(t, c)
        c.print(
            f"{plural(len(df), 'row')} × {len(df.columns)} columns, shown one row at a time "
            f"({min(limit, len(df))} shown); --csv or --json give them all as a table"
        )
        return
    t = Table(title=plural(len(df), "row"), title_justify="left")
    for col in df.columns:
        t.add_column(str(col), overflow="fold")
    for row in df.head(limit).itertuples(index=False):
        t.add_row(*[_cell(v) for v in row])
    print_table(t)


WIDE = 12  # a query result with more columns is shown one row at a time


def _cell(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
