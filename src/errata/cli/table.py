"""`errata table` — the paper's headline table for one run or a study, ready to paste."""

from __future__ import annotations

from pathlib import Path

import typer

from errata.cli import app


@app.command()
def table(
    source: Path = typer.Argument(
        ...,
        help="A run folder (errata analyze --out) or a study folder (errata compare --out).",
    ),
    format_: str = typer.Option(
        "markdown",
        "--format",
        "-f",
        help="'markdown' (a pipe table), 'latex' (a booktabs tabular) or 'csv' (unrounded "
        "fractions and counts, for scripts).",
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Write the table to this file instead of printing it."
    ),
) -> None:
    """Print the headline table of a run or a study: top-1, MLA and its variants, ImageNet-M
    when present, and each error category's count and share of the multi-label errors.

    A category whose stage did not run has "—" (markdown, LaTeX) or an empty cell (CSV), never 0.

    Example: errata table study/ --format latex --out table.tex
    """
    import sys

    from errata.core.checks import choice
    from errata.exceptions import ErrataInputError
    from errata.headline import FORMATS, headline_table, render

    format_ = choice(format_, FORMATS, keyword="format")
    if not source.exists():
        raise ErrataInputError(f"{source}: no such folder")
    text = render(headline_table(source), format_)
    if out is None:
        sys.stdout.write(text)
        return
    from errata.io.files import write_text

    write_text(out, text)  # a temporary file renamed into place
    print(f"written: {out}")
