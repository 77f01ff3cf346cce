"""The zoo as one matrix of predicted probabilities, ``pred_probs`` (n_images, 1000): the mean
of the models' probabilities (a top-1-only model is a one-hot vote), and the (image, class) pairs
the models rank."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from errata.core.arrays import distinct
from errata.core.probabilities import probabilities
from errata.resources import N_CLASSES


def ensemble(
    top1: np.ndarray, scores: Sequence[np.ndarray | None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The zoo's ``pred_probs``: per image, the mean of the models' probabilities over the models
    that predicted it (a top-1-only model is a one-hot vote).

    Parameters
    ----------
    top1 : ndarray of int, shape (m, n)
        Each model's top-1 per image, ``-1`` where it did not predict the image.
    scores : sequence of m arrays of shape (n, 1000) or None, optional
        A model's logits or probabilities per image (rows of unpredicted images are ignored).

    Returns
    -------
    pred_probs : ndarray of float32, shape (n, 1000)
    n_models : ndarray of int, shape (n,)
        Models that predicted each image (rows with 0 are all zero).

    Examples
    --------
    >>> p, n = ensemble(np.array([[3, 3], [3, -1]]))
    >>> p[:, 3].tolist(), n.tolist()
    ([1.0, 1.0], [2, 1])
    """
    top1 = np.asarray(top1)
    m, n = top1.shape
    total = _Sum(n)
    for j in range(m):  # one step per model, whole arrays inside
        s = None if scores is None else scores[j]
        total.add(top1[j], None if s is None else s[np.flatnonzero(top1[j] >= 0)])
    return total.mean()


class _Sum:
    """The running sum behind :func:`ensemble`, one model at a time (a zoo's score matrices
    need not all be held at once): ``total`` (n, 1000) float32, the sum of the models'
    probabilities (one-hot votes), and ``n_models`` (n,), the models that predicted each image."""

    def __init__(self, n: int) -> None:
        self.total = np.zeros((n, N_CLASSES), dtype=np.float32)
        self.n_models = np.zeros(n, dtype=np.int64)

    def add(self, top1: np.ndarray, scores: np.ndarray | None = None) -> None:
        """Add one model: ``top1`` (n,), ``-1`` where it did not predict the image; ``scores``
        its logits or probabilities for the images it predicted only (in image order), or None
        for a one-hot vote at its top-1."""
        has = top1 >= 0
        rows = np.flatnonzero(has)
        if scores is None:
            np.add.at(self.total, (rows, top1[rows]), 1.0)
        else:
            self.total[rows] += probabilities(scores).astype(np.float32)
        self.n_models += has

    def mean(self) -> tuple[np.ndarray, np.ndarray]:
        """``(pred_probs, n_models)`` as :func:`ensemble` returns them (``total`` is divided in
        place)."""
        np.divide(self.total, np.maximum(self.n_models, 1)[:, None], out=self.total)
        return self.total, self.n_models


def candidates(topk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (image, class) pairs some model predicts: the distinct classes of ``topk`` (m, n, k)
    — each model's ranked classes per image, ``-1`` where none — as ``(image, class)`` arrays.

    >>> candidates(np.array([[[3, 4], [5, -1]], [[3, 9], [-1, -1]]]))
    (array([0, 0, 0, 1]), array([3, 4, 9, 5]))
    """
    key = distinct(_keys(topk))
    return key // N_CLASSES, key % N_CLASSES


def _keys(topk: np.ndarray) -> np.ndarray:
    """``image * 1000 + class`` of every ranked class of ``topk`` (m, n, k) (``-1``: none), not
    deduplicated."""
    topk = np.asarray(topk, dtype=np.int64)
    img = np.broadcast_to(np.arange(topk.shape[1])[None, :, None], topk.shape)
    ok = topk >= 0
    keys: np.ndarray = img[ok] * N_CLASSES + topk[ok]
    return keys
