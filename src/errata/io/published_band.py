"""The published band's file (the edge): the published models' top-1 and category shares, read
from Peychev et al.'s ImageNet statistics of all images, and the runs placed among them
(:func:`errata.core.published_band.bands_among`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.core.population import Settings
from errata.core.published_band import BAND_KEYS, RunBands, bands_among
from errata.exceptions import ErrataInputError
from errata.io.population import _REQUIRED, _read_csv, _stats, stats_name

if TYPE_CHECKING:
    import pandas as pd

    from errata.study.table import Models

BAND_FILE = stats_name("imagenet", "all")  # registry name of the file the band is read from
# the categories with a published counterpart, in the published decision order (errata names)


@functools.lru_cache(maxsize=4)
def _band_population_at(path: str, _stamp: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The file's top-1 and shares, derived once per content (:func:`errata.io.files.
    cached_arrays`): a run reads them again without pandas, a third of a second."""
    from errata.io.files import cached_arrays

    def build() -> dict[str, np.ndarray]:
        raw = _read_csv(path, path, _REQUIRED)
        frame = _stats(raw, path, "imagenet")  # checks the values (and makes them numbers)
        errors = frame["errors"].to_numpy(dtype=np.float64)
        if (errors <= 0).any():
            row = int(np.flatnonzero(errors <= 0)[0])
            raise ErrataInputError(
                f"{path}: line {row + 2}: no multi-label errors (num_all_top1_errors − "
                "num_ambiguous ≤ 0): its shares are undefined"
            )
        top1 = raw["top1_val_acc"].to_numpy(dtype=np.float64) / 100.0
        shares = np.stack([frame[f"n_{k}"].to_numpy(np.float64) / errors for k in BAND_KEYS], 1)
        return {"top1": top1, "shares": shares}

    try:
        key: bytes | None = Path(path).read_bytes()
    except OSError:
        key = None  # build() says why, as it always has
    got = build() if key is None else cached_arrays("band-population", key, build)
    top1, shares = got["top1"], got["shares"]
    top1.setflags(write=False)
    shares.setflags(write=False)
    return top1, shares


def band_population(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The published models' top-1 ``(n,)`` and shares ``(n, 6)`` in the order of
    :data:`errata.core.population.BAND_CATEGORIES`, from the ImageNet file of all images
    (``BAND_FILE``; read once per process while the file is unchanged).

    A share is a category's count over the model's **multi-label errors**: its top-1 errors
    minus the correct multi-label ones ("ambiguous"), i.e. errata's own share (overlapping
    classes included in the denominator) — not the paper's plots' share of MLE, which also
    leaves out the collapsed mappings.

    Raises
    ------
    ErrataInputError
        When the file is missing (the message says how to fetch it) or not in the published form.
    """
    from errata.io import data

    where = Path(data.path(BAND_FILE) if path is None else path)
    try:
        st = where.stat()
    except OSError as exc:
        raise ErrataInputError(f"{where}: cannot read the published statistics ({exc})") from None
    return _band_population_at(str(where), (st.st_size, st.st_mtime_ns))


def run_bands(
    top1: np.ndarray | float,
    counts: Mapping[str, np.ndarray | float],
    errors: np.ndarray | float,
    settings: Settings,
    *,
    full_val: bool | None = True,
    path: str | Path | None = None,
) -> RunBands:
    """Where each run's category shares stand among the published models of similar top-1.

    Parameters
    ----------
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
    return bands_among(*band_population(path), top1, counts, errors, settings, full_val=full_val)


def bands_of(
    top1: np.ndarray | float | None,
    counts: Mapping[str, np.ndarray | float],
    errors: np.ndarray | float,
    settings: Settings,
    *,
    full_val: bool | None = True,
) -> RunBands | str:
    """:func:`run_bands`, or one sentence saying why there is no band: a test set other than
    the validation set (the published shares are of Shankar et al.'s validation images), a run
    without the error pipeline or without top-1, or the published file not in the data
    directory (how to fetch it)."""
    from errata.core.datasets import DEFAULT
    from errata.io import data

    if settings.get("dataset", DEFAULT) != DEFAULT:
        return (
            "no published band: the published shares are of ImageNet validation images, not "
            f"{settings['dataset']}"
        )
    if settings.get("classify") is False:
        return "no published band: the errors were not classified (--no-errors)"
    if top1 is None:
        return "no published band: no top-1 accuracy to place the run by"
    if not data.is_present(BAND_FILE):
        return (
            "no published band: the published statistics are not in the data directory "
            f"(errata data fetch {BAND_FILE})"
        )
    return run_bands(top1, counts, errors, settings, full_val=full_val)


def models_bands(models: pd.DataFrame | Models, settings: Settings | None) -> RunBands | str:
    """The bands of every model of a study's models table (a DataFrame, or the columns of
    :class:`errata.study.table.Models`; one vectorised call; a model of another test set has
    no band), or why there are none."""
    from errata.core.datasets import DEFAULT
    from errata.resources import N_VAL

    if settings is None or not len(models) or not {"top1", "errors"} <= set(models.columns):
        return "no published band: the study has no classified validation models"
    counts = {
        f"n_{k}": np.asarray(models[f"n_{k}"], dtype=np.float64)
        for k in BAND_KEYS
        if f"n_{k}" in models.columns
    }
    val = (
        np.asarray(models["dataset"]) == DEFAULT
        if "dataset" in models.columns
        else np.ones(len(models), dtype=bool)
    )
    images = np.asarray(models["images"]) if "images" in models.columns else None
    full = bool((images[val] == N_VAL).all()) if images is not None else None
    top1 = np.where(val, np.asarray(models["top1"], dtype=np.float64), np.nan)
    errors = np.asarray(models["errors"], dtype=np.float64)
    return bands_of(top1, counts, errors, dict(settings) | {"dataset": DEFAULT}, full_val=full)


__all__ = [
    "BAND_FILE",
    "band_population",
    "bands_of",
    "models_bands",
    "run_bands",
]
