"""The error pipeline on a tiny planted taxonomy: one error of each category is planted and must
be recovered with its evidence and reason; plus the pipeline's invariance properties, run over
every category of the registry (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errata.core import categories as K
from errata.core.pipeline import NOT_PREDICTED, Classifier, classify, reasons
from errata.core.scoring import make_scores, tally
from tests import planted as P

TAX = P.taxonomy({"A": [10, 11, 12], "B": [20, 21], "C": [40, 41]}, overlap=[(30, 31)])

# image: (labels, original, prediction, expected category)
PLANTED = [
    ([10], 10, 11, "fine-grained"),
    ([30], 30, 31, "overlapping classes"),
    ([60], 60, 70, "spurious correlation"),  # 60 & 70 co-occur in images 5 and 6
    ([80], 80, 90, "non-prototypical"),  # image 3 is non-prototypical (expert file)
    ([100], 100, 200, "model failure"),
    ([60, 70], 60, 70, "correct multi-label"),
    ([60, 70], 60, 60, "correct"),
    ([100], 100, 300, "excluded"),  # problematic
    ([50], 52, 52, "model failure"),  # original label rejected; (50, 52) co-occur here + once
    ([50, 52], 50, 50, "correct"),
    ([], 5, 6, "excluded"),  # empty label set
    ([40, 10], 40, 21, "model failure"),  # 21 is in B; neither label is
    ([40, 10], 40, 12, "fine-grained"),  # via the second label, 10
    ([120], 120, 121, "non-prototypical (ImageNet-X)"),
]


@pytest.fixture()
def planted():  # type: ignore[no-untyped-def]
    labels = P.label_set(
        [p[0] for p in PLANTED],
        [p[1] for p in PLANTED],
        problematic=[i == 7 for i in range(len(PLANTED))],
    )
    ctx = P.context(
        labels,
        TAX,
        nonproto={3: "expert annotation (experts.json)"},
        imagenet_x={13: "ImageNet-X top factor 'pose'"},
        cooccurrence=P.naive_cooccurrence(labels),
    )
    return ctx, np.array([p[2] for p in PLANTED])


def names(codes: np.ndarray) -> list[str]:
    return [K.NAMES[c] if c >= 0 else "not predicted" for c in codes.tolist()]


def test_each_planted_category_is_recovered(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    res = classify(ctx, top1)
    assert names(res.category[0]) == [p[3] for p in PLANTED]
    planted_errors = {p[3] for p in PLANTED} & {c.name for c in K.ERRORS}
    # every error category of the registry but the open-world one is planted here
    assert planted_errors == {c.name for c in K.ERRORS} - {"fine-grained OOV"}


def test_evidence_and_reasons(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    res = classify(ctx, top1)
    e = res.errors
    by_image = {int(i): j for j, i in enumerate(e.image)}
    assert e.label[by_image[0]] == 10 and e.label[by_image[1]] == 30
    assert e.label[by_image[12]] == 10
    assert e.label[by_image[2]] == 60 and e.count[by_image[2]] == 2
    text = reasons(ctx, res)
    got = {int(i): t for i, t in zip(e.image, text)}
    assert got[0] == "'class11' and the label 'class10' are both in superclass 'A'"
    assert got[1] == "'class31' overlaps the label 'class30' (duplicate classes)"
    assert (
        got[2]
        == "'class70' co-occurs with the label 'class60' in 2 other images' label sets (planted)"
    )
    assert got[3] == "non-prototypical image: expert annotation (experts.json)"
    assert got[4].startswith("'class200' shares no superclass")
    assert got[13] == "non-prototypical image: ImageNet-X top factor 'pose'"
    assert e.severity[by_image[0]] == 9  # the planted LCA table: 9 off the diagonal


def test_leave_one_out_matters(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    # image 8 (labels {50}, original 52, predicted 52): (50, 52) co-occur in image 9 and in image
    # 8 itself; only one *other* image, so it is not a spurious correlation
    assert ctx.cooccurrence.counts[50, 52] == 2
    assert K.NAMES[classify(ctx, top1).category[0, 8]] == "model failure"


def test_leave_one_out_from_another_label_set(planted) -> None:  # type: ignore[no-untyped-def]
    """Counts from a different set: the image's own row there is subtracted by name."""
    ctx, top1 = planted
    other = P.label_set([[50, 52], [50, 52]], [50, 50], names=[P.VAL.format(9), "x.jpg"])
    ctx2 = P.context(ctx.labels, TAX, cooccurrence=P.naive_cooccurrence(other))
    assert ctx2.cooc_rows[8] == 0  # image 8 is row 0 of the other set
    res = classify(ctx2, top1)
    # (50, 52) co-occur in 2 images of the other set, one of them image 8 itself
    assert K.NAMES[res.category[0, 8]] == "model failure"


def test_stack_equals_one_at_a_time_and_memo_equals_none(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    rng = np.random.default_rng(0)
    stack = np.stack([top1, rng.integers(0, 130, len(top1)), np.roll(top1, 1), top1])
    together = classify(ctx, stack)
    memo = Classifier(ctx)
    halves = [memo(stack[:2]), memo(stack[2:])]
    for j in range(4):
        alone = classify(ctx, stack[j])
        assert (together.category[j] == alone.category[0]).all()
        assert (halves[j // 2].category[j % 2] == alone.category[0]).all()
        sel = together.errors.model == j
        one = alone.errors
        order = np.argsort(together.errors.image[sel], kind="stable")
        for f in ("image", "pred", "code", "label", "count", "source"):
            assert (getattr(together.errors, f)[sel][order] == getattr(one, f)).all(), f


def test_missing_predictions_take_no_part(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    partial = top1.copy()
    partial[[0, 4]] = -1
    res = classify(ctx, partial)
    assert (res.category[0, [0, 4]] == NOT_PREDICTED).all()
    full = classify(ctx, top1).category[0]
    keep = np.setdiff1d(np.arange(len(top1)), [0, 4])
    assert (res.category[0, keep] == full[keep]).all()


def test_summary_counts_and_variants(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    res = classify(ctx, top1)
    zero = np.zeros((1, 2, 1000), dtype=np.int64)
    s = make_scores(
        ctx.labels, ["m"], tally(ctx.labels, res, topk_hits=zero, topk_n=zero), context=ctx
    ).summary(0)
    assert s["errors"] == 9 and s["excluded"] == 2
    assert s["categories"]["fine-grained"]["count"] == 2
    assert s["categories"]["fine-grained OOV"]["status"].startswith("not run")
    v = [s["mla_variants"][k]["value"] for k in K.mla_variants()]
    assert v == sorted(v)
    assert sum(g["images"] for g in s["groups"]["wordnet"].values()) == len(PLANTED)


def test_pluggable_oov_stage_claims_with_its_reason(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted

    def oov(image, pred):  # type: ignore[no-untyped-def]
        claimed = pred == 90  # the planted non-prototypical image's prediction
        return claimed, np.where(claimed, "CLIP chose 'sled dog' (not an ImageNet class)", "")

    ctx = P.context(ctx.labels, TAX, nonproto={3: "x"}, oov=oov, cooccurrence=ctx.cooccurrence)
    res = classify(ctx, top1)
    assert K.NAMES[res.category[0, 3]] == "fine-grained OOV"  # OOV precedes non-prototypical
    row = int(np.flatnonzero(res.errors.image == 3)[0])
    assert reasons(ctx, res, np.array([row]))[0].startswith("CLIP chose 'sled dog'")


# --- properties, over every category of the registry -----------------------------------------

N_CLS = 24  # classes used by the generated cases (a corner of the 1000)
TAX_SMALL = P.taxonomy(
    {"a": range(0, 6), "b": range(6, 12), "c": range(10, 16), "d": range(16, 20)},
    overlap=[(20, 21), (21, 20)],
    lca=np.minimum(*(lambda m: (m, m.T))(np.random.default_rng(1).integers(1, 10, (1000, 1000))))
    * (1 - np.eye(1000, dtype=np.int64)),
)


@st.composite
def cases(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(3, 25))
    sets = [
        draw(st.lists(st.integers(0, N_CLS - 1), min_size=1, max_size=3, unique=True))
        for _ in range(n)
    ]
    original = [s[0] if draw(st.booleans()) else draw(st.integers(0, N_CLS - 1)) for s in sets]
    preds = draw(st.lists(st.integers(0, N_CLS - 1), min_size=n, max_size=n))
    nonproto = draw(st.sets(st.integers(0, n - 1), max_size=2))
    return sets, original, np.array(preds), nonproto


def run(sets, original, preds, nonproto=frozenset()):  # type: ignore[no-untyped-def]
    labels = P.label_set(sets, original)
    ctx = P.context(labels, TAX_SMALL, nonproto={i: "expert" for i in nonproto})
    return ctx, classify(ctx, preds)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_one_category_per_image_and_order_invariance(case) -> None:  # type: ignore[no-untyped-def]
    sets, original, preds, nonproto = case
    _, res = run(sets, original, preds, nonproto)
    assert res.category.shape == (1, len(sets))
    assert ((res.category >= 0) & (res.category < len(K.CATEGORIES))).all()
    perm = np.random.default_rng(len(sets)).permutation(len(sets))
    _, res_p = run(
        [sets[i] for i in perm],
        [original[i] for i in perm],
        preds[perm],
        {int(np.flatnonzero(perm == i)[0]) for i in nonproto},
    )
    assert (res_p.category[0] == res.category[0][perm]).all()


@settings(max_examples=40, deadline=None)
@given(cases())
def test_predicting_a_label_everywhere_has_no_errors(case) -> None:  # type: ignore[no-untyped-def]
    sets, original, _, nonproto = case
    _, res = run(sets, original, np.array([s[-1] for s in sets]), nonproto)
    assert set(res.category[0].tolist()) <= set(K.CORRECT_CODES)


def rank(code: int) -> int:
    return 0 if code in K.CORRECT_CODES else code


@settings(max_examples=60, deadline=None)
@given(cases(), st.data())
def test_adding_labels_never_increases_severity(case, data) -> None:  # type: ignore[no-untyped-def]
    sets, original, preds, nonproto = case
    i = data.draw(st.integers(0, len(sets) - 1))
    extra = data.draw(st.integers(0, N_CLS - 1))
    more = [list(s) for s in sets]
    if extra not in more[i]:
        more[i].append(extra)
    _, before = run(sets, original, preds, nonproto)
    _, after = run(more, original, preds, nonproto)
    assert rank(after.category[0, i]) <= rank(before.category[0, i])


@settings(max_examples=60, deadline=None)
@given(cases())
def test_every_error_has_its_categorys_evidence_and_a_reason(case) -> None:  # type: ignore[no-untyped-def]
    """For each registered error category: its rows carry the evidence its stage promises, and
    its reason function gives every row non-empty words."""
    sets, original, preds, nonproto = case
    ctx, res = run(sets, original, preds, nonproto)
    e = res.errors
    text = reasons(ctx, res)
    assert len(text) == len(e) and all(text)
    for cat in K.ERRORS:
        sel = e.code == K.CODE[cat.name]
        if cat.name in ("overlapping classes", "fine-grained", "spurious correlation"):
            assert (e.label[sel] >= 0).all()
            if cat.name == "fine-grained":
                assert TAX_SMALL.same_superclass[e.label[sel], e.pred[sel]].all()
        if cat.name == "spurious correlation":
            assert (e.count[sel] >= ctx.cooccurrence.min_count).all()
        if cat.name == "non-prototypical":
            assert (ctx.nonprototypical.source[e.image[sel]] >= 0).all()
    assert (e.code >= 0).all()  # the last stage claims whatever is left


# ------------------------------------------------------------------ rejected proposals (raters)
def _rejections(n_images: int, planted_pairs: dict[int, list[int]], label_of: list[int]):  # type: ignore[no-untyped-def]
    """A rater source over ``n_images`` images (names VAL 101…): image ``k`` holds label
    ``label_of[k]`` and raters rejected the proposals ``planted_pairs.get(k, [])``."""
    from errata.core.evidence import Rejections
    from errata.core.sparse import Csr

    names = np.array([P.VAL.format(101 + k) for k in range(n_images)])
    sets = Csr.from_lists([[lab] for lab in label_of])
    rejected = Csr.from_lists([planted_pairs.get(k, []) for k in range(n_images)])
    return Rejections.of("planted raters", names, sets, rejected)


def test_rejected_proposals_recover_a_planted_spurious_pair() -> None:
    """Models proposed 700 for 3 images labelled 600 (and for nothing else among 200) and raters
    rejected it: predicting 700 on another image of 600 is a spurious correlation; one
    rejected proposal is chance, and the image's own rejection never counts (the rule that
    tests rejections against chance, 'above-chance')."""
    from errata.core.pipeline import classify, reasons
    from errata.core.stages import REJECTED

    label_of = [600] * 3 + [650] * 197
    rej = _rejections(200, {0: [700], 1: [700], 2: [700], 10: [710]}, label_of)
    assert rej.counts[600, 700] == 3 and rej.threshold[600, 700] == 2
    assert rej.threshold[650, 710] >= 2 and rej.counts[650, 710] == 1
    # the images being scored: a fresh image of 600 predicted 700; an image of 650 predicted
    # 710 (one rejection: chance); rater image 0 itself (600, predicted 700: 2 *other* images)
    labels = P.label_set(
        [[600], [650], [600]],
        [600, 650, 600],
        names=[P.VAL.format(1), P.VAL.format(2), P.VAL.format(101)],
    )
    from errata.core.evidence import ABOVE_CHANCE_SPURIOUS, make_context

    ctx = make_context(labels, TAX, rejections=rej, spurious=ABOVE_CHANCE_SPURIOUS)
    res = classify(ctx, np.array([700, 710, 700]))
    assert names(res.category[0]) == [
        "spurious correlation",
        "model failure",
        "spurious correlation",
    ]
    e = res.errors
    by_image = {int(i): j for j, i in enumerate(e.image)}
    assert e.count[by_image[0]] == 3 and e.count[by_image[2]] == 2  # leave-one-out
    assert e.source[by_image[0]] == REJECTED
    text = dict(zip(e.image.tolist(), reasons(ctx, res)))
    assert text[0] == (
        "models proposed 'class700' for 3 other images labelled 'class600' and raters rejected "
        "it there (planted raters; chance would give 0.0)"
    )
    # without the rater evidence the same errors are model failures
    plain = classify(make_context(labels, TAX), np.array([700, 710, 700]))
    assert names(plain.category[0]) == ["model failure"] * 3


def test_rejected_pairs_inside_a_superclass_are_never_spurious() -> None:
    from errata.core.evidence import make_context
    from errata.core.pipeline import classify

    rej = _rejections(50, {k: [21] for k in range(10)}, [20] * 10 + [650] * 40)
    labels = P.label_set([[20]], [20])
    res = classify(make_context(labels, TAX, rejections=rej), np.array([21]))
    assert names(res.category[0]) == ["fine-grained"]  # 20 and 21 share superclass B


def test_poisson_thresholds_against_naive() -> None:
    import math

    from errata.core.evidence import poisson_thresholds

    lams = np.array([0.0, 0.01, 0.3, 1.0, 2.5, 7.0, 20.0])
    got = poisson_thresholds(lams, 0.01).tolist()

    def sf(lam: float, k: int) -> float:
        return 1 - sum(math.exp(-lam) * lam**j / math.factorial(j) for j in range(k))

    for lam, k in zip(lams.tolist(), got):
        assert k >= 2 and sf(lam, k) < 0.01 and (k == 2 or sf(lam, k - 1) >= 0.01), (lam, k)


@pytest.mark.parametrize("heights", ["integer", "fractional"])
def test_memo_keeps_every_field_of_every_verdict(planted, heights) -> None:  # type: ignore[no-untyped-def]
    """The memo's records give back each verdict exactly — every evidence field, the note's
    text and the severity (integer LCA heights in the narrow record, fractional ones in the
    wide) — across batches that grow its store several times."""
    import dataclasses

    ctx, top1 = planted
    rng = np.random.default_rng(1)
    lca = rng.integers(0, 19, (1000, 1000)).astype(np.int16)
    if heights == "fractional":  # not exact in float16 (1/3, 1e-3 steps): the wide record
        lca = lca.astype(np.float32) / 3 + rng.integers(0, 1000, (1000, 1000)) * 1e-3
    np.fill_diagonal(lca, 0)
    ctx = dataclasses.replace(ctx, taxonomy=dataclasses.replace(ctx.taxonomy, lca_height=lca))
    memo = Classifier(ctx)
    for _ in range(6):  # ~ 6 × 40 × 14 predictions over 130 classes: thousands of pairs
        stack = np.where(rng.random((40, len(top1))) < 0.3, top1, rng.integers(0, 130, (40, 14)))
        got, want = memo(stack), classify(ctx, stack)
        assert (got.category == want.category).all()
        for f in ("model", "image", "pred", "code", "label", "count", "source"):
            assert np.array_equal(getattr(got.errors, f), getattr(want.errors, f)), f
        assert got.errors.severity.dtype == np.float32
        assert np.array_equal(got.errors.severity, want.errors.severity, equal_nan=True)
        text = [np.asarray([*r.notes, None], dtype=object)[r.errors.note] for r in (got, want)]
        assert text[0].tolist() == text[1].tolist()
    assert memo._size > 1024  # the store grew past its first allocation
