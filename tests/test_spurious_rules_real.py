"""The figures of benchmarks/spurious_rules.py's named rules on the real data (issue 19, item 3):
ViT-3B expert errors under ReaL (spurious calls right / made, agreement on errors) and the
reference ResNet-50's spurious and model-failure shares of its multi-label errors, as the README
and benchmarks/RESULTS.md report them; and that the benchmark's decision is the shipped
default."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from errata.core.evidence import (
    ABOVE_CHANCE_SPURIOUS,
    DEFAULT_SPURIOUS,
    PUBLISHED_SPURIOUS,
    SPURIOUS_RULES,
    SpuriousRule,
)

# the example (c3+r10%x2+own): the default since the band floor
EXAMPLE = SpuriousRule(name="example", min_cooccurrence=3, rejection="share", own_answer=True)
OLD_DEFAULT = SpuriousRule(name="before", min_cooccurrence=2, rejection="poisson")

# rule: (spurious right, spurious called, agreeing errors of 229, ResNet-50 spurious %, MF %)
FIGURES = {
    "published": (PUBLISHED_SPURIOUS, (13, 29, 143, "9.6", "50.1")),
    "before": (OLD_DEFAULT, (24, 45, 154, "22.1", "37.7")),
    "above-chance": (ABOVE_CHANCE_SPURIOUS, (24, 43, 154, "21.4", "38.3")),
    "example": (EXAMPLE, (20, 35, 150, "12.4", "47.3")),
    "errata": (DEFAULT_SPURIOUS, (20, 35, 150, "12.4", "47.3")),
}


@pytest.fixture(scope="module")
def bench(data_dir: Path):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import spurious_rules as B

    import errata
    from errata.io.evidence import context
    from errata.io.labels import load_labels

    labels = load_labels("real")
    base = context(labels, errata.Options())
    B.BAND.update(B.resnet_band(labels)[0])  # the third floor's band, as main() sets it
    return B, base, B.vit3b_rows(labels), B.resnet_top1(labels)


@pytest.mark.parametrize("name", list(FIGURES))
def test_named_rules_on_the_real_data(bench, name: str) -> None:  # type: ignore[no-untyped-def]
    from errata.core.evidence import with_spurious

    B, base, rows, stack = bench
    rule, (right, called, agree, spurious, failure) = FIGURES[name]
    ctx = with_spurious(base, rule)
    s = B.scores(B.automated(ctx, rows), rows.expert)
    assert (s["both"], s["said"], round(s["agreement"] * 229)) == (right, called, agree)
    shares = B.shares(ctx, stack)
    assert shares["errors"] == 10485
    got = (f"{shares['spurious correlation']:.1f}", f"{shares['model failure']:.1f}")
    assert got == (spurious, failure)


def test_the_band_is_errata_s_own(bench) -> None:  # type: ignore[no-untyped-def]
    """The third floor's band is the one `errata analyze` reports for the ResNet-50 (4.7–5.7 %,
    ≤ 12.3 % with the OOV share; model failure 47.2–52.5 %), and the limit is 0.5 above."""
    B = bench[0]
    got = {k: tuple(f"{v:.1f}" for v in b) for k, b in B.BAND.items()}
    assert got == {
        "spurious correlation": ("4.7", "5.7", "12.3"),
        "model failure": ("47.2", "52.5", "58.7"),
    }
    assert f"{B.band_limit():.1f}" == "12.8"
    assert B.in_band({"spurious correlation": 12.4}) and not B.in_band({"spurious correlation": 13})


def test_the_default_meets_the_floors_and_is_the_benchmarks_choice(bench) -> None:  # type: ignore[no-untyped-def]
    """The shipped default is the benchmark's choice (rerun here on a smaller family around it:
    the rule of highest macro-F1 under the three floors is DEFAULT_SPURIOUS), and meets all
    three; the default before, 'above-chance', has a higher macro-F1 and fails the band."""
    from errata.core.evidence import with_spurious

    B, base, rows, stack = bench
    assert dataclasses.replace(EXAMPLE, name="errata") == DEFAULT_SPURIOUS
    family = [ABOVE_CHANCE_SPURIOUS] + [
        dataclasses.replace(
            DEFAULT_SPURIOUS, name=f"c{k}+r{s:.0%}", min_cooccurrence=k, min_share=s
        )
        for k in (2, 3, 4, 5)
        for s in (0.05, 0.10, 0.15)
    ]
    ctxs = [with_spurious(base, r) for r in family]
    autos = np.array([B.automated(c, rows) for c in ctxs])
    ok = np.array([B.in_band(B.shares(c, stack)) for c in ctxs])
    everything = np.ones(len(rows.pred), dtype=bool)
    pick = B.choose(autos, rows.expert, everything, ok)
    assert family[pick] == dataclasses.replace(DEFAULT_SPURIOUS, name=family[pick].name)
    s = B.scores(autos[pick], rows.expert)
    assert B.feasible(s, bool(ok[pick]))
    assert B.choose(autos, rows.expert, everything) == 0 and not ok[0]  # without the band floor
    assert SPURIOUS_RULES["above-chance"] is ABOVE_CHANCE_SPURIOUS


def test_experts_state_where_the_rule_departs(data_dir: Path, bench) -> None:  # type: ignore[no-untyped-def]
    """`errata experts` says where the default's spurious rule departs from the published one,
    with both rules' figures measured on the rows, and the ResNet-50 price as pinned above."""
    import errata
    from errata import experts as X

    vit3b = data_dir / "dough_bagel" / "vit3b_mistakes.json"
    a = X.expert_agreement(vit3b, labels="real")
    d = X.spurious_departure(vit3b, a, labels="real")
    assert d is not None and d["rule"] == "errata"
    assert (d["this"]["right"], d["this"]["called"]) == (20, 35)
    assert (d["published"]["right"], d["published"]["called"]) == (13, 29)
    assert "precision 57.1 %" in d["text"] and "precision 44.8 %" in d["text"]
    price = X.RESNET50_SPURIOUS
    spurious = bench[0].BAND["spurious correlation"]  # errata's band code, not a copy
    assert (f"{price['band'][0]:.1f}", f"{price['band'][1]:.1f}", f"{price['with_oov']:.1f}") == (
        tuple(f"{v:.1f}" for v in spurious)
    )
    assert tuple(f"{price[k]:.1f}" for k in ("errata", "above-chance", "published")) == tuple(
        FIGURES[k][1][3] for k in ("errata", "above-chance", "published")
    )
    assert "12.4 %" in d["text"] and "21.4 %" in d["text"] and "4.7–5.7 %" in d["text"]
    published = errata.Options(spurious="published", proposals=())
    a = X.expert_agreement(vit3b, labels="real", options=published)
    assert X.spurious_departure(vit3b, a, labels="real", options=published) is None
