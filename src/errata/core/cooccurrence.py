"""Co-occurrence counts of label pairs (pure): how many label sets hold both classes, and the
sets they came from, so that the pipeline can leave out the image being classified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from errata.core.labelset import LabelSet
from errata.core.sparse import Csr

PUBLISHED_MIN_COUNT = 2  # co-occurrence in at least this many other images (Peychev et al. 2023)
SPURIOUS_MIN_COUNT = 3  # errata's default (DEFAULT_SPURIOUS.min_cooccurrence)


def cooccurrence_counts(sets: Csr) -> np.ndarray:
    """``(C, C)`` int32: the number of rows of ``sets`` that hold both classes (the diagonal:
    rows holding the class): :func:`cross_counts` of the sets with themselves, the sum of
    ``k_i²`` ordered pairs of each row.

    >>> c = cooccurrence_counts(Csr.from_lists([[1, 2], [1, 2, 3]]))
    >>> int(c[1, 2]), int(c[2, 3]), int(c[1, 1])
    (2, 1, 2)
    """
    return cross_counts(sets, sets)


@dataclass(frozen=True, eq=False, kw_only=True)
class Cooccurrence:
    """Co-occurrence counts of label pairs, and the sets they came from (for leave-one-out).

    ``counts[a, b]`` is the number of source images whose set holds both classes; ``sets`` and
    ``file_names`` let the pipeline subtract the contribution of the image being classified.
    """

    name: str
    counts: np.ndarray
    sets: Csr
    file_names: np.ndarray
    min_count: int = SPURIOUS_MIN_COUNT
    description: str = ""

    @classmethod
    def of(cls, labels: LabelSet, *, min_count: int = SPURIOUS_MIN_COUNT) -> Cooccurrence:
        """Counts over a label set's evidence sets (multi-labels with the original added)."""
        sets = labels.evidence_sets
        return cls(
            name=labels.name,
            counts=cooccurrence_counts(sets),
            sets=sets,
            file_names=labels.file_names,
            min_count=min_count,
            description=f"label set '{labels.name}' (with original labels), leave-one-out",
        )


def cross_counts(a: Csr, b: Csr) -> np.ndarray:
    """``(C, C)`` int32: ``out[x, y]`` = the number of rows ``i`` with ``x`` in ``a[i]`` and ``y``
    in ``b[i]`` (``a`` and ``b`` row-aligned).

    >>> c = cross_counts(Csr.from_lists([[1], [1, 2]]), Csr.from_lists([[5], [5, 6]]))
    >>> int(c[1, 5]), int(c[2, 6]), int(c[5, 1])
    (2, 1, 0)
    """
    rows = a.row_ids  # the row of each label of a
    reps = b.sizes[rows]  # each label of a pairs with every member of b's row
    first = np.repeat(a.indices.astype(np.int64), reps)
    start = np.repeat(b.indptr[:-1][rows], reps)
    offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    second = b.indices.astype(np.int64)[start + offset]
    c = a.n_classes
    return np.bincount(first * c + second, minlength=c * c).reshape(c, c).astype(np.int32)
