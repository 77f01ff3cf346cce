"""Paired significance of two models scored on the same images: McNemar's exact test.

Only the discordant images carry information — those one model gets right and the other wrong.
Under the null hypothesis that both models are equally accurate, each discordant image is A's
with probability 1/2, so the count of A-only images is Binomial(discordant, 1/2); the two-sided
exact p-value is twice the smaller tail, at most 1. The binomial tail is summed in log space
(log-factorials and log-sum-exp), so it stays exact to floating point for any number of images
and only underflows to 0 below about 1e-308.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np


class McNemarTest(TypedDict):
    """:func:`mcnemar`: the images, the discordant ones of each model, the exact p-value."""

    images: int
    a_only: int
    b_only: int
    p_value: float


def binomial_half_two_sided(k: int, n: int) -> float:
    """Two-sided exact p-value of ``k`` successes in ``n`` trials of probability 1/2:
    ``min(1, 2 P(X <= min(k, n - k)))``.

    >>> binomial_half_two_sided(0, 5)  # 2 / 32
    0.0625
    >>> binomial_half_two_sided(3, 6)
    1.0
    """
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is not within 0..n={n}")
    if n == 0:
        return 1.0
    low = min(k, n - k)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))])
    i = np.arange(low + 1)
    log_pmf = log_fact[n] - log_fact[i] - log_fact[n - i] - n * np.log(2.0)
    top = log_pmf.max()
    log_tail = top + np.log(np.exp(log_pmf - top).sum())
    return float(min(1.0, 2.0 * np.exp(log_tail)))


def describe(test: McNemarTest) -> str:
    """``right for A only 429, for B only 2,108, p = 5.36e-265`` (``p < 1e-300`` below what
    floating point holds)."""
    p = test["p_value"]
    shown = "p < 1e-300" if p < 1e-300 else f"p = {p:.3g}"
    return f"right for A only {test['a_only']:,}, for B only {test['b_only']:,}, {shown}"


def sentence(top1: McNemarTest, multi_label: McNemarTest) -> str:
    """The paired tests of ``errata diff`` in one sentence (the command line and the report)."""
    return (
        f"McNemar's exact test (two-sided): top-1 on {top1['images']:,} images — "
        f"{describe(top1)}; multi-label correctness on {multi_label['images']:,} images — "
        f"{describe(multi_label)}."
    )


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> McNemarTest:
    """McNemar's exact test of two models' per-image correctness on the same images.

    Returns ``images``, ``a_only`` (A right, B wrong), ``b_only`` (B right, A wrong) and the
    two-sided exact ``p_value``.

    >>> mcnemar(np.array([1, 1, 1, 0], bool), np.array([0, 0, 1, 0], bool))
    {'images': 4, 'a_only': 2, 'b_only': 0, 'p_value': 0.5}
    """
    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"two 1-d arrays of one length expected, not {a.shape} and {b.shape}")
    a_only = int(np.count_nonzero(a & ~b))
    b_only = int(np.count_nonzero(b & ~a))
    return {
        "images": int(len(a)),
        "a_only": a_only,
        "b_only": b_only,
        "p_value": binomial_half_two_sided(a_only, a_only + b_only),
    }
