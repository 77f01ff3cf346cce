"""core.scoring.answer_tally: annotators' answers scored by the core — accuracy, MLA and their
intervals equal a direct count over the answers (an image of unknown class in the accuracy
only; an image answered twice counts twice)."""

from __future__ import annotations

import numpy as np
import pytest

from errata.core import metrics as M
from errata.core.scoring import Scores, answer_tally


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_answers_scored_as_a_direct_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, c, who_n = 400, 7, 3
    who = rng.integers(0, who_n, n)
    original = rng.integers(-1, c, n)  # -1: unknown class
    right = rng.random(n) < 0.6
    t = answer_tally(who, who_n, original, right, c)
    v = Scores(tuple("abc"), t, label_name="answers", groups={}, classified=False).values
    for j in range(who_n):
        mine = who == j
        hits, orig = right[mine], original[mine]
        assert v["label_accuracy"][j] == hits.mean()
        lo, hi = M.wilson_interval(int(hits.sum()), len(hits))
        assert (v["label_accuracy_lo"][j], v["label_accuracy_hi"][j]) == (lo[0], hi[0])
        known = orig >= 0
        hits_c = np.bincount(orig[known], weights=hits[known], minlength=c)
        n_c = np.bincount(orig[known], minlength=c)
        assert v["mla"][j] == M.class_average(hits_c, n_c)
        mlo, mhi = M.stratified_interval(hits_c, n_c)
        assert (v["mla_lo"][j], v["mla_hi"][j]) == (mlo, mhi)
