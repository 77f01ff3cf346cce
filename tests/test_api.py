"""The Python API as a user meets it: what dir() lists, short reprs, notebook views, the
errors table with class names and proper nulls, per-class figures with intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import errata
from tests.report.conftest import synthetic_analysis, synthetic_labels, synthetic_top1, write_zoo

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
    from errata.io.run_folder import class_categories

    cats = class_categories()
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


# --- keywords that mirror the command line's flags (issue 23 item 3) ---------------------------


def test_all_and_dir_agree_and_every_name_resolves() -> None:
    assert sorted(errata.__all__) == dir(errata)
    assert len(set(errata.__all__)) == len(errata.__all__)
    for name in errata.__all__:
        assert getattr(errata, name) is not None, name


def test_analyze_takes_the_flags_as_keywords() -> None:
    import inspect

    from errata.io.evidence import OPTION_KEYWORDS

    for fn in (errata.analyze, errata.compare):
        params = inspect.signature(fn).parameters
        for key in OPTION_KEYWORDS:
            assert key in params and params[key].kind is inspect.Parameter.KEYWORD_ONLY, key
    labels = synthetic_labels()
    top1 = synthetic_top1(labels, 0, 0.7)
    by_keyword = errata.analyze(
        top1,
        labels=labels,
        file_names=labels.file_names,
        taxonomy="peychev2023",
        proposals="none",
        spurious="published",
        interval="bootstrap",
        n_resamples=20,
        seed=3,
    )
    by_options = errata.analyze(
        top1,
        labels=labels,
        file_names=labels.file_names,
        options=errata.Options(
            taxonomy="peychev2023",
            proposals=(),
            spurious="published",
            interval="bootstrap",
            n_resamples=20,
            seed=3,
        ),
    )
    assert by_keyword.options == by_options.options
    assert by_keyword.settings == by_options.settings
    assert by_keyword.summary == by_options.summary
    assert by_keyword.metrics == by_options.metrics
    assert (
        errata.analyze(top1, labels=labels, file_names=labels.file_names, classify=False).summary
        == {}
    )


def test_a_keyword_on_top_of_options_and_a_conflict_naming_both() -> None:
    import pytest

    from errata.exceptions import ErrataInputError
    from errata.io.evidence import options_from

    base = errata.Options(n_resamples=50, seed=2)
    both = options_from(base, {"taxonomy": "peychev2023", "seed": 2})
    assert (both.taxonomy, both.n_resamples, both.seed) == ("peychev2023", 50, 2)
    assert options_from(None, {"proposals": "none"}).proposals == ()
    assert options_from(base, {}) is base
    with pytest.raises(ErrataInputError) as info:
        options_from(base, {"seed": 5})
    assert str(info.value) == "seed=5 and options=Options(seed=2) disagree; give seed one way"
    preset = options_from(errata.Options(preset="peychev2023"), {"n_resamples": 20})
    assert (preset.preset, preset.taxonomy, preset.n_resamples) == (
        "peychev2023",
        "peychev2023",
        20,
    )
    with pytest.raises(ErrataInputError, match=r"^taxonomy: 'supersub10' cannot be combined"):
        options_from(errata.Options(preset="peychev2023"), {"taxonomy": "supersub10"})
    labels = synthetic_labels()
    with pytest.raises(ErrataInputError, match=r"^taxonomy='errata' and options=Options"):
        errata.analyze(
            synthetic_top1(labels, 0, 0.7),
            labels=labels,
            file_names=labels.file_names,
            options=errata.Options(taxonomy="supersub10"),
            taxonomy="errata",
        )


def test_compare_takes_the_flags_as_keywords(tmp_path: Path) -> None:
    write_zoo(tmp_path / "zoo", 2)
    study = errata.compare(
        [tmp_path / "zoo"], labels=synthetic_labels(), taxonomy="peychev2023", n_resamples=20
    )
    assert study.summary["settings"]["imagenet-val"]["taxonomy"] == "peychev2023"
    assert len(study.models) == 2
