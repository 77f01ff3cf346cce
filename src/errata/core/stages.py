"""The error stages: each takes the errors that no earlier stage claimed and returns which it
claims, with its evidence; each has a reason function that puts the evidence into words.

All stages have one signature, ``stage(ctx, pending) -> StageResult``, and run on whole arrays:
the unclaimed errors of a stack of models at once, compared with each image's labels ``S_i``
(multi-labels ∪ original label, minus the prediction) one label rank at a time. They are
registered, in precedence order, in :data:`errata.core.categories.CATEGORIES`; adding a
category is one stage (and reason) here and one record there.

Reasons are built with ``numpy.strings`` over all rows of a category at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from errata.core.evidence import COOCCURRING, REJECTED, Context, spurious_evidence
from errata.core.sparse import Csr

# ---------------------------------------------------------------------------------------------
# what stages receive and return


@dataclass(frozen=True, eq=False)
class Pending:
    """The errors of a run (a batch of models) and which of them no stage has claimed yet.

    Arrays have one entry per error (``k``); ``alive`` marks the unclaimed ones. A stage reads
    an error's labels ``S_i`` rank by rank (:meth:`ranks`): rank 0 is every error's smallest
    label, rank ``j`` only exists for images with more than ``j`` labels, so the loop is over
    label ranks (≤ ~10), each vectorised over the errors that have that many labels.
    """

    model: np.ndarray  # (k,) model of the stack
    image: np.ndarray  # (k,) row in the label set
    pred: np.ndarray  # (k,) the prediction
    alive: np.ndarray  # (k,) bool: not claimed yet
    by_rank: tuple[tuple[np.ndarray, np.ndarray], ...]  # per rank: (errors, their label)

    @classmethod
    def of(cls, sets: Csr, model: np.ndarray, image: np.ndarray, pred: np.ndarray) -> Pending:
        """The errors ``(model, image, pred)`` (shape (k,)), with their labels ``S_i`` taken
        from ``sets`` once, rank by rank (the prediction itself is left out)."""
        size = sets.sizes[image]
        pad = sets.padded
        by_rank = []
        rows = np.arange(len(image))
        for j in range(int(size.max(initial=0))):
            rows = rows[size[rows] > j]
            lab = pad[image[rows], j].astype(np.int64)
            keep = lab != pred[rows]
            by_rank.append((rows[keep], lab[keep]))
        return cls(
            model=model,
            image=image,
            pred=pred,
            alive=np.ones(len(image), dtype=bool),
            by_rank=tuple(by_rank),
        )

    def __len__(self) -> int:
        return len(self.image)

    @property
    def rows(self) -> np.ndarray:
        """The unclaimed errors."""
        return np.flatnonzero(self.alive)

    def ranks(self, *, all_errors: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(rows, labels)`` per label rank: the unclaimed errors (all errors with
        ``all_errors``) whose image has a label of that rank other than the prediction, and
        that label."""
        for rows, lab in self.by_rank:
            if all_errors:
                yield rows, lab
            else:
                keep = self.alive[rows]
                yield rows[keep], lab[keep]


@dataclass(frozen=True, eq=False)
class StageResult:
    """What a stage claims: ``claimed`` (k,) over the run's errors (only unclaimed ones may be
    claimed), and evidence per error."""

    claimed: np.ndarray
    label: np.ndarray | None = None  # (k,) evidence label, -1 none
    count: np.ndarray | None = None  # (k,) evidence count (co-occurrence), -1 none
    source: np.ndarray | None = None  # (k,) index of the evidence source, -1 none
    text: np.ndarray | None = None  # (k,) object: evidence in words (open-world stage)


@dataclass(frozen=True, eq=False)
class Evidence:
    """The evidence of some error rows, as the reason functions receive it (all shape (r,))."""

    pred: np.ndarray
    label: np.ndarray
    count: np.ndarray
    source: np.ndarray
    text: np.ndarray  # object: the stage's own words, or None


Stage = Callable[[Context, Pending], StageResult]
Reason = Callable[[Context, Evidence], np.ndarray]


def first_hit(
    p: Pending,
    test: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray | None, ...]],
) -> StageResult:
    """Claim each unclaimed error for which ``test(rows, labels)`` holds on one of its labels;
    the evidence is the first such label (in class order) and, when ``test`` returns counts
    (``(hit, count)``) or counts and their sources (``(hit, count, source)``), those."""
    k = len(p)
    claimed = np.zeros(k, dtype=bool)
    label = np.full(k, -1, dtype=np.int16)
    count: np.ndarray | None = None
    source: np.ndarray | None = None
    for rows, lab in p.ranks():
        fresh = ~claimed[rows]
        rows, lab = rows[fresh], lab[fresh]
        got = test(rows, lab)
        hit = np.asarray(got[0], dtype=bool)
        extra = got[1:]
        won = rows[hit]
        claimed[won] = True
        label[won] = lab[hit]
        if extra and extra[0] is not None:
            if count is None:
                count = np.full(k, -1, dtype=np.int32)
            count[won] = extra[0][hit]
        if len(extra) > 1 and extra[1] is not None:
            if source is None:
                source = np.full(k, -1, dtype=np.int16)
            source[won] = extra[1][hit]
    return StageResult(claimed=claimed, label=label, count=count, source=source)


def _words(*parts: object) -> np.ndarray:
    """Concatenate string arrays and scalars element-wise."""
    out = np.asarray(parts[0], dtype=str)
    for part in parts[1:]:
        out = np.strings.add(
            out, np.asarray(part, dtype=str) if not isinstance(part, str) else part
        )
    return np.asarray(out)


def _q(names: np.ndarray) -> np.ndarray:
    return _words("'", names, "'")


# ---------------------------------------------------------------------------------------------
# the stages, each with its reason


def overlapping(ctx: Context, p: Pending) -> StageResult:
    """The prediction duplicates the class of one of the labels (Eskimo dog ← malamute)."""
    overlap = ctx.taxonomy.overlap
    return first_hit(p, lambda rows, lab: (overlap[lab, p.pred[rows]], None))


def overlapping_reason(ctx: Context, e: Evidence) -> np.ndarray:
    names = ctx.taxonomy.class_names
    return _words(
        _q(names[e.pred]), " overlaps the label ", _q(names[e.label]), " (duplicate classes)"
    )


def fine_grained(ctx: Context, p: Pending) -> StageResult:
    """The prediction shares a superclass with one of the labels."""
    same = ctx.taxonomy.same_superclass
    return first_hit(p, lambda rows, lab: (same[lab, p.pred[rows]], None))


def fine_grained_reason(ctx: Context, e: Evidence) -> np.ndarray:
    t = ctx.taxonomy
    shared = t.first_shared[e.label, e.pred]
    return _words(
        _q(t.class_names[e.pred]),
        " and the label ",
        _q(t.class_names[e.label]),
        " are both in superclass ",
        _q(np.asarray(t.superclass_names)[shared]),
    )


def fine_grained_oov(ctx: Context, p: Pending) -> StageResult:
    """An open-world model sees an out-of-vocabulary object of the prediction's superclass."""
    claimed = np.zeros(len(p), dtype=bool)
    if ctx.oov is None:
        return StageResult(claimed=claimed)
    rows = p.rows
    hit, words = ctx.oov(p.image[rows], p.pred[rows])
    claimed[rows] = np.asarray(hit, dtype=bool)
    text = np.full(len(p), None, dtype=object)
    text[rows] = np.asarray(words, dtype=object)
    return StageResult(claimed=claimed, text=text)


def fine_grained_oov_reason(ctx: Context, e: Evidence) -> np.ndarray:
    default = (
        "open-world model: the image shows an out-of-vocabulary object of the "
        "prediction's superclass"
    )
    text = np.where(e.text == None, default, e.text)  # noqa: E711 (element-wise)
    return np.asarray(text.astype(str))


def spurious(ctx: Context, p: Pending) -> StageResult:
    """Prediction and a label share no superclass, and other images tie them together, as the
    context's :class:`~errata.core.evidence.SpuriousRule` says (co-occurrence in other images'
    label sets; with rater evidence, rejected proposals on other images, and the image's own
    answers as a veto): :func:`~errata.core.evidence.spurious_evidence`. Under a preset, the
    published rule alone (:func:`spurious_published`)."""
    if ctx.preset is not None:
        return spurious_published(ctx, p)
    same = ctx.taxonomy.same_superclass

    def test(rows: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pred = p.pred[rows]
        apart = np.flatnonzero(~same[lab, pred])
        hit = np.zeros(len(rows), dtype=bool)
        counts = np.full(len(rows), -1, dtype=np.int32)
        source = np.full(len(rows), COOCCURRING, dtype=np.int16)
        hit[apart], counts[apart], source[apart] = spurious_evidence(
            ctx, p.image[rows[apart]], lab[apart], pred[apart]
        )
        return hit, counts, source

    return first_hit(p, test)


def spurious_published(ctx: Context, p: Pending) -> StageResult:
    """The published rule (Peychev et al. 2023): prediction and a label share no superclass and
    co-occur in at least ``min_count`` other images' label sets of the context's co-occurrence
    source (the image's own set left out); no other evidence."""
    cooc = ctx.cooccurrence
    same = ctx.taxonomy.same_superclass

    def test(rows: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pred = p.pred[rows]
        counts = cooc.counts[lab, pred].astype(np.int32)
        src = ctx.cooc_rows[p.image[rows]]  # -1: the image is not among the sources
        counts -= cooc.sets.contains_at(src, lab) & cooc.sets.contains_at(src, pred)
        hit = (counts >= cooc.min_count) & ~same[lab, pred]
        return hit, counts, np.full(len(rows), COOCCURRING, dtype=np.int16)

    return first_hit(p, test)


def spurious_reason(ctx: Context, e: Evidence) -> np.ndarray:
    names = ctx.taxonomy.class_names
    rej = ctx.rejections
    by_rej = e.source == REJECTED if rej is not None else np.zeros(len(e.source), dtype=bool)
    c, r = ~by_rej, by_rej  # each text is built for its own rows only
    cooccurring = _words(
        _q(names[e.pred[c]]),
        " co-occurs with the label ",
        _q(names[e.label[c]]),
        " in ",
        e.count[c],
        f" other images' label sets ({ctx.cooccurrence.name})",
    )
    if not r.any():
        return cooccurring
    assert rej is not None
    lab, pred = e.label[r], e.pred[r]
    rule = ctx.spurious
    proposed = (  # what both kinds of rejection evidence say, then how the rule weighed it
        "models proposed ",
        _q(names[pred]),
        " for ",
        e.count[r],
        " other images labelled ",
        _q(names[lab]),
        " and raters rejected it there (",
        rej.name,
    )
    if rule.rejection == "share":
        rejected = _words(
            *proposed,
            "; ",
            rej.holding[lab] if rule.share_of == "rated" else ctx.cooccurrence.counts[lab, lab],
            " rated" if rule.share_of == "rated" else "",
            f" images hold the label, the rule asks for ≥ {rule.min_share:.0%} of the others)",
        )
    else:
        expected = np.round(rej.expected[lab, pred].astype(np.float64), 1)
        rejected = _words(*proposed, "; chance would give ", expected, ")")
    out = np.empty(len(by_rej), dtype=np.result_type(cooccurring, rejected))
    out[c], out[r] = cooccurring, rejected
    return out


def _nonproto(ctx: Context, p: Pending, from_x: bool) -> StageResult:
    np_ = ctx.nonprototypical
    src = np_.source[p.image]
    x = np.zeros(len(p), dtype=bool) if np_.imagenet_x is None else np_.imagenet_x[p.image]
    claimed = p.alive & (src >= 0) & (x == from_x)
    return StageResult(claimed=claimed, source=np.where(claimed, src, -1).astype(np.int16))


def nonprototypical(ctx: Context, p: Pending) -> StageResult:
    """The image is a known non-prototypical instance (expert annotations)."""
    return _nonproto(ctx, p, False)


def nonprototypical_x(ctx: Context, p: Pending) -> StageResult:
    """ImageNet-X annotates the image with a factor that makes it non-prototypical (texture,
    subcategory, pattern)."""
    return _nonproto(ctx, p, True)


def nonprototypical_reason(ctx: Context, e: Evidence) -> np.ndarray:
    sources = np.asarray(ctx.nonprototypical.sources or ("",), dtype=str)
    return _words("non-prototypical image: ", sources[e.source])


def model_failure(ctx: Context, p: Pending) -> StageResult:
    """None of the above."""
    return StageResult(claimed=p.alive.copy())


def model_failure_reason(ctx: Context, e: Evidence) -> np.ndarray:
    names = ctx.taxonomy.class_names
    return _words(
        _q(names[e.pred]), " shares no superclass, overlap or frequent co-occurrence with any label"
    )
