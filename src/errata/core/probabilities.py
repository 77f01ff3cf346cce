"""A model's scores as probabilities: the one rule every caller uses (two-stage inference and
Super-Sub composition, the label-issue ensemble, the review queues' confidences).

A model outputs either logits or probabilities for all its rows, so the decision is made once
per matrix, never per row: a row of logits that happens to be non-negative and sum to 1 is not
read as probabilities. Classes scored ``-inf`` are classes a subset test set does not ask (see
:mod:`errata.core.datasets`): they get probability 0, and a row of probabilities that lost them
is renormalised over the classes that are asked, as a softmax over those classes would be.
"""

from __future__ import annotations

import numpy as np

PROB_TOLERANCE = 1e-3  # rows summing to 1 within this (all entries in [0, 1]) are probabilities


def is_probabilities(scores: np.ndarray) -> bool:
    """Whether a score matrix holds probabilities: every finite entry in [0, 1] and every row
    summing to 1 within :data:`PROB_TOLERANCE` (at most 1 when some of its classes are
    ``-inf``, not asked).

    >>> is_probabilities(np.array([[0.25, 0.75], [1.0, 0.0]]))
    True
    >>> is_probabilities(np.array([[0.25, 0.75], [2.0, -1.0]]))  # one row of logits: logits
    False
    >>> is_probabilities(np.array([[0.5, -np.inf, 0.25]]))  # a subset's row lost some mass
    True
    """
    x = np.asarray(scores)
    if x.size == 0:
        return False
    masked = np.isneginf(x)
    finite = np.where(masked, 0.0, x)
    if finite.min() < 0 or finite.max() > 1 + PROB_TOLERANCE:
        return False
    sums = finite.sum(axis=1)
    tol = PROB_TOLERANCE
    ok = np.where(masked.any(axis=1), sums <= 1 + tol, np.abs(sums - 1) <= tol)
    return bool(ok.all())


def probabilities(
    scores: np.ndarray, *, given: bool | None = None, dtype: type = np.float32
) -> np.ndarray:
    """``(n, C)`` probabilities from a model's ``(n, C)`` scores: probabilities as given
    (renormalised over the classes asked), else the softmax of the logits; ``-inf`` becomes 0.
    ``given``: whether ``scores`` are probabilities, when the caller decided it over the whole
    matrix (a matrix handled in blocks of rows); by default :func:`is_probabilities`.

    >>> probabilities(np.array([[0.0, np.log(3.0)]])).round(2).tolist()
    [[0.25, 0.75]]
    >>> probabilities(np.array([[0.5, -np.inf, 0.25]]), dtype=np.float64).round(3).tolist()
    [[0.667, 0.0, 0.333]]
    """
    x: np.ndarray = np.asarray(scores)
    if x.ndim != 2:
        raise ValueError(f"scores of shape {x.shape}; expected (n, classes)")
    if is_probabilities(x) if given is None else given:
        p: np.ndarray = np.where(np.isneginf(x), 0, x).astype(dtype, copy=False)
        sums = p.sum(axis=1, keepdims=True)
        normalised: np.ndarray = np.divide(p, sums, out=np.zeros_like(p), where=sums > 0)
        return normalised
    # shifted in the scores' own precision, then narrowed: logits beyond float32's range
    # (float64 scores of 1e300) lose nothing, where a cast first would make them inf
    shifted = (x - x.max(axis=1, keepdims=True)).astype(dtype, copy=False)
    e = np.exp(shifted)  # exp(-inf) = 0
    softmax: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return softmax


__all__ = ["PROB_TOLERANCE", "is_probabilities", "probabilities"]
