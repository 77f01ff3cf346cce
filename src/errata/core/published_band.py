"""The published band (pure): where each category share of a run stands among the published
models of similar top-1 (Peychev et al. 2023) — p10–p90 of the models within ±2 points
(:mod:`errata.core.band`), the band's top once the stages that did not run are added, and why a
run's share may differ (:class:`RunBands`). The published models' arrays are read by
:mod:`errata.io.published_band`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from errata.core.band import MIN_MODELS, QUANTILES, WINDOW, band
from errata.core.categories import slug
from errata.core.pipeline import PUBLISHED_ORDER
from errata.core.population import (
    PUBLISHED_TAXONOMY,
    Settings,
    comparability,
    not_run,
    setting_names,
)

if TYPE_CHECKING:
    from errata.core.scoring import ErrorSummary

# the categories with a published counterpart, in the published decision order (errata names)
BAND_CATEGORIES = PUBLISHED_ORDER

BAND_KEYS = tuple(slug(n) for n in BAND_CATEGORIES)  # overlapping_classes, fine_grained, …
BAND_SOURCE = (
    "Peychev et al. 2023, imagenet_non_problematic_stats_all.csv; share = count / (top-1 "
    "errors − correct multi-label)"
)


class BandCategory(TypedDict, total=False):
    """One category of one run's band (:meth:`RunBands.category`)."""

    share: float | None
    low: float | None
    high: float | None
    high_with_not_run: float | None
    n_models: int
    outside: bool | None
    inside_with_not_run: bool | None
    direction: str | None
    reasons: list[str]


class Band(TypedDict, total=False):
    """One run's band (:meth:`RunBands.model`), as :func:`band_json` gives it (``available``;
    without a band, ``available`` false and the ``note`` saying why)."""

    available: bool
    top1: float
    window: float
    quantiles: list[float]
    n_models: int
    source: str
    categories: dict[str, BandCategory]
    outside: list[str]
    note: str


def band_settings_reasons(settings: Settings, *, full_val: bool | None) -> dict[str, list[str]]:
    """Per band category (key), why a run with ``settings`` may stand apart from the published
    models: the settings of :func:`comparability` that differ, read per category, plus what it
    does not list (errata's order of overlapping classes, rejected-proposal evidence)."""
    out: dict[str, list[str]] = {k: [] for k in BAND_KEYS}
    later = BAND_KEYS[BAND_KEYS.index("fine_grained_oov") :]
    diffs = {d["setting"]: d for d in comparability(settings, full_val=full_val)["differences"]}
    if "labels" in diffs:
        for k in BAND_KEYS:
            out[k].append(
                f"label set '{diffs['labels']['this_run']}', not Shankar et al.'s: other images "
                "are evaluated and other predictions count as correct multi-label"
            )
    if full_val is False:
        for k in BAND_KEYS:
            out[k].append("top-1 over a subset of the 50,000 images places the window roughly")
    if settings.get("preset") != PUBLISHED_TAXONOMY:
        out["overlapping_classes"].append(
            "errata checks overlapping classes after the multi-labels, the published pipeline "
            "before them: a prediction that is both is correct multi-label here (a lower share)"
        )
    if "taxonomy" in diffs:
        tax = diffs["taxonomy"]["this_run"]
        out["fine_grained"].append(
            f"superclasses '{tax}', not the published ones: other pairs count as fine-grained"
        )
        for k in later:
            out[k].append(f"superclasses '{tax}': fine-grained leaves this stage other errors")
    skipped = {k[len("n_") :] for k in not_run(settings)}
    for i, (key, name) in enumerate(zip(BAND_KEYS, BAND_CATEGORIES, strict=True)):
        if key not in skipped:
            continue
        out[key].append(f"{name} did not run: its share here is 0")
        for k in BAND_KEYS[i + 1 :]:
            if k not in skipped:
                out[k].append(f"{name} did not run: the errors it would take may fall here")
    proposals = setting_names(settings, "proposals")
    if proposals:
        what = ", ".join(p.rsplit("/", 1)[-1] for p in proposals)
        out["spurious_correlation"].append(
            f"rejected-proposal evidence ({what}) calls errors spurious that the published "
            "pipeline (co-occurrence only) leaves to model failure"
        )
        out["model_failure"].append(
            f"rejected-proposal evidence ({what}) moves errors to spurious correlation"
        )
    if settings.get("imagenet_x"):
        out["model_failure"].append(
            "ImageNet-X's non-prototypical errors (no published counterpart) are taken first"
        )
    if "experts" in diffs and "non_prototypical" not in {k[2:] for k in not_run(settings)}:
        out["non_prototypical"].append(
            f"expert files {diffs['experts']['this_run']}, not both of Vasudevan et al.'s"
        )
    return out


@dataclass(frozen=True)
class RunBands:
    """Where the category shares of ``m`` runs stand among the published models: arrays of
    shape ``(m, 6)`` in the order of :data:`BAND_KEYS` (fractions; NaN where unknown).

    ``upper`` is the band's upper end once the share of the stages that did not run is added
    (their errors fall to a later category): the p90 of the published share plus those stages'
    shares, model by model; where every earlier stage ran it is ``high``. A share is
    **outside** when it is below ``low`` or above ``upper``; ``position`` is −1 (below), 0
    (inside), +1 (above) or NaN (no share: the stage did not run, or no band).
    """

    top1: np.ndarray  # (m,)
    n_models: np.ndarray  # (m,)
    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    upper: np.ndarray
    reasons: dict[str, list[str]]
    population: int  # published models in all

    @property
    def position(self) -> np.ndarray:
        """``(m, 6)``: −1 below the band, 0 inside, +1 above, NaN unknown."""
        out = np.where(self.share < self.low, -1.0, np.where(self.share > self.upper, 1.0, 0.0))
        known = np.isfinite(self.share) & np.isfinite(self.low) & np.isfinite(self.upper)
        return np.where(known, out, np.nan)

    def outside(self) -> np.ndarray:
        """``(m, 6)`` bool: the share is outside its band."""
        off: np.ndarray = np.abs(np.nan_to_num(self.position)) > 0
        return off

    def category(self, j: int, c: int, *, position: np.ndarray | None = None) -> BandCategory:
        """JSON of model ``j``, category ``c`` (snake_case keys); ``position`` is
        :attr:`position` when the caller has it (a study's thousand models)."""
        pos = (self.position if position is None else position)[j, c]

        def num(a: np.ndarray) -> float | None:
            v = float(a[j, c])
            return v if np.isfinite(v) else None

        return {
            "share": num(self.share),
            "low": num(self.low),
            "high": num(self.high),
            "high_with_not_run": num(self.upper) if self.upper[j, c] != self.high[j, c] else None,
            "n_models": int(self.n_models[j]),
            "outside": None if np.isnan(pos) else bool(pos != 0),
            # inside only because the stages that did not run may have sent their errors here
            "inside_with_not_run": None
            if np.isnan(pos)
            else bool(pos == 0 and self.share[j, c] > self.high[j, c]),
            "direction": None if np.isnan(pos) or pos == 0 else ("above" if pos > 0 else "below"),
        }

    def model(
        self, j: int = 0, *, reasons: bool = True, position: np.ndarray | None = None
    ) -> Band:
        """JSON of model ``j``: its top-1, the window, the models in it and per category
        (snake_case key) :meth:`category` (with ``reasons`` unless told otherwise)."""
        pos = self.position if position is None else position
        cats: dict[str, BandCategory] = {}
        for c, k in enumerate(BAND_KEYS):
            one = self.category(j, c, position=pos)
            if reasons:
                one["reasons"] = self.reasons[k]
            cats[k] = one
        off = np.abs(np.nan_to_num(pos[j])) > 0
        outside = [BAND_CATEGORIES[c] for c in np.flatnonzero(off).tolist()]
        return {
            "top1": float(self.top1[j]),
            "window": WINDOW,
            "quantiles": list(QUANTILES),
            "n_models": int(self.n_models[j]),
            "source": BAND_SOURCE,
            "categories": cats,
            "outside": outside,
            "note": self.note(j, position=pos),
        }

    def note(self, j: int = 0, *, position: np.ndarray | None = None) -> str:
        """One sentence: how many published models are in the window, and what is outside."""
        n = int(self.n_models[j])
        if not np.isfinite(self.low[j]).any():
            return (
                f"no published band: {n} of the {self.population} published models lie within "
                f"±{100 * WINDOW:.0f} points of top-1 {100 * self.top1[j]:.2f} % (fewer than "
                f"{MIN_MODELS})"
            )
        pos = (self.position if position is None else position)[j]
        off = [
            f"{BAND_CATEGORIES[c]} {100 * self.share[j, c]:.1f} % "
            f"{'above' if pos[c] > 0 else 'below'} {_band_text(self, j, c)}"
            for c in np.flatnonzero(np.nan_to_num(pos) != 0).tolist()
        ]
        head = (
            f"published band: p10–p90 of the {n} published models within ±{100 * WINDOW:.0f} "
            f"points of top-1 {100 * self.top1[j]:.2f} %"
        )
        return head + (": outside — " + "; ".join(off) if off else ": every share inside")


def _band_text(b: RunBands, j: int, c: int) -> str:
    """``'4.7–5.7 %'`` or, with the stages that did not run, ``'4.7–5.7 % (≤ 12.3 % with …)'``."""
    text = f"{100 * b.low[j, c]:.1f}–{100 * b.high[j, c]:.1f} %"
    if b.upper[j, c] != b.high[j, c]:
        text += f" (≤ {100 * b.upper[j, c]:.1f} % with the stages not run)"
    return text


def bands_among(
    pop_top1: np.ndarray,
    pop_shares: np.ndarray,
    top1: np.ndarray | float,
    counts: Mapping[str, np.ndarray | float],
    errors: np.ndarray | float,
    settings: Settings,
    *,
    full_val: bool | None = True,
) -> RunBands:
    """Where each run's category shares stand among the published models of similar top-1.

    Parameters
    ----------
    pop_top1, pop_shares : ndarray, shapes (n,) and (n, 6)
        The published models' top-1 and shares in the order of :data:`BAND_KEYS`
        (:func:`errata.io.population.band_population`).
    top1 : float or ndarray, shape (m,)
        Each run's top-1 accuracy on the 50,000 validation images (fractions).
    counts : mapping
        ``n_<category>`` (errata's keys: ``n_fine_grained`` …) → count, ``(m,)`` each.
    errors : float or ndarray, shape (m,)
        Each run's multi-label errors (top-1 errors − correct multi-label), the shares'
        denominator.
    settings : mapping
        The runs' settings (``metrics.json``): which stages ran, label set, taxonomy, evidence.
    full_val : bool, optional
        Whether the top-1s are over all 50,000 images.

    Returns
    -------
    RunBands
    """
    t = np.atleast_1d(np.asarray(top1, dtype=np.float64))
    n_err = np.broadcast_to(np.asarray(errors, dtype=np.float64), t.shape)
    skipped = {k[len("n_") :] for k in not_run(settings)}
    share = np.full((len(t), len(BAND_KEYS)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for c, k in enumerate(BAND_KEYS):
            if k in skipped:
                continue
            v = np.broadcast_to(np.asarray(counts.get(f"n_{k}", 0), dtype=np.float64), t.shape)
            share[:, c] = np.where(n_err > 0, v / n_err, np.nan)
    # the band of each category, then of it plus the earlier stages that did not run
    columns = [pop_shares]
    extra: list[int] = []
    for c, k in enumerate(BAND_KEYS):
        earlier = [i for i, e in enumerate(BAND_KEYS[:c]) if e in skipped]
        if earlier and k not in skipped:
            columns.append(pop_shares[:, [c, *earlier]].sum(axis=1, keepdims=True))
            extra.append(c)
    b = band(pop_top1, np.concatenate(columns, axis=1), t)
    k6 = len(BAND_KEYS)
    upper = b.high[:, :k6].copy()
    for i, c in enumerate(extra):
        upper[:, c] = b.high[:, k6 + i]
    return RunBands(
        top1=t,
        n_models=b.n_models,
        share=share,
        low=b.low[:, :k6],
        high=b.high[:, :k6],
        upper=upper,
        reasons=band_settings_reasons(settings, full_val=full_val),
        population=len(pop_top1),
    )


def band_json(
    bands: RunBands | str, j: int = 0, *, reasons: bool = True, position: np.ndarray | None = None
) -> Band:
    """JSON of one run's band (:meth:`RunBands.model`), or ``{"available": false, "note"}``."""
    if isinstance(bands, str):
        return {"available": False, "note": bands}
    out: Band = {"available": bool(np.isfinite(bands.low[j]).any())}
    out.update(bands.model(j, reasons=reasons, position=position))
    return out


def with_band(summary: ErrorSummary, band: Band) -> ErrorSummary:
    """An error summary (:meth:`errata.core.scoring.Scores.summary`) with each band category's
    ``published_band`` (its ``band_json`` entry; None without a band)."""
    cats = dict(summary.get("categories", {}))
    per = band.get("categories", {})
    for name, key in zip(BAND_CATEGORIES, BAND_KEYS, strict=True):
        row = cats.get(name)
        if row is not None:
            cats[name] = {**row, "published_band": per.get(key)}
    return {**summary, "categories": cats}


__all__ = [
    "BAND_CATEGORIES",
    "BAND_KEYS",
    "BAND_SOURCE",
    "Band",
    "BandCategory",
    "RunBands",
    "band_json",
    "band_settings_reasons",
    "bands_among",
    "with_band",
]
