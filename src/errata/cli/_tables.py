"""Rich tables of an error summary (shared by analyze and compare), laid out from the category
registry: every category always has its row (a category with no evidence says "not run"), so the
tables keep their shape from one run to the next."""

from __future__ import annotations

from typing import TYPE_CHECKING

from errata.cli._common import pct

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from errata.core.scoring import CategorySummary, ErrorSummary


def error_tables(summary: ErrorSummary) -> list[Table]:
    """The category breakdown (overall and per group) and the MLA variants as Rich tables."""
    from rich.table import Table

    from errata.core import categories as K

    out = []
    cats = summary["categories"]
    groups = summary.get("groups", {})
    t = Table(
        title=f"errors by category ({summary['errors']:,} multi-label errors; "
        f"{summary['excluded']:,} images excluded)",
        title_justify="left",
    )
    t.add_column("category")
    t.add_column("count", justify="right")
    t.add_column("% of errors", justify="right")
    t.add_column("evidence")
    none: CategorySummary = {"count": 0, "share": None}
    for c in K.CATEGORIES:
        row = cats.get(c.name, none)
        share = pct(row.get("share"), unit="", missing="")
        status = row.get("status", "")
        t.add_row(c.name, f"{row['count']:,}", "" if status else share, status)
    out.append(t)
    error_cats = [c for c in K.ERRORS if not cats.get(c.name, none).get("status")]
    g = Table(title="errors per group (% of the group's errors)", title_justify="left")
    g.add_column("group")
    g.add_column("errors", justify="right")
    for c in error_cats:
        g.add_column(c.short, justify="right")
    for split in groups:
        for name, block in groups[split].items():
            n = block["errors"]
            g.add_row(
                name,
                f"{n:,}",
                *[f"{100 * block['categories'][c.name] / n:.1f}" if n else "-" for c in error_cats],
            )
        g.add_section()
    out.append(g)
    if summary.get("mla_variants"):
        v = Table(
            title="multi-label accuracy, each line also counting the categories it names",
            title_justify="left",
        )
        v.add_column("variant")
        v.add_column("MLA", justify="right")
        for variant in summary["mla_variants"].values():
            v.add_row(variant["title"], pct(variant["value"], 2))
        out.append(v)
    if summary.get("mean_severity") is not None:
        s = Table(title="mistake severity", title_justify="left")
        s.add_column("measure")
        s.add_column("value", justify="right")
        s.add_row("mean WordNet LCA height of errors", f"{summary['mean_severity']:.2f}")
        out.append(s)
    return out


# -- laying a table out at the console's width ---------------------------------------------------

INDENT = "  "  # the field lines of a record under its heading
GAP = "   "  # between two fields on a line of a record


def print_table(table: Table, c: Console | None = None) -> None:
    """Print a Rich table so that nothing in it is cut at the console's width.

    Right-aligned columns are figures: they never wrap. Other columns wrap at spaces but never
    inside a word, so a model, file or class name stays on one line. When the table fits that
    way it is printed as a table (its title above it, wrapped at the console's width, without
    the padding Rich gives a title); when it does not, it is printed one record per block: the
    row's first cell as a heading, then ``header: value`` fields packed onto indented lines.
    """
    from rich.text import Text

    from errata.cli._common import console

    c = console() if c is None else c
    title = table.title
    table.title = None
    if title:
        c.print(Text(str(title)))
    for col in table.columns:
        if col.justify == "right":
            col.no_wrap = True
        else:
            col.overflow = "fold"  # wraps at spaces; a word never exceeds the width set below
    widths = fit_widths(table, c)
    if widths is None:
        for line in records(table, c.width):
            c.print(Text(line))  # a field longer than the line wraps at its spaces
        return
    for col, w in zip(table.columns, widths):
        col.width = w
    c.print(table)


def _plain(cell: object) -> str:
    return str(getattr(cell, "plain", cell))


def fit_widths(table: Table, c: Console) -> list[int] | None:
    """Each column's content width so that the table fits ``c.width`` with no figure cut and no
    word broken (a right-aligned or no_wrap column keeps its widest cell; another column may
    wrap down to its longest word), or None when it cannot fit."""
    from rich.cells import cell_len

    def words(text: str) -> int:
        return max((cell_len(w) for w in text.split()), default=0)

    def whole(text: str) -> int:
        return max((cell_len(line) for line in text.splitlines()), default=0)

    lows, highs, flexible = [], [], []
    for col in table.columns:
        cells = [_plain(x) for x in col._cells]
        header = [_plain(col.header)] if table.show_header else []
        high = max([whole(x) for x in cells + header] + [col.min_width or 0])
        if col.no_wrap:
            low = high
        else:
            low = max([words(x) for x in cells + header] + [col.min_width or 0])
        lows.append(low)
        highs.append(high)
        flexible.append(not col.no_wrap)
    budget = (
        c.width
        - table._extra_width
        - sum(table._get_padding_width(i) for i in range(len(table.columns)))
    )
    if sum(lows) > budget:
        return None
    widths = list(highs)
    excess = sum(widths) - budget
    while excess > 0:  # narrow the widest column that can still wrap, one cell at a time
        i = max((j for j in range(len(widths)) if widths[j] > lows[j]), key=widths.__getitem__)
        widths[i] -= 1
        excess -= 1
    return widths


def records(table: Table, width: int) -> list[str]:
    """The table one record per block: the row's first cell as a heading, then its other cells
    as ``header: value`` fields (empty cells left out), as many to a line as fit ``width``."""
    from rich.cells import cell_len

    heads = [_plain(col.header) for col in table.columns]
    columns = [[_plain(x) for x in col._cells] for col in table.columns]
    out = []
    heading = ""
    for i in range(table.row_count):
        row = [" ".join(col[i].split()) for col in columns]
        heading = row[0] or heading  # an empty first cell continues the record above's name
        out.append(heading)
        line = ""
        for head, value in zip(heads[1:], row[1:]):
            if not value:
                continue
            field = f"{head}: {value}" if head else value
            if line and cell_len(INDENT + line + GAP + field) > width:
                out.append(INDENT + line)
                line = ""
            line = f"{line}{GAP}{field}" if line else field
        if line:
            out.append(INDENT + line)
    return out
