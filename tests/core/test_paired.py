"""McNemar's exact test against a naive exact binomial sum (fractions) and scipy."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest

from errata.core.paired import binomial_half_two_sided, mcnemar


def naive_p(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value by summing the binomial(n, 1/2) probabilities of every
    outcome at most as likely as the one seen, in exact fractions."""
    n = a_only + b_only
    seen = Fraction(comb(n, a_only), 2**n)
    total = sum(
        (Fraction(comb(n, i), 2**n) for i in range(n + 1) if Fraction(comb(n, i), 2**n) <= seen),
        Fraction(0),
    )
    return float(min(Fraction(1), total))


@pytest.mark.parametrize(
    "a_only,b_only",
    [(0, 0), (0, 1), (1, 0), (3, 3), (2, 7), (10, 0), (40, 61), (429, 2108), (0, 600), (250, 251)],
)
def test_against_naive(a_only: int, b_only: int) -> None:
    got = binomial_half_two_sided(a_only, a_only + b_only)
    want = naive_p(a_only, b_only)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_random_against_naive_and_scipy() -> None:
    rng = np.random.default_rng(7)
    try:
        from scipy.stats import binomtest
    except ImportError:  # scipy comes with the labelissues/imagenetx extras only
        binomtest = None
    for _ in range(200):
        n = int(rng.integers(0, 300))
        k = int(rng.integers(0, n + 1))
        got = binomial_half_two_sided(k, n)
        assert got == pytest.approx(naive_p(k, n - k), rel=1e-9, abs=1e-300)
        if binomtest is not None and n:
            assert got == pytest.approx(binomtest(k, n, 0.5).pvalue, rel=1e-9, abs=1e-300)


def test_mcnemar_counts_discordant_images() -> None:
    rng = np.random.default_rng(1)
    a = rng.random(5000) < 0.7
    b = rng.random(5000) < 0.75
    got = mcnemar(a, b)
    assert got["a_only"] == int(sum(x and not y for x, y in zip(a, b, strict=True)))
    assert got["b_only"] == int(sum(y and not x for x, y in zip(a, b, strict=True)))
    assert got["p_value"] == pytest.approx(naive_p(got["a_only"], got["b_only"]), rel=1e-9)
    same = mcnemar(a, a)
    assert (same["a_only"], same["b_only"], same["p_value"]) == (0, 0, 1.0)
    with pytest.raises(ValueError):
        mcnemar(a, b[:10])
