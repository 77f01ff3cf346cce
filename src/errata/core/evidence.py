"""What the error stages know besides the predictions: the taxonomy, co-occurrence counts,
non-prototypical images and an optional open-world stage, gathered in one :class:`Context`.

Everything here is plain arrays. Files are read by the callers at the edge
(:mod:`errata.taxonomy` builds a :class:`Taxonomy`, :mod:`errata.io.evidence` reads expert
files, ImageNet-X and the open-world bundle) and passed in, so the pipeline itself reads
nothing and tests can plant tiny versions of every input.

The parts of a context have modules of their own — co-occurrence counts
(:mod:`errata.core.cooccurrence`) and the spurious-correlation evidence
(:mod:`errata.core.spurious`) — and are re-exported here, the names a context is built from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from errata.core.cooccurrence import (
    PUBLISHED_MIN_COUNT,
    SPURIOUS_MIN_COUNT,
    Cooccurrence,
    cooccurrence_counts,
    cross_counts,
)
from errata.core.labelset import LabelSet
from errata.core.names import NameIndex
from errata.core.spurious import (
    ABOVE_CHANCE_SPURIOUS,
    COOCCURRING,
    DEFAULT_SPURIOUS,
    PUBLISHED_SPURIOUS,
    REJECTED,
    REJECTION_ALPHA,
    REJECTION_TESTS,
    SHARE_OF,
    SPURIOUS_RULES,
    Rejections,
    SpuriousRule,
    answered_here,
    cooccurring,
    holding_others,
    poisson_thresholds,
    rejected_above_chance,
    rejected_elsewhere,
    rejected_share,
    spurious_evidence,
)
from errata.resources import N_CLASSES

Source = str | list[str]  # one entry of Context.sources: a description, or one per file


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
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def same_superclass(self) -> np.ndarray:
        """``(C, C)`` bool: the two classes share a superclass."""
        if "same" not in self._cache:
            self._cache["same"] = same_superclass_of(self.superclass_members)
        return self._cache["same"]

    @property
    def first_shared(self) -> np.ndarray:
        """``(C, C)`` int16: the first superclass (file order) two classes share, ``-1`` none."""
        if "first" not in self._cache:
            self._cache["first"] = first_shared_of(self.superclass_members)
        return self._cache["first"]


def same_superclass_of(members: np.ndarray) -> np.ndarray:
    """``(C, C)`` bool from a ``(C, S)`` membership matrix: the pair shares a superclass."""
    m = members.astype(np.float32)
    return (m @ m.T) > 0


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


@dataclass(frozen=True, eq=False, kw_only=True)
class NonPrototypical:
    """Image-level non-prototypical evidence over a label set's images.

    ``source[i]`` indexes ``sources`` (``-1``: none); ``imagenet_x[i]`` says the evidence comes
    from ImageNet-X factors (its own sub-category); ``provides`` names the needs it meets
    (:class:`errata.core.categories.Need`: ``"experts"``, ``"imagenet_x"``), whether or not any
    image of the label set is among its rows.
    """

    source: np.ndarray
    sources: tuple[str, ...] = ()
    imagenet_x: np.ndarray | None = None
    provides: frozenset[str] = frozenset()

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
    spurious: SpuriousRule = DEFAULT_SPURIOUS
    sources: Mapping[str, Source] = field(default_factory=dict)  # what was used, in words
    # "peychev2023": the published decision order and per-group counting (errata.core.pipeline)
    preset: str | None = None
    # the needs this context meets (errata.core.categories.Need.key): a stage runs when its
    # category's needs are all here
    provides: frozenset[str] = frozenset()

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
    spurious: SpuriousRule = DEFAULT_SPURIOUS,
    provides: Iterable[str] = (),
) -> Context:
    """Gather the evidence for ``labels``; co-occurrence defaults to the label set itself. The
    co-occurrence count a spurious call needs is the rule's (``spurious.min_cooccurrence``).
    ``preset="peychev2023"`` runs the published decision order (:mod:`errata.core.pipeline`).
    The context provides ``"openworld"`` with ``oov``, what ``nonprototypical`` provides, and
    the needs named in ``provides`` (evidence of a category registered elsewhere)."""
    cooc = cooccurrence or Cooccurrence.of(labels)
    if cooc.file_names is labels.file_names:
        cooc_rows = np.arange(len(labels))
    else:
        cooc_rows = NameIndex.of(cooc.file_names).rows(labels.file_names)
    nonproto = nonprototypical or NonPrototypical.none(len(labels))
    sources: dict[str, Source] = {
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
    ctx = Context(
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
        provides=frozenset(provides)
        | nonproto.provides
        | (frozenset({"openworld"}) if oov is not None else frozenset()),
    )
    return with_spurious(ctx, spurious)


def with_spurious(ctx: Context, rule: SpuriousRule) -> Context:
    """``ctx`` deciding spurious correlations by ``rule``: the co-occurrence count a call needs
    becomes the rule's, and the sources say which rule (and that its rater parts are off
    without rater evidence). Cheap: the arrays are shared."""
    import dataclasses

    cooc = ctx.cooccurrence
    if cooc.min_count != rule.min_cooccurrence:
        cooc = dataclasses.replace(cooc, min_count=rule.min_cooccurrence)
    uses_raters = rule.rejection != "none" or rule.own_answer
    text = f"{rule.name or 'custom'}: {rule.describe()}"
    if uses_raters and ctx.rejections is None:
        text += " (no rater evidence given: co-occurrence only)"
    sources: dict[str, Source] = {**ctx.sources, "spurious_rule": text}
    return dataclasses.replace(ctx, cooccurrence=cooc, spurious=rule, sources=sources)


__all__ = [
    "ABOVE_CHANCE_SPURIOUS",
    "COOCCURRING",
    "DEFAULT_SPURIOUS",
    "N_CLASSES",
    "PUBLISHED_MIN_COUNT",
    "PUBLISHED_SPURIOUS",
    "REJECTED",
    "REJECTION_TESTS",
    "SPURIOUS_MIN_COUNT",
    "SPURIOUS_RULES",
    "SpuriousRule",
    "SHARE_OF",
    "answered_here",
    "holding_others",
    "cooccurring",
    "rejected_above_chance",
    "rejected_elsewhere",
    "rejected_share",
    "spurious_evidence",
    "with_spurious",
    "Context",
    "Source",
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
