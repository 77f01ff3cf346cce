"""Short text and HTML views of results, for ``repr`` and notebooks (``_repr_html_``).

The views read the JSON-ready dicts the results already give (``metrics``, ``summary``, the
models table), so what a notebook shows is what ``--json`` says. Every string is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from errata.core.scoring import ErrorSummary, Metric


def _pct(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * float(x):.{digits}f} %"


def headline(metrics: Mapping[str, Metric], summary: ErrorSummary) -> list[tuple[str, str]]:
    """``[(title, value)]`` of the headline figures present, in the order and with the titles
    of :data:`errata.core.metrics.METRICS`: top-1, top-5, ReaL or label accuracy, MLA (from
    the summary's MLA variants under ReaL), ImageNet-M (correct of its images)."""
    from errata.core.metrics import METRICS

    out = []
    mla = summary.get("mla_variants", {}).get("mla")
    for key, info in METRICS.items():
        m = metrics.get(key)
        if m is not None:
            value = f"{m['value']} / {m['of']}" if key == "imagenet_m" else _pct(m["value"])
        elif key == "mla" and mla is not None:
            value = _pct(mla["value"])
        else:
            continue
        out.append((info.title, value))
    return out


def text(name: str, metrics: Mapping[str, Metric], summary: ErrorSummary) -> str:
    """One line: ``Analysis('model': top-1 72.73 %, ReaL 77.61 %, MLA 77.17 %; 10,485 errors)``."""
    figures = ", ".join(f"{t} {v}" for t, v in headline(metrics, summary))
    errors = summary.get("errors")
    tail = f"; {errors:,} multi-label errors" if isinstance(errors, int) else ""
    return f"Analysis({name!r}: {figures}{tail})"


def categories(summary: ErrorSummary) -> list[tuple[str, str, str, str]]:
    """``[(category, count, share, status)]`` of the error categories (not correct/excluded)."""
    rows = []
    for cat, v in summary.get("categories", {}).items():
        if v.get("share") is None and not v.get("status"):  # correct, excluded
            continue
        rows.append((cat, f"{v['count']:,}", _pct(v["share"], 1), v.get("status", "")))
    return rows


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def html(
    name: str, metrics: Mapping[str, Metric], summary: ErrorSummary, notes: Sequence[str]
) -> str:
    """A notebook view: the headline figures, the category table and the notes."""
    parts = [f"<div><strong>errata analysis: {escape(name)}</strong>"]
    figures = headline(metrics, summary)
    parts.append(_table([t for t, _ in figures], [[v for _, v in figures]]))
    cats = categories(summary)
    if cats:
        parts.append(_table(["category", "errors", "share of multi-label errors", "status"], cats))
    if notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("</div>")
    return "".join(parts)


STUDY_COLUMNS = ("model", "dataset", "top1", "real", "label_accuracy", "mla", "errors")
SHOWN = 20


def _cell(column: str, value: Any) -> str:
    if column in ("model", "dataset"):
        return str(value)
    if column == "errors":
        return "–" if value is None or value != value else f"{int(value):,}"
    return _pct(value)


def study_text(models: pd.DataFrame | None, failed: int, out: str | Path | None) -> str:
    """One line: how many models, the best top-1, failures, the folder."""
    n = 0 if models is None else len(models)
    best = ""
    if models is not None and n and "top1" in models:
        i = models["top1"].astype(float).idxmax()
        best = f", best top-1 {models.loc[i, 'model']!r} {_pct(models.loc[i, 'top1'])}"
    where = f" in {str(out)!r}" if out else ""
    fail = f", {failed} failed" if failed else ""
    return f"Study({n} model{'s' if n != 1 else ''}{best}{fail}{where})"


def study_html(models: pd.DataFrame | None, failed: int, out: str | Path | None) -> str:
    """A notebook view of a study: its first models by top-1 (with how many are not shown)."""
    title = escape(study_text(models, failed, out))
    if models is None or not len(models):
        return f"<div><strong>{title}</strong></div>"
    cols = [c for c in STUDY_COLUMNS if c in models]
    top = models.sort_values("top1", ascending=False, kind="stable") if "top1" in models else models
    rows = []
    for _, r in top.head(SHOWN).iterrows():
        rows.append([_cell(c, r[c]) for c in cols])
    tail = ""
    if len(models) > SHOWN:
        tail = f"<p>showing {SHOWN} of {len(models):,} models, all in models.parquet</p>"
    return f"<div><strong>{title}</strong>{_table(cols, rows)}{tail}</div>"
