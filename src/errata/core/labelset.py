"""Label sets as one type: per image a set of correct labels, optional unclear labels, a
problematic flag and the original ImageNet label. Image identity is the file name.

Labels are sparse (:class:`~errata.core.sparse.Csr`): a set of 50,000 images holds about 60,000
labels, not 50 million booleans. Loaders live at the edge (:mod:`errata.io.labels`); this module
only holds the type and what is computed from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NotRequired, TypedDict, TypeVar, cast

import numpy as np

from errata.core.datasets import DEFAULT
from errata.core.names import NameIndex
from errata.core.sparse import Csr

T = TypeVar("T")  # what a cached property of a label set holds


class LabelSetSummary(TypedDict):
    """:meth:`LabelSet.summary`: the counts written with every result (``dataset`` and
    ``unknown_original`` outside the validation set; ``source``: added by the writers)."""

    name: str
    images: int
    evaluated: int
    problematic: int
    empty: int
    mean_labels: float
    imagenet_m: int | None
    non_validation: int
    dataset: NotRequired[str]
    unknown_original: NotRequired[int]
    source: NotRequired[str]


@dataclass(frozen=True, eq=False)
class LabelSet:
    """Multi-label ground truth for ``n`` images.

    Attributes
    ----------
    name : str
        Short name (``"real"``, ``"shankar"``, a file stem) used in tables and outputs.
    file_names : ndarray of str, shape (n,)
        Image identities (base names), distinct.
    correct : Csr, n rows
        Labels judged correct.
    unclear : Csr, n rows
        Labels judged unclear (Shankar et al.); they count as correct for multi-label accuracy.
    problematic : ndarray of bool, shape (n,)
        Images flagged problematic; excluded from the multi-label figures and counted apart.
    original : ndarray of int16, shape (n,)
        Original ImageNet label, ``-1`` when unknown.
    imagenet_m : ndarray of bool, shape (n,) or None
        Membership in ImageNet-M (the 68 "major mistake" images of Vasudevan et al.), if known.
    source : str
        Where the set came from, in words.
    dataset : str
        The test set its images belong to (:mod:`errata.core.datasets`); outside the
        validation set, ``file_names`` are class paths (``n01498041/x.jpg``).
    """

    name: str
    file_names: np.ndarray
    correct: Csr
    unclear: Csr
    problematic: np.ndarray
    original: np.ndarray
    imagenet_m: np.ndarray | None = None
    source: str = ""
    dataset: str = DEFAULT
    _cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.file_names)

    def _cached(self, key: str, make: Callable[[], T]) -> T:
        """``make()``, computed once per label set (the set is frozen, so is what it gives)."""
        if key not in self._cache:
            self._cache[key] = make()
        return cast(T, self._cache[key])

    @property
    def multi(self) -> Csr:
        """Correct ∪ unclear: what multi-label accuracy accepts."""
        return self._cached(
            "multi",
            lambda: self.correct if self.unclear.nnz == 0 else self.correct.union(self.unclear),
        )

    @property
    def evaluated(self) -> np.ndarray:
        """``(n,)`` bool: images in the multi-label evaluation (not problematic, at least one
        acceptable label)."""
        return self._cached("evaluated", lambda: ~self.problematic & (self.multi.sizes > 0))

    @property
    def evidence_sets(self) -> Csr:
        """Per evaluated image, its labels with the original label added (``S_i``): what the
        error stages compare a prediction with and what co-occurrence counts are made of.
        Excluded images have an empty set (they carry no evidence)."""

        def make() -> Csr:
            s = self.multi.union(Csr.single(self.original, n_classes=self.multi.n_classes))
            return s.keep_rows(self.evaluated)

        return self._cached("evidence_sets", make)

    @property
    def index(self) -> NameIndex:
        """Look-up of file names (see :meth:`positions`)."""
        return self._cached(
            "index", lambda: NameIndex.of(self.file_names, paths=self.dataset != DEFAULT)
        )

    def positions(self, file_names: np.ndarray) -> np.ndarray:
        """Row of each file name in this set, ``-1`` where absent (vectorised)."""
        return self.index.rows(np.asarray(file_names))

    def hits(self, top1: np.ndarray) -> np.ndarray:
        """Whether each prediction (shape (n,) or (m, n), rows aligned with this set) is one of
        its image's labels (correct ∪ unclear)."""
        return self.multi.contains(top1)

    def take(self, rows: np.ndarray, *, name: str | None = None) -> LabelSet:
        """A new label set with only ``rows`` (integer positions or a boolean mask)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return LabelSet(
            name=name or self.name,
            file_names=self.file_names[rows],
            correct=self.correct.take(rows),
            unclear=self.unclear.take(rows),
            problematic=self.problematic[rows],
            original=self.original[rows],
            imagenet_m=None if self.imagenet_m is None else self.imagenet_m[rows],
            source=self.source,
            dataset=self.dataset,
        )

    def with_original(self, images: np.ndarray, original: np.ndarray) -> LabelSet:
        """A copy whose unknown original labels (``-1``) at rows ``images`` are ``original``
        (a label file that names no class folder learns each image's class from the
        predictions' class paths)."""
        filled = self.original.copy()
        images = np.asarray(images, dtype=np.int64)
        take = (filled[images] < 0) & (np.asarray(original) >= 0)
        filled[images[take]] = np.asarray(original)[take]
        import dataclasses

        return dataclasses.replace(self, original=filled, _cache={})

    def summary(self) -> LabelSetSummary:
        """JSON-ready counts: images, evaluated, problematic, empty, mean labels, ImageNet-M, and
        images that are not ImageNet validation images."""
        multi = self.multi
        out: LabelSetSummary = {
            "name": self.name,
            "images": int(len(self)),
            "evaluated": int(self.evaluated.sum()),
            "problematic": int(self.problematic.sum()),
            "empty": int((multi.sizes == 0).sum()),
            "mean_labels": round(float(multi.nnz / max(1, len(self))), 4),
            "imagenet_m": None if self.imagenet_m is None else int(self.imagenet_m.sum()),
            "non_validation": int((self.index.numbers < 0).sum()),
        }
        if self.dataset != DEFAULT:
            out["dataset"] = self.dataset
            out["unknown_original"] = int((self.original < 0).sum())
        return out
