"""`errata diff` — what model B fixes and breaks relative to model A."""

from __future__ import annotations

from collections.abc import Sequence
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
    plots_opt,
    preset_opt,
    print_json,
    report_option,
    taxonomy_opt,
    written_json,
)
from errata.cli._tables import print_table

if TYPE_CHECKING:
    import pandas as pd

    from errata.io.predictions import Predictions
    from errata.report.diff import ModelDiff


@app.command()
def diff(
    a: str = typer.Argument(..., help="Model A's predictions (file or registry name)."),
    b: str = typer.Argument(..., help="Model B's predictions (file or registry name)."),
    labels: str = labels_opt(),
    dataset: str = dataset_opt(),
    outside: str = outside_opt(),
    order: str = order_opt(),
    order_b: str = typer.Option(None, "--order-b", help="Row order of B when it differs from A's."),
    report: Path = typer.Option(
        None, "--report", help="Write the diff as a self-contained HTML page."
    ),
    plots: Path = plots_opt("Write the transition matrix plot as SVG and PNG into this folder."),
    json_: bool = json_opt("Print the summary and transition matrix as JSON."),
    show: int = typer.Option(10, "--show", min=0, help="Fixed and introduced errors listed."),
    taxonomy: str = taxonomy_opt(),
    preset: str = preset_opt(),
) -> None:
    """Compare two models image by image: errors fixed, errors introduced, categories moved.

    Lists the errors B fixes and those it introduces, and how the errors' categories move from
    A to B (the transition matrix).

    Example: errata diff resnet50.npy vit.npy --report diff.html
    """
    from errata.analysis import analyze
    from errata.core import datasets as D
    from errata.report.diff import diff_report, model_diff

    order_a = order_option(order)
    order_b_ = order_a if order_b is None else order_option(order_b, flag="--order-b")
    report_option(report)
    from errata.io.labels import load_labels

    dataset, outside = dataset_option(dataset, outside=outside)
    out_ = outside
    model_a: str | Predictions = a
    model_b: str | Predictions = b
    if D.get(dataset).validation:
        label_set = load_labels(labels)  # loaded once, shared by both models
    else:  # the images of both files make the label set (their class folders)
        import numpy as np

        from errata.io.predictions import load_predictions

        model_a = load_predictions(a, order=order_a, dataset=dataset, outside=out_)
        model_b = load_predictions(b, order=order_b_, dataset=dataset, outside=out_)
        both = np.union1d(model_a.file_names, model_b.file_names)
        label_set = load_labels(labels, dataset=dataset, images=both)
    options = make_options(n_resamples=200, taxonomy=taxonomy, preset=preset)
    res_a, res_b = (
        analyze(m, labels=label_set, order=o, options=options, dataset=dataset, outside=out_)
        for m, o in ((model_a, order_a), (model_b, order_b_))
    )
    d = model_diff(res_a, res_b)
    written: dict[str, Path] = {}
    if report is not None:
        written |= diff_report(d, report, plots=plots)
    elif plots is not None:
        from errata.report import _render
        from errata.report.diff import transition_figure

        written |= _render.export({"transitions": transition_figure(d)}, plots)
    if json_:
        print_json(
            {
                "a": d.names[0],
                "b": d.names[1],
                **d.summary,
                "transitions": _snake_transitions(d.transitions),
                **written_json(written),
            }
        )
        return
    _print(d, show)
    if written:
        console().print("written: " + ", ".join(str(p) for p in written.values()))


def _snake_transitions(tr: pd.DataFrame) -> dict[str, dict[str, int]]:
    """The transition matrix for --json, keyed by the categories' snake_case keys
    (``{"fine_grained": {"correct": 659, …}, …}``: A's category, then B's)."""
    from errata.core import categories as K

    key = {c.name: c.key for c in K.CATEGORIES}
    return {
        key[a]: {key[b]: int(n) for b, n in row.items()}
        for a, row in tr.to_dict(orient="index").items()
    }


def _print(d: ModelDiff, show: int) -> None:
    from rich.table import Table

    from errata import resources

    c = console()
    s = d.summary
    names = resources.classes().names
    t = Table(
        title=f"A = {d.names[0]}  vs  B = {d.names[1]}  ({s['images']:,} images, "
        f"labels: {s['labels']})",
        title_justify="left",
    )
    t.add_column("metric")
    t.add_column("A", justify="right")
    t.add_column("B", justify="right")
    t.add_column("B − A", justify="right")
    both: dict[str, Sequence[float | None]] = {**s["metrics"], **s["mla_variants"]}
    for key, (va, vb) in both.items():
        delta = "" if va is None or vb is None else f"{100 * (vb - va):+.2f} pt"
        t.add_row(key, pct(va, 2), pct(vb, 2), delta)
    print_table(t, c)
    c.print(
        f"B fixes [bold]{s['fixed']:,}[/] errors of A and introduces [bold]{s['introduced']:,}"
        f"[/]; {s['recategorised']:,} errors of both change category "
        f"(multi-label errors {s['errors_a']:,} → {s['errors_b']:,}).",
        markup=True,
    )
    from errata.core.paired import sentence

    c.print(sentence(s["mcnemar"]["top1"], s["mcnemar"]["multi_label"]), soft_wrap=True)
    tr = d.transitions
    keep = [x for x in tr.index if tr.loc[x].sum() or tr[x].sum()]
    m = Table(title="transitions: A category (rows) → B category (columns)", title_justify="left")
    m.add_column("A \\ B")
    for x in keep:
        m.add_column(x, justify="right")
    for x in keep:
        m.add_row(x, *[f"{int(v):,}" for v in tr.loc[x, keep]])
    print_table(m, c)
    for kind in ("fixed", "introduced"):
        rows = d.changes[d.changes["change"] == kind].head(show)
        if not len(rows):
            continue
        e = Table(title=f"{kind} (first {len(rows)})", title_justify="left")
        e.add_column("file", no_wrap=True, min_width=28)  # a validation file name, whole
        for col in ("labels", "A", "A category", "B", "B category"):
            e.add_column(col, overflow="fold")
        for r in rows.itertuples(index=False):
            e.add_row(
                r.file_name,
                ", ".join(names[i] for i in r.labels),
                names[r.top1_a],
                r.category_a,
                names[r.top1_b],
                r.category_b,
            )
        print_table(e, c)
