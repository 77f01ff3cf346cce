"""The error pipeline on a tiny planted taxonomy: one error of each category is planted and must
be recovered with its evidence; plus the pipeline's invariance properties (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errata import errors as E
from errata.labels import LabelSet

VAL = "ILSVRC2012_val_{:08d}.JPEG"


def planted_taxonomy() -> E.TaxonomyArrays:
    overlap = np.zeros((1000, 1000), dtype=bool)
    overlap[30, 31] = True
    members = np.zeros((1000, 3), dtype=bool)
    members[[10, 11, 12], 0] = True
    members[[20, 21], 1] = True
    members[[40, 41], 2] = True
    lca = np.full((1000, 1000), 9.0, dtype=np.float32)
    np.fill_diagonal(lca, 0)
    lca[10, 11] = lca[11, 10] = 1
    groups = {"wordnet": np.array(["organism"] * 500 + ["artifact"] * 500, dtype=object)}
    return E.TaxonomyArrays(
        overlap=overlap,
        superclass_members=members,
        superclass_names=["A", "B", "C"],
        lca_height=lca,
        groups=groups,
    )


def label_set(
    correct: list[list[int]],
    original: list[int],
    problematic=None,  # type: ignore[no-untyped-def]
    unclear=None,
) -> LabelSet:
    n = len(correct)
    mat = np.zeros((n, 1000), dtype=bool)
    unc = np.zeros((n, 1000), dtype=bool)
    for i, row in enumerate(correct):
        mat[i, row] = True
    for i, row in enumerate(unclear or []):
        unc[i, row] = True
    return LabelSet(
        name="planted",
        file_names=np.array([VAL.format(i + 1) for i in range(n)], dtype=object),
        correct=mat,
        unclear=unc,
        problematic=np.array(problematic or [False] * n, dtype=bool),
        original=np.array(original, dtype=np.int16),
    )


def naive_source(labels: LabelSet) -> E.CooccurrenceSource:
    sets = labels.multi_labels.copy()
    sets[np.arange(len(labels)), labels.original] = True
    sets[~labels.evaluated] = False
    counts = sets.T.astype(np.int32) @ sets.astype(np.int32)
    return E.CooccurrenceSource(
        name="planted", counts=counts, sets=sets, file_names=labels.file_names
    )


# image: (labels, original, prediction, expected category)
PLANTED = [
    ([10], 10, 11, E.FINE),
    ([30], 30, 31, E.OVERLAP),
    ([60], 60, 70, E.SPURIOUS),  # 60 & 70 co-occur in images 5 and 6
    ([80], 80, 90, E.NONPROTO),  # image 4 is non-prototypical by the expert file
    ([100], 100, 200, E.FAILURE),
    ([60, 70], 60, 70, E.CORRECT_MULTI),
    ([60, 70], 60, 60, E.CORRECT),
    ([100], 100, 300, E.EXCLUDED),  # problematic
    ([50], 52, 52, E.FAILURE),  # original label rejected; (50, 52) co-occur only here +1
    ([50, 52], 50, 50, E.CORRECT),
    ([], 5, 6, E.EXCLUDED),  # empty label set
    ([40, 10], 40, 21, E.FAILURE),  # 21 is in B; neither label is
    ([40, 10], 40, 12, E.FINE),  # via the second label, 10
]


@pytest.fixture()
def planted(tmp_path: Path):  # type: ignore[no-untyped-def]
    labels = label_set(
        [p[0] for p in PLANTED],
        [p[1] for p in PLANTED],
        problematic=[i == 7 for i in range(len(PLANTED))],
    )
    expert = tmp_path / "experts.json"
    expert.write_text(
        json.dumps(
            {
                VAL.format(4): {
                    "top_prediction": 90,
                    "failure category": "Non-prototypical",
                    "failure severity": "Major",
                }
            }
        )
    )
    ctx = E.build_context(
        labels,
        taxonomy=planted_taxonomy(),
        cooccurrence=naive_source(labels),
        expert_files=[expert],
    )
    top1 = np.array([p[2] for p in PLANTED])
    return ctx, top1


def test_each_planted_category_is_recovered(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    res = E.classify(ctx, top1)
    got = [E.CATEGORIES[c] for c in res.category[0]]
    assert got == [p[3] for p in PLANTED]


def test_evidence_and_reasons(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    res = E.classify(ctx, top1)
    assert res.label[0, 0] == 10 and res.label[0, 1] == 30 and res.label[0, 12] == 10
    assert res.label[0, 2] == 60 and res.count[0, 2] == 2
    rows = np.array([0, 1, 2, 3, 4, 12])
    text = E.reasons(ctx, res, top1, rows)
    assert "superclass 'A'" in text[0] and "overlaps the label" in text[1]
    assert "in 2 other images" in text[2] and "expert annotation (experts.json)" in text[3]
    assert "shares no superclass" in text[4] and "superclass 'A'" in text[5]
    assert res.severity[0, 0] == 1 and np.isnan(res.severity[0, 6])


def test_leave_one_out_matters(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    # image 8 (labels {50}, original 52, predicted 52): (50, 52) co-occur in image 9 and in image 8
    # itself; only one *other* image, so it is not a spurious correlation
    assert ctx.cooc.counts[50, 52] == 2
    res = E.classify(ctx, top1)
    assert E.CATEGORIES[res.category[0, 8]] == E.FAILURE


def test_stack_equals_one_at_a_time(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    rng = np.random.default_rng(0)
    stack = np.stack([top1, rng.integers(0, 120, len(top1)), np.roll(top1, 1)])
    together = E.classify(ctx, stack).category
    for j in range(3):
        assert (together[j] == E.classify(ctx, stack[j]).category[0]).all()


def test_summary_counts_and_variants(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted
    res = E.classify(ctx, top1)
    s = E.summarize(ctx, res)
    assert s["errors"] == 8 and s["excluded"] == 2
    assert s["categories"][E.FINE]["count"] == 2 and s["categories"][E.OOV]["status"] == "not run"
    v = s["mla_variants"]
    assert (
        v["mla"]["value"]
        <= v["mla_overlap"]["value"]
        <= v["mla_minor"]["value"]
        <= v["mla_explainable"]["value"]
    )
    assert sum(g["images"] for g in s["groups"]["wordnet"].values()) == len(PLANTED)


# --- properties ------------------------------------------------------------------------------

N_CLS = 24  # classes used by the generated cases (a corner of the 1000)


@st.composite
def cases(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(3, 25))
    sets = [
        draw(st.lists(st.integers(0, N_CLS - 1), min_size=1, max_size=3, unique=True))
        for _ in range(n)
    ]
    original = [s[0] if draw(st.booleans()) else draw(st.integers(0, N_CLS - 1)) for s in sets]
    preds = draw(st.lists(st.integers(0, N_CLS - 1), min_size=n, max_size=n))
    return sets, original, np.array(preds)


def tax_small() -> E.TaxonomyArrays:
    t = planted_taxonomy()
    members = np.zeros((1000, 4), dtype=bool)
    members[0:6, 0] = members[6:12, 1] = members[10:16, 2] = members[16:20, 3] = True
    overlap = np.zeros((1000, 1000), dtype=bool)
    overlap[20, 21] = overlap[21, 20] = True
    rng = np.random.default_rng(1)
    lca = rng.integers(1, 10, (1000, 1000)).astype(np.float32)
    lca = np.minimum(lca, lca.T)
    np.fill_diagonal(lca, 0)
    return E.TaxonomyArrays(
        overlap=overlap,
        superclass_members=members,
        superclass_names=["a", "b", "c", "d"],
        lca_height=lca,
        groups=t.groups,
    )


TAX = tax_small()


def run(sets, original, preds, expert=None):  # type: ignore[no-untyped-def]
    labels = label_set(sets, original)
    ctx = E.build_context(labels, taxonomy=TAX, cooccurrence=naive_source(labels))
    return E.classify(ctx, preds)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_one_category_per_image_and_order_invariance(case) -> None:  # type: ignore[no-untyped-def]
    sets, original, preds = case
    res = run(sets, original, preds)
    assert res.category.shape == (1, len(sets))
    assert E.category_counts(res.category).sum() == len(sets)
    perm = np.random.default_rng(len(sets)).permutation(len(sets))
    res_p = run([sets[i] for i in perm], [original[i] for i in perm], preds[perm])
    assert (res_p.category[0] == res.category[0][perm]).all()
    assert np.array_equal(res_p.severity[0], res.severity[0][perm], equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(cases())
def test_predicting_a_label_everywhere_has_no_errors(case) -> None:  # type: ignore[no-untyped-def]
    sets, original, _ = case
    res = run(sets, original, np.array([s[-1] for s in sets]))
    assert set(res.category[0].tolist()) <= {E.CODE[E.CORRECT], E.CODE[E.CORRECT_MULTI]}


def rank(code: int) -> int:
    return 0 if code in (E.CODE[E.CORRECT], E.CODE[E.CORRECT_MULTI]) else code


@settings(max_examples=60, deadline=None)
@given(cases(), st.data())
def test_adding_labels_never_increases_severity(case, data) -> None:  # type: ignore[no-untyped-def]
    sets, original, preds = case
    i = data.draw(st.integers(0, len(sets) - 1))
    extra = data.draw(st.integers(0, N_CLS - 1))
    more = [list(s) for s in sets]
    if extra not in more[i]:
        more[i].append(extra)
    before = run(sets, original, preds)
    after = run(more, original, preds)
    assert rank(after.category[0, i]) <= rank(before.category[0, i])
    b, a = before.severity[0, i], after.severity[0, i]
    assert np.isnan(a) or (not np.isnan(b) and a <= b)


def test_pluggable_oov_stage_claims_with_its_reason(planted) -> None:  # type: ignore[no-untyped-def]
    ctx, top1 = planted

    def oov(ctx_, pending):  # type: ignore[no-untyped-def]
        claimed = pending.pred == 90  # the planted non-prototypical image's prediction
        text = np.where(claimed, "CLIP chose 'sled dog' (not an ImageNet class)", "")
        return E.StageResult(claimed=claimed, text=text.astype(object))

    import dataclasses

    ctx = dataclasses.replace(ctx, oov=oov)
    res = E.classify(ctx, top1)
    assert E.CATEGORIES[res.category[0, 3]] == E.OOV  # OOV precedes non-prototypical
    assert E.reasons(ctx, res, top1, np.array([3]))[0].startswith("CLIP chose 'sled dog'")
    assert E.summarize(ctx, res)["categories"][E.OOV] == {"count": 1, "share": 1 / 8}


def test_context_take_equals_the_full_context_on_those_rows(planted) -> None:  # type: ignore[no-untyped-def]
    """A subset context (used by `errata experts`) classifies as the full one, open-world stage
    included: the stage still sees the images' rows in the full set."""
    import dataclasses

    ctx, top1 = planted

    def oov(ctx_, pending):  # type: ignore[no-untyped-def]
        claimed = pending.image == 4  # image 4 of the *full* set (a model failure otherwise)
        return E.StageResult(claimed=claimed, text=np.where(claimed, "oov", "").astype(object))

    ctx = dataclasses.replace(ctx, oov=oov)
    full = E.classify(ctx, top1).category[0]
    rows = np.array([4, 0, 2, 3])
    sub = E.classify(ctx.take(rows), top1[rows]).category[0]
    assert (sub == full[rows]).all()
    assert E.CATEGORIES[sub[0]] == E.OOV
