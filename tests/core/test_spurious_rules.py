"""The spurious-correlation rules (:class:`errata.core.evidence.SpuriousRule`), each on tiny
planted data: co-occurrence at a count, rejected proposals above chance, rejected proposals as
a share of the images holding the label (of the labelled or of the rated images), the
per-image check, and the issue's example rule that combines them (issue 19, item 3)."""

from __future__ import annotations

import numpy as np
import pytest

from errata.core import categories as K
from errata.core.evidence import (
    ABOVE_CHANCE_SPURIOUS,
    DEFAULT_SPURIOUS,
    PUBLISHED_SPURIOUS,
    REJECTED,
    Rejections,
    SpuriousRule,
    make_context,
    rejected_share,
)
from errata.core.pipeline import classify, reasons
from errata.core.sparse import Csr
from tests import planted as P

TAX = P.taxonomy({"A": [10, 11, 12], "B": [20, 21]})
LABEL, PRED, OTHER = 600, 700, 650  # a label, a prediction sharing no superclass, filler


def names(codes: np.ndarray) -> list[str]:
    return [K.NAMES[c] for c in codes.tolist()]


def raters(
    label_of: list[int],
    rejected: dict[int, list[int]],
    answered: dict[int, list[int]] | None = None,
) -> Rejections:
    """Rater evidence over images VAL 1… (image ``k`` holds ``label_of[k]``): raters rejected
    the proposals ``rejected[k]`` and were asked about ``answered[k]`` without rejecting."""
    n = len(label_of)
    return Rejections.of(
        "planted raters",
        np.array([P.VAL.format(1 + k) for k in range(n)]),
        Csr.from_lists([[lab] for lab in label_of]),
        Csr.from_lists([rejected.get(k, []) for k in range(n)]),
        unrejected=Csr.from_lists([(answered or {}).get(k, []) for k in range(n)]),
    )


def run(
    label_sets: list[list[int]],
    preds: list[int],
    rule: SpuriousRule,
    rej: Rejections | None = None,
) -> tuple[list[str], object, object]:
    """Categories of ``preds`` on images VAL 1… with these label sets under ``rule``."""
    labels = P.label_set(label_sets, [s[0] for s in label_sets])
    ctx = make_context(labels, TAX, rejections=rej, spurious=rule)
    res = classify(ctx, np.array(preds))
    return names(res.category[0]), res, ctx


# ---------------------------------------------------------------- co-occurrence at a count
@pytest.mark.parametrize(
    ("min_count", "expected"), [(2, "spurious correlation"), (3, "model failure")]
)
def test_cooccurrence_needs_its_count_of_other_images(min_count: int, expected: str) -> None:
    """LABEL and PRED are both in two other images' label sets: a pair at count 2, not at 3;
    the image being classified never counts for itself."""
    sets = [[LABEL], [LABEL, PRED], [LABEL, PRED], [OTHER]]
    rule = SpuriousRule(name="c", min_cooccurrence=min_count, rejection="none")
    got, res, _ = run(sets, [PRED, PRED, 11, 12], rule)
    # image 0: 2 others; image 1 predicts PRED, one of its labels: correct multi-label
    assert got[0] == expected and got[1] == "correct multi-label"
    assert got[2:] == ["model failure"] * 2  # 11, 12 share nothing with 600 / 650
    if expected == "spurious correlation":
        assert res.errors.count[res.errors.image == 0].tolist() == [2]  # type: ignore[attr-defined]


def test_cooccurrence_inside_a_superclass_is_never_spurious() -> None:
    sets = [[20]] + [[20, 21]] * 5
    got, *_ = run(sets, [21] + [20] * 5, PUBLISHED_SPURIOUS)
    assert got[0] == "fine-grained"


# ---------------------------------------------------------------- rejected above chance
def test_rejected_above_chance_recovers_a_planted_pair() -> None:
    """PRED proposed for and rejected on 3 of the rated images of LABEL, on none of the 97
    others: above chance; one rejection on OTHER's images is chance."""
    label_of = [LABEL] * 3 + [OTHER] * 97
    rej = raters(label_of, {0: [PRED], 1: [PRED], 2: [PRED], 10: [710]})
    rule = SpuriousRule(name="p", min_cooccurrence=3, rejection="poisson")
    # scored: rated image 0 (2 *other* rejections), a rated image of OTHER predicted 710
    got, res, ctx = run([[LABEL], [OTHER]] + [[OTHER]] * 98, [PRED, 710] + [-1] * 98, rule, rej)
    assert got[:2] == ["spurious correlation", "model failure"]
    assert res.errors.count[0] == 2 and res.errors.source[0] == REJECTED  # type: ignore[attr-defined]
    # the same rule without the rejected-proposal part: co-occurrence alone says nothing
    none = SpuriousRule(name="c", min_cooccurrence=3, rejection="none")
    assert (
        run([[LABEL], [OTHER]] + [[OTHER]] * 98, [PRED, 710] + [-1] * 98, none, rej)[0][:2]
        == ["model failure"] * 2
    )


# ---------------------------------------------------------------- rejected share
def test_rejected_share_threshold_by_hand() -> None:
    got = rejected_share(
        np.array([1, 2, 2, 3, 5]), np.array([5, 10, 30, 30, 40]), min_share=0.1, min_rejected=2
    )
    assert got.tolist() == [False, True, False, True, True]


@pytest.mark.parametrize(
    ("share", "min_rejected", "expected"),
    [(0.10, 2, "spurious correlation"), (0.15, 2, "model failure"), (0.10, 3, "model failure")],
)
def test_rejected_share_of_the_labelled_images(
    share: float, min_rejected: int, expected: str
) -> None:
    """20 images hold LABEL (the scored image and 19 others); raters rejected PRED on 2 of the
    others: 2 / 19 ≥ 10 %, < 15 %; 2 images < 3."""
    label_of = [LABEL] * 20 + [OTHER] * 80
    rej = raters(label_of, {1: [PRED], 2: [PRED]})
    rule = SpuriousRule(
        name="r", min_cooccurrence=3, rejection="share", min_share=share, min_rejected=min_rejected
    )
    sets = [[lab] for lab in label_of]
    got, res, ctx = run(sets, [PRED] + [-1] * 99, rule, rej)
    assert got[0] == expected
    if expected == "spurious correlation":
        text = reasons(ctx, res)[0]  # type: ignore[arg-type]
        assert text == (
            "models proposed 'class700' for 2 other images labelled 'class600' and raters "
            "rejected it there (planted raters; 20 images hold the label, the rule asks for "
            "≥ 10% of the others)"
        )


def test_rejected_share_of_the_rated_images() -> None:
    """LABEL is held by 40 labelled images of which only 10 were rated; 2 rejections elsewhere
    are 2 / 9 of the other rated images (≥ 20 %) but 2 / 39 of the labelled ones (< 20 %)."""
    label_of = [LABEL] * 10 + [OTHER] * 90  # the rated images
    rej = raters(label_of, {1: [PRED], 2: [PRED]})
    sets = [[LABEL]] * 40 + [[OTHER]] * 60  # the label set: 30 more images of LABEL, unrated
    common = dict(min_cooccurrence=3, rejection="share", min_share=0.2, min_rejected=2)
    rated = SpuriousRule(name="rated", share_of="rated", **common)  # type: ignore[arg-type]
    labelled = SpuriousRule(name="labelled", share_of="labelled", **common)  # type: ignore[arg-type]
    preds = [PRED] + [-1] * 99
    assert run(sets, preds, rated, rej)[0][0] == "spurious correlation"
    assert run(sets, preds, labelled, rej)[0][0] == "model failure"


# ---------------------------------------------------------------- the per-image check
@pytest.mark.parametrize(
    ("own", "asked_here", "expected"),
    [
        (False, True, "spurious correlation"),
        (True, True, "model failure"),  # asked about PRED here and did not reject it
        (True, False, "spurious correlation"),  # rejected it here (or never asked)
    ],
)
def test_per_image_check(own: bool, asked_here: bool, expected: str) -> None:
    """The pair is spurious by co-occurrence (3 other images); with the check, an image on
    which raters were asked about the prediction and did not reject it is not."""
    sets = [[LABEL]] + [[LABEL, PRED]] * 3 + [[OTHER]] * 6
    label_of = [s[0] for s in sets]
    rej = raters(label_of, {} if asked_here else {0: [PRED]}, {0: [PRED]} if asked_here else {})
    rule = SpuriousRule(name="own", min_cooccurrence=3, rejection="none", own_answer=own)
    got, _, ctx = run(sets, [PRED] + [-1] * 9, rule, rej)
    assert got[0] == expected
    assert "not where raters were asked" in ctx.sources["spurious_rule"] if own else True  # type: ignore[attr-defined]


def test_per_image_check_without_rater_evidence_is_said() -> None:
    sets = [[LABEL]] + [[LABEL, PRED]] * 3
    got, _, ctx = run(sets, [PRED, -1, -1, -1], DEFAULT_SPURIOUS)
    assert got[0] == "spurious correlation"  # co-occurrence alone; the check needs raters
    assert ctx.sources["spurious_rule"].endswith("(no rater evidence given: co-occurrence only)")  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the issue's example
def test_the_issues_example_rule() -> None:
    """No shared superclass and (co-occurrence in ≥ 3 other label sets or rejected on ≥ 10 %
    of the other images holding the label, ≥ 2 images), unless answered here: four planted
    errors, one per clause."""
    rule = SpuriousRule(
        name="example", min_cooccurrence=3, rejection="share", min_share=0.1, own_answer=True
    )
    # images 0-9 hold LABEL; 10-19 hold OTHER; 20-22 hold both OTHER and 710
    sets = [[LABEL]] * 10 + [[OTHER]] * 10 + [[OTHER, 710]] * 3
    label_of = [s[0] for s in sets]
    rej = raters(label_of, {1: [PRED], 2: [PRED]}, {3: [PRED], 11: [710]})
    preds = [PRED, -1, -1, PRED, -1, PRED] + [-1] * 4 + [710, 710, 21] + [-1] * 10
    got, *_ = run(sets, preds, rule, rej)
    assert got[0] == "spurious correlation"  # rejected on 2 of the 9 other images of LABEL
    assert got[3] == "model failure"  # the same, but asked about PRED here and not rejected
    assert got[5] == "spurious correlation"
    assert got[10] == "spurious correlation"  # OTHER & 710 in 3 other label sets
    assert got[11] == "model failure"  # the same pair, answered here
    assert got[12] == "model failure"  # 21 ties to nothing


def test_rule_validation_and_words() -> None:
    with pytest.raises(ValueError, match="rejection"):
        SpuriousRule(rejection="maybe")
    with pytest.raises(ValueError, match="share_of"):
        SpuriousRule(share_of="all")
    with pytest.raises(ValueError):
        SpuriousRule(min_cooccurrence=0)
    assert (
        PUBLISHED_SPURIOUS.describe()
        == "no shared superclass, and co-occur in ≥ 2 other images' label sets"
    )
    assert DEFAULT_SPURIOUS.describe() == (
        "no shared superclass, and co-occur in ≥ 3 other images' label sets or raters rejected "
        "the prediction on ≥ 10% of the other images holding the label (≥ 2 images); not where "
        "raters were asked about the prediction on the image itself and did not reject it"
    )
    assert ABOVE_CHANCE_SPURIOUS.describe() == (
        "no shared superclass, and co-occur in ≥ 3 other images' label sets or raters rejected "
        "the prediction on other images of the label more often than chance (one-sided "
        "Poisson test); not where raters were asked about the prediction on the image itself "
        "and did not reject it"
    )


def test_options_name_a_rule() -> None:
    import errata
    from errata.exceptions import ErrataInputError

    assert errata.Options().spurious_rule is DEFAULT_SPURIOUS
    assert errata.Options(spurious="published").spurious_rule is PUBLISHED_SPURIOUS
    assert errata.Options(spurious="above-chance").spurious_rule is ABOVE_CHANCE_SPURIOUS
    assert errata.Options(spurious="published").record()["spurious"] == "published"
    with pytest.raises(
        ErrataInputError, match="spurious: 'nope' is not one of errata, above-chance, published"
    ):
        errata.Options(spurious="nope")
