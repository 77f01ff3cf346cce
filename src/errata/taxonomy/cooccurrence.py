"""Co-occurrence of labels in multi-label sets, and the "spurious pair" relation.

A prediction that is wrong for an image but often appears *together with* one of its labels in
other images (a ``bow tie`` predicted for a photo labelled ``suit``) is a spurious-correlation
error (Peychev et al. 2023). The counts come from label sets with each image's original label
added; pairs inside one superclass are fine-grained, never spurious.

Leave-one-out: when the image being evaluated belongs to the label set the counts come from, its
own labels must not count as evidence. For image ``i`` with set ``S_i`` (a row of ``sets``), the
count of the pair (prediction ``p``, label ``l``) without it is
``counts[p, l] - (S_i[p] & S_i[l])``; :func:`leave_one_out` applies this vectorised.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from errata import resources
from errata.exceptions import ErrataInputError
from errata.resources import N_CLASSES
from errata.taxonomy.superclasses import same_superclass

SPURIOUS_MIN_COUNT = 2  # co-occurrence in at least this many images (Peychev et al. 2023)


def cooccurrence_counts(sets: Any) -> np.ndarray:
    """Number of images whose label set holds both classes.

    Parameters
    ----------
    sets : array_like of bool, shape (n, 1000)
        One row per image: its multi-label set with the original label added.

    Returns
    -------
    ndarray of int32, shape (1000, 1000)
        Symmetric; the diagonal is the number of images holding each class.

    Examples
    --------
    >>> s = np.zeros((2, 1000), dtype=bool); s[0, [1, 2]] = True; s[1, [1, 2, 3]] = True
    >>> c = cooccurrence_counts(s)
    >>> int(c[1, 2]), int(c[2, 3]), int(c[1, 1])
    (2, 1, 2)
    """
    arr = np.asarray(sets)
    if arr.ndim != 2 or arr.shape[1] != N_CLASSES or arr.dtype != bool:
        raise ErrataInputError(
            f"cooccurrence_counts: sets must be a (n, {N_CLASSES}) bool "
            f"array, got {arr.dtype} {arr.shape}"
        )
    return _counts(arr)


def _counts(sets: np.ndarray) -> np.ndarray:
    # all ordered pairs within each row, from the row-sorted nonzeros: sum of k_i**2 pairs
    rows, cols = np.nonzero(sets)
    k = np.bincount(rows, minlength=len(sets))
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    reps = k[rows]
    first = np.repeat(cols, reps)
    offsets = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    second = cols[np.repeat(starts[rows], reps) + offsets]
    flat = np.bincount(first.astype(np.int64) * N_CLASSES + second, minlength=N_CLASSES**2)
    return flat.reshape(N_CLASSES, N_CLASSES).astype(np.int32)


def leave_one_out(counts: np.ndarray, sets: np.ndarray, rows: Any, a: Any, b: Any) -> np.ndarray:
    """``counts[a, b]`` without the images ``rows`` of ``sets`` themselves (elementwise).

    ``rows``, ``a``, ``b`` broadcast together; ``rows == -1`` means the image is not in
    ``sets`` and nothing is subtracted.
    """
    rows, a, b = np.broadcast_arrays(np.asarray(rows), np.asarray(a), np.asarray(b))
    own = np.zeros(rows.shape, dtype=np.int32)
    inside = rows >= 0
    own[inside] = sets[rows[inside], a[inside]] & sets[rows[inside], b[inside]]
    return counts[a, b] - own


def spurious_pairs(counts: np.ndarray, *, min_count: int = SPURIOUS_MIN_COUNT) -> np.ndarray:
    """``(1000, 1000)`` bool: pairs seen together in ≥ ``min_count`` images and sharing no
    superclass (so a prediction of one for an image of the other is a spurious correlation)."""
    if min_count < 1:
        raise ErrataInputError(f"spurious_pairs: min_count must be ≥ 1, got {min_count}")
    return (np.asarray(counts) >= min_count) & ~same_superclass()


def real_sets() -> np.ndarray:
    """``(n, 1000)`` bool: ReaL label sets with the original label added, for the validation
    images whose ReaL set is not empty (an empty set means no fitting label: excluded)."""
    indptr, indices = resources.real_labels()
    sizes = np.diff(indptr)
    keep = sizes > 0
    sets = np.zeros((resources.N_VAL, N_CLASSES), dtype=bool)
    sets[np.repeat(np.arange(resources.N_VAL), sizes), indices] = True
    sets[np.arange(resources.N_VAL), resources.validation_labels().astype(np.int64)] = True
    return sets[keep]


@cache
def real_cooccurrence() -> np.ndarray:
    """Co-occurrence counts over the ReaL label sets (original label added), cached."""
    out = _counts(real_sets())
    out.setflags(write=False)
    return out
