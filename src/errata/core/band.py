"""The published band: where a run's category shares stand among published models of similar
accuracy.

For a run whose top-1 accuracy is ``t``, the band of a category is the p10–p90 range of that
category's share over the published models whose top-1 lies within ``t ± window`` (Peychev et
al. 2023 classified 962 models; 45 lie within 2 points of the reference ResNet-50's 72.73 %).
The percentiles are **nearest-rank** ones: p10 is the share of the ``⌈0.1·n⌉``-th of the ``n``
models in the window (sorted by that share), p90 that of the ``⌈0.9·n⌉``-th, so each end of a
band is a published model's figure (for 45 models: the 5th and the 41st).

Pure numpy over whole arrays: one call places a thousand runs (``(m,)`` top-1s) against the
population, and the inputs are validated once at :func:`band`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW = 0.02  # ±2 points of top-1 (fractions): "models of similar accuracy"
QUANTILES = (0.10, 0.90)  # the band's ends: p10 and p90 of the models in the window
MIN_MODELS = 10  # fewer models in the window give no band (its ends would be the extremes)


@dataclass(frozen=True)
class Band:
    """The bands of ``m`` runs over ``k`` share columns.

    Attributes
    ----------
    low, high : ndarray, shape (m, k)
        The band's ends (fractions); NaN where fewer than ``min_models`` models are in the window.
    n_models : ndarray, shape (m,)
        Published models within the window of each run.
    """

    low: np.ndarray
    high: np.ndarray
    n_models: np.ndarray

    @property
    def known(self) -> np.ndarray:
        """``(m,)`` bool: the run has a band (enough models in its window)."""
        return np.isfinite(self.low).all(axis=1) if self.low.shape[1] else self.n_models > 0


def band(
    population_top1: np.ndarray,
    population_shares: np.ndarray,
    top1: np.ndarray | float,
    *,
    window: float = WINDOW,
    quantiles: tuple[float, float] = QUANTILES,
    min_models: int = MIN_MODELS,
) -> Band:
    """The published band of each run's shares.

    Parameters
    ----------
    population_top1 : ndarray, shape (n,)
        Top-1 accuracy of each published model (fractions).
    population_shares : ndarray, shape (n, k)
        The ``k`` shares of each published model (fractions of its multi-label errors).
    top1 : float or ndarray, shape (m,)
        Each run's top-1 accuracy (fractions).
    window : float, keyword-only
        Half-width of the top-1 window (0.02: ±2 points).
    quantiles : (float, float), keyword-only
        The band's ends, as nearest-rank quantiles.
    min_models : int, keyword-only
        Fewest models in the window that give a band.

    Returns
    -------
    Band
        ``low``/``high`` of shape ``(m, k)`` and ``n_models`` of shape ``(m,)``.

    Examples
    --------
    >>> pop_top1 = np.array([0.70, 0.71, 0.72, 0.73, 0.90])
    >>> shares = np.array([[0.1], [0.2], [0.3], [0.4], [0.9]])
    >>> b = band(pop_top1, shares, 0.715, min_models=2)
    >>> b.n_models.tolist(), b.low.tolist(), b.high.tolist()
    ([4], [[0.1]], [[0.4]])
    """
    pop_top1 = np.asarray(population_top1, dtype=np.float64)
    pop_shares = np.asarray(population_shares, dtype=np.float64)
    runs = np.atleast_1d(np.asarray(top1, dtype=np.float64))
    if pop_top1.ndim != 1 or pop_shares.ndim != 2 or len(pop_shares) != len(pop_top1):
        raise ValueError(
            f"population: top-1 of shape (n,) and shares of shape (n, k) expected, got "
            f"{pop_top1.shape} and {pop_shares.shape}"
        )
    if runs.ndim != 1:
        raise ValueError(f"top1: a number or shape (m,) expected, got {runs.shape}")
    if not (np.isfinite(pop_top1).all() and np.isfinite(pop_shares).all()):
        raise ValueError("population: every top-1 and share must be a finite number")
    lo_q, hi_q = quantiles
    if not (0.0 <= lo_q <= hi_q <= 1.0):
        raise ValueError(f"quantiles: 0 ≤ low ≤ high ≤ 1 expected, got {quantiles}")
    if not window >= 0 or min_models < 1:
        raise ValueError("window ≥ 0 and min_models ≥ 1 expected")
    return _band(pop_top1, pop_shares, runs, window, (lo_q, hi_q), min_models)


def _band(
    pop_top1: np.ndarray,
    pop_shares: np.ndarray,
    runs: np.ndarray,
    window: float,
    quantiles: tuple[float, float],
    min_models: int,
) -> Band:
    """:func:`band` without the checks."""
    # a tolerance keeps a model exactly 2 points away inside despite binary fractions
    inside = np.abs(pop_top1[None, :] - runs[:, None]) <= window + 1e-9  # (m, n)
    n_in = inside.sum(axis=1)
    m, k = len(runs), pop_shares.shape[1]
    ends = [np.full((m, k), np.nan), np.full((m, k), np.nan)]
    enough = n_in >= min_models
    if not enough.any() or not k:
        return Band(ends[0], ends[1], n_in)
    inside, n_ok = inside[enough], n_in[enough]
    # nearest rank ⌈q·n⌉ (1-based); rounding first keeps 0.1·30 = 3.0000000000000004 at 3
    ranks = [np.clip(np.ceil(np.round(q * n_ok, 9)), 1, n_ok).astype(np.int64) for q in quantiles]
    for c in range(k):
        order = np.argsort(pop_shares[:, c], kind="stable")
        seen = np.cumsum(inside[:, order], axis=1, dtype=np.int32)  # (m', n): in the window so far
        for end, rank in zip(ends, ranks, strict=True):
            at = (seen >= rank[:, None]).argmax(axis=1)
            end[enough, c] = pop_shares[order[at], c]
    return Band(ends[0], ends[1], n_in)


__all__ = ["MIN_MODELS", "QUANTILES", "WINDOW", "Band", "band"]
