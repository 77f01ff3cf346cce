"""The one scores-to-probabilities rule (``errata.core.probabilities``) shared by two-stage
inference, Super-Sub composition, the label-issue ensemble and the review queues."""

from __future__ import annotations

import numpy as np

from errata.core.probabilities import is_probabilities, probabilities
from errata.core.supersub import two_stage


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_distributions_are_kept_and_logits_go_through_a_softmax() -> None:
    p = np.array([[0.2, 0.8, 0.0], [1.0, 0.0, 0.0]])
    assert is_probabilities(p) and np.allclose(probabilities(p), p)
    logits = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]])
    assert not is_probabilities(logits)
    assert np.allclose(probabilities(logits), softmax(logits))
    assert probabilities(logits).dtype == np.float32
    assert probabilities(logits, dtype=np.float64).dtype == np.float64


def test_the_decision_is_per_matrix_not_per_row() -> None:
    """A logit row that happens to look like a distribution is a logit row: one model's
    outputs are all logits or all probabilities."""
    x = np.array([[0.2, 0.8, 0.0], [1.0, 2.0, 3.0]])
    assert not is_probabilities(x)
    assert np.allclose(probabilities(x), softmax(x))  # row 0 too
    assert np.allclose(probabilities(x[:1], given=False), softmax(x[:1]))  # the caller decides


def test_a_subset_test_sets_masked_probabilities_are_renormalised_not_softmaxed() -> None:
    """Classes a subset test set does not ask are -inf: they get 0, and probabilities that lost
    them are renormalised over the asked classes (a softmax of probabilities would flatten
    them: the rule before it was shared read such rows as logits)."""
    p = np.array([[0.5, 0.25, -np.inf, -np.inf], [0.1, 0.1, -np.inf, -np.inf]])
    assert is_probabilities(p)
    assert np.allclose(probabilities(p), [[2 / 3, 1 / 3, 0, 0], [0.5, 0.5, 0, 0]])
    logits = np.array([[3.0, 1.0, -np.inf, -np.inf]])
    assert not is_probabilities(logits)
    assert np.allclose(probabilities(logits), [[*softmax(np.array([[3.0, 1.0]]))[0], 0, 0]])


def test_two_stage_on_masked_probabilities_sums_the_given_probabilities() -> None:
    """Superclass 0 holds classes 0-2 (0.3 each before masking, 0.9 in all); superclass 1 holds
    class 3 (0.1) and class 4 (masked). Summed probabilities choose superclass 0; a softmax of
    the probabilities (near uniform) would have chosen by class count alone."""
    members = np.zeros((5, 2), dtype=bool)
    members[[0, 1, 2], 0] = members[[3, 4], 1] = True
    p = np.array([[0.3, 0.3, 0.3, 0.1, -np.inf]], dtype=np.float32)
    topk, chosen = two_stage(p, members, k=3)
    assert chosen.tolist() == [0] and topk[0, 0] in (0, 1, 2)
    q = np.array([[0.05, 0.05, 0.05, 0.6, -np.inf]], dtype=np.float32)  # mass on class 3
    assert two_stage(q, members, k=3)[1].tolist() == [1]
