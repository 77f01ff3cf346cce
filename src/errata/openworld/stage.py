"""Pipeline stage 4, fine-grained out-of-vocabulary: a pure function over precomputed arrays.

An error is claimed when (1) at least one of the image's nearest training images has a class that
shares a superclass with the prediction, and (2) CLIP, choosing among the prediction's WordNet
proposals (minus ancestors of the image's labels), picks a synset that is not one of the 1000
classes. Nothing is encoded here: image embeddings, neighbour classes and proposal text embeddings
are inputs, so a study of many models pays only for array work.

Work is done once per distinct (image, prediction) pair, however many models make that error:
pass the errors of all models in one call (concatenated) to share it.
"""

from __future__ import annotations

import numpy as np

from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError
from errata.openworld.proposals import Proposals
from errata.resources import N_CLASSES


def oov_stage(
    image_index: np.ndarray,
    top1: np.ndarray,
    multi_labels: np.ndarray | Csr,
    neighbour_classes: np.ndarray,
    image_embeddings: np.ndarray,
    text_embeddings: np.ndarray,
    proposals: Proposals,
) -> tuple[np.ndarray, np.ndarray]:
    """Decide which errors are fine-grained out-of-vocabulary.

    Parameters
    ----------
    image_index : ndarray of int, shape (m,)
        Row (into the per-image arrays below) of each error's image.
    top1 : ndarray of int, shape (m,)
        The prediction of each error.
    multi_labels : ndarray of bool, shape (n, 1000), or Csr with n rows
        Acceptable labels of each image; their ancestors are never proposals.
    neighbour_classes : ndarray of int, shape (n, k)
        Classes of each image's ``k`` nearest training images, ``-1`` where unknown (an image
        without embedding has all ``-1`` and is never claimed).
    image_embeddings : ndarray of float, shape (n, d)
        L2-normalised CLIP image embeddings.
    text_embeddings : ndarray of float, shape (V, d)
        L2-normalised CLIP embeddings of the proposals' prompts.
    proposals : Proposals

    Returns
    -------
    claimed : ndarray of bool, shape (m,)
    reasons : ndarray of object, shape (m,)
        For a claimed error, the winning synset and the neighbour evidence; ``""`` otherwise.
    """
    from errata.core.sparse import Csr

    image_index = np.asarray(image_index)
    top1 = np.asarray(top1)
    n = len(multi_labels)
    if isinstance(multi_labels, Csr):
        dense_shape = (len(multi_labels), multi_labels.n_classes)
    else:
        multi_labels = np.asarray(multi_labels, dtype=bool)
        dense_shape = multi_labels.shape
    if image_index.shape != top1.shape or image_index.ndim != 1:
        raise ErrataInputError(
            f"image_index {image_index.shape} and top1 {top1.shape}: expected "
            "two arrays of shape (m,)"
        )
    if len(image_index) and (image_index.min() < 0 or image_index.max() >= n):
        raise ErrataInputError(f"image_index: values must lie in 0..{n - 1}")
    if len(top1) and (top1.min() < 0 or top1.max() >= proposals.n_classes):
        raise ErrataInputError(f"top1: values must be class indices 0..{proposals.n_classes - 1}")
    if len(dense_shape) != 2 or dense_shape != (n, proposals.n_classes):
        raise ErrataInputError(
            f"multi_labels: shape {dense_shape}, expected ({n}, {proposals.n_classes})"
        )
    for name, arr, shape in (
        ("neighbour_classes", neighbour_classes, (n, None)),
        ("image_embeddings", image_embeddings, (n, None)),
        ("text_embeddings", text_embeddings, (len(proposals), None)),
    ):
        if arr.ndim != 2 or arr.shape[0] != shape[0] or (shape[1] and arr.shape[1] != shape[1]):
            raise ErrataInputError(
                f"{name}: shape {arr.shape}, expected ({shape[0]}, {shape[1] or 'any'})"
            )
    if image_embeddings.shape[1] != text_embeddings.shape[1]:
        raise ErrataInputError(
            f"image embeddings have width {image_embeddings.shape[1]}, text "
            f"embeddings {text_embeddings.shape[1]}: not the same CLIP model"
        )
    return _oov_stage(
        image_index.astype(np.int64),
        top1.astype(np.int64),
        multi_labels,
        np.asarray(neighbour_classes),
        np.asarray(image_embeddings, dtype=np.float32),
        np.asarray(text_embeddings, dtype=np.float32),
        proposals,
    )


def _oov_stage(
    image_index: np.ndarray,
    top1: np.ndarray,
    multi_labels: object,
    neighbour_classes: np.ndarray,
    image_embeddings: np.ndarray,
    text_embeddings: np.ndarray,
    p: Proposals,
) -> tuple[np.ndarray, np.ndarray]:
    m = len(image_index)
    claimed = np.zeros(m, dtype=bool)
    reasons = np.full(m, "", dtype=object)
    if m == 0:
        return claimed, reasons
    # one decision per distinct (image, prediction), shared by every model making that error
    key, inverse = np.unique(image_index * N_CLASSES + top1, return_inverse=True)
    img, pred = key // N_CLASSES, key % N_CLASSES
    nn = neighbour_classes[img]
    near = (nn >= 0) & p.same_superclass[nn.clip(0), pred[:, None]]
    gated = near.any(axis=1)
    winner = np.full(len(key), -1, dtype=np.int64)
    n_props = np.zeros(len(key), dtype=np.int64)
    todo = np.flatnonzero(gated)
    order = todo[np.argsort(pred[todo], kind="stable")]
    cuts = np.flatnonzero(np.diff(pred[order])) + 1
    for group in np.split(order, cuts) if len(order) else []:  # one matmul per predicted class
        c = pred[group[0]]
        cand = p.indices[p.indptr[c] : p.indptr[c + 1]]
        scores = image_embeddings[img[group]] @ text_embeddings[cand].T  # (g, k)
        # drop proposals that are an ancestor of (or equal to) any label of the image
        rows = (
            multi_labels.dense_rows(img[group])
            if hasattr(multi_labels, "dense_rows")
            else multi_labels[img[group]]  # type: ignore[index]
        )
        excluded = (rows.astype(np.float32) @ p.ancestors[:, cand].astype(np.float32)) > 0
        scores[excluded] = -np.inf
        best = scores.argmax(axis=1)
        ok = np.isfinite(scores[np.arange(len(group)), best])
        winner[group[ok]] = cand[best[ok]]
        n_props[group] = (~excluded).sum(axis=1)
    is_oov = winner >= p.n_classes
    claimed = is_oov[inverse]
    reasons[claimed] = _reasons(np.flatnonzero(is_oov), winner, pred, nn, near, n_props, p)[
        np.searchsorted(np.flatnonzero(is_oov), inverse[claimed])
    ]
    return claimed, reasons


def _reasons(
    rows: np.ndarray,
    winner: np.ndarray,
    pred: np.ndarray,
    nn: np.ndarray,
    near: np.ndarray,
    n_props: np.ndarray,
    p: Proposals,
) -> np.ndarray:
    """One reason per claimed distinct (image, prediction) pair (not per model)."""
    names = p.lemmas  # the vocabulary lists the classes first
    first = near[rows].argmax(axis=1)
    nearest = nn[rows, first]
    shared = (p.superclass_members[pred[rows]] & p.superclass_members[nearest]).argmax(axis=1)
    out = np.empty(len(rows), dtype=object)
    for j, r in enumerate(rows):  # claimed pairs only, and once per pair across all models
        w = winner[r]
        out[j] = (
            f"CLIP picks '{p.lemmas[w]}' ({p.wnids[w]}), not an ImageNet class, among "
            f"{n_props[r]} WordNet proposals for '{names[pred[r]]}'; "
            f"{int(near[r].sum())}/{nn.shape[1]} nearest training images share superclass "
            f"'{p.superclass_names[shared[j]]}' with it (nearest: {names[nearest[j]]})"
        )
    return out


def align_images(
    file_names: np.ndarray,
    embeddings: object,
    index: object,
    *,
    k: int | None = None,
    neighbours: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image inputs of :func:`oov_stage` in the row order of a label set.

    Parameters
    ----------
    file_names : ndarray of object, shape (n,)
        The label set's images.
    embeddings : Embeddings
        Validation-image embeddings (any order, any subset).
    index : NeighbourIndex
        The training-image index.
    neighbours : ndarray of int16, shape (rows of embeddings, ≥ k), optional
        The neighbour classes of every embedding row, when already known (errata's disk
        cache, :func:`errata.openworld.pipeline.cached_neighbours`); else searched here.

    Returns
    -------
    image_embeddings : ndarray of float32, shape (n, d)
        Zero rows for images without an embedding.
    neighbour_classes : ndarray of int16, shape (n, k)
        ``-1`` rows for images without an embedding (never claimed).
    """
    from errata.openworld.embeddings import Embeddings
    from errata.openworld.index import K_NEIGHBOURS, NeighbourIndex, neighbour_classes

    assert isinstance(embeddings, Embeddings) and isinstance(index, NeighbourIndex)
    k = k or K_NEIGHBOURS
    rows = embeddings.rows_for(np.asarray(file_names, dtype=object))
    have = rows >= 0
    vec = np.zeros((len(rows), embeddings.vectors.shape[1]), dtype=np.float32)
    vec[have] = embeddings.vectors[rows[have]]
    nn = np.full((len(rows), k), -1, dtype=np.int16)
    if have.any() and neighbours is not None:
        nn[have] = neighbours[rows[have], :k]
    elif have.any():
        nn[have] = neighbour_classes(index, embeddings.vectors[rows[have]], k=k)
    return vec, nn
