"""Sufficient statistics of a stack of models (pure numpy): the :class:`Tally` — counts per
(model, original class, count bucket), top-1/top-5 hits per (model, class), the errors'
summed severity — of classified predictions (:func:`tally`) or of answers judged right or
wrong (:func:`answer_tally`), from which :mod:`errata.core.scoring` computes every figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from errata.core import categories as K
from errata.core import metrics as M
from errata.core.evidence import Context
from errata.core.labelset import LabelSet
from errata.core.pipeline import NOT_PREDICTED, UNCLASSIFIED, Classified


@dataclass(frozen=True, eq=False)
class Buckets:
    """The count buckets of a tally, from the category registry as it is: the categories, then
    the two codes that are not categories (a code's bucket is ``code % n``)."""

    n_cats: int
    n: int
    unclassified: int  # an error, stages not run
    not_predicted: int  # no prediction for the image
    of_byte: np.ndarray  # the bucket of each int8 code, indexed by the code's byte

    @classmethod
    def of(cls, n_cats: int) -> Buckets:
        n = n_cats + 2
        out = cls(
            n_cats=n_cats,
            n=n,
            unclassified=UNCLASSIFIED % n,
            not_predicted=NOT_PREDICTED % n,
            of_byte=np.arange(256).astype(np.uint8).view(np.int8).astype(np.intp) % n,
        )
        assert (out.unclassified, out.not_predicted) == (n_cats, n_cats + 1)
        return out


_BUCKETS: dict[int, Buckets] = {}


def buckets(registry: K.Tables | None = None) -> Buckets:
    """The :class:`Buckets` of the categories of ``registry`` (default: the registry now;
    built once per number of categories)."""
    n_cats = len((K.tables() if registry is None else registry).CATEGORIES)
    got = _BUCKETS.get(n_cats)
    if got is None:
        got = _BUCKETS[n_cats] = Buckets.of(n_cats)
    return got


GROUP_ORDER = ("organism", "artifact", "other", "dogs", "other organisms", "objects")


@dataclass(frozen=True, eq=False)
class Tally:
    """Sufficient statistics of ``m`` models on one label set.

    Attributes
    ----------
    counts : ndarray of int64, shape (m, C + 1, B)
        Images per (model, original class — ``C`` for unknown —, bucket); buckets are the
        category codes, then "no prediction" and "error, not classified".
    topk_hits, topk_n : ndarray of int64, shape (m, 2, C)
        Top-1 and top-5 hits and images per original class, over the model's prediction rows
        (which may reach beyond the label set); ``topk_n[:, 1]`` is 0 without top-5.
    severity_sum : ndarray of float64, shape (m,)
    severity_n : ndarray of int64, shape (m,)
        Sum and number of the errors' severities.
    imagenet_m : ndarray of int64, shape (m,), or None
        ImageNet-M images predicted correctly.
    overlap_hits : ndarray of int64, shape (m, C + 1), or None
        Overlapping-class errors whose prediction is one of the image's labels (the published
        order checks collapsed mappings first): the accuracies still count them correct.
    group_counts : mapping of str to ndarray of int64, shape (m, G, B), or None
        Per split, images per (model, group, bucket) where an image is in every group that one
        of its labels is in (the published per-group counts); ``None``: by the original class.
    registry : Tables
        The snapshot of the category registry whose codes the buckets are (the classified
        stack's, :attr:`errata.core.pipeline.Classified.registry`): the scores read it.
    """

    counts: np.ndarray
    topk_hits: np.ndarray
    topk_n: np.ndarray
    severity_sum: np.ndarray
    severity_n: np.ndarray
    imagenet_m: np.ndarray | None = None
    overlap_hits: np.ndarray | None = None
    group_counts: Mapping[str, np.ndarray] | None = None
    registry: K.Tables = field(default_factory=K.tables)

    def __len__(self) -> int:
        return len(self.counts)

    @classmethod
    def concat(cls, parts: Sequence[Tally]) -> Tally:
        """The tallies of several batches, models in order (all over one registry state)."""
        if not parts:
            raise ValueError("no tallies to concatenate")
        registry = parts[0].registry
        if any(p.registry.version != registry.version for p in parts):
            raise ValueError("tallies over different states of the category registry")
        m_parts = [p.imagenet_m for p in parts]
        hits = [
            np.zeros(p.counts.shape[:2], dtype=np.int64)
            if p.overlap_hits is None
            else p.overlap_hits
            for p in parts
        ]
        any_hits = any(p.overlap_hits is not None for p in parts)
        groups = [p.group_counts for p in parts]
        return cls(
            counts=np.concatenate([p.counts for p in parts]),
            topk_hits=np.concatenate([p.topk_hits for p in parts]),
            topk_n=np.concatenate([p.topk_n for p in parts]),
            severity_sum=np.concatenate([p.severity_sum for p in parts]),
            severity_n=np.concatenate([p.severity_n for p in parts]),
            imagenet_m=None if m_parts[0] is None else np.concatenate(m_parts),  # type: ignore[arg-type]
            overlap_hits=np.concatenate(hits) if any_hits else None,
            group_counts=_concat_groups(groups),
            registry=registry,
        )

    def take(self, rows: np.ndarray) -> Tally:
        return Tally(
            counts=self.counts[rows],
            topk_hits=self.topk_hits[rows],
            topk_n=self.topk_n[rows],
            severity_sum=self.severity_sum[rows],
            severity_n=self.severity_n[rows],
            imagenet_m=None if self.imagenet_m is None else self.imagenet_m[rows],
            overlap_hits=None if self.overlap_hits is None else self.overlap_hits[rows],
            group_counts=None
            if self.group_counts is None
            else {k: v[rows] for k, v in self.group_counts.items()},
            registry=self.registry,
        )


def _concat_groups(
    groups: Sequence[Mapping[str, np.ndarray] | None],
) -> dict[str, np.ndarray] | None:
    """The per-image group counts of several batches (None unless every batch has them)."""
    if not groups or any(g is None for g in groups):
        return None
    first = groups[0]
    assert first is not None
    return {k: np.concatenate([g[k] for g in groups if g is not None]) for k in first}


def topk_counts(
    topk: np.ndarray, original: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 and top-5 hits and images per original class, for one model's prediction rows.

    ``topk`` (n, k) ranked class indices, ``original`` (n,) labels (``-1`` unknown, skipped).
    Returns ``(hits (2, C), n (2, C))``.
    """
    has = original >= 0
    all_known = bool(has.all())
    cls = (original if all_known else original[has]).astype(np.intp)
    tk = topk if all_known else topk[has]
    # one bincount over (outcome, class): bit 1 a top-1 hit, bit 2 a top-5 hit
    outcome = np.zeros(len(cls), dtype=np.intp)
    if tk.shape[1] >= 1:
        outcome += tk[:, 0] == cls
    if tk.shape[1] >= 5:
        outcome += 2 * M.topk_hits(tk, cls, 5)
    both = np.bincount(outcome * n_classes + cls, minlength=4 * n_classes).reshape(4, n_classes)
    per_class = both.sum(axis=0)
    hits = np.stack([both[1] + both[3], both[2] + both[3]]).astype(np.int64)
    n = np.stack([per_class, per_class]).astype(np.int64)
    if tk.shape[1] < 5:  # no top-5 list: neither its hits nor its images
        hits[1] = n[1] = 0
    if tk.shape[1] < 1:
        hits[0] = n[0] = 0
    return hits, n


def tally(
    labels: LabelSet,
    result: Classified,
    *,
    topk_hits: np.ndarray,
    topk_n: np.ndarray,
    image_groups: Mapping[str, np.ndarray] | None = None,
) -> Tally:
    """Reduce a classified stack (and its top-k counts, shape (m, 2, C)) to a :class:`Tally`;
    with ``image_groups`` (per split, ``(n, G)`` bool: the groups each image is in), the
    per-group counts are by image (:func:`any_label_groups`). The buckets are the codes of
    the registry the stack was classified over (``result.registry``)."""
    m, n = result.category.shape
    c = labels.multi.n_classes
    t = result.registry
    b = buckets(t)
    orig = labels.original.astype(np.int32)
    cls_base = np.where(orig >= 0, orig, c).astype(np.intp) * b.n  # (n,)
    model_base = np.arange(m, dtype=np.intp) * ((c + 1) * b.n)  # (m,)
    # one pass from the int8 codes to bincount's own index type (half the time of int32 % B)
    cat = result.category
    flat = b.of_byte[cat.view(np.uint8)] if cat.dtype == np.int8 else cat.astype(np.intp) % b.n
    flat += cls_base[None, :]
    flat += model_base[:, None]
    counts = np.bincount(flat.ravel(), minlength=m * (c + 1) * b.n).reshape(m, c + 1, b.n)
    e = result.errors
    sev_n = np.bincount(e.model, minlength=m)
    sev_sum = np.bincount(e.model, weights=e.severity.astype(np.float64), minlength=m)
    imagenet_m = None
    if labels.imagenet_m is not None:
        sel = labels.imagenet_m
        imagenet_m = np.isin(result.category[:, sel], t.CORRECT_CODES).sum(axis=1)
    ov = np.flatnonzero(e.code == t.CODE["overlapping classes"])
    hit = labels.multi.contains_at(e.image[ov], e.pred[ov].astype(np.int64))
    ov = ov[hit]
    overlap_hits = None
    if len(ov):  # only in the published order: errata's files a multi-label as correct first
        cls = np.where(orig[e.image[ov]] >= 0, orig[e.image[ov]], c)
        overlap_hits = np.bincount(
            e.model[ov].astype(np.int64) * (c + 1) + cls, minlength=m * (c + 1)
        ).reshape(m, c + 1)
    group_counts = None
    if image_groups is not None:
        group_counts = {}
        bucket = result.category.astype(np.int64) % b.n  # (m, n)
        for split, member in image_groups.items():
            g = np.zeros((m, member.shape[1], b.n), dtype=np.int64)
            for gi in range(member.shape[1]):
                sel = bucket[:, member[:, gi]]
                g[:, gi] = _bincount_rows(sel, b.n)
            group_counts[split] = g
    return Tally(
        counts=counts,
        topk_hits=np.asarray(topk_hits, dtype=np.int64).reshape(m, 2, c),
        topk_n=np.asarray(topk_n, dtype=np.int64).reshape(m, 2, c),
        severity_sum=sev_sum,
        severity_n=sev_n,
        imagenet_m=imagenet_m,
        overlap_hits=overlap_hits,
        group_counts=group_counts,
        registry=t,
    )


def answer_tally(
    who: np.ndarray,
    n_who: int,
    original: np.ndarray,
    right: np.ndarray,
    n_classes: int,
    registry: K.Tables | None = None,
) -> Tally:
    """The tally of answers judged right or wrong against a label set — annotators, or models
    scored as annotators, each answering some images (an image may be answered more than
    once): per (answerer ``who``, original class; ``-1`` unknown), the right answers counted
    as correct multi-label, the wrong ones as errors not classified. :func:`values` of it gives
    the answerers' accuracy (the label accuracy, over every answer) and MLA (over answers of a
    known class) with their intervals, as for models (in the codes of ``registry``; default:
    the registry now)."""
    t = K.tables() if registry is None else registry
    cls = np.where(original >= 0, original, n_classes).astype(np.int64)
    b = buckets(t)
    bucket = np.where(right, t.CORRECT_MULTI, b.unclassified).astype(np.int64)
    flat = (np.asarray(who, dtype=np.int64) * (n_classes + 1) + cls) * b.n + bucket
    counts = np.bincount(flat, minlength=n_who * (n_classes + 1) * b.n)
    zeros = np.zeros((n_who, 2, n_classes), dtype=np.int64)
    return Tally(
        counts=counts.reshape(n_who, n_classes + 1, b.n),
        topk_hits=zeros,
        topk_n=zeros,
        severity_sum=np.zeros(n_who),
        severity_n=np.zeros(n_who, dtype=np.int64),
        registry=t,
    )


def _bincount_rows(values: np.ndarray, n: int) -> np.ndarray:
    """``(m, n)`` counts of each value ``0..n-1`` per row of ``values`` ``(m, k)``."""
    m = values.shape[0]
    offset = np.arange(m, dtype=np.int64)[:, None] * n
    return np.bincount((values + offset).ravel(), minlength=m * n).reshape(m, n)


def any_label_groups(ctx: Context) -> dict[str, np.ndarray]:
    """Per split of the taxonomy, ``(n, G)`` bool: image ``i`` is in group ``g`` when one of its
    labels (multi-labels and original label) is — the published per-group counts, where an
    image with an organism and an artefact among its labels counts in both. Groups are in the
    order of :meth:`errata.core.scoring.Scores.group_codes`."""
    sets = ctx.labels.evidence_sets
    out = {}
    for split, names in ctx.taxonomy.groups.items():
        names = np.asarray(names)
        groups = sorted(set(names.tolist()), key=_group_order)
        lookup = {g: i for i, g in enumerate(groups)}
        code = np.array([lookup[g] for g in names.tolist()], dtype=np.int64)
        member = np.zeros((len(sets), len(groups)), dtype=bool)
        member[sets.row_ids, code[sets.indices.astype(np.int64)]] = True
        out[split] = member
    return out


def _group_order(name: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(name) if name in GROUP_ORDER else len(GROUP_ORDER), name)
