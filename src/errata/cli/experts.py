"""`errata experts` — agreement of the automated categories with expert reviewers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from errata.cli import app
from errata.cli._common import (
    console,
    imagenet_x_opt,
    json_opt,
    labels_opt,
    make_options,
    order_opt,
    order_option,
    pct,
    preset_opt,
    print_json,
    proposals_opt,
    taxonomy_opt,
)
from errata.cli._tables import print_table

if TYPE_CHECKING:
    from rich.console import Console

    from errata.experts import Agreement, AgreementSummary


@app.command()
def experts(
    expert_file: str = typer.Argument(
        ...,
        help="Expert file in the dough-bagel schema, e.g. vit3b_mistakes.json, or a registry "
        "name such as vit3b-mistakes.",
    ),
    predictions: str = typer.Option(
        None,
        "--predictions",
        "-p",
        help="A model's predictions; default: the expert file's own top_prediction.",
    ),
    labels: str = labels_opt(),
    order: str = order_opt("Row order of --predictions when it has no file names."),
    out: Path = typer.Option(
        None, "--out", "-o", help="Write agreement.parquet and agreement.json here."
    ),
    imagenet_x: bool = imagenet_x_opt(),
    evidence: list[str] = typer.Option(
        None,
        "--evidence",
        help="Other expert files whose "
        "'Non-prototypical' rows are evidence (never the file "
        "under evaluation).",
    ),
    taxonomy: str = taxonomy_opt(),
    proposals: list[str] = proposals_opt(),
    preset: str = preset_opt(),
    show_rows: bool = typer.Option(False, "--rows", help="Also list every disagreeing row."),
    json_: bool = json_opt(),
) -> None:
    """Compare the automated categories with expert reviewers' (dough-bagel schema).

    Runs the pipeline on the expert file's images and predictions and prints the confusion
    matrix automated × expert category, the agreement and the severity distribution.

    Example: errata experts vit3b_mistakes.json --labels real
    """
    from errata.experts import expert_agreement
    from errata.io import files as _io

    options = make_options(
        expert_files=evidence,
        imagenet_x=imagenet_x,
        taxonomy=taxonomy,
        proposals=proposals,
        preset=preset,
        experts_flag="--evidence",
    )
    a = expert_agreement(
        expert_file,
        predictions=predictions,
        labels=labels,
        order=order_option(order),
        options=options,
    )
    from errata.experts import spurious_departure

    departure = spurious_departure(
        expert_file,
        a,
        predictions=predictions,
        labels=labels,
        order=order_option(order),
        options=options,
    )
    doc = a.to_dict(departure)
    if out is not None:
        _io.write_parquet(out / "agreement.parquet", a.rows)
        _io.write_json(out / "agreement.json", doc)
    if json_:
        print_json(doc)
        return
    c = console()
    s = a.summary
    c.print(
        f"{s['rows']} expert rows; label set '{s['labels']}' counts {s['counted_correct']} "
        f"correct and excludes {s['excluded']}; {s['errors']} are errors (taxonomy "
        f"'{s['taxonomy']}').",
        markup=True,
    )
    c.print(_headline(s), markup=True, soft_wrap=True)
    _print_matrices(a, c)
    _print_per_expert(s, c)
    _print_per_category(s, c)
    limits = s["limits"]["open_world"]
    if limits and limits["expert_oov"]:
        c.print(f"limits: {limits['note']}", soft_wrap=True)
    if departure is not None:
        c.print(departure["text"], markup=False)
    if show_rows:
        _print_rows(a, c)


def _print_matrices(a: Agreement, c: Console) -> None:
    """The three cross-tables: automated × expert category, the errors in one vocabulary, and
    automated category × expert severity."""
    from rich.table import Table

    for title, df in (
        ("automated (rows) × expert category (columns)", a.confusion),
        ("errors: automated (rows) × expert (columns), one vocabulary", a.error_confusion),
        ("automated category × expert severity", a.severity),
    ):
        t = Table(title=title, title_justify="left")
        t.add_column("")
        for col in df.columns:
            t.add_column(str(col), justify="right")
        for idx, row in df.iterrows():
            t.add_row(str(idx), *[str(v) for v in row])
        print_table(t, c)


def _print_per_expert(s: AgreementSummary, c: Console) -> None:
    """Per expert category: rows, errors under the label set, and errata's agreement."""
    from rich.table import Table

    t = Table(title="per expert category (errors under the label set)", title_justify="left")
    for col in ("expert category", "rows", "errors", "agree", "agree %", "agreeing categories"):
        t.add_column(col, justify="left" if "categor" in col else "right")
    for cat, r in s["per_expert_category"].items():
        share = pct(r["agree_share"], unit="", missing="")
        t.add_row(
            cat,
            str(r["rows"]),
            str(r["errors_under_labels"]),
            str(r["agree"]),
            share,
            ", ".join(r["agreeing_categories"]),
        )
    print_table(t, c)


def _print_per_category(s: AgreementSummary, c: Console) -> None:
    """Per category of the shared vocabulary: calls, truths, both, precision, recall, F1."""
    from rich.table import Table

    t = Table(title="per category on errors (one vocabulary)", title_justify="left")
    for col in ("category", "automated", "expert", "both", "precision %", "recall %", "F1 %"):
        t.add_column(col, justify="left" if col == "category" else "right")
    for cat, r in s["per_category"].items():
        t.add_row(
            cat,
            str(r["automated"]),
            str(r["expert"]),
            str(r["both"]),
            pct(r["precision"], unit="", missing=""),
            pct(r["recall"], unit="", missing=""),
            pct(r.get("f1") if cat in s["macro_f1_categories"] else None, unit="", missing=""),
        )
    print_table(t, c)


def _print_rows(a: Agreement, c: Console) -> None:
    """Every error row on which errata and the expert disagree (``--rows``)."""
    from rich.table import Table

    rows = a.rows[
        ~a.rows["agrees"]
        & a.rows["category"].isin(
            [
                x
                for x in a.rows["category"].unique()
                if x not in ("correct", "correct multi-label", "excluded")
            ]
        )
    ]
    t = Table(title=f"{len(rows)} disagreeing error rows", title_justify="left")
    for col in ("file_name", "top1", "expert_category", "category", "reason"):
        t.add_column(col, overflow="fold")
    for _, r in rows.iterrows():
        t.add_row(r["file_name"], str(r["top1"]), r["expert_category"], r["category"], r["reason"])
    print_table(t, c)


def _headline(s: AgreementSummary) -> str:
    """The three headline figures: macro-F1 over the explained categories (each category's F1
    in brackets), agreement on errors and Cohen's κ."""
    if s.get("macro_f1") is None:
        return "no errors under this label set: no agreement to measure"
    per = ", ".join(
        f"{cat} {pct(s['per_category'][cat]['f1'], unit='')}" for cat in s["macro_f1_categories"]
    )
    return (
        f"macro-F1 over the explained categories: [bold]{pct(s['macro_f1'])}[/] ({per}); "
        f"agreement on errors: [bold]{pct(s['agreement'])}[/]; Cohen's κ "
        f"[bold]{s['cohen_kappa']:.3f}[/]"
    )
