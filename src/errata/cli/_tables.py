"""Rich tables of an error summary (shared by analyze and compare), laid out from the category
registry: every category always has its row (a category with no evidence says "not run"), so the
tables keep their shape from one run to the next."""

from __future__ import annotations

from typing import Any

from errata.cli._common import pct


def error_tables(summary: dict[str, Any]) -> list[Any]:
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
    for c in K.CATEGORIES:
        row = cats.get(c.name, {"count": 0})
        share = pct(row.get("share"), unit="", missing="")
        status = row.get("status", "")
        t.add_row(c.name, f"{row['count']:,}", "" if status else share, status)
    out.append(t)
    error_cats = [c for c in K.ERRORS if not cats.get(c.name, {}).get("status")]
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
        for row in summary["mla_variants"].values():
            v.add_row(row["title"], pct(row["value"], 2))
        out.append(v)
    if summary.get("mean_severity") is not None:
        s = Table(title="mistake severity", title_justify="left")
        s.add_column("measure")
        s.add_column("value", justify="right")
        s.add_row("mean WordNet LCA height of errors", f"{summary['mean_severity']:.2f}")
        out.append(s)
    return out
