"""The published population's analysis (pure): whether a run of errata can stand beside the 962
models that Peychev et al. (NeurIPS 2023) classified, where its figures fall among theirs, and
the published band of each category share — over the population's arrays and tables, which
:mod:`errata.io.population` reads from the published files.

:func:`comparability` says, from a run's settings, whether its figures can stand beside the
published ones, which settings differ, and what would make them match; :func:`placement` ranks a
run's figures among the population's; the published band of each category share is
:mod:`errata.core.published_band`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from errata.core import categories as K

if TYPE_CHECKING:
    import pandas as pd

Settings = Mapping[str, object]  # a run's settings, as metrics.json / study.json record them


class Difference(TypedDict):
    """One setting in which a run differs from the published figures."""

    setting: str
    this_run: str
    published: str
    to_match: str
    flag: str


class Figures(TypedDict):
    """Which of a run's figures are comparable with the published ones."""

    top1: bool
    mla: bool
    shares: bool


class Comparability(TypedDict):
    """:func:`comparability`'s verdict."""

    comparable: bool
    figures: Figures
    differences: list[Difference]
    note: str


class Placed(TypedDict, total=False):
    """One figure of a run among the population's (:func:`placement`)."""

    value: float | None
    comparable: bool
    below: float  # the share of published models below it (comparable figures only)
    population_median: float


def setting_names(settings: Settings, key: str) -> list[str]:
    """A list setting (``experts``, ``proposals``) as strings; none when unset."""
    value = settings.get(key)
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)] if isinstance(value, str) and value else []


# the error categories of the paper's plots, and their share's denominator (MLE)
MLE_CATEGORIES = (
    "n_fine_grained",
    "n_fine_grained_oov",
    "n_spurious_correlation",
    "n_non_prototypical",
    "n_model_failure",
)

# the published run's settings (comparability checks a run against them; the OOV stage: CLIP)
PUBLISHED_LABELS = "shankar"
PUBLISHED_TAXONOMY = "peychev2023"
PUBLISHED_PRESET = "peychev2023"  # --preset: the published pipeline step for step
PUBLISHED_EXPERTS = {  # registry name: file name, both accepted
    "vit3b-mistakes": "vit3b_mistakes.json",
    "greedysoups-mistakes": "greedy_soups_mistakes.json",
}


def comparability(settings: Settings, *, full_val: bool | None = None) -> Comparability:
    """Whether a run's figures can stand beside the published ones.

    Parameters
    ----------
    settings : mapping
        The run's settings as in ``metrics.json`` / ``study.json`` (``labels``, ``preset``,
        ``taxonomy``, ``openworld``, ``experts``, ``classify``). Without ``--preset
        peychev2023`` a run's shares are never comparable: errata's decision order, evidence
        and per-group counts differ from the published ones whatever its taxonomy.
    full_val : bool, optional
        Whether the predictions cover all 50,000 validation images (the published top-1 does).

    Returns
    -------
    dict
        ``comparable`` (every figure), ``figures`` ({``top1``, ``mla``, ``shares``: bool}),
        ``differences`` (one ``{setting, this_run, published, to_match, flag}`` per setting
        that differs) and ``note`` (one sentence naming the flags that would match).

    Examples
    --------
    >>> c = comparability({"labels": "real", "taxonomy": "errata", "openworld": None,
    ...                    "experts": []}, full_val=True)
    >>> c["comparable"], c["figures"]
    (False, {'top1': True, 'mla': False, 'shares': False})
    >>> [d["setting"] for d in c["differences"]]
    ['labels', 'preset', 'openworld']
    >>> c["note"].split("(")[1].split(")")[0]
    'to match, run with --labels shankar --preset peychev2023 --openworld BUNDLE'
    """
    diffs: list[Difference] = []
    labels = str(settings.get("labels", ""))
    if labels != PUBLISHED_LABELS:
        diffs.append(
            {
                "setting": "labels",
                "this_run": labels or "unknown",
                "published": "Shankar et al.'s multi-label set (18,692 non-problematic images)",
                "to_match": "--labels shankar (place human_accuracy_v3.0.0.json where "
                "`errata data path shankar` says)",
                "flag": "--labels shankar",
            }
        )
    preset = settings.get("preset")
    if preset != PUBLISHED_PRESET:
        taxonomy = str(settings.get("taxonomy", "")) or "unknown"
        diffs.append(
            {
                "setting": "preset",
                "this_run": f"errata's pipeline (taxonomy {taxonomy}; its decision order, "
                "evidence and per-group counts)",
                "published": "the published pipeline step for step (decision order, "
                "superclasses, co-occurrence evidence, expert lists, per-group counts)",
                "to_match": f"--preset {PUBLISHED_PRESET} (Options(preset='{PUBLISHED_PRESET}'))",
                "flag": f"--preset {PUBLISHED_PRESET}",
            }
        )
    for need in published_needs():  # evidence the published pipeline had, from the registry
        if not need.met_by(settings):
            diffs.append(
                {
                    "setting": need.key,
                    "this_run": need.this_run,
                    "published": need.published,
                    "to_match": need.to_match,
                    "flag": need.flag,
                }
            )
    if preset == PUBLISHED_PRESET:  # the preset takes the expert files in the data directory
        experts = {e.rsplit("/", 1)[-1] for e in setting_names(settings, "experts")}
        missing = [n for n, f in PUBLISHED_EXPERTS.items() if not experts & {n, f}]
        if missing:
            diffs.append(
                {
                    "setting": "experts",
                    "this_run": ", ".join(sorted(experts)) or "no expert files",
                    "published": K.EXPERTS.published,
                    "to_match": " and ".join(f"errata data fetch {n}" for n in missing),
                    "flag": " and ".join(f"errata data fetch {n}" for n in missing),
                }
            )
    if settings.get("classify") is False:
        diffs.append(
            {
                "setting": "classify",
                "this_run": "metrics only (--no-errors)",
                "published": "every error classified",
                "to_match": "run the error pipeline (drop --no-errors)",
                "flag": "no --no-errors",
            }
        )
    top1_ok = full_val is not False
    shares_ok = not diffs
    mla_ok = labels == PUBLISHED_LABELS
    figures: Figures = {"top1": top1_ok, "mla": mla_ok, "shares": shares_ok}
    if shares_ok and top1_ok:
        note = "comparable: the run's settings are those of the published figures"
    else:
        flags = " ".join(d["flag"] for d in diffs)
        why = f"to match, run with {flags}" if flags else ""
        if not top1_ok:
            why = "; ".join(filter(None, [why, "predictions cover a subset of the 50,000 images"]))
        note = (
            "not comparable with the published figures ("
            + why
            + "): top-1 "
            + ("is" if top1_ok else "is not")
            + " comparable, MLA "
            + ("is" if mla_ok else "is not")
            + ", the category shares are not"
        )
    return {
        "comparable": shares_ok and top1_ok,
        "figures": figures,
        "differences": diffs,
        "note": note,
    }


def placement(
    values: Mapping[str, float | None], pop: pd.DataFrame, *, figures: Figures
) -> dict[str, Placed]:
    """Where a run's figures fall among the population: per figure, the value, whether it is
    comparable, and (only when it is) the share of published models below it.

    ``values`` holds ``top1``, ``mla_overlap`` and the shares ``share_<category>`` (of the
    multi-label errors as the paper counts them), as fractions.
    """
    out: dict[str, Placed] = {}
    for key, value in values.items():
        which = {"top1": "top1", "mla_overlap": "mla"}.get(key, "shares")
        ok = bool(figures.get(which, False))
        known = value is not None and bool(np.isfinite(value))
        row: Placed = {
            "value": float(value) if value is not None and known else None,
            "comparable": ok,
        }
        series = population_values(pop, key) if ok and known else None
        if series is not None and value is not None:
            row["below"] = float(np.mean(series < value))
            row["population_median"] = float(np.median(series))
        out[key] = row
    return out


def population_values(pop: pd.DataFrame, key: str) -> np.ndarray | None:
    """A figure of every published model: ``top1``, ``mla_overlap`` or ``share_<n_category>``
    (that category's share of the multi-label errors as the paper counts them)."""
    if key.startswith("share_"):
        col = key[len("share_") :]
        if col not in pop.columns:
            return None
        mle = pop["mle"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(pop[col].to_numpy(dtype=np.float64) / mle)
    return None if key not in pop.columns else pop[key].to_numpy(dtype=np.float64)


def run_shares(counts: Mapping[str, float], *, not_run: Sequence[str] = ()) -> dict[str, float]:
    """A run's ``share_<category>`` of the multi-label errors as the paper counts them (errata's
    errors minus overlapping classes), from its ``n_<category>`` counts; errata's ImageNet-X
    sub-category is added to non-prototypical. A category in ``not_run`` (its stage had no
    evidence) has a NaN share, not 0.

    >>> run_shares({"n_fine_grained": 3, "n_model_failure": 1}, not_run=["n_fine_grained_oov"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'share_n_fine_grained': 0.75, 'share_n_fine_grained_oov': nan,
     'share_n_spurious_correlation': 0.0, 'share_n_non_prototypical': 0.0,
     'share_n_model_failure': 0.25}
    """

    def count(key: str) -> float:  # absent or NaN (a column the table lacks): none
        v = float(counts.get(key, 0) or 0)
        return v if np.isfinite(v) else 0.0

    n = {k: count(k) for k in MLE_CATEGORIES}
    for c in K.ERRORS:  # a sub-category counts in its main one's share (ImageNet-X)
        main = f"n_{K.slug(c.counts_as)}" if c.counts_as else ""
        if main in n:
            n[main] += count(f"n_{c.key}")
    total = sum(n.values())
    return {
        f"share_{k}": (float("nan") if k in not_run or not total else v / total)
        for k, v in n.items()
    }


def not_run(settings: Settings) -> list[str]:
    """The ``n_<category>`` columns whose stage had no evidence in a run with ``settings``: the
    registered error categories (:data:`errata.core.categories.ERRORS`) whose ``needs`` the
    settings do not meet — for a category others count in (non-prototypical, with its
    ImageNet-X sub-category), when none of their stages ran.

    >>> not_run({"openworld": None, "experts": [], "imagenet_x": False})
    ['n_fine_grained_oov', 'n_non_prototypical']
    """
    cats = K.ERRORS
    out = []
    for c in cats:  # a main category is not run when none of the stages counted in it ran
        if c.counts_as:
            continue
        counted = [c, *(d for d in cats if d.counts_as == c.name)]
        if all(any(not n.met_by(settings) for n in d.needs) for d in counted):
            out.append(f"n_{c.key}")
    return out


def published_needs() -> tuple[K.Need, ...]:
    """The needs of the registered error categories that the published pipeline met itself
    (:attr:`~errata.core.categories.Need.published`), except those the preset provides and
    judges (the expert files): a run without one of them is not comparable."""
    needs = dict.fromkeys(n for c in K.ERRORS for n in c.needs)
    return tuple(n for n in needs if n.published and not n.by_preset)


__all__ = [
    "Comparability",
    "Difference",
    "Figures",
    "MLE_CATEGORIES",
    "Placed",
    "Settings",
    "setting_names",
    "PUBLISHED_EXPERTS",
    "PUBLISHED_LABELS",
    "PUBLISHED_PRESET",
    "PUBLISHED_TAXONOMY",
    "comparability",
    "not_run",
    "placement",
    "population_values",
    "run_shares",
]
