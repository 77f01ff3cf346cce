"""What every report shares: the Jinja2 environment (autoescaping on), data embedded as JSON that
no page can break out of, matplotlib figures as inline SVG, plot export, and the atomic write.

A report is one HTML file that makes no request: styles, the table script, plots (SVG) and
thumbnails (``data:`` URIs) are all inside it, and a Content-Security-Policy forbids anything
else, so that a string from the data (a class name, a file name, a metadata cell) can neither run
nor fetch anything even if it were not escaped.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from importlib import resources as _ir
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from errata.core import categories as K
from errata.io.files import json_default

if TYPE_CHECKING:
    import jinja2
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

PNG_DPI = 200  # exported PNGs (papers)
RASTER_DPI = 110  # scatter points of big studies, rasterised inside the SVG to keep pages small


def short(text: str, width: int = 40) -> str:
    """A plot label cut to ``width`` characters (tables keep the full text)."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def category_color(name: str) -> str:
    """A category's colour in every plot: its record's (colour-blind friendly, Okabe-Ito), read
    from the registry as it is now."""
    cat = K.BY_NAME.get(name)
    return "#777777" if cat is None else cat.color


@cache
def _static(name: str) -> str:
    return (_ir.files("errata.report") / "static" / name).read_text(encoding="utf-8")


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates, autoescaping everything."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("errata.report", "templates"),
        autoescape=True,  # every string from data is HTML-escaped unless marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, d=2: "—" if v is None else f"{100 * float(v):.{d}f} %"
    env.filters["num"] = lambda v: "—" if v is None else f"{int(v):,}"
    return env


def embed_json(obj: object) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` are written
    as ``\\u003c`` … so that no data (``</script>``, ``<!--``) can end the block early."""
    text = json.dumps(
        obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_default
    )
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render(template: str, context: Mapping[str, object]) -> str:
    """Render a page template with the inline styles, script and its CSP hash."""
    from markupsafe import Markup

    script = _static("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    page: str = (
        environment()
        .get_template(template)
        .render(**context, csp=csp, css=Markup(_static("report.css")), script=Markup(script))
    )
    return page


def write_page(path: str | Path, html: str) -> Path:
    """Write ``html`` atomically (a temporary file renamed into place)."""
    from errata.io import files as _io

    path = Path(path)
    _io.write_text(path, html)
    return path


# ---------------------------------------------------------------------------------------------
# matplotlib


@contextmanager
def _style(text_as: str = "none") -> Iterator[None]:
    import matplotlib as mpl

    with mpl.rc_context(
        {
            # "none": text stays text (small, searchable); "path" for papers
            "svg.fonttype": text_as,
            "svg.hashsalt": "errata",  # deterministic ids
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 9,
            "axes.labelsize": 9,
            "legend.fontsize": 9,
            "legend.frameon": False,
        }
    ):
        yield


def figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A matplotlib Figure (no pyplot: no global state) and its one axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def grid(width: float, height: float, *, nrows: int, ncols: int) -> tuple[Figure, np.ndarray]:
    """A matplotlib Figure and its ``(nrows, ncols)`` array of axes, sharing each column's
    x-axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows=nrows, ncols=ncols, squeeze=False, sharex="col")
    return fig, axes


_ID = re.compile(r'(\bid="|href="#|url\(#)')


def svg(fig: Figure, prefix: str) -> str:
    """The figure as an inline ``<svg>`` element; ids get ``prefix`` so that several SVGs on one
    page never share an id."""
    buf = io.StringIO()
    with _style("none"):
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, "Creator": None},
            dpi=RASTER_DPI,
            bbox_inches="tight",
            pad_inches=0.05,
        )
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = _ID.sub(lambda m: m.group(1) + prefix + "-", text)
    return text.replace("<svg", f'<svg class="plot" role="img" aria-label="{prefix}"', 1)


EXPORT_FORMATS = ("svg", "pdf", "png")
_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}, "png": None}


def export(figures: Mapping[str, Figure], folder: str | Path) -> dict[str, Path]:
    """Write each figure as ``<name>.svg`` and ``<name>.pdf`` (vector, text as paths, for
    papers) and ``<name>.png``, cropped to a tight bounding box so that no label is clipped, as
    one unit (:func:`errata.io.files.atomic_folder`): a full disk leaves the folder as it was,
    not some of the plots; other files in it stay."""
    from errata.io import files as _io

    folder = Path(folder)
    names = [f"{name}.{fmt}" for name in figures for fmt in EXPORT_FORMATS]
    with _io.atomic_folder(folder, managed=names) as tmp:
        for name, fig in figures.items():
            for fmt in EXPORT_FORMATS:
                with _style("path"):
                    fig.savefig(
                        tmp / f"{name}.{fmt}",
                        format=fmt,
                        dpi=PNG_DPI,
                        metadata=_METADATA[fmt],
                        bbox_inches="tight",
                        pad_inches=0.05,
                    )
    return {n: folder / n for n in names}


def pct_formatter() -> PercentFormatter:
    """Tick labels of a fraction axis as percentages (0.25 → 25%)."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=None)


def pct_panel(ax: Axes, row: int, col: int, n_rows: int, *, ylabel: str, xlabel: str) -> None:
    """One panel of a grid of share plots: percent ticks on both axes, ``ylabel`` on the first
    column and ``xlabel`` on the last row."""
    ax.yaxis.set_major_formatter(pct_formatter())
    ax.xaxis.set_major_formatter(pct_formatter())
    if col == 0:
        ax.set_ylabel(ylabel, fontsize=9)
    if row == n_rows - 1:
        ax.set_xlabel(xlabel)


Cell = int | float | str | list[int] | None  # a value in a report table


def cell(v: object) -> int | float | str | None:
    """A table cell for ``report.js`` (and :func:`embed_json`): numpy scalars as Python ones,
    NaN and ±inf as None (empty), anything that is not a number or text as its ``str``."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is None or isinstance(v, (int, float, str)):
        return v
    return str(v)


class _ColumnRequired(TypedDict):
    key: str
    title: str
    type: str  # text, num, pct, class, classes, image or lookup


class Column(_ColumnRequired, total=False):
    """A column of a report table, as ``report.js`` reads it."""

    css: str
    digits: int
    filter: bool
    help: str
    lookup: str  # the lookup table of a "lookup" column
    swatch: bool


class _TableRequired(TypedDict):
    columns: list[Column]
    rows: list[list[Cell]]


class Table(_TableRequired, total=False):
    """A table for ``report.js``, with the lookup tables its columns name."""

    classes: list[str]  # class names by index
    categories: list[str]
    reasons: list[str]
    colors: list[str]
    images: dict[str, str]  # file name → data URI


def table(
    columns: list[Column],
    rows: list[list[Cell]],
    *,
    classes: list[str] | None = None,
    categories: list[str] | None = None,
    reasons: list[str] | None = None,
    colors: list[str] | None = None,
    images: dict[str, str] | None = None,
) -> Table:
    """A table for ``report.js``: ``columns`` ({key, title, type: text|num|pct|class|classes|
    image, filter?}) and ``rows`` (lists in column order), with the lookup tables given, in
    this order: ``classes`` (class names by index), ``categories``, ``reasons``, ``colors``,
    ``images`` (file name → data URI)."""
    out: Table = {"columns": columns, "rows": rows}
    if classes is not None:
        out["classes"] = classes
    if categories is not None:
        out["categories"] = categories
    if reasons is not None:
        out["reasons"] = reasons
    if colors is not None:
        out["colors"] = colors
    if images is not None:
        out["images"] = images
    return out
