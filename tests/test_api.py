"""The Python API as a user meets it: what dir() lists, short reprs, notebook views, the
errors table with class names and proper nulls, per-class figures with intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import errata
from tests.report.conftest import synthetic_analysis, write_zoo

PAYLOAD = "<script>alert(1)</script>"


def test_dir_lists_the_public_api() -> None:
    names = dir(errata)
    assert names == sorted(errata.__all__)
    for public in ("analyze", "compare", "query", "Analysis", "Study", "Options", "supersub"):
        assert public in names
        getattr(errata, public)  # each name listed resolves
    assert "TYPE_CHECKING" not in names and "annotations" not in names


def test_analysis_repr_is_short_and_html_escapes() -> None:
    a = synthetic_analysis(name=PAYLOAD)
    text = repr(a)
    assert len(text) < 300 and text.startswith("Analysis(") and "top-1" in text
    top1 = a.metrics["top1"]["value"]
    assert f"{100 * top1:.2f} %" in text
    html = a._repr_html_()
    assert PAYLOAD not in html and "&lt;script&gt;" in html
    # every error category of the summary has its row, with its share
    for cat, v in a.summary["categories"].items():
        if v["share"] is not None:
            assert f"<td>{cat}</td>" in html
            assert f"{100 * v['share']:.1f} %" in html


def test_errors_carry_class_names_and_nulls() -> None:
    a = synthetic_analysis()
    e = a.errors
    from errata import resources

    classes = resources.classes().names
    assert isinstance(e["top1_name"].dtype, pd.CategoricalDtype)
    assert len(e["top1_name"].cat.categories) == 1000
    for col in ("original", "top1"):
        want = [classes[i] for i in e[col]]
        assert [str(n).split(" (n")[0] for n in e[f"{col}_name"]] == want
    raw = a.errors_table["evidence_count"].to_numpy()
    assert e["evidence_count"].isna().sum() == int((raw < 0).sum())
    assert (e["evidence_count"].dropna() >= 0).all()
    # the label a row without evidence names is null, not -1
    assert not (e["evidence_label"].dropna() < 0).any()
    assert e["evidence_label_name"].isna().sum() == e["evidence_label"].isna().sum()


def test_shared_names_are_told_apart() -> None:
    from errata.analysis import _class_categories

    cats = _class_categories()
    assert cats.is_unique and len(cats) == 1000
    assert sum(c.startswith("crane") for c in cats) == 2


def test_per_class_has_intervals_and_categories() -> None:
    a = synthetic_analysis()
    pc = a.per_class
    for col in ("top1_lo", "top1_hi", "multi_label_lo", "multi_label_hi", "n_fine_grained"):
        assert col in pc
    seen = pc[pc["images"] > 0]
    assert (seen["top1_lo"] <= seen["top1"]).all() and (seen["top1"] <= seen["top1_hi"]).all()
    cats = [c for c in pc if c.startswith("n_")]
    # every evaluated image of a class falls in exactly one category
    assert (pc[cats].sum(axis=1) >= pc["evaluated"]).all()
    total = {c.key: int(pc[f"n_{c.key}"].sum()) for c in errata.CATEGORIES}
    for c in errata.CATEGORIES:
        assert total[c.key] == a.summary["categories"][c.name]["count"]


def test_study_repr(tmp_path: Path) -> None:
    paths = write_zoo(tmp_path / "zoo", 3)
    study = errata.compare(paths, out=tmp_path / "study")
    text = repr(study)
    assert text.startswith("Study(3 models") and "study" in text and len(text) < 300
    html = study._repr_html_()
    assert html.count("<tr>") == 4  # header + 3 models


def test_study_repr_singular(tmp_path: Path) -> None:
    paths = write_zoo(tmp_path / "zoo", 1)
    assert repr(errata.compare(paths, out=tmp_path / "s")).startswith("Study(1 model,")


def test_headline_titles_and_imagenet_m() -> None:
    """The headline uses the metric registry's titles, and ImageNet-M (a count of its images)
    reads as "correct / of", never as a percentage."""
    from errata.core.metrics import METRICS
    from errata.io import display

    metrics = {
        "top1": {"value": 0.5},
        "real": {"value": 0.6},
        "imagenet_m": {"value": 45, "of": 68},
    }
    summary = {"mla_variants": {"mla": {"title": "MLA", "value": 0.7}}}
    assert display.headline(metrics, summary) == [
        (METRICS["top1"].title, "50.00 %"),
        (METRICS["real"].title, "60.00 %"),
        (METRICS["mla"].title, "70.00 %"),
        (METRICS["imagenet_m"].title, "45 / 68"),
    ]
