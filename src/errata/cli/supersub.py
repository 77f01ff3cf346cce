"""`errata supersub` — superclass accuracy, errors within vs across superclasses, and two-stage
(superclass, then class) inference, for one model or a study."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from errata.cli import app
from errata.cli._common import (
    console,
    dataset_opt,
    dataset_option,
    json_opt,
    labels_opt,
    make_options,
    order_opt,
    order_option,
    outside_opt,
    pct,
    plural,
    preset_opt,
    print_json,
    print_written,
    progress_bar,
    report_option,
    taxonomy_opt,
    taxonomy_option,
    written_json,
)
from errata.cli._tables import print_table

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from errata.supersub import SuperSub


@app.command()
def supersub(
    paths: list[str] = typer.Argument(
        ...,
        help="Prediction files, folders of them, registry names, or one study folder "
        "(errata compare --out: its models with its settings, test set by test set).",
    ),
    taxonomy: str = taxonomy_opt(
        "Superclasses: 'errata' (errata's 202, overlapping), 'supersub10' (the 10 of "
        "Superclassing ImageNet, 338 classes; images of other classes are out of scope) or "
        "'peychev2023' (the published pipeline's, reconstructed)."
    ),
    labels: str = labels_opt(),
    dataset: str = dataset_opt(),
    outside: str = outside_opt(),
    order: str = order_opt(),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Write models.parquet, superclasses.parquet and supersub.json into this folder.",
    ),
    json_: bool = json_opt(),
    report: Path = typer.Option(
        None, "--report", help="Write a self-contained HTML page of the figures."
    ),
    preset: str = preset_opt(
        "The pipeline that scores the flat and two-stage predictions: 'peychev2023' runs the "
        "published one step for step (see errata analyze --help); --taxonomy still names the "
        "superclasses of the two-stage inference."
    ),
    per_superclass: bool = typer.Option(
        None,
        "--per-superclass/--no-per-superclass",
        help="Print each model's figures per superclass (default: for one model).",
        show_default=False,
    ),
) -> None:
    """Superclass-level evaluation (Wen et al., "Superclassing ImageNet", 2022).

    For each model: superclass accuracy (the prediction shares a superclass with the true
    class) and the share of errors that stay inside the true superclass or cross it, overall
    and per superclass. With scores (logits or probabilities) also two-stage inference — the
    superclass with the highest summed probability, then the best class inside it — and what
    that does to top-1, ReaL/label accuracy, MLA and each error category. Top-1 files have no
    scores: their flat figures only.

    Example: errata supersub preds.npz --taxonomy supersub10
    """
    from errata.supersub import supersub as run

    report_option(report)
    taxonomy = taxonomy_option(taxonomy)
    options = make_options(preset=preset) if preset is not None else None
    dataset, outside = dataset_option(dataset, outside=outside)
    with progress_bar("models", disable=json_) as progress:
        result = run(
            paths,
            taxonomy=taxonomy,
            labels=labels,
            order=order_option(order),
            dataset=dataset,
            outside=outside,
            options=options,
            progress=progress,
        )
    written = result.save(out) if out is not None else {}
    if report is not None:
        from errata.report.supersub import supersub_report

        written |= supersub_report(result, report)
    if json_:
        print_json(result.to_dict() | written_json(written))
    else:
        render(
            result,
            per_superclass=len(result.models) == 1 if per_superclass is None else per_superclass,
        )
        for f in result.failed:
            console(stderr=True).print(f"skipped: {f['error']}", soft_wrap=True)
        print_written(written, 13)
    if result.failed:
        raise typer.Exit(1)


def _pct(v: float | None) -> str:
    return pct(v, 2, unit="")


FIGURES = ("images", "top-1 %", "superclass acc. %", "errors", "within %", "across")


def _table(title: str, *lead: str) -> Table:
    """A table of the lead columns (names), then the FIGURES."""
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for col in lead:
        t.add_column(col, justify="left", overflow="fold")
    for col in FIGURES:
        t.add_column(col, justify="right", overflow="fold")
    return t


def _figures(r: pd.Series, prefix: str = "") -> list[str]:
    """The cells of the FIGURES of row ``r``, from its columns ``prefix + images`` and so on."""
    return [
        f"{int(r[f'{prefix}images']):,}",
        _pct(r[f"{prefix}top1"]),
        _pct(r[f"{prefix}superclass_accuracy"]),
        f"{int(r[f'{prefix}errors']):,}",
        _pct(r[f"{prefix}within_share"]),
        f"{int(r[f'{prefix}across']):,}",
    ]


def render(result: SuperSub, *, per_superclass: bool) -> None:
    """The models table (flat and, with scores, two-stage figures), then per superclass."""
    from rich.table import Table

    c = console()
    m = result.models
    n_sc = len(result.summary["superclasses"])
    t = _table(
        f"{plural(len(m), 'model')} — taxonomy {result.taxonomy} ({n_sc} superclasses, "
        f"{result.summary['covered_classes']} classes)",
        "model",
        "variant",
    )
    has_pipeline = "two_stage_pipeline_top1" in m.columns
    acc = "real" if "flat_pipeline_real" in m.columns else "label_accuracy"
    has_acc = f"flat_pipeline_{acc}" in m.columns  # scored files, or a study's top-1 files
    if has_acc:
        t.add_column("ReaL %" if acc == "real" else "labels %", justify="right")
        t.add_column("MLA %", justify="right")
    for _, r in m.iterrows():
        variants = ("flat", "two_stage") if r["scores"] else ("flat",)
        for v in variants:
            cells = [
                str(r["model"]) if v == "flat" else "",
                v.replace("_", "-"),
                *_figures(r, f"{v}_"),
            ]
            if has_acc:
                cells += [
                    _pct(r.get(f"{v}_pipeline_{acc}")).replace("—", ""),
                    _pct(r.get(f"{v}_pipeline_mla")).replace("—", ""),
                ]
            t.add_row(*cells)
    print_table(t, c)
    if result.summary.get("from_study"):
        c.print(f"note: {result.summary['from_study']}", soft_wrap=True)
    if not m["scores"].all():
        c.print(
            "note: two-stage inference needs scores (logits or probabilities); "
            f"{int((~m['scores']).sum())} of the files hold only ranked classes",
            soft_wrap=True,
        )
    if has_pipeline:
        from errata.core import categories as K

        ct = Table(title="error categories, flat → two-stage", title_justify="left")
        ct.add_column("model", overflow="fold")
        cats = [cat for cat in K.ERRORS if f"flat_n_{cat.key}" in m.columns]
        for cat in cats:
            ct.add_column(cat.short, justify="right")
        for _, r in m[m["scores"]].iterrows():
            ct.add_row(
                str(r["model"]),
                *[
                    f"{int(r[f'flat_n_{cat.key}']):,} → {int(r[f'two_stage_n_{cat.key}']):,}"
                    for cat in cats
                ],
            )
        print_table(ct, c)
    if per_superclass:
        per = result.superclasses
        for (model, variant), g in per.groupby(["model", "variant"], sort=False):
            st = _table(
                f"{model} — {variant.replace('_', '-')}, per superclass of the true class",
                "superclass",
            )
            for _, r in g[g["images"] > 0].iterrows():
                st.add_row(str(r["superclass"]), *_figures(r))
            print_table(st, c)
