"""Rich tables of an error summary (shared by analyze and compare)."""

from __future__ import annotations

from typing import Any


def error_tables(summary: dict[str, Any]) -> list[Any]:
    """The category breakdown (overall and per group) and the MLA variants as Rich tables."""
    from rich.table import Table

    out = []
    cats = summary["categories"]
    groups = summary.get("groups", {})
    t = Table(title=f"errors by category ({summary['errors']:,} multi-label errors; "
              f"{summary['excluded']:,} images excluded)", title_justify="left")
    t.add_column("category")
    t.add_column("count", justify="right")
    t.add_column("% of errors", justify="right")
    for split in groups:
        for g in groups[split]:
            t.add_column(g, justify="right")
    for cat, row in cats.items():
        cells = [cat, f"{row['count']:,}", "" if row.get("share") is None else f"{100 * row['share']:.1f}"]
        for split in groups:
            for g in groups[split]:
                cells.append(f"{groups[split][g]['categories'].get(cat, 0):,}")
        t.add_row(*cells)
    out.append(t)
    if summary.get("mla_variants"):
        v = Table(title="multi-label accuracy, counting more as correct", title_justify="left")
        v.add_column("variant")
        v.add_column("MLA", justify="right")
        for key, row in summary["mla_variants"].items():
            v.add_row(row["title"], f"{100 * row['value']:.2f} %")
        out.append(v)
    if summary.get("mean_severity") is not None:
        s = Table(title="mistake severity", title_justify="left")
        s.add_column("measure")
        s.add_column("value", justify="right")
        s.add_row("mean WordNet LCA height of errors", f"{summary['mean_severity']:.2f}")
        out.append(s)
    return out
