"""core.arrays: the same answers as numpy's slower or machine-dependent routines."""

from __future__ import annotations

import numpy as np
import pytest

from errata.core.arrays import distinct, top_k


@pytest.mark.parametrize("seed", range(5))
def test_top_k_is_a_stable_sort_of_the_largest(seed: int) -> None:
    # few distinct values: ties everywhere, also at the k-th place; NaN rows too
    rng = np.random.default_rng(seed)
    for _ in range(100):
        n, c, k = rng.integers(1, 30), rng.integers(1, 40), rng.integers(1, 8)
        v = rng.integers(0, 4, (n, c)).astype(np.float64)
        if rng.random() < 0.3:
            v[rng.random(v.shape) < 0.1] = np.nan
        want = np.argsort(-v, axis=1, kind="stable")[:, : min(k, c)]
        assert np.array_equal(top_k(v, int(k)), want)


def test_top_k_does_not_follow_argpartitions_pick_among_ties(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # a CPU whose selection kernel leaves the last two of the three tied 5s at the top: a
    # valid partition of [1, 5, 5, 5, 0] about its 4th place, but not the stable pick
    v = np.array([[1.0, 5.0, 5.0, 5.0, 0.0]])
    here = top_k(v, 2)
    monkeypatch.setattr(np, "argpartition", lambda a, kth, axis=-1: np.array([[4, 0, 1, 2, 3]]))
    assert top_k(v, 2).tolist() == here.tolist() == [[1, 2]]


def test_distinct_is_np_unique() -> None:
    rng = np.random.default_rng(0)
    for size in (0, 1, 2, 1000):
        a = rng.integers(0, 50, size)
        assert np.array_equal(distinct(a), np.unique(a))
