"""Metrics: each against a naive reference on shared cases, plus invariance properties."""

from __future__ import annotations

import numpy as np
import pytest

from errata.core import metrics as M


def cases():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    out = []
    for n, p in ((50, 0.5), (400, 0.9), (1000, 0.1)):
        hits = rng.random(n) < p
        classes = rng.integers(0, 7, n)
        out.append((hits, classes))
    return out


def naive_class_avg(hits, classes):  # type: ignore[no-untyped-def]
    per = {}
    for h, c in zip(hits.tolist(), classes.tolist()):
        per.setdefault(c, []).append(h)
    return sum(sum(v) / len(v) for v in per.values()) / len(per)


@pytest.mark.parametrize("hits,classes", cases())
def test_accuracy_matches_naive(hits, classes) -> None:  # type: ignore[no-untyped-def]
    assert M.accuracy(hits) == pytest.approx(sum(hits.tolist()) / len(hits))


@pytest.mark.parametrize("hits,classes", cases())
def test_class_averaged_matches_naive(hits, classes) -> None:  # type: ignore[no-untyped-def]
    assert M.class_averaged_accuracy(hits, classes) == pytest.approx(naive_class_avg(hits, classes))


@pytest.mark.parametrize("hits,classes", cases())
def test_stacked_models_equal_one_at_a_time(hits, classes) -> None:  # type: ignore[no-untyped-def]
    stack = np.stack([hits, ~hits, np.roll(hits, 3)])
    got = M.class_averaged_accuracy(stack, classes)
    want = [M.class_averaged_accuracy(h, classes) for h in stack]
    assert np.allclose(got, want)
    assert np.allclose(M.accuracy(stack), [M.accuracy(h) for h in stack])


@pytest.mark.parametrize("hits,classes", cases())
@pytest.mark.parametrize("metric", ["accuracy", "class_averaged"])
def test_invariant_to_image_order(hits, classes, metric) -> None:  # type: ignore[no-untyped-def]
    perm = np.random.default_rng(0).permutation(len(hits))
    f = {
        "accuracy": lambda h, c: M.accuracy(h),
        "class_averaged": lambda h, c: M.class_averaged_accuracy(h, c),
    }[metric]
    assert f(hits, classes) == pytest.approx(f(hits[perm], classes[perm]))


def test_topk_hits() -> None:
    topk = np.array([[1, 2, 3], [4, 5, 6]])
    assert M.topk_hits(topk, np.array([3, 4]), 1).tolist() == [False, True]
    assert M.topk_hits(topk, np.array([3, 4]), 3).tolist() == [True, True]


@pytest.mark.parametrize("hits,classes", cases())
def test_class_average_from_counts_matches_naive(hits, classes) -> None:  # type: ignore[no-untyped-def]
    hits_c = np.bincount(classes, weights=hits, minlength=10)
    n_c = np.bincount(classes, minlength=10)
    assert M.class_average(hits_c, n_c) == pytest.approx(naive_class_avg(hits, classes))
    assert np.isnan(M.class_average(np.zeros(3), np.zeros(3)))


def test_per_class_accuracy_nan_for_missing_classes() -> None:
    per = M.per_class_accuracy(np.array([True, False, True]), np.array([0, 0, 5]))
    assert per[0] == 0.5 and per[5] == 1.0 and np.isnan(per[1])


def test_bootstrap_matches_resampling_and_is_seeded() -> None:
    rng = np.random.default_rng(1)
    hits = rng.random(2000) < 0.7
    lo, hi = M.bootstrap_interval(int(hits.sum()), hits.size, seed=5)
    assert (lo, hi) == M.bootstrap_interval(int(hits.sum()), hits.size, seed=5)
    assert lo[0] < hits.mean() < hi[0]
    # the Binomial shortcut gives the same distribution as explicit resampling
    idx = rng.integers(0, hits.size, size=(2000, hits.size))
    explicit = np.quantile(hits[idx].mean(axis=1), [0.025, 0.975])
    assert lo[0] == pytest.approx(explicit[0], abs=0.004)
    assert hi[0] == pytest.approx(explicit[1], abs=0.004)
    # per model: a model's interval is the same alone or in a stack
    stack_lo, stack_hi = M.bootstrap_interval(
        np.array([10, int(hits.sum())]), np.array([20, 2000]), seed=5
    )
    assert stack_lo[1] == lo[0] and stack_hi[1] == hi[0]


def test_stratified_interval_matches_explicit_stratified_bootstrap() -> None:
    """The closed form agrees with 2,000 explicit stratified resamples to 0.3 points."""
    rng = np.random.default_rng(2)
    n_c = rng.integers(20, 60, 300)
    p_c = rng.uniform(0.3, 1.0, 300)
    hits_c = rng.binomial(n_c, p_c)
    lo, hi = M.stratified_interval(hits_c, n_c)
    draws = rng.binomial(n_c[None, :], (hits_c / n_c)[None, :], size=(2000, 300)) / n_c
    explicit = np.quantile(draws.mean(axis=1), [0.025, 0.975])
    assert lo == pytest.approx(explicit[0], abs=0.003) and hi == pytest.approx(
        explicit[1], abs=0.003
    )
    assert lo < M.class_average(hits_c, n_c) < hi


def test_every_metric_has_metadata() -> None:
    for key, info in M.METRICS.items():
        assert info.title and info.description and info.higher_is_better, key


def _binomial_pmf(n: int, p: np.ndarray) -> np.ndarray:
    """(len(p), n + 1) exact Binomial(n, p) probabilities."""
    from math import comb

    k = np.arange(n + 1)
    coef = np.array([comb(n, int(i)) for i in k], dtype=np.float64)
    return coef * p[:, None] ** k * (1 - p[:, None]) ** (n - k)


@pytest.mark.parametrize("n", [5, 8, 20, 68, 94, 500])
def test_wilson_interval_has_its_coverage_at_small_n(n: int) -> None:
    """Exact coverage, over every outcome k of Binomial(n, p), on a grid of true accuracies:
    95 % on average, never far below (the bootstrap's 0-of-8 interval is 0 – 0 and covers no
    p > 0)."""
    p = np.linspace(0.01, 0.99, 99)
    lo, hi = M.wilson_interval(np.arange(n + 1), np.full(n + 1, n))
    inside = (lo[None, :] <= p[:, None]) & (p[:, None] <= hi[None, :])
    coverage = (_binomial_pmf(n, p) * inside).sum(axis=1)
    assert coverage.mean() >= 0.94 and coverage.min() >= 0.84, (coverage.mean(), coverage.min())
    blo, bhi = M.bootstrap_interval(0, 8)
    assert blo[0] == bhi[0] == 0.0  # what the bootstrap says of 0 of 8 (and why it is not used)


@pytest.mark.parametrize("classes,per_class", [(94, 1), (30, 3), (20, 10), (300, 50)])
def test_class_averaged_interval_has_its_coverage(classes: int, per_class: int) -> None:
    """Simulated coverage of the MLA interval, down to label sets of one image per class."""
    rng = np.random.default_rng(classes)
    p_c = rng.uniform(0.5, 1.0, classes)
    n_c = np.full(classes, per_class)
    draws = rng.binomial(n_c, p_c, size=(4000, classes))
    lo, hi = M.stratified_interval(draws, np.broadcast_to(n_c, draws.shape))
    truth = p_c.mean()
    coverage = ((lo <= truth) & (truth <= hi)).mean()
    assert coverage >= 0.92, coverage
    assert (hi - lo).min() > 0  # never a zero-width interval
