"""Co-occurrence of labels in multi-label sets, and the "spurious pair" relation.

A prediction that is wrong for an image but often appears *together with* one of its labels in
other images (a ``bow tie`` predicted for a photo labelled ``suit``) is a spurious-correlation
error (Peychev et al. 2023). The counts come from label sets with each image's original label
added; pairs inside one superclass are fine-grained, never spurious.

Leave-one-out: when the image being evaluated belongs to the label set the counts come from, its
own labels must not count as evidence. For image ``i`` with set ``S_i`` (a row of ``sets``), the
count of the pair (prediction ``p``, label ``l``) without it is
``counts[p, l] - (p ∈ S_i and l ∈ S_i)``; :func:`leave_one_out` applies this vectorised.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike

from errata import resources
from errata.core.evidence import SPURIOUS_MIN_COUNT
from errata.core.evidence import cooccurrence_counts as _counts
from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError
from errata.resources import N_CLASSES

__all__ = [
    "SPURIOUS_MIN_COUNT",
    "cooccurrence_counts",
    "leave_one_out",
    "real_cooccurrence",
    "real_sets",
    "spurious_pairs",
]


def _as_sets(sets: Csr | ArrayLike, where: str) -> Csr:
    if isinstance(sets, Csr):
        return sets
    arr = np.asarray(sets)
    if arr.ndim != 2 or arr.shape[1] != N_CLASSES or arr.dtype != bool:
        raise ErrataInputError(
            f"{where}: sets must be a Csr or a (n, {N_CLASSES}) bool array, got {arr.dtype} "
            f"{arr.shape}"
        )
    return Csr.from_dense(arr)


def cooccurrence_counts(sets: Csr | ArrayLike) -> np.ndarray:
    """Number of images whose label set holds both classes.

    Parameters
    ----------
    sets : Csr, or array_like of bool with shape (n, 1000)
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
    return _counts(_as_sets(sets, "cooccurrence_counts"))


def leave_one_out(
    counts: np.ndarray, sets: Csr | ArrayLike, rows: ArrayLike, a: ArrayLike, b: ArrayLike
) -> np.ndarray:
    """``counts[a, b]`` without the images ``rows`` of ``sets`` themselves (elementwise).

    ``rows``, ``a``, ``b`` broadcast together; ``rows == -1`` means the image is not in
    ``sets`` and nothing is subtracted.
    """
    csr = _as_sets(sets, "leave_one_out")
    rows, a, b = np.broadcast_arrays(np.asarray(rows), np.asarray(a), np.asarray(b))
    shape = rows.shape
    r, a1, b1 = rows.ravel(), a.ravel(), b.ravel()
    own = csr.contains_at(r, a1) & csr.contains_at(r, b1)
    others: np.ndarray = (counts[a1, b1] - own).reshape(shape)
    return others


def spurious_pairs(
    counts: np.ndarray, *, min_count: int = SPURIOUS_MIN_COUNT, taxonomy: str = "errata"
) -> np.ndarray:
    """``(1000, 1000)`` bool: pairs seen together in ≥ ``min_count`` images and sharing no
    superclass (so a prediction of one for an image of the other is a spurious correlation)."""
    from errata.taxonomy import load

    if min_count < 1:
        raise ErrataInputError(f"spurious_pairs: min_count must be ≥ 1, got {min_count}")
    pairs: np.ndarray = (np.asarray(counts) >= min_count) & ~load(taxonomy).same_superclass
    return pairs


def real_sets() -> Csr:
    """ReaL label sets with the original label added, for the validation images whose ReaL set
    is not empty (an empty set means no fitting label: excluded)."""
    indptr, indices = resources.real_labels()
    real = Csr(indptr, indices.astype(np.int16))
    sets = real.union(Csr.single(resources.validation_labels().astype(np.int64)))
    return sets.take(real.sizes > 0)


@cache
def real_cooccurrence() -> np.ndarray:
    """Co-occurrence counts over the ReaL label sets (original label added), cached."""
    out = _counts(real_sets())
    out.setflags(write=False)
    return out
