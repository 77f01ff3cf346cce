"""The many-model report: scatter grids per group, key figures, the models table, metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from errata.exceptions import ErrataInputError
from errata.report.study import key_figures, load_metadata, shares, study_report
from tests.report._page import column, table_data


def test_study_page_has_a_panel_per_group_and_every_model(small_study, tmp_path: Path) -> None:
    meta = tmp_path / "meta.csv"
    models = small_study.models["model"].tolist()
    pd.DataFrame(
        {"model": models[:-1], "arch": ["cnn", "vit"] * 5 + ["cnn"], "params": np.arange(11) * 10}
    ).to_csv(meta, index=False)
    written = study_report(small_study, tmp_path / "s.html", metadata=meta, color_by="arch")
    html = written["report"].read_text(encoding="utf-8")
    data = table_data(html, "models-data")
    assert sorted(column(data, "model")) == sorted(models)
    arch = dict(zip(column(data, "model"), column(data, "arch"), strict=False))
    assert arch[models[0]] == "cnn" and arch[models[-1]] is None  # not in the CSV
    assert column(data, "params")[:2] == [0, 10]
    for key in (
        "all",
        "wordnet_organism",
        "wordnet_artifact",
        "shankar_dogs",
        "shankar_other_organisms",
        "shankar_objects",
    ):
        assert f'data-panel="{key}"' in html
    from errata.io.population import is_present

    assert html.count('<svg class="plot"') == 6 + is_present()  # + the published population


def test_shares_and_key_figures_match_the_counts(small_study) -> None:
    m = small_study.models
    s = shares(m, "")
    np.testing.assert_allclose(s["fine-grained"], m["n_fine_grained"] / m["errors"])
    g = shares(m, "wordnet_organism_")
    np.testing.assert_allclose(
        g["model failure"], m["wordnet_organism_model_failure"] / m["wordnet_organism_errors"]
    )
    kf = {r["category"]: r for r in key_figures(m)}
    r = np.corrcoef(m["top1"], s["fine-grained"])[0, 1]
    assert kf["fine-grained"]["top1"] == pytest.approx(r)


@pytest.mark.parametrize(
    "csv, message",
    [
        ("name,arch\na,cnn\n", "no 'model' column"),
        ("model,arch\na,cnn\na,vit\n", "listed twice"),
    ],
)
def test_bad_metadata_is_one_line(tmp_path: Path, csv: str, message: str) -> None:
    path = tmp_path / "meta.csv"
    path.write_text(csv)
    with pytest.raises(ErrataInputError, match=message):
        load_metadata(path, pd.DataFrame({"model": ["a"]}))


def test_unknown_color_column_writes_nothing(small_study, tmp_path: Path) -> None:
    with pytest.raises(
        ErrataInputError, match="^color_by: .nope. is not a column"
    ):  # Python: the keyword
        study_report(small_study, tmp_path / "s.html", color_by="nope")
    assert not (tmp_path / "s.html").exists()


def test_study_report_tells_progress(small_study, tmp_path: Path) -> None:
    steps: list[tuple[int, int, str]] = []
    study_report(small_study, tmp_path / "s.html", progress=lambda d, t, w: steps.append((d, t, w)))
    assert [w for _, _, w in steps] == ["figures", "population", "tables", "page", "done"]
    assert steps[-1] == (4, 4, "done") and [d for d, _, _ in steps] == [0, 1, 2, 3, 4]


def test_study_page_states_the_open_world_limits(small_study, tmp_path: Path) -> None:
    """The study ran without --openworld: the page says so beside the key figures, with the
    ViT-3B review's counts as errata experts computes them (the data directory holds it)."""
    from errata.experts import open_world_caveat

    html = study_report(small_study, tmp_path / "s.html")["report"].read_text(encoding="utf-8")
    note = html.split('id="openworld-note">')[1].split("</p>")[0]
    assert "fine-grained OOV did not run" in note
    assert note.replace("&#39;", "'") == open_world_caveat() + "."


def test_study_page_counts_the_files_that_failed(tmp_path: Path) -> None:
    """The manifest lists the files that failed (path and reason): the page says how many,
    from the Study and from its folder alike (it was a TypeError on the list)."""
    import errata
    from errata.study import compare
    from tests.report.conftest import planted_taxonomy, synthetic_labels, write_zoo

    write_zoo(tmp_path / "preds", 2)
    (tmp_path / "preds" / "broken.csv").write_text("not,a,prediction\nfile\n")
    study = compare(
        [tmp_path / "preds"],
        labels=synthetic_labels(),
        out=tmp_path / "study",
        options=errata.Options(taxonomy=planted_taxonomy()),
    )
    assert len(study.failed) == 1 and len(study.summary["failed"]) == 1
    for source in (study, tmp_path / "study"):
        html = study_report(source, tmp_path / "s.html")["report"].read_text(encoding="utf-8")
        assert "; 1 files failed validation and were skipped." in html
