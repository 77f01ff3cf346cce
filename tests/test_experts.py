"""Agreement with expert reviewers on the real ViT-3B mistakes (dough-bagel schema)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import errata
from errata.exceptions import ErrataInputError
from errata.experts import expert_agreement


@pytest.fixture(scope="module")
def vit3b(data_dir: Path) -> Path:
    return data_dir / "dough_bagel" / "vit3b_mistakes.json"


def test_fine_grained_rows_agree(vit3b: Path) -> None:
    a = expert_agreement(vit3b, labels="real")
    s = a.summary
    assert s["rows"] == 378
    assert s["counted_correct"] + s["excluded"] + s["errors"] == 378
    fg = s["per_expert_category"]["Fine-grained error"]
    assert fg["agree_share"] >= 0.75  # issue target; measured 0.935
    # the confusion matrix covers every row
    assert int(a.confusion.loc["total", "total"]) == 378


def test_expert_file_is_never_its_own_evidence(vit3b: Path) -> None:
    with pytest.raises(ErrataInputError, match="cannot also be evidence"):
        expert_agreement(vit3b, labels="real", options=errata.Options(experts=(vit3b,)))


def test_cooccurrence_source_can_be_chosen(vit3b: Path) -> None:
    from errata.io.labels import load_labels

    a = expert_agreement(
        vit3b, labels="real", options=errata.Options(cooccurrence=load_labels("original"))
    )
    assert "original" in a.summary["sources"]["cooccurrence"]


def test_cli_json(vit3b: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "errata", "experts", str(vit3b), "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["rows"] == 378 and 0 < out["agreement"] < 1
    spurious = out["per_category"]["spurious_correlation"]
    assert 0 < out["macro_f1"] < 1 and "f1" in spurious
    assert spurious["name"] == "Spurious Correlation"
    assert out["per_expert_category"]["fine_grained_error"]["name"] == "Fine-grained error"
    assert set(out["macro_f1_categories"]) <= set(out["per_category"])
    names = out["matrix_names"]["confusion"]
    assert names["columns"]["fine_grained_error"] == "Fine-grained error"
    assert names["rows"]["fine_grained"] == "fine-grained"
    # the same figures as the Python summary and matrix, under the keys
    a = expert_agreement(vit3b)
    assert (
        out["per_category"]["fine_grained_error"]["both"]
        == (a.summary["per_category"]["Fine-grained error"]["both"])
    )
    assert out["confusion"]["fine_grained_error"]["fine_grained"] == int(
        a.confusion.loc["fine-grained", "Fine-grained error"]
    )
    assert out["confusion"]["total"]["total"] == 378


def test_registry_names_work_for_expert_files(data_dir: Path) -> None:
    """`--experts vit3b-mistakes` and `errata experts vit3b-mistakes`, like `--labels real`."""
    a = expert_agreement("vit3b-mistakes", labels="real")
    assert a.summary["rows"] == 378 and a.summary["errors"] == 229
    b = errata.analyze(
        "cleanlab-resnet50", options=errata.Options(experts=("vit3b-mistakes",), n_resamples=10)
    )
    assert b.summary["categories"]["non-prototypical"]["count"] > 0
    assert b.summary["sources"]["non_prototypical"] == ["expert annotation (vit3b_mistakes.json)"]


def _naive_kappa(a: list[str], b: list[str]) -> float:
    cats = sorted(set(a) | set(b))
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b)) / n
    p_e = sum((a.count(c) / n) * (b.count(c) / n) for c in cats)
    return 1.0 if p_e == 1 else (p_o - p_e) / (1 - p_e)


@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_against_naive(seed: int) -> None:
    import numpy as np

    from errata.core.metrics import cohen_kappa_score

    rng = np.random.default_rng(seed)
    a = rng.choice(["fg", "sp", "np", "mf"], size=40).tolist()
    b = [x if rng.random() < 0.6 else str(rng.choice(["fg", "sp", "np", "mf"])) for x in a]
    assert cohen_kappa_score(np.array(a), np.array(b)) == pytest.approx(_naive_kappa(a, b))
    assert cohen_kappa_score(np.array(a), np.array(a)) == pytest.approx(1.0)


def test_kappa_confusion_and_taxonomies(vit3b: Path) -> None:
    a = expert_agreement(vit3b, labels="real")
    s = a.summary
    conf = a.error_confusion
    # the diagonal of the one-vocabulary confusion is the agreement
    cats = [c for c in conf.index if c != "total" and c in conf.columns]
    diag = sum(int(conf.loc[c, c]) for c in cats)
    assert diag == round(s["agreement"] * s["errors"])
    assert int(conf.loc["total", "total"]) == s["errors"]
    assert 0 < s["cohen_kappa"] < s["agreement"]  # chance-corrected: lower than raw agreement
    fg = s["per_category"]["Fine-grained error"]
    assert fg["recall"] == pytest.approx(
        (
            s["per_expert_category"]["Fine-grained error"]["agree"]
            + s["per_expert_category"]["Fine-grained with Multilabel Options"]["agree"]
        )
        / fg["expert"]
    )
    pey = expert_agreement(vit3b, labels="real", options=errata.Options(taxonomy="peychev2023"))
    assert pey.summary["taxonomy"] == "peychev2023" and s["taxonomy"] == "errata"
    assert pey.summary["errors"] == s["errors"]


def test_cli_unknown_taxonomy_is_one_line(vit3b: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "errata", "experts", str(vit3b), "--taxonomy", "nope"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "error: --taxonomy: 'nope' is not one of errata, peychev2023, supersub10"
    )


def test_published_figures_with_rater_evidence(vit3b: Path) -> None:
    """The docs' ViT-3B figures (ReaL; rejected proposals from ReaL's raters, the default
    when the file is in the data directory; in-sample for errata's taxonomy)."""

    def run(**kw: object) -> dict:
        return expert_agreement(vit3b, labels="real", options=errata.Options(**kw)).summary  # type: ignore[arg-type]

    published = run(proposals=(), spurious="published")  # co-occurrence ≥ 2 alone
    before = run(proposals=())  # the default rule without rater evidence: co-occurrence ≥ 3
    after = run()
    assert round(published["agreement"] * 229) == 143
    assert published["cohen_kappa"] == pytest.approx(0.356, abs=5e-4)
    assert round(before["agreement"] * 229) == 140 and before["cohen_kappa"] == pytest.approx(
        0.340, abs=5e-4
    )
    assert round(after["agreement"] * 229) == 150 and after["cohen_kappa"] == pytest.approx(
        0.4042, abs=5e-4
    )
    assert after["macro_f1"] == pytest.approx(0.361, abs=5e-4)
    spurious = after["per_expert_category"]["Spurious Correlation"]
    assert (spurious["agree"], spurious["errors_under_labels"]) == (20, 39)
    # issue 19: the default's spurious precision meets the 55 % floor (20 of 35; 13 of 29
    # for the published rule), agreement the 65 % floor, and the ResNet-50's spurious share the
    # band floor (benchmarks/spurious_rules.py); the default before ('above-chance'): 24 of 43,
    # 154 agreeing errors, κ 0.4285, at 21.4 % of the ResNet-50's errors
    calls = after["per_category"]["Spurious Correlation"]
    assert (calls["both"], calls["automated"]) == (20, 35) and calls["precision"] >= 0.55
    assert after["agreement"] >= 0.65
    chance = run(spurious="above-chance")
    assert round(chance["agreement"] * 229) == 154 and chance["cohen_kappa"] == pytest.approx(
        0.4285, abs=5e-4
    )
    assert chance["per_category"]["Spurious Correlation"]["both"] == 24
    pub = published["per_category"]["Spurious Correlation"]
    assert (pub["both"], pub["automated"]) == (13, 29)
    assert after["sources"]["spurious_rule"].startswith("errata: ")
    fine = (
        before["per_category"]["Fine-grained error"],
        after["per_category"]["Fine-grained error"],
    )
    assert fine[0]["both"] == fine[1]["both"] == 130  # no expert fine-grained row lost
    assert "ReaL raters" in after["sources"]["rejected_proposals"]
    pey = run(taxonomy="peychev2023")
    assert round(pey["agreement"] * 229) == 123
    assert pey["per_expert_category"]["Fine-grained error"]["agree"] == 107


def test_macro_f1_equals_a_naive_computation(vit3b: Path) -> None:
    """The headline macro-F1 against a row-by-row count over the agreement's own rows (and
    scikit-learn's macro F1 over the same categories)."""
    from errata.experts import explained_categories, shared_vocabulary

    a = expert_agreement(vit3b, labels="real")
    s = a.summary
    auto_voc, expert_voc = shared_vocabulary()
    errors = a.rows[~a.rows["category"].isin(["correct", "correct multi-label", "excluded"])]
    pairs = [
        (auto_voc[c], expert_voc[e]) for c, e in zip(errors["category"], errors["expert_category"])
    ]
    assert len(pairs) == s["errors"] == 229
    f1s = {}
    for cat in explained_categories():
        tp = sum(1 for x, y in pairs if x == cat and y == cat)
        fp = sum(1 for x, y in pairs if x == cat and y != cat)
        fn = sum(1 for x, y in pairs if x != cat and y == cat)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1s[cat] = 2 * p * r / (p + r) if p + r else 0.0
        assert s["per_category"][cat]["f1"] == pytest.approx(f1s[cat])
    assert s["macro_f1"] == pytest.approx(sum(f1s.values()) / len(f1s))
    assert s["macro_f1_categories"] == list(explained_categories())
    assert 0 < s["macro_f1"] < s["agreement"]  # the stages that did not run score 0
    sklearn = pytest.importorskip("sklearn.metrics")
    x, y = zip(*pairs)
    want = sklearn.f1_score(y, x, labels=list(explained_categories()), average="macro")
    assert s["macro_f1"] == pytest.approx(want)


def test_macro_f1_falls_when_every_error_is_called_explained() -> None:
    """Agreement rewards calling every error spurious when the experts have no model failure;
    macro-F1 does not."""
    from errata.experts import macro_f1_score

    expert = np.array(["F", "F", "S", "O", "O", "N"])
    careful = np.array(["F", "F", "S", "model failure", "model failure", "model failure"])
    eager = np.array(["F", "F", "S", "S", "S", "S"])
    cats = ("F", "S", "O", "N")
    assert (eager == expert).mean() == (careful == expert).mean()  # same agreement
    assert macro_f1_score(careful, expert, cats) == pytest.approx(0.5)
    assert macro_f1_score(eager, expert, cats) == pytest.approx((1 + 2 / 5) / 4)


def test_cli_headline_is_macro_f1(vit3b: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "errata", "experts", str(vit3b)],
        capture_output=True,
        text=True,
        env=os.environ | {"COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    head = done.stdout.splitlines()[1]
    assert head.startswith("macro-F1 over the explained categories:")
    assert "agreement on errors" in head and "Cohen's κ" in head
    a = expert_agreement(vit3b, labels="real").summary
    assert f"{100 * a['macro_f1']:.1f} %" in head


def test_limits_count_the_open_world_errors_from_the_rows(vit3b: Path) -> None:
    """The open-world limits: the expert fine-grained-OOV errors and how errata files them,
    counted again from the agreement's rows (not pinned: the stages before it may change)."""
    from errata.experts import shared_vocabulary

    a = expert_agreement(vit3b, labels="real")
    lim = a.summary["limits"]["open_world"]
    auto_voc, expert_voc = shared_vocabulary()
    errors = a.rows[~a.rows["category"].isin(["correct", "correct multi-label", "excluded"])]
    auto = errors["category"].map(auto_voc)
    expert = errors["expert_category"].map(expert_voc)
    oov = expert == "Fine-grained error with OOV"
    assert lim["stage_ran"] is False and lim["errors"] == len(errors) == 229
    assert lim["expert_oov"] == int(oov.sum()) == 34  # the count
    assert lim["filed_as"] == auto[oov].value_counts().to_dict()
    assert (
        sum(lim["filed_as"].values()) == 34 and "Fine-grained error with OOV" not in lim["filed_as"]
    )
    assert lim["disagreements"] == int((auto != expert).sum())
    assert lim["spurious_rejected_oov"] == lim["filed_as"].get("Spurious Correlation", 0)
    assert f"{lim['expert_oov']} of the 229 errors" in lim["note"]
    assert ("largest part" in lim["note"]) is (
        max(lim["disagreements_by_expert_category"].items(), key=lambda kv: kv[1])[0]
        == "Fine-grained error with OOV"
    )
    done = subprocess.run(
        [sys.executable, "-m", "errata", "experts", str(vit3b)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "limits: 34 of the 229 errors are fine-grained OOV" in " ".join(done.stdout.split())


def test_json_keys_that_collide_are_an_error() -> None:
    import pandas as pd

    from errata.experts import Agreement

    m = pd.DataFrame({"a": [1]}, index=["x"])
    summary = {
        "macro_f1_categories": [],
        "per_expert_category": {"Fine-grained": {"rows": 1}, "fine grained": {"rows": 2}},
        "per_category": {},
    }
    a = Agreement(rows=None, confusion=m, error_confusion=m, severity=m, summary=summary)
    with pytest.raises(ValueError, match="share the key 'fine_grained'"):
        a.to_dict()
