"""Superclass-level evaluation and two-stage inference ("Superclassing ImageNet", Wen, Rios,
Lekkala and Itti 2022: errors mostly stay inside a superclass; a superclass network followed by
a specialist per superclass).

Pure functions over whole arrays, for any taxonomy (a ``(C, S)`` membership matrix; a class
may be in several superclasses, or — for a taxonomy that covers only part of ImageNet, like the
paper's 10 superclasses — in none):

* :func:`superclass_scores` — given top-1 predictions of ``m`` models on ``n`` images and each
  image's true class: top-1 accuracy, **superclass accuracy** (the prediction shares a
  superclass with the true class), and the errors that stay **within** the true superclass or
  **cross** it, overall and per superclass. Images whose true class is in no superclass are out
  of scope and not counted.
* :func:`two_stage` — from a flat model's scores: the superclass with the highest summed
  probability, then the most probable class inside it.
* :func:`compose` — from a superclass model's probabilities and one specialist per superclass:
  the same two decisions, each by its own network (what ``errata predict --supersub`` runs).

Per superclass, an error counts for every superclass its true class belongs to and is "within"
superclass ``s`` when the prediction is in ``s`` too; overall, an error is within when the
prediction shares any superclass with the true class (the same thing for a partition).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from errata.core.arrays import top_k
from errata.core.evidence import same_superclass_of
from errata.core.metrics import ratio
from errata.core.probabilities import is_probabilities, probabilities
from errata.core.sparse import Csr

BLOCK = 4096  # rows of a score matrix handled at a time (bounds the (n, C) temporaries)


@dataclass(frozen=True, eq=False)
class SuperclassScores:
    """Superclass figures of ``m`` models (see :func:`superclass_scores`); counts are int64.

    Attributes
    ----------
    names : ndarray of str, shape (S,)
    images, correct, within : ndarray, shape (m,)
        Images in scope (true class in some superclass, a prediction), top-1 correct, and
        errors sharing a superclass with the true class.
    per_images, per_correct, per_within : ndarray, shape (m, S)
        The same per superclass of the true class.

    ``errors``, ``superclass_correct`` (correct ones included), ``across`` and their
    ``per_`` forms follow from these.
    """

    names: np.ndarray
    images: np.ndarray
    correct: np.ndarray
    within: np.ndarray
    per_images: np.ndarray
    per_correct: np.ndarray
    per_within: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    @property
    def errors(self) -> np.ndarray:
        """``(m,)`` top-1 errors in scope."""
        errors: np.ndarray = self.images - self.correct
        return errors

    @property
    def per_errors(self) -> np.ndarray:
        errors: np.ndarray = self.per_images - self.per_correct
        return errors

    @property
    def superclass_correct(self) -> np.ndarray:
        """``(m,)`` predictions sharing a superclass with the true class, correct ones
        included."""
        correct: np.ndarray = self.correct + self.within
        return correct

    @property
    def across(self) -> np.ndarray:
        """``(m,)`` errors whose prediction shares no superclass with the true class."""
        across: np.ndarray = self.errors - self.within
        return across

    @property
    def per_across(self) -> np.ndarray:
        across: np.ndarray = self.per_errors - self.per_within
        return across

    def values(self) -> dict[str, np.ndarray]:
        """The figures as ``(m,)`` columns: ``images``, ``top1``, ``superclass_accuracy``,
        ``errors``, ``within``, ``across``, ``within_share`` (of the errors)."""
        return {
            "images": self.images,
            "top1": ratio(self.correct, self.images),
            "superclass_accuracy": ratio(self.superclass_correct, self.images),
            "errors": self.errors,
            "within": self.within,
            "across": self.across,
            "within_share": ratio(self.within, self.errors),
        }

    def per_superclass(self, j: int = 0) -> dict[str, np.ndarray]:
        """Model ``j``'s figures per superclass as ``(S,)`` columns: ``superclass``,
        ``images``, ``top1``, ``superclass_accuracy``, ``errors``, ``within``, ``across``,
        ``within_share``."""
        return {
            "superclass": np.asarray(self.names),
            "images": self.per_images[j],
            "top1": ratio(self.per_correct[j], self.per_images[j]),
            "superclass_accuracy": ratio(
                self.per_correct[j] + self.per_within[j], self.per_images[j]
            ),
            "errors": self.per_errors[j],
            "within": self.per_within[j],
            "across": self.per_across[j],
            "within_share": ratio(self.per_within[j], self.per_errors[j]),
        }


def superclass_scores(
    top1: np.ndarray,
    truth: np.ndarray,
    members: np.ndarray,
    names: Sequence[str] | np.ndarray | None = None,
    *,
    same: np.ndarray | None = None,
) -> SuperclassScores:
    """Superclass figures of predictions ``top1`` against true classes ``truth``.

    Parameters
    ----------
    top1 : ndarray of int, shape (n,) or (m, n)
        Predicted class per image (``-1``: no prediction, not counted).
    truth : ndarray of int, shape (n,)
        True class per image (``-1``: unknown, not counted).
    members : ndarray of bool, shape (C, S)
        ``members[c, s]``: class ``c`` is in superclass ``s``.
    names : sequence of str, shape (S,), optional
    same : ndarray of bool, shape (C, C), optional
        ``members @ members.T > 0`` when the caller has it (a taxonomy caches it).

    Examples
    --------
    Superclass 0 = {0, 1}, superclass 1 = {2, 3}; class 4 is in none:

    >>> members = np.zeros((5, 2), bool); members[[0, 1], 0] = members[[2, 3], 1] = True
    >>> s = superclass_scores(np.array([0, 1, 2, 0, 3]), np.array([0, 0, 2, 2, 4]), members)
    >>> int(s.images[0]), int(s.errors[0]), int(s.within[0]), int(s.across[0])
    (4, 2, 1, 1)
    >>> s.per_within[0].tolist(), s.per_errors[0].tolist()
    ([1, 0], [1, 1])
    >>> float(s.values()["superclass_accuracy"][0])
    0.75
    """
    top1 = np.atleast_2d(np.asarray(top1)).astype(np.int64, copy=False)
    truth = np.asarray(truth, dtype=np.int64)
    members = np.asarray(members, dtype=bool)
    m, n = top1.shape
    c, s = members.shape
    covered = np.asarray(members.any(axis=1), dtype=bool)
    in_scope = (truth >= 0) & covered[np.clip(truth, 0, None)]  # (n,)
    scope = in_scope[None, :] & (top1 >= 0)  # (m, n)
    t = np.broadcast_to(np.clip(truth, 0, None), top1.shape)
    p = np.clip(top1, 0, None)
    correct = scope & (top1 == truth[None, :])
    error = scope & ~correct
    sets = Csr.from_dense(members)  # per class, its superclasses
    same = same_superclass_of(members) if same is None else same
    shares = error & same[t, p]
    # per true class, then to superclasses by the membership matrix: (m, C) @ (C, S)
    model = np.broadcast_to(np.arange(m)[:, None], top1.shape)

    def per_class(mask: np.ndarray) -> np.ndarray:
        out = np.bincount((model[mask] * c + t[mask]).ravel(), minlength=m * c)
        return out.reshape(m, c)

    mf = members.astype(np.int64)
    per_images = per_class(scope) @ mf
    per_correct = per_class(correct) @ mf
    # within superclass s: the error's prediction is in s too (an error counts once per
    # superclass of its true class; the loop is over membership ranks, a few at most)
    em, et, ep = model[error], t[error], p[error]
    per_within = np.zeros((m, s), dtype=np.int64)
    size = sets.sizes[et]
    pad = sets.padded
    rows = np.arange(len(et))
    for j in range(int(size.max(initial=0))):
        rows = rows[size[rows] > j]
        sc = pad[et[rows], j].astype(np.int64)
        hit = members[ep[rows], sc]
        per_within += np.bincount(em[rows][hit] * s + sc[hit], minlength=m * s).reshape(m, s)
    return SuperclassScores(
        names=np.asarray(names if names is not None else [str(i) for i in range(s)], dtype=object),
        images=scope.sum(axis=1),
        correct=correct.sum(axis=1),
        within=shares.sum(axis=1),
        per_images=per_images,
        per_correct=per_correct,
        per_within=per_within,
    )


def _ranking(
    probs: np.ndarray, chosen: np.ndarray, members: np.ndarray, inside: np.ndarray, k: int
) -> np.ndarray:
    """Top-``k`` classes: the chosen superclass's classes by ``inside`` (its own decision),
    then every other class by ``probs``."""
    in_chosen = members.T[chosen]  # (n, C)
    rank = np.where(in_chosen, 2.0 + inside, probs)
    return top_k(rank, k).astype(np.int16)  # ties by class: the same on every machine


def two_stage(
    scores: np.ndarray, members: np.ndarray, *, k: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Two-stage inference from a flat model's scores: the superclass with the highest summed
    probability, then the most probable class inside it.

    Parameters
    ----------
    scores : ndarray, shape (n, C)
        Logits or probabilities (see :func:`probabilities`).
    members : ndarray of bool, shape (C, S)

    Returns
    -------
    topk : ndarray of int16, shape (n, k)
        The chosen superclass's classes first (best first), then the other classes by
        probability: top-1 is the two-stage prediction.
    superclass : ndarray of int64, shape (n,)
        The chosen superclass.

    Examples
    --------
    Class 0 is the flat arg-max, but superclass {1, 2} holds more probability:

    >>> members = np.zeros((3, 2), bool); members[0, 0] = members[[1, 2], 1] = True
    >>> topk, sup = two_stage(np.array([[0.4, 0.35, 0.25]]), members, k=3)
    >>> topk.tolist(), sup.tolist()
    ([[1, 2, 0]], [1])
    """
    members = np.asarray(members, dtype=bool)
    mf = members.astype(np.float32)
    n = len(scores)
    topk = np.empty((n, min(k, members.shape[0])), dtype=np.int16)
    chosen = np.empty(n, dtype=np.int64)
    blocks = range(0, n, BLOCK)  # blocks of rows, never a loop over images
    given = all(is_probabilities(scores[i : i + BLOCK]) for i in blocks)  # one model, one rule
    for start in blocks:
        probs = probabilities(scores[start : start + BLOCK], given=given)
        c = np.argmax(probs @ mf, axis=1)
        topk[start : start + len(probs)] = _ranking(probs, c, members, probs, k)
        chosen[start : start + len(probs)] = c
    return topk, chosen


def compose(
    superclass_probs: np.ndarray,
    specialist_probs: Sequence[np.ndarray],
    members: np.ndarray,
    *,
    k: int = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Super-Sub composition: a superclass network chooses the superclass, that superclass's
    specialist chooses the class.

    Parameters
    ----------
    superclass_probs : ndarray, shape (n, S)
        The superclass model's scores (logits or probabilities).
    specialist_probs : sequence of S arrays, shape (n, |s|)
        Specialist ``s``'s scores over the classes of superclass ``s``, in class-index order.
    members : ndarray of bool, shape (C, S)

    Returns
    -------
    topk : ndarray of int16, shape (n, k)
        The chosen superclass's classes by its specialist, then the other classes by the
        composite probability.
    superclass : ndarray of int64, shape (n,)
    probs : ndarray of float32, shape (n, C)
        Composite probability ``p(c) = Σ_s p(s) p_s(c)`` (a distribution over the covered
        classes when the superclasses are disjoint).

    Examples
    --------
    >>> members = np.zeros((3, 2), bool); members[0, 0] = members[[1, 2], 1] = True
    >>> topk, sup, p = compose(np.array([[0.3, 0.7]]), [np.array([[1.0]]),
    ...                        np.array([[0.2, 0.8]])], members, k=3)
    >>> topk.tolist(), sup.tolist(), np.round(p.astype(float), 2).tolist()
    ([[2, 1, 0]], [1], [[0.3, 0.14, 0.56]])
    """
    members = np.asarray(members, dtype=bool)
    sup = probabilities(superclass_probs)
    n, s = sup.shape
    if len(specialist_probs) != s:
        raise ValueError(f"{len(specialist_probs)} specialists for {s} superclasses")
    c = members.shape[0]
    probs = np.zeros((n, c), dtype=np.float32)
    chosen = np.argmax(sup, axis=1)
    inside = np.zeros((n, c), dtype=np.float32)
    for j, spec in enumerate(specialist_probs):  # one pass per superclass, never per image
        cols = np.flatnonzero(members[:, j])
        p = probabilities(spec)
        if p.shape != (n, len(cols)):
            raise ValueError(f"specialist {j}: shape {p.shape}; expected {(n, len(cols))}")
        probs[:, cols] += sup[:, j : j + 1] * p
        rows = np.flatnonzero(chosen == j)
        inside[np.ix_(rows, cols)] = p[rows]
    return _ranking(probs, chosen, members, inside, k), chosen, probs


__all__ = [
    "SuperclassScores",
    "compose",
    "superclass_scores",
    "two_stage",
]
