"""The published band in the terminal: for one run, each category's share beside the p10–p90
of the published models of similar top-1, flagged when outside, with the reasons it may
differ; for a study, the column that names the categories outside (and the JSON of every
model). The figures come from :func:`errata.io.published_band.run_bands`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from errata.cli._common import console, pct, plural
from errata.cli._tables import print_table

if TYPE_CHECKING:
    import pandas as pd

    from errata.core.published_band import RunBands

ARROWS = {1.0: "▲ above", -1.0: "▼ below", 0.0: "inside"}
SHORT = {  # narrow names for the study table's column
    "overlapping_classes": "overlap",
    "fine_grained": "fine",
    "fine_grained_oov": "FG OOV",
    "spurious_correlation": "spurious",
    "non_prototypical": "non-proto",
    "model_failure": "failure",
}


def band_text(bands: RunBands, j: int, c: int) -> str:
    """``'4.7–5.7'``; ``'—'`` without a band."""
    lo, hi = bands.low[j, c], bands.high[j, c]
    return "—" if lo != lo else f"{pct(lo, unit='')}–{pct(hi, unit='')}"


def upper_text(bands: RunBands, j: int, c: int) -> str:
    """``'≤ 12.3'`` where the stages that did not run raise the band's top, else empty."""
    up, hi = bands.upper[j, c], bands.high[j, c]
    return f"≤ {pct(up, unit='')}" if up == up and up != hi else ""


def print_band(bands: RunBands | str, j: int = 0) -> None:
    """The table of one run (or the sentence saying why there is no band), then, for each
    category outside its band, why it may differ."""
    from rich.table import Table

    from errata.core import published_band as PB

    c = console()
    if isinstance(bands, str):
        c.print(f"note: {bands}", soft_wrap=True)
        return
    n = int(bands.n_models[j])
    t = Table(
        title=f"published band: p10–p90 of the {plural(n, 'published model')} within ±2 points of "
        f"top-1 {pct(bands.top1[j], 2)} (Peychev et al. 2023; % of multi-label errors)",
        title_justify="left",
    )
    t.add_column("category", no_wrap=True)
    t.add_column("share", justify="right", no_wrap=True)
    t.add_column("p10–p90", justify="right", no_wrap=True)
    t.add_column("with not run", justify="right", no_wrap=True)
    t.add_column("", no_wrap=True)
    pos = bands.position[j]
    for i, name in enumerate(PB.BAND_CATEGORIES):
        share = bands.share[j, i]
        t.add_row(
            name,
            "not run" if share != share else pct(share, unit=""),
            band_text(bands, j, i),
            upper_text(bands, j, i),
            _position(bands, j, i),
        )
    print_table(t, c)
    if (bands.upper[j] != bands.high[j]).any():
        c.print(
            "with not run: the band's top once the published share of the stages that did not "
            "run (their errors fall to later categories) is added; † inside only so",
            soft_wrap=True,
        )
    if not (bands.low[j] == bands.low[j]).any():
        c.print(f"note: {bands.note(j)}", soft_wrap=True)
        return
    for i, key in enumerate(PB.BAND_KEYS):
        if pos[i] == pos[i] and pos[i] != 0 and bands.reasons[key]:
            c.print(
                f"why {PB.BAND_CATEGORIES[i]} may differ: " + "; ".join(bands.reasons[key]),
                soft_wrap=True,
            )


def _position(bands: RunBands, j: int, c: int) -> str:
    """``▲ above``, ``▼ below``, ``inside`` (``inside†`` when only the errors of the stages
    that did not run explain it), or empty (no share or no band)."""
    p = float(bands.position[j, c])
    if p != p:
        return ""
    if p == 0 and bands.share[j, c] > bands.high[j, c]:
        return "inside†"
    return ARROWS[p]


def outside_cell(bands: RunBands | str, j: int) -> str:
    """The study table's cell: the categories of model ``j`` outside their band (``spurious▲
    failure▼``), ``inside`` or ``—`` without a band."""
    import numpy as np

    from errata.core import published_band as PB

    if isinstance(bands, str) or not np.isfinite(bands.low[j]).any():
        return "—"
    pos = bands.position[j]
    off = [
        f"{SHORT[k]}{'▲' if pos[i] > 0 else '▼'}"
        for i, k in enumerate(PB.BAND_KEYS)
        if pos[i] == pos[i] and pos[i] != 0
    ]
    return " ".join(off) or "inside"


def study_bands(models: pd.DataFrame, settings: Mapping[str, object] | None) -> RunBands | str:
    """The bands of a study's validation models (:func:`errata.io.published_band.models_bands`)."""
    from errata.io import published_band as PBF

    return PBF.models_bands(models, settings)


def study_band_json(models: pd.DataFrame, bands: RunBands | str) -> dict[str, object]:
    """``published_band`` of ``compare --json``: the window and the reasons (the study's
    settings are every model's), then per model its top-1, models in the window, categories
    (snake_case: share, low, high, high_with_not_run, outside, direction) and those outside."""
    from errata.core import band as B
    from errata.core import published_band as PB

    if isinstance(bands, str):
        return {"available": False, "note": bands}
    names = models["model"].astype(str).tolist()
    position = bands.position  # once for every model
    rows = []
    for j, name in enumerate(names):
        one = PB.band_json(bands, j, reasons=False, position=position)
        rows.append({"model": name} | {k: v for k, v in one.items() if k not in _SHARED})
    return {
        "available": True,
        "window": B.WINDOW,
        "quantiles": list(B.QUANTILES),
        "source": PB.BAND_SOURCE,
        "reasons": bands.reasons,
        "models": rows,
    }


_SHARED = ("window", "quantiles", "source")
