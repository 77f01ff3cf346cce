"""`errata label-issues` — rank probable label issues from a zoo's predictions (cleanlab)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from errata.cli import app
from errata.cli._common import (
    console,
    json_opt,
    order_opt,
    order_option,
    pct,
    print_json,
    print_written,
    progress_bar,
    written_json,
)
from errata.cli._tables import print_table

if TYPE_CHECKING:
    from rich.table import Table

    from errata.labelissues import LabelIssues
    from errata.labelissues.validation import AtK


@app.command("label-issues")
def label_issues(
    predictions: list[str] = typer.Argument(
        ...,
        help="Prediction files of one or more models (any format errata reads; logits or "
        "probabilities are used when given), or registry names such as cleanlab-resnet50.",
    ),
    labels: str = typer.Option(
        "original",
        "--labels",
        "-l",
        help="The label set to audit: 'original' (default), 'real', 'shankar' or a label file. "
        "Images whose label is wrong are ranked for sets with one label per image.",
    ),
    truth: str = typer.Option(
        None,
        "--truth",
        help="A better label set to measure the rankings against (e.g. 'real'): precision and "
        "recall at k.",
    ),
    order: str = order_opt(),
    k: str = typer.Option(
        "100,1000,5000", "--k", help="The k of precision/recall at k, separated by commas."
    ),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Write pairs.parquet (the ranked missing pairs), images.parquet (the ranked "
        "images) and label_issues.json into this folder.",
    ),
    top: int = typer.Option(15, "--top", min=0, help="Rows of each ranking printed."),
    json_: bool = json_opt(),
) -> None:
    """Rank the labels the label set probably lacks and the images it probably mislabels.

    From model consensus: the (image, class) pairs missing from the label set and the images
    whose label is probably wrong (cleanlab's confident learning; `labelissues` extra).

    The models' probabilities (a top-1-only model counts as a one-hot vote) are averaged into
    one pred_probs matrix; cleanlab flags and ranks from it. With one top-1-only model it can
    flag disagreements but not rank them.

    Example: errata label-issues runs/*.npz --labels original --truth real --out issues/
    """
    from errata.exceptions import ErrataInputError
    from errata.labelissues import label_issues as run

    try:
        ks = tuple(int(v) for v in k.split(",") if v.strip())
    except ValueError:
        raise ErrataInputError(f"--k: '{k}' is not whole numbers separated by commas") from None
    if not ks:
        raise ErrataInputError("--k: give at least one k")
    with progress_bar("models", disable=json_) as progress:
        result = run(
            predictions,
            labels=labels,
            truth=truth,
            order=order_option(order),
            ks=ks,
            progress=progress,
        )
    written = result.save(out) if out is not None else {}
    if json_:
        print_json(result.to_dict() | written_json(written))
        return
    _print(result, top)
    print_written(written, 8)


def _print(result: LabelIssues, top: int) -> None:
    from rich.table import Table

    c = console()
    s = result.summary
    c.print(
        f"{', '.join(s['models'])} — label set {s['labels']}: {s['images_ranked']:,} images, "
        f"{s['pairs_ranked']:,} candidate missing pairs"
        + (
            f", {s['label_issues_flagged']:,} images flagged as wrongly labelled"
            if s["label_issues_flagged"] is not None
            else ""
        ),
        soft_wrap=True,
    )
    for note in s["notes"]:
        c.print(f"note: {note}", soft_wrap=True)
    if top:
        t = Table(title="pairs the label set probably lacks", title_justify="left")
        for col in ("rank", "file", "class", "quality", "probability"):
            t.add_column(
                col, justify="right" if col in ("rank", "quality", "probability") else "left"
            )
        for r in result.pairs.head(top).itertuples(index=False):
            t.add_row(
                str(r.rank),
                r.file_name,
                f"{r.class_index} {r.name}",
                f"{r.quality:.3f}",
                f"{r.probability:.3f}",
            )
        print_table(t, c)
        if result.images is not None:
            t = Table(title="images whose label is probably wrong", title_justify="left")
            for col in ("rank", "file", "label", "suggested", "quality", "flagged"):
                t.add_column(col, justify="right" if col in ("rank", "quality") else "left")
            for r in result.images.head(top).itertuples(index=False):
                t.add_row(
                    str(r.rank),
                    r.file_name,
                    f"{r.label} {r.label_name}",
                    f"{r.suggested} {r.suggested_name}",
                    f"{r.quality:.3f}",
                    "yes" if r.is_label_issue else "no",
                )
            print_table(t, c)
    v = s.get("validation")
    if v:
        t = Table(
            title=f"against {s['truth']} ({v['images_judged']:,} images judged)",
            title_justify="left",
        )
        for col in ("ranking", "positives", "k", "precision", "recall"):
            t.add_column(col, justify="right" if col != "ranking" else "left")
        pairs = v["pairs"]
        _at_k_rows(t, "missing pairs", pairs["positives"], pairs["at_k"])
        # pairs: the whole ranking; images: those flagged (then the base rate)
        t.add_row(
            "",
            "",
            f"all {pairs['ranked']:,}",
            pct(pairs["all_precision"], 1),
            pct(pairs["all_recall"], 2),
        )
        images = v.get("images")
        if images is not None:
            _at_k_rows(t, "wrong labels", images["positives"], images["at_k"])
            t.add_row(
                "",
                "",
                f"flagged {images['flagged']:,}",
                pct(images["flag_precision"], 1),
                pct(images["flag_recall"], 2),
            )
            t.add_row("", "", "base rate", pct(images["base_rate"], 1), "")
        print_table(t, c)


def _at_k_rows(t: Table, title: str, positives: int, at_k: dict[str, AtK]) -> None:
    """The precision and recall at each k of one ranking, as rows of the validation table."""
    for i, (kk, m) in enumerate(at_k.items()):
        t.add_row(
            title if i == 0 else "",
            f"{positives:,}" if i == 0 else "",
            f"{kk}" + (f" ({m['k_used']:,})" if m["k_used"] != int(kk) else ""),
            pct(m["precision"], 1),
            pct(m["recall"], 2),
        )
