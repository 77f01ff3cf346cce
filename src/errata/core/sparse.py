"""Sparse label lists: the rows of an ``(n, 1000)`` boolean matrix stored as CSR.

A label set holds one to a dozen classes per image, so errata never builds the dense
``(n, 1000)`` matrix on its hot path: membership, unions, subsets and co-occurrence counts all
work on ``(indptr, indices)`` arrays. Membership uses a padded ``(n, L)`` view (``L`` = most
labels of any image) and loops over the label *rank* (``L`` ≤ ~20 iterations, each over the
images that have that many labels), never over images.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from errata.core.arrays import distinct
from errata.resources import N_CLASSES

PAD = np.iinfo(np.int16).min  # fill of the padded view: equal to no class and to no "-1"


@dataclass(frozen=True, eq=False)
class Csr:
    """Per-row sorted, distinct class indices.

    Attributes
    ----------
    indptr : ndarray of int64, shape (n + 1,)
        Row ``i`` holds ``indices[indptr[i]:indptr[i + 1]]``.
    indices : ndarray of int16, shape (nnz,)
        Class indices, sorted and distinct within each row.
    n_classes : int
        Width of the matrix these rows come from.

    Examples
    --------
    >>> s = Csr.from_lists([[3, 1], [], [7]])
    >>> s.lists(), s.sizes.tolist()
    ([[1, 3], [], [7]], [2, 0, 1])
    >>> s.contains(np.array([3, 0, 7])).tolist()
    [True, False, True]
    """

    indptr: np.ndarray
    indices: np.ndarray
    n_classes: int = N_CLASSES
    _cache: dict[str | tuple[str, int], np.ndarray] = field(
        default_factory=dict, repr=False, compare=False
    )

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def from_pairs(
        cls, rows: np.ndarray, cols: np.ndarray, n: int, *, n_classes: int = N_CLASSES
    ) -> Csr:
        """Rows from (row, class) pairs in any order; repeated pairs count once."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        keys = distinct(rows * n_classes + cols)
        r = keys // n_classes
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
        return cls(indptr, (keys % n_classes).astype(np.int16), n_classes)

    @classmethod
    def from_lists(cls, rows: Sequence[Iterable[int]], *, n_classes: int = N_CLASSES) -> Csr:
        """Rows from Python lists of class indices (the loaders' path; values are trusted)."""
        sizes = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))  # type: ignore[arg-type]
        cols = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=int(sizes.sum()))
        return cls.from_pairs(
            np.repeat(np.arange(len(rows)), sizes), cols, len(rows), n_classes=n_classes
        )

    @classmethod
    def from_dense(cls, mat: np.ndarray) -> Csr:
        """Rows of an ``(n, C)`` boolean matrix."""
        mat = np.asarray(mat, dtype=bool)
        rows, cols = np.nonzero(mat)
        indptr = np.zeros(mat.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=mat.shape[0]), out=indptr[1:])
        return cls(indptr, cols.astype(np.int16), mat.shape[1])

    @classmethod
    def single(cls, values: np.ndarray, *, n_classes: int = N_CLASSES) -> Csr:
        """One class per row (``values`` (n,)); a negative value leaves its row empty."""
        values = np.asarray(values, dtype=np.int64)
        has = values >= 0
        indptr = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(has, out=indptr[1:])
        return cls(indptr, values[has].astype(np.int16), n_classes)

    @classmethod
    def empty(cls, n: int, *, n_classes: int = N_CLASSES) -> Csr:
        return cls(np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int16), n_classes)

    # --- views ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @property
    def sizes(self) -> np.ndarray:
        """``(n,)`` number of classes in each row."""
        if "sizes" not in self._cache:
            self._cache["sizes"] = np.diff(self.indptr)
        return self._cache["sizes"]

    @property
    def row_ids(self) -> np.ndarray:
        """``(nnz,)`` row of each stored class."""
        if "row_ids" not in self._cache:
            self._cache["row_ids"] = np.repeat(np.arange(len(self)), self.sizes)
        return self._cache["row_ids"]

    @property
    def padded(self) -> np.ndarray:
        """``(n, L)`` int16: each row's classes, then :data:`PAD`; ``L`` is the longest row
        (at least 1)."""
        if "padded" not in self._cache:
            width = max(1, int(self.sizes.max(initial=0)))
            out = np.full((len(self), width), PAD, dtype=np.int16)
            rank = np.arange(self.nnz) - np.repeat(self.indptr[:-1], self.sizes)
            out[self.row_ids, rank] = self.indices
            self._cache["padded"] = out
        return self._cache["padded"]

    def _rows_longer_than(self, j: int) -> np.ndarray:
        key = ("longer", j)
        if key not in self._cache:
            self._cache[key] = np.flatnonzero(self.sizes > j)
        return self._cache[key]

    def lists(self) -> list[list[int]]:
        """Per row, its classes as a Python list (for JSON and small tables)."""
        if not len(self):
            return []
        return [c.tolist() for c in np.split(self.indices.astype(np.int64), self.indptr[1:-1])]

    def to_dense(self) -> np.ndarray:
        """The ``(n, C)`` boolean matrix (for small inputs and consumers outside the hot path)."""
        out = np.zeros((len(self), self.n_classes), dtype=bool)
        out[self.row_ids, self.indices.astype(np.int64)] = True
        return out

    def dense_rows(self, rows: np.ndarray) -> np.ndarray:
        """``(len(rows), C)`` boolean matrix of just ``rows``."""
        return self.take(rows).to_dense()

    # --- operations -------------------------------------------------------------------------

    def take(self, rows: np.ndarray) -> Csr:
        """The rows ``rows`` (integer positions, repeats allowed, or a boolean mask)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        sizes = self.sizes[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(sizes, out=indptr[1:])
        starts = self.indptr[:-1][rows]
        pos = np.repeat(starts - indptr[:-1], sizes) + np.arange(int(indptr[-1]))
        return Csr(indptr, self.indices[pos], self.n_classes)

    def union(self, other: Csr) -> Csr:
        """Row-wise union with another Csr of the same length."""
        if len(other) != len(self):
            raise ValueError(f"union of {len(self)} and {len(other)} rows")
        if other.nnz == 0:
            return self
        return Csr.from_pairs(
            np.concatenate([self.row_ids, other.row_ids]),
            np.concatenate([self.indices, other.indices]).astype(np.int64),
            len(self),
            n_classes=self.n_classes,
        )

    def keep_rows(self, mask: np.ndarray) -> Csr:
        """The same rows, with those where ``mask`` is False emptied."""
        keep = np.asarray(mask, dtype=bool)[self.row_ids]
        indptr = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(np.where(mask, self.sizes, 0), out=indptr[1:])
        return Csr(indptr, self.indices[keep], self.n_classes)

    def contains(self, values: np.ndarray) -> np.ndarray:
        """Whether ``values[..., i]`` is in row ``i``, for an array of shape ``(..., n)`` (for
        instance a stack of models' top-1 predictions). Negative values are never contained."""
        values = np.asarray(values)
        pad = self.padded
        out: np.ndarray = values == pad[:, 0]
        for j in range(1, pad.shape[1]):
            rows = self._rows_longer_than(j)
            out[..., rows] |= values[..., rows] == pad[rows, j]
        return out

    def contains_at(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Whether ``values[k]`` is in row ``rows[k]`` (both shape (k,)); a negative row or
        value is never a member."""
        rows = np.asarray(rows, dtype=np.int64)
        values = np.asarray(values)
        pad = self.padded
        valid = rows >= 0
        r = np.where(valid, rows, 0)
        out: np.ndarray = (pad[r, 0] == values) & valid
        size = np.where(valid, self.sizes[r], 0)
        sel = np.flatnonzero(size > 1)
        for j in range(1, pad.shape[1]):
            if not len(sel):
                break
            out[sel] |= pad[r[sel], j] == values[sel]
            sel = sel[size[sel] > j + 1]
        return out
