"""What the error stages know besides the predictions: the taxonomy, co-occurrence counts,
non-prototypical images and an optional open-world stage, gathered in one :class:`Context`.

Everything here is plain arrays. Files are read by the callers at the edge
(:mod:`errata.taxonomy` builds a :class:`Taxonomy`, :mod:`errata.io.evidence` reads expert
files, ImageNet-X and the open-world bundle) and passed in, so the pipeline itself reads
nothing and tests can plant tiny versions of every input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from errata.core.labelset import LabelSet
from errata.core.names import NameIndex
from errata.core.sparse import Csr
from errata.resources import N_CLASSES

SPURIOUS_MIN_COUNT = 2  # co-occurrence in at least this many other images (Peychev et al. 2023)
# a rejected-proposal count is evidence when chance (Poisson, the pair independent) would reach
# it with probability below this; chosen as the conventional 1 % level, not tuned (its curve:
# benchmarks/spurious_threshold.py)
REJECTION_ALPHA = 0.01


@dataclass(frozen=True, eq=False, kw_only=True)
class Taxonomy:
    """The class facts the stages read, as arrays over the ``C`` classes.

    Attributes
    ----------
    name : str
        Which taxonomy (``"errata"``), recorded in outputs.
    class_names : ndarray of str, shape (C,)
    overlap : ndarray of bool, shape (C, C)
        ``overlap[label, prediction]``: the prediction duplicates the label's class.
    superclass_members : ndarray of bool, shape (C, S)
    superclass_names : ndarray of str, shape (S,)
    lca_height : ndarray, shape (C, C)
        Mistake severity (WordNet LCA height).
    groups : mapping of str to ndarray of str, shape (C,)
        Per split (``"wordnet"``, ``"shankar"``), the group of each class.
    """

    name: str
    class_names: np.ndarray
    overlap: np.ndarray
    superclass_members: np.ndarray
    superclass_names: np.ndarray
    lca_height: np.ndarray
    groups: Mapping[str, np.ndarray]
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def same_superclass(self) -> np.ndarray:
        """``(C, C)`` bool: the two classes share a superclass."""
        if "same" not in self._cache:
            self._cache["same"] = same_superclass_of(self.superclass_members)
        return self._cache["same"]  # type: ignore[no-any-return]

    @property
    def first_shared(self) -> np.ndarray:
        """``(C, C)`` int16: the first superclass (file order) two classes share, ``-1`` none."""
        if "first" not in self._cache:
            self._cache["first"] = first_shared_of(self.superclass_members)
        return self._cache["first"]  # type: ignore[no-any-return]


def same_superclass_of(members: np.ndarray) -> np.ndarray:
    """``(C, C)`` bool from a ``(C, S)`` membership matrix: the pair shares a superclass."""
    m = members.astype(np.float32)
    return (m @ m.T) > 0  # type: ignore[no-any-return]


def first_shared_of(members: np.ndarray) -> np.ndarray:
    """``(C, C)`` int16 from a ``(C, S)`` membership matrix: the first superclass two classes
    share, ``-1`` when none."""
    n = members.shape[0]
    out = np.full((n, n), -1, dtype=np.int16)
    # reverse file order, so the first superclass a pair shares is written last and wins
    for j in range(members.shape[1] - 1, -1, -1):  # ~200 superclasses, never a loop over images
        idx = np.flatnonzero(members[:, j])
        out[np.ix_(idx, idx)] = j
    return out


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


def poisson_thresholds(expected: np.ndarray, alpha: float, *, floor: int = 2) -> np.ndarray:
    """The smallest count ``k`` (at least ``floor``) with ``P(X ≥ k) < alpha`` for ``X`` ~
    Poisson(``expected``), element-wise (int16, capped at 32,767).

    >>> poisson_thresholds(np.array([0.0, 1.0, 10.0]), 0.01).tolist()
    [2, 5, 19]
    """
    lam = np.asarray(expected, dtype=np.float64)
    out = np.full(lam.shape, floor, dtype=np.int64)
    pmf = np.exp(-lam)  # P(X = 0)
    sf = 1.0 - pmf  # P(X ≥ 1)
    k = 1
    todo = sf >= alpha  # P(X ≥ k) not yet below alpha
    while todo.any() and k < 32_767:
        pmf = pmf * lam / k  # P(X = k)
        sf = sf - pmf  # P(X ≥ k + 1)
        k += 1
        done_now = todo & (sf < alpha)
        out[done_now] = np.maximum(k, floor)
        todo &= ~done_now
    out[todo] = 32_767
    return out.astype(np.int16)


@dataclass(frozen=True, eq=False, kw_only=True)
class Rejections:
    """Classes that models proposed for images and raters rejected, counted per label pair.

    ReaL's raters (Beyer et al. 2020) answered questions about the labels 19 models proposed,
    rejecting most: a class ``p`` that models keep proposing for images labelled ``l``, and
    that raters keep rejecting there, is what a model predicts because it usually appears with
    ``l`` (Vasudevan et al.'s spurious correlation). ``counts[l, p]`` is the number of images
    with ``l`` among their labels ``sets`` where ``p`` was proposed and rejected; a pair is
    evidence when its count reaches ``threshold[l, p]``, the count that chance (``p`` rejected
    at its base rate on any image, independently of ``l``) reaches with probability below
    ``alpha``, and at least 2 (two *other* images, as for co-occurrence).

    ``sets`` and ``rejected`` (rows aligned with ``file_names``) let the pipeline leave out
    the image being classified.
    """

    name: str
    file_names: np.ndarray
    sets: Csr
    rejected: Csr
    counts: np.ndarray  # (C, C) int32
    expected: np.ndarray  # (C, C) float32: the count chance would give
    threshold: np.ndarray  # (C, C) int16
    alpha: float = REJECTION_ALPHA
    description: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def margin(self) -> np.ndarray:
        """``(C, C)`` int16: ``counts - threshold``; a pair is evidence where it is ≥ 0."""
        if "margin" not in self._cache:
            m = self.counts.astype(np.int32) - self.threshold
            self._cache["margin"] = np.clip(m, -32_768, 32_767).astype(np.int16)
        return self._cache["margin"]  # type: ignore[no-any-return]

    @classmethod
    def of(
        cls,
        name: str,
        file_names: np.ndarray,
        sets: Csr,
        rejected: Csr,
        *,
        alpha: float = REJECTION_ALPHA,
        description: str = "",
    ) -> Rejections:
        """Counts, chance expectations and thresholds of the rejected proposals ``rejected``
        (per image, the proposals raters rejected; not among its labels ``sets``)."""
        counts = cross_counts(sets, rejected)
        n = max(len(sets), 1)
        holding = np.bincount(sets.indices.astype(np.int64), minlength=sets.n_classes)
        rate = np.bincount(rejected.indices.astype(np.int64), minlength=sets.n_classes) / n
        expected = (holding[:, None] * rate[None, :]).astype(np.float32)
        return cls(
            name=name,
            file_names=file_names,
            sets=sets,
            rejected=rejected,
            counts=counts,
            expected=expected,
            threshold=poisson_thresholds(expected, alpha),
            alpha=alpha,
            description=description or f"rejected proposals of {name}",
        )


@dataclass(frozen=True, eq=False, kw_only=True)
class NonPrototypical:
    """Image-level non-prototypical evidence over a label set's images.

    ``source[i]`` indexes ``sources`` (``-1``: none); ``imagenet_x[i]`` says the evidence comes
    from ImageNet-X factors (its own sub-category).
    """

    source: np.ndarray
    sources: tuple[str, ...] = ()
    imagenet_x: np.ndarray | None = None

    @classmethod
    def none(cls, n: int) -> NonPrototypical:
        return cls(source=np.full(n, -1, dtype=np.int16), imagenet_x=np.zeros(n, dtype=bool))


class OovStage(Protocol):
    """The open-world stage: for error pairs (image row in the context's label set, prediction)
    it returns ``(claimed (k,) bool, reason (k,) object)``."""

    def __call__(
        self, image: np.ndarray, prediction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True, eq=False, kw_only=True)
class Context:
    """Everything the stages need about one label set, prepared once for any number of models.

    Build it with :func:`make_context` (pure) or :func:`errata.io.evidence.context` (which
    also reads the evidence files named by the options).
    """

    labels: LabelSet
    taxonomy: Taxonomy
    cooccurrence: Cooccurrence
    cooc_rows: np.ndarray  # (n,) row of each image in cooccurrence.sets, -1 if not there
    nonprototypical: NonPrototypical
    oov: OovStage | None = None
    rejections: Rejections | None = None
    rejection_rows: np.ndarray | None = None  # (n,) row of each image in rejections, -1 none
    sources: Mapping[str, Any] = field(default_factory=dict)
    # "peychev2023": the published decision order and per-group counting (errata.core.pipeline)
    preset: str | None = None

    @property
    def n_images(self) -> int:
        return len(self.labels)


def make_context(
    labels: LabelSet,
    taxonomy: Taxonomy,
    *,
    cooccurrence: Cooccurrence | None = None,
    nonprototypical: NonPrototypical | None = None,
    oov: OovStage | None = None,
    oov_name: str = "open-world model",
    rejections: Rejections | None = None,
    preset: str | None = None,
) -> Context:
    """Gather the evidence for ``labels``; co-occurrence defaults to the label set itself.
    ``preset="peychev2023"`` runs the published decision order (:mod:`errata.core.pipeline`)."""
    cooc = cooccurrence or Cooccurrence.of(labels)
    if cooc.file_names is labels.file_names:
        cooc_rows = np.arange(len(labels))
    else:
        cooc_rows = NameIndex.of(cooc.file_names).rows(labels.file_names)
    nonproto = nonprototypical or NonPrototypical.none(len(labels))
    sources = {
        "taxonomy": taxonomy.name,
        "cooccurrence": cooc.description or f"label set '{cooc.name}'",
        "rejected_proposals": rejections.description if rejections is not None else "none",
        "non_prototypical": list(nonproto.sources) or ["none"],
        "fine_grained_oov": oov_name
        if oov is not None
        else "not run (needs the openworld extra and --openworld)",
    }
    if preset is not None:
        sources["preset"] = preset
    return Context(
        labels=labels,
        taxonomy=taxonomy,
        cooccurrence=cooc,
        cooc_rows=cooc_rows,
        nonprototypical=nonproto,
        oov=oov,
        sources=sources,
        rejections=rejections,
        rejection_rows=None
        if rejections is None
        else NameIndex.of(rejections.file_names).rows(labels.file_names),
        preset=preset,
    )


__all__ = [
    "N_CLASSES",
    "SPURIOUS_MIN_COUNT",
    "Context",
    "Cooccurrence",
    "NonPrototypical",
    "OovStage",
    "REJECTION_ALPHA",
    "Rejections",
    "cross_counts",
    "poisson_thresholds",
    "Taxonomy",
    "cooccurrence_counts",
    "first_shared_of",
    "make_context",
    "same_superclass_of",
]
