"""Majority vote and Dawid–Skene against a naive reference, planted annotators, and ReaL."""

from __future__ import annotations

import numpy as np
import pytest

from errata.exceptions import ErrataInputError
from errata.review.aggregation import (
    aggregate,
    dawid_skene,
    from_rater_tensor,
    majority_vote,
)


def naive_dawid_skene(item, worker, answer, n_items, n_workers, groups, iters, smoothing=0.01):
    """Loop-by-loop Dawid–Skene with the same initialisation, to check the vectorised one."""
    post = majority_vote(item, worker, answer, n_items=n_items).posteriors.copy()
    n_groups = groups.max() + 1
    answered = np.zeros(n_items, bool)
    answered[item] = True
    for _ in range(iters):
        conf = np.full((n_workers, 2, 3), smoothing)
        for i, w, a in zip(item, worker, answer):
            for t in range(2):
                conf[w, t, a] += post[i, t]
        conf /= conf.sum(axis=2, keepdims=True)
        prior = np.full((n_groups, 2), smoothing)
        for i in range(n_items):
            if answered[i]:
                prior[groups[i]] += post[i]
        prior /= prior.sum(axis=1, keepdims=True)
        new = np.zeros_like(post)
        for i in range(n_items):
            logp = np.log(prior[groups[i]]).copy()
            for j in np.flatnonzero(item == i):
                logp += np.log(conf[worker[j], :, answer[j]])
            p = np.exp(logp - logp.max())
            new[i] = p / p.sum()
        post = new
    return post


def planted(seed=0, n_items=300, n_workers=8, per_item=5):
    """Workers 0-5 answer right 90 % of the time, workers 6-7 answer at random."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n_items) < 0.3
    item = np.repeat(np.arange(n_items), per_item)
    worker = np.concatenate(
        [rng.choice(n_workers, per_item, replace=False) for _ in range(n_items)]
    )
    good = worker < 6
    right = np.where(truth[item], 2, 0)
    answer = np.where(good & (rng.random(len(item)) < 0.9), right, rng.integers(0, 3, len(item)))
    return item, worker, answer, truth


def test_matches_naive_reference():
    item, worker, answer, _ = planted(n_items=40, n_workers=5, per_item=3)
    groups = (np.arange(40) % 2).astype(np.int64)
    fast = dawid_skene(item, worker, answer, n_items=40, groups=groups, max_iter=7, tol=0)
    slow = naive_dawid_skene(item, worker, answer, 40, 5, groups, iters=7)
    np.testing.assert_allclose(fast.posteriors, slow, atol=1e-10)


def test_recovers_planted_truth_and_bad_workers():
    item, worker, answer, truth = planted()
    ds = dawid_skene(item, worker, answer, n_items=len(truth))
    mv = majority_vote(item, worker, answer, n_items=len(truth))
    ds_acc = ((ds.posteriors[:, 1] >= 0.5) == truth).mean()
    mv_acc = ((mv.posteriors[:, 1] >= 0.5) == truth).mean()
    assert ds_acc >= 0.97
    assert ds_acc >= mv_acc
    # reliable workers get a high P(yes | present), random ones about a third
    p_yes_present = ds.confusion[:, 1, 2]
    assert p_yes_present[:6].min() > 0.8
    assert p_yes_present[6:].max() < 0.6


def test_posteriors_are_distributions_and_order_invariant():
    item, worker, answer, truth = planted(seed=3)
    perm = np.random.default_rng(1).permutation(len(item))
    a = dawid_skene(item, worker, answer, n_items=len(truth) + 2)  # two unanswered items
    b = dawid_skene(item[perm], worker[perm], answer[perm], n_items=len(truth) + 2)
    np.testing.assert_allclose(a.posteriors.sum(axis=1), 1.0)
    np.testing.assert_allclose(a.posteriors, b.posteriors, atol=1e-8)
    np.testing.assert_allclose(a.posteriors[-1], a.prior[0], atol=1e-8)  # unanswered → prior


def test_shrinkage_pulls_confusions_to_the_pooled_one():
    item, worker, answer, truth = planted()
    plain = dawid_skene(item, worker, answer, n_items=len(truth))
    zero = dawid_skene(item, worker, answer, n_items=len(truth), shrinkage=0.0)
    np.testing.assert_array_equal(plain.posteriors, zero.posteriors)
    some = dawid_skene(item, worker, answer, n_items=len(truth), shrinkage=20.0)
    huge = dawid_skene(item, worker, answer, n_items=len(truth), shrinkage=1e9)
    spread = [np.ptp(a.confusion[:, 1, 2]) for a in (plain, some, huge)]
    assert spread[0] > spread[1] > spread[2] and spread[2] < 1e-4  # all workers alike at the limit
    assert ((some.posteriors[:, 1] >= 0.5) == truth).mean() >= 0.95
    with pytest.raises(ErrataInputError, match="shrinkage"):
        dawid_skene(item, worker, answer, n_items=len(truth), shrinkage=-1.0)


def test_majority_vote_counts_maybe_as_half():
    agg = majority_vote(
        np.array([0, 0, 0, 1]), np.array([0, 1, 2, 0]), np.array([2, 1, 0, 2]), n_items=3
    )
    np.testing.assert_allclose(agg.posteriors, [[0.5, 0.5], [0.0, 1.0], [0.5, 0.5]])


def test_bad_input_and_unknown_method():
    with pytest.raises(ErrataInputError, match="answer code 5"):
        dawid_skene(np.array([0]), np.array([0]), np.array([5]), n_items=1)
    with pytest.raises(ErrataInputError, match="one length"):
        majority_vote(np.array([0, 1]), np.array([0]), np.array([1]), n_items=2)
    with pytest.raises(ErrataInputError, match="majority, dawid-skene"):
        aggregate(np.array([0]), np.array([0]), np.array([1]), n_items=1, method="vote")  # type: ignore[arg-type]


def test_rater_tensor_rows():
    t = np.zeros((2, 3, 3))
    t[0, 1, 2] = t[1, 2, 0] = 1
    item, worker, answer = from_rater_tensor(t)
    assert item.tolist() == [1, 2] and worker.tolist() == [0, 1] and answer.tolist() == [2, 0]


@pytest.mark.slow
def test_real_rater_data_reproduces_published_posteriors():
    """Our Dawid–Skene on ReaL's 85 raters: posteriors correlate ≥ 0.98 with the published ones
    and ≥ 98 % of (image, label) questions land on the same side of the 0.8 threshold."""
    from review_helpers import data_dir

    from errata import resources

    d = data_dir() / "real_raters"
    with np.load(d / "raters.npz") as z:
        item, worker, answer = from_rater_tensor(z["tensor"])
        info = z["info"]
    with np.load(d / "scores.npz") as s:
        published = s["tensor"]
    nums = np.char.ljust(np.char.lstrip(np.char.partition(info[:, 0], "_val_")[:, 2], "0"), 1)
    val_index = np.char.rstrip(nums, ".JPEG").astype(np.int64) - 1
    is_original = resources.validation_labels()[val_index] == info[:, 1].astype(np.int64)
    ds = dawid_skene(
        item, worker, answer, n_items=len(published), groups=is_original.astype(np.int64)
    )
    p = ds.posteriors[:, 1]
    assert np.corrcoef(p, published)[0, 1] >= 0.98
    assert ((p >= 0.8) == (published >= 0.8)).mean() >= 0.98
