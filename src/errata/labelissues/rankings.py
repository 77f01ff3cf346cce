"""The two rankings of label issues (a shell over cleanlab): images whose label is probably
wrong (confident learning) and (image, class) pairs the label set probably lacks (multi-label
per-class quality); see :mod:`errata.labelissues`."""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from types import ModuleType

import numpy as np
import numpy.typing as npt

from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError, require
from errata.resources import N_CLASSES

CHUNK_CELLS = 5_000_000  # images x classes scored by cleanlab at once (memory)
_ARGSORT = np.argsort  # numpy's own, whatever a caller does to the module later
_CLEANLAB_NUMPY = threading.Lock()


class _StableArgsort:
    """numpy as cleanlab's filter, rank and rounding code see it during :func:`rank_images`:
    the same module, but ``argsort`` always stable. cleanlab rounds the noise matrix keeping
    its row totals (``round_preserving_sum``: the largest fractional parts first) and prunes
    the ``n`` examples of largest margin per class pair, both with ``np.argsort`` (quicksort).
    With vote-share probabilities thousands of these values tie, and which tied ones an
    unstable sort puts first depends on the CPU's sort kernel (AVX-512, AVX2, none): the same
    files flagged 1,941 images on one machine and 1,939 on another. Stable, ties go in index
    order everywhere."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> object:
        return getattr(self._module, name)

    @staticmethod
    def argsort(
        a: npt.ArrayLike, axis: int = -1, kind: str | None = None, order: str | None = None
    ) -> np.ndarray:
        return _ARGSORT(a, axis=axis, kind="stable", order=order)


_SORTING_MODULES = ("cleanlab.filter", "cleanlab.rank", "cleanlab.internal.util")


@contextlib.contextmanager
def _stable_ties() -> Iterator[None]:
    """Within the block, cleanlab breaks ties in index order (one caller at once)."""
    import importlib

    modules = [importlib.import_module(m) for m in _SORTING_MODULES]
    with _CLEANLAB_NUMPY:
        saved = [vars(m)["np"] for m in modules]
        for m in modules:
            vars(m)["np"] = _StableArgsort(np)
        try:
            yield
        finally:
            for m, module_np in zip(modules, saved):
                vars(m)["np"] = module_np


def _cleanlab() -> None:
    """Raise the install hint of the ``labelissues`` extra when cleanlab is missing."""
    require("cleanlab", "labelissues")


def rank_images(given: np.ndarray, pred_probs: np.ndarray) -> dict[str, np.ndarray]:
    """Images whose label is probably wrong, by cleanlab's confident learning.

    Parameters
    ----------
    given : ndarray of int, shape (n,)
        The label of each image.
    pred_probs : ndarray of float, shape (n, 1000)

    Returns
    -------
    dict
        ``order`` (n,) image positions by quality, lowest first (ties: flagged images first,
        then image order); ``quality`` (n,) cleanlab's self-confidence; ``is_issue`` (n,) bool,
        cleanlab's flag.
    """
    _cleanlab()
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    given = np.asarray(given, dtype=np.int64)
    probs = np.asarray(pred_probs, dtype=np.float64)
    with warnings.catch_warnings():  # cleanlab warns about classes without an image
        warnings.simplefilter("ignore")
        with _stable_ties():  # the same flags on every CPU (see _StableArgsort)
            is_issue = find_label_issues(given, probs, n_jobs=1)
        quality = get_label_quality_scores(given, probs)
    order = np.lexsort((np.arange(len(given)), ~np.asarray(is_issue, dtype=bool), quality))
    return {"order": order, "quality": quality, "is_issue": np.asarray(is_issue, dtype=bool)}


def rank_pairs(
    labels: Csr,
    pred_probs: np.ndarray,
    *,
    pairs: tuple[np.ndarray, np.ndarray],
) -> dict[str, np.ndarray]:
    """(image, class) pairs the label set probably lacks, ranked by cleanlab's per-class label
    quality of the annotation "absent" (lowest first; ties by image, then class).

    Parameters
    ----------
    labels : Csr, n rows
        The label set's labels per image.
    pred_probs : ndarray of float, shape (n, 1000)
    pairs : (image, class) arrays
        The candidates (:func:`candidates`: the classes the models rank). Pairs already in the
        label set are dropped.

    Returns
    -------
    dict
        ``image``, ``class_index``, ``quality``, ``probability`` — one entry per pair, in rank
        order.
    """
    _cleanlab()
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class

    n = len(labels)
    probs = np.asarray(pred_probs)
    cand_img, cand_cls = pairs
    absent = ~labels.contains_at(cand_img, cand_cls)
    cand_img, cand_cls = cand_img[absent], cand_cls[absent]
    quality = np.ones(len(cand_img))
    classes = np.unique(cand_cls)
    if len(classes):
        labelled = np.unique(labels.indices).astype(np.int64)
        if not len(labelled):
            raise ErrataInputError("label issues: the label set has no label on these images")
        # chunks of classes, each holding a labelled class (cleanlab infers the classes from
        # the labels it is given), scored as cleanlab's multi-label per-class quality
        cols = np.union1d(classes, labelled)
        n_chunks = max(1, min(len(labelled), int(np.ceil(n * len(cols) / CHUNK_CELLS))))
        rest = np.setdiff1d(cols, labelled)
        lists = labels.lists()
        for c in range(n_chunks):
            chunk = np.concatenate([labelled[c::n_chunks], rest[c::n_chunks]])
            local = np.full(N_CLASSES, -1, dtype=np.int64)
            local[chunk] = np.arange(len(chunk))
            chunk_lists = [[int(local[v]) for v in row if local[v] >= 0] for row in lists]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                q = get_label_quality_scores_per_class(
                    chunk_lists, np.asarray(probs[:, chunk], dtype=np.float64)
                )
            mine = local[cand_cls] >= 0
            quality[mine] = np.asarray(q)[cand_img[mine], local[cand_cls[mine]]]
    order = np.lexsort((cand_cls, cand_img, quality))
    return {
        "image": cand_img[order].astype(np.int64),
        "class_index": cand_cls[order].astype(np.int64),
        "quality": quality[order],
        "probability": probs[cand_img[order], cand_cls[order]].astype(np.float64),
    }
