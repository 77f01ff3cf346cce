"""Crowd-label aggregation: majority vote and Dawid–Skene over many annotators' answers.

Answers arrive as three parallel integer arrays — ``item`` (which question), ``worker`` (who
answered) and ``answer`` (what they said, ``0 .. n_answers-1``) — so that one annotator answering
one question is one row, and every step below is a ``bincount`` over those rows, never a loop over
items or workers. The truth of a question may have fewer values than the answers: in ImageNet-ReaL
and in the review app a question is "is label L in image I?" (truth: no / yes) while the answers
are no / maybe / yes (Wrong / Unclear / Correct).

Why our own EM rather than ``crowd-kit``: crowd-kit's Dawid–Skene assumes the truth takes the same
values as the answers (it cannot model yes/maybe/no answers about a yes/no truth), and the package
pulls in transformers and torch; the EM below is ~40 lines of numpy, is checked against a naive
reference in the tests, and reproduces the published ReaL posteriors (see
``benchmarks/real_aggregation.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from errata.core.checks import choice
from errata.exceptions import ErrataInputError

Method = Literal["majority", "dawid-skene"]
METHODS: tuple[Method, Method] = ("majority", "dawid-skene")
NO, MAYBE, YES = 0, 1, 2  # the answer codes used by ReaL's rater tensors and by the review app
SMOOTHING = 0.01  # pseudo-count added to each confusion cell, so no answer has probability 0
TOLERANCE = 1e-6  # EM stops when no posterior moved more than this
MAX_ITER = 200  # upper bound on EM iterations (ReaL converges in ~30)


@dataclass(frozen=True)
class Aggregate:
    """The result of aggregating answers.

    Attributes
    ----------
    posteriors : ndarray of float64, shape (n_items, n_truth)
        Probability of each truth value per item (rows sum to 1; uniform for unanswered items).
    confusion : ndarray of float64, shape (n_workers, n_truth, n_answers) or None
        Dawid–Skene: ``P(answer | truth)`` per worker. None for majority vote.
    prior : ndarray of float64, shape (n_truth,) or (n_groups, n_truth)
        Share of each truth value (per group of items for Dawid–Skene).
    iterations : int
        EM iterations run (0 for majority vote).
    """

    posteriors: np.ndarray
    confusion: np.ndarray | None
    prior: np.ndarray
    iterations: int


def _check(
    item: np.ndarray,
    worker: np.ndarray,
    answer: np.ndarray,
    n_answers: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    item, worker, answer = (np.asarray(a) for a in (item, worker, answer))
    if not (item.shape == worker.shape == answer.shape) or item.ndim != 1:
        raise ErrataInputError(
            f"answers: item, worker and answer must be 1-d arrays of one length "
            f"(got shapes {item.shape}, {worker.shape}, {answer.shape})"
        )
    for name, arr in (("item", item), ("worker", worker), ("answer", answer)):
        if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0):
            raise ErrataInputError(f"answers: '{name}' must hold non-negative integers")
    if answer.size and answer.max() >= n_answers:
        raise ErrataInputError(
            f"answers: answer code {int(answer.max())} is outside 0-{n_answers - 1}"
        )
    return item.astype(np.int64), worker.astype(np.int64), answer.astype(np.int64)


def answer_counts(
    item: np.ndarray,
    answer: np.ndarray,
    *,
    n_items: int,
    n_answers: int,
) -> np.ndarray:
    """``(n_items, n_answers)`` number of times each answer was given to each item."""
    flat = np.bincount(item * n_answers + answer, minlength=n_items * n_answers)
    return flat.reshape(n_items, n_answers).astype(np.float64)


def majority_vote(
    item: np.ndarray,
    worker: np.ndarray,
    answer: np.ndarray,
    *,
    n_items: int,
    n_answers: int = 3,
    answer_truth: np.ndarray | None = None,
) -> Aggregate:
    """Share of votes per truth value; ``answer_truth`` ``(n_answers, n_truth)`` says how much each
    answer counts for each truth (default: yes/maybe/no → ``maybe`` is half a vote each way).

    Examples
    --------
    >>> import numpy as np
    >>> item, worker, answer = np.array([0, 0, 0]), np.array([0, 1, 2]), np.array([2, 2, 0])
    >>> agg = majority_vote(item, worker, answer, n_items=1)
    >>> agg.posteriors.round(3).tolist()
    [[0.333, 0.667]]
    """
    item, worker, answer = _check(item, worker, answer, n_answers)
    if answer_truth is None:
        answer_truth = _default_answer_truth(n_answers)
    votes = answer_counts(item, answer, n_items=n_items, n_answers=n_answers) @ answer_truth
    total = votes.sum(axis=1, keepdims=True)
    n_truth = answer_truth.shape[1]
    post = np.where(total > 0, votes / np.maximum(total, 1e-300), 1.0 / n_truth)
    return Aggregate(
        post,
        None,
        post[total[:, 0] > 0].mean(axis=0) if total.any() else np.full(n_truth, 1.0 / n_truth),
        0,
    )


def _default_answer_truth(n_answers: int) -> np.ndarray:
    if n_answers == 3:  # no, maybe, yes about a binary truth
        return np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    return np.eye(n_answers)


def dawid_skene(
    item: np.ndarray,
    worker: np.ndarray,
    answer: np.ndarray,
    *,
    n_items: int,
    n_workers: int | None = None,
    n_answers: int = 3,
    n_truth: int = 2,
    groups: np.ndarray | None = None,
    init: np.ndarray | None = None,
    smoothing: float | np.ndarray = SMOOTHING,
    shrinkage: float = 0.0,
    max_iter: int = MAX_ITER,
    tol: float = TOLERANCE,
) -> Aggregate:
    """Dawid & Skene (1979) expectation–maximisation: each worker has a confusion matrix
    ``P(answer | truth)``, items share a prior over truth values; alternate the posterior of each
    item's truth (E) with the maximum-likelihood confusions and prior (M).

    Parameters
    ----------
    item, worker, answer : ndarray of int, shape (n_answers_given,)
        One row per answer given.
    n_items : int
        Number of items (questions); items without answers keep the prior.
    n_answers, n_truth : int
        Number of answer codes and of truth values (default: no/maybe/yes about no/yes).
    groups : ndarray of int, shape (n_items,), optional
        A prior per group of items instead of one shared prior. On ReaL, a label that is the
        image's original label is present far more often (74 %) than a label proposed by a model
        (12 %); one prior for both biases every posterior (see benchmarks/real_aggregation.py).
    smoothing : float or ndarray of shape (n_truth, n_answers)
        Dirichlet pseudo-counts added to every worker's confusion counts.
    shrinkage : float
        Pseudo-counts (per truth value) pulling each worker's confusion towards the pooled
        confusion of all workers, re-estimated every iteration (a Dirichlet prior centred on the
        population; MAP-EM). 0 (default) is plain Dawid–Skene. On ReaL, 1000–3000 raises the
        share of rated images identical to real.json from 88.9 % to 89.6 % (see
        benchmarks/real_aggregation.py); it does not close the gap to the published posteriors.
    init : ndarray, shape (n_items, n_truth), optional
        Starting posteriors; default the majority vote. Known truths (golden questions) can be
        given here as one-hot rows.

    Returns
    -------
    Aggregate
        ``posteriors[:, 1]`` is the probability that the label is present.
    """
    item, worker, answer = _check(item, worker, answer, n_answers)
    if not shrinkage >= 0:
        raise ErrataInputError(f"shrinkage: expected a non-negative number (got {shrinkage})")
    if n_workers is None:
        n_workers = int(worker.max()) + 1 if worker.size else 0
    if init is None:
        init = majority_vote(
            item,
            worker,
            answer,
            n_items=n_items,
            n_answers=n_answers,
            answer_truth=_default_answer_truth(n_answers)[:, :n_truth]
            if n_truth <= 2 or n_answers == n_truth
            else None,
        ).posteriors
    post = np.asarray(init, dtype=np.float64).copy()
    wa = worker * n_answers + answer  # (worker, answer) cell of each row
    groups = np.zeros(n_items, dtype=np.int64) if groups is None else np.asarray(groups, np.int64)
    if groups.shape != (n_items,) or (groups.size and groups.min() < 0):
        raise ErrataInputError(f"groups: expected {n_items} non-negative integers, one per item")
    n_groups = int(groups.max()) + 1 if groups.size else 1
    answered = np.bincount(item, minlength=n_items) > 0
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - `it` is reported after the loop
        # M-step: expected counts of (worker, truth, answer) and the truth prior
        conf = np.stack(
            [
                np.bincount(wa, weights=post[item, t], minlength=n_workers * n_answers)
                for t in range(n_truth)
            ],
            axis=1,
        ).reshape(n_workers, n_answers, n_truth)
        counts = np.asarray(conf.transpose(0, 2, 1) + smoothing, dtype=np.float64)
        if shrinkage:
            pooled = counts.sum(axis=0)  # (n_truth, n_answers)
            counts = counts + shrinkage * pooled / pooled.sum(axis=1, keepdims=True)
        conf = counts / counts.sum(axis=2, keepdims=True)
        prior = (
            np.stack(
                [
                    np.bincount(groups, weights=post[:, t] * answered, minlength=n_groups)
                    for t in range(n_truth)
                ],
                axis=1,
            )
            + SMOOTHING
        )
        prior /= prior.sum(axis=1, keepdims=True)  # (n_groups, n_truth)
        # E-step: log prior + sum over an item's answers of log P(answer | truth)
        log_conf = np.log(conf)  # (n_workers, n_truth, n_answers)
        loglik = (
            np.stack(
                [
                    np.bincount(item, weights=log_conf[worker, t, answer], minlength=n_items)
                    for t in range(n_truth)
                ],
                axis=1,
            )
            + np.log(prior)[groups]
        )
        loglik -= loglik.max(axis=1, keepdims=True)
        new = np.exp(loglik)
        new /= new.sum(axis=1, keepdims=True)
        delta = float(np.abs(new - post).max()) if n_items else 0.0
        post = new
        if delta < tol:
            break
    return Aggregate(post, conf, prior, it)


AGGREGATORS: dict[str, Callable[..., Aggregate]] = {
    "majority": majority_vote,
    "dawid-skene": dawid_skene,
}


def aggregate(
    item: np.ndarray,
    worker: np.ndarray,
    answer: np.ndarray,
    *,
    n_items: int,
    method: Method = "dawid-skene",
    n_answers: int = 3,
) -> Aggregate:
    """Aggregate yes/maybe/no answers with ``method`` (``"majority"`` or ``"dawid-skene"``)."""
    fn = AGGREGATORS[choice(method, AGGREGATORS, keyword="method")]
    return fn(item, worker, answer, n_items=n_items, n_answers=n_answers)


def method_of(text: str) -> Method:
    """``text`` as an aggregation method, matched without regard to case (``Majority`` is
    ``majority``); a one-line :class:`~errata.exceptions.ErrataInputError` otherwise."""
    return choice(text, METHODS, keyword="method")


def from_rater_tensor(tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ReaL's one-hot ``(n_workers, n_items, 3)`` rater tensor → ``(item, worker, answer)`` rows."""
    worker, item, answer = np.nonzero(tensor)
    return item, worker, answer
