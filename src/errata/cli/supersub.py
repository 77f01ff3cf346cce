"""`errata supersub` — superclass accuracy, errors within vs across superclasses, and two-stage
(superclass, then class) inference, for one model or a study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from errata.cli import app
from errata.cli._common import (
    console,
    dataset_opt,
    dataset_option,
    json_opt,
    labels_opt,
    order_opt,
    order_option,
    outside_opt,
    print_json,
    progress_bar,
)


@app.command()
def supersub(
    paths: list[str] = typer.Argument(
        ...,
        help="Prediction files, folders of them, registry names, or one study folder "
        "(errata compare --out: its models with its settings, test set by test set).",
    ),
    taxonomy: str = typer.Option(
        "errata",
        "--taxonomy",
        "-t",
        help="Superclasses: 'errata' (errata's 202, overlapping), 'supersub10' (the 10 of "
        "Superclassing ImageNet, 338 classes; images of other classes are out of scope) or "
        "'peychev2023' (the published pipeline's, reconstructed).",
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
    from errata.exceptions import ErrataInputError
    from errata.supersub import supersub as run

    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise ErrataInputError(f"--report {report}: expected an .html file name")
    from errata import taxonomy as T

    if taxonomy not in T.TAXONOMIES:
        raise ErrataInputError(f"--taxonomy: '{taxonomy}' is not one of {', '.join(T.TAXONOMIES)}")
    dataset, outside = dataset_option(dataset, outside=outside)
    with progress_bar("models", disable=json_) as progress:
        result = run(
            paths,
            taxonomy=taxonomy,
            labels=labels,
            order=order_option(order),
            dataset=dataset,
            outside=outside,  # type: ignore[arg-type]
            progress=progress,
        )
    written = result.save(out) if out is not None else {}
    if report is not None:
        from errata.report.supersub import supersub_report

        written |= supersub_report(result, report)
    if json_:
        print_json(result.to_dict() | {"written": {k: str(v) for k, v in written.items()}})
        return
    render(
        result, per_superclass=len(result.models) == 1 if per_superclass is None else per_superclass
    )
    c = console()
    for f in result.failed:
        console(stderr=True).print(f"skipped: {f['error']}", soft_wrap=True)
    for key, path in written.items():
        c.print(f"{key:>13}: {path}", soft_wrap=True)
    if result.failed:
        raise typer.Exit(1)


def _pct(v: Any) -> str:
    return "—" if v is None or v != v else f"{100 * float(v):.2f}"


def render(result: Any, *, per_superclass: bool) -> None:
    """The models table (flat and, with scores, two-stage figures), then per superclass."""
    from rich.table import Table

    c = console()
    m = result.models
    n_sc = len(result.summary["superclasses"])
    t = Table(
        title=f"{len(m)} models — taxonomy {result.taxonomy} ({n_sc} superclasses, "
        f"{result.summary['covered_classes']} classes)",
        title_justify="left",
    )
    for col, just in (
        ("model", "left"),
        ("variant", "left"),
        ("images", "right"),
        ("top-1 %", "right"),
        ("superclass acc. %", "right"),
        ("errors", "right"),
        ("within %", "right"),
        ("across", "right"),
    ):
        t.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    has_pipeline = "two_stage_pipeline_top1" in m.columns
    if has_pipeline:
        acc = "real" if "flat_pipeline_real" in m.columns else "label_accuracy"
        t.add_column("ReaL %" if acc == "real" else "labels %", justify="right")
        t.add_column("MLA %", justify="right")
    for _, r in m.iterrows():
        variants = ("flat", "two_stage") if r["scores"] else ("flat",)
        for v in variants:
            cells = [
                str(r["model"]) if v == "flat" else "",
                v.replace("_", "-"),
                f"{int(r[f'{v}_images']):,}",
                _pct(r[f"{v}_top1"]),
                _pct(r[f"{v}_superclass_accuracy"]),
                f"{int(r[f'{v}_errors']):,}",
                _pct(r[f"{v}_within_share"]),
                f"{int(r[f'{v}_across']):,}",
            ]
            if has_pipeline:
                cells += (
                    [_pct(r.get(f"{v}_pipeline_{acc}")), _pct(r.get(f"{v}_pipeline_mla"))]
                    if r["scores"]
                    else ["", ""]
                )
            t.add_row(*cells)
    c.print(t)
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
        c.print(ct)
    if per_superclass:
        per = result.superclasses
        for (model, variant), g in per.groupby(["model", "variant"], sort=False):
            st = Table(
                title=f"{model} — {variant.replace('_', '-')}, per superclass of the true class",
                title_justify="left",
            )
            for col in (
                "superclass",
                "images",
                "top-1 %",
                "superclass acc. %",
                "errors",
                "within %",
                "across",
            ):
                st.add_column(
                    col, justify="left" if col == "superclass" else "right", overflow="fold"
                )
            for _, r in g[g["images"] > 0].iterrows():
                st.add_row(
                    str(r["superclass"]),
                    f"{int(r['images']):,}",
                    _pct(r["top1"]),
                    _pct(r["superclass_accuracy"]),
                    f"{int(r['errors']):,}",
                    _pct(r["within_share"]),
                    f"{int(r['across']):,}",
                )
            c.print(st)
