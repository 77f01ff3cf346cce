"""The published band (core): nearest-rank p10–p90 over the models within a top-1 window,
against a naive per-run reference, plus the edges (a window too thin, the window's boundary,
many runs at once equal to one at a time)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from errata.core.band import band


def naive(pop_top1, pop_shares, t, window=0.02, qs=(0.1, 0.9), min_models=10):  # type: ignore[no-untyped-def]
    """One run, one category at a time, by sorting the models in the window."""
    inside = [i for i in range(len(pop_top1)) if abs(pop_top1[i] - t) <= window + 1e-9]
    out = []
    for c in range(pop_shares.shape[1]):
        values = sorted(float(pop_shares[i, c]) for i in inside)
        if len(values) < min_models:
            out.append((math.nan, math.nan))
            continue
        ends = [values[max(1, math.ceil(round(q * len(values), 9))) - 1] for q in qs]
        out.append((ends[0], ends[1]))
    return len(inside), out


def cases():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    for n, k, span in ((30, 1, 0.03), (200, 3, 0.15), (962, 6, 0.2)):
        pop_top1 = rng.uniform(0.72 - span, 0.72 + span, n).round(5)
        shares = rng.dirichlet(np.ones(k + 1), n)[:, :k]
        runs = np.concatenate([rng.uniform(0.5, 0.95, 20), pop_top1[:3]])
        yield pop_top1, shares, runs


@pytest.mark.parametrize("pop_top1,shares,runs", list(cases()))
def test_band_matches_naive_reference(pop_top1, shares, runs) -> None:  # type: ignore[no-untyped-def]
    b = band(pop_top1, shares, runs)
    assert b.low.shape == b.high.shape == (len(runs), shares.shape[1])
    for j, t in enumerate(runs):
        n, ends = naive(pop_top1, shares, t)
        assert b.n_models[j] == n
        for c, (lo, hi) in enumerate(ends):
            np.testing.assert_equal([b.low[j, c], b.high[j, c]], [lo, hi])
    # the ends agree with numpy's nearest-rank percentile (inverted CDF)
    j = int(np.argmax(b.n_models))
    assert b.n_models[j] >= 10
    inside = np.abs(pop_top1 - runs[j]) <= 0.02 + 1e-9
    want = np.percentile(shares[inside], [10, 90], axis=0, method="inverted_cdf")
    np.testing.assert_allclose([b.low[j], b.high[j]], want)


def test_many_runs_equal_one_at_a_time() -> None:
    pop_top1, shares, runs = list(cases())[1]
    b = band(pop_top1, shares, runs)
    for j, t in enumerate(runs):
        one = band(pop_top1, shares, float(t))
        np.testing.assert_equal(one.low[0], b.low[j])
        np.testing.assert_equal(one.high[0], b.high[j])


def test_band_ends_are_the_5th_and_41st_of_45_models() -> None:
    pop_top1 = np.full(45, 0.70)
    shares = np.arange(45, dtype=np.float64)[::-1, None] / 100  # unsorted on purpose
    b = band(np.append(pop_top1, 0.80), np.append(shares, [[9.0]], axis=0), 0.70)
    assert b.n_models.tolist() == [45]
    assert b.low[0, 0] == pytest.approx(0.04) and b.high[0, 0] == pytest.approx(0.40)


def test_window_boundary_and_thin_windows() -> None:
    pop_top1 = np.array([0.70, 0.72, 0.74, 0.7401])
    shares = np.array([[0.1], [0.2], [0.3], [0.4]])
    b = band(pop_top1, shares, 0.72, min_models=3)
    assert b.n_models.tolist() == [3]  # 0.70 and 0.74 are exactly 2 points away: inside
    assert (b.low[0, 0], b.high[0, 0]) == (0.1, 0.3)
    thin = band(pop_top1, shares, 0.60, min_models=1)
    assert thin.n_models.tolist() == [0] and np.isnan(thin.low).all() and not thin.known.any()
    few = band(pop_top1, shares, 0.72)  # 3 models < 10: no band
    assert np.isnan(few.high).all() and few.n_models.tolist() == [3]


@pytest.mark.parametrize(
    "args,message",
    [
        ((np.zeros((2, 2)), np.zeros((2, 1)), 0.5), "shape"),
        ((np.zeros(2), np.zeros((3, 1)), 0.5), "shape"),
        ((np.zeros(2), np.array([[np.nan], [0.0]]), 0.5), "finite"),
        ((np.zeros(2), np.zeros((2, 1)), np.zeros((2, 2))), "top1"),
    ],
)
def test_bad_arrays_are_refused(args, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        band(*args)
