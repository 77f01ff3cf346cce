"""The two rankings of label issues (a shell over cleanlab): images whose label is probably
wrong (confident learning) and (image, class) pairs the label set probably lacks (multi-label
per-class quality); see :mod:`errata.labelissues`."""

from __future__ import annotations

import warnings

import numpy as np

from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError, require
from errata.resources import N_CLASSES

CHUNK_CELLS = 5_000_000  # images x classes scored by cleanlab at once (memory)


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
