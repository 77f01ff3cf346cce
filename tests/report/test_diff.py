"""Two models: the transition matrix, fixed and introduced errors against a naive count."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from errata.core import categories as K
from errata.report.diff import diff_report, model_diff
from tests.report._page import column, table_data
from tests.report.conftest import synthetic_analysis


def test_diff_counts_match_a_naive_comparison(small_analysis, tmp_path: Path) -> None:
    b = synthetic_analysis(name="better", seed=3, accuracy=0.85)
    d = model_diff(small_analysis, b)
    ca = small_analysis.classified.category[0].tolist()
    cb = b.classified.category[0].tolist()
    ok = set(K.CORRECT_CODES)
    err = set(K.ERROR_CODES)
    ex = K.EXCLUDED
    pairs = [(x, y) for x, y in zip(ca, cb, strict=False) if x != ex and y != ex]
    assert d.summary["images"] == len(pairs) == int(d.transitions.to_numpy().sum())
    assert d.summary["fixed"] == sum(x in err and y in ok for x, y in pairs)
    assert d.summary["introduced"] == sum(x in ok and y in err for x, y in pairs)
    assert d.summary["recategorised"] == sum(x in err and y in err and x != y for x, y in pairs)
    i, j = K.CODE["model failure"], K.CODE["correct"]
    assert d.transitions.iloc[i, j] == sum(x == i and y == j for x, y in pairs)
    fixed = d.changes[d.changes["change"] == "fixed"]
    assert set(fixed["category_b"]) <= {"correct", "correct multi-label"}
    # against itself nothing changes
    same = model_diff(small_analysis, small_analysis)
    assert len(same.changes) == 0
    assert np.trace(same.transitions.to_numpy()) == same.summary["images"]

    html = diff_report(d, tmp_path / "d.html", plots=tmp_path / "p")["report"].read_text()
    data = table_data(html, "changes-data")
    assert column(data, "change").count("fixed") == d.summary["fixed"]
    assert (tmp_path / "p" / "transitions.svg").exists()


def test_diff_mcnemar_counts_and_p_values(small_analysis) -> None:
    """The discordant images of both paired tests, counted image by image, and their p-values
    from a naive exact binomial sum."""
    from tests.core.test_paired import naive_p

    b = synthetic_analysis(name="better", seed=3, accuracy=0.85)
    d = model_diff(small_analysis, b)
    a_ok = (small_analysis.top1 == small_analysis.labels.original).tolist()
    b_ok = (b.top1 == b.labels.original).tolist()
    t1 = d.summary["mcnemar"]["top1"]
    assert t1["images"] == len(a_ok)
    assert t1["a_only"] == sum(x and not y for x, y in zip(a_ok, b_ok, strict=True))
    assert t1["b_only"] == sum(y and not x for x, y in zip(a_ok, b_ok, strict=True))
    assert t1["b_only"] - t1["a_only"] == round(
        len(a_ok) * (b.metrics["top1"]["value"] - small_analysis.metrics["top1"]["value"])
    )
    ca = small_analysis.classified.category[0].tolist()
    cb = b.classified.category[0].tolist()
    ok, ex = set(K.CORRECT_CODES), K.EXCLUDED
    pairs = [(x in ok, y in ok) for x, y in zip(ca, cb, strict=True) if ex not in (x, y)]
    ml = d.summary["mcnemar"]["multi_label"]
    assert ml["images"] == len(pairs) == d.summary["images"]
    assert (ml["a_only"], ml["b_only"]) == (d.summary["introduced"], d.summary["fixed"])
    assert ml["a_only"] == sum(x and not y for x, y in pairs)
    for test in (t1, ml):
        assert abs(test["p_value"] - naive_p(test["a_only"], test["b_only"])) <= 1e-9 * max(
            test["p_value"], 1e-300
        )


def test_diff_report_states_the_paired_tests(small_analysis, tmp_path: Path) -> None:
    from errata.core.paired import describe

    b = synthetic_analysis(name="better", seed=3, accuracy=0.85)
    d = model_diff(small_analysis, b)
    html = diff_report(d, tmp_path / "d.html")["report"].read_text()
    for test in d.summary["mcnemar"].values():
        assert describe(test).replace("<", "&lt;") in html
    assert "McNemar&#39;s exact test" in html or "McNemar's exact test" in html
