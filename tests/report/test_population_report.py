"""The section that places a run among the 962 published models: a plain comparability note in
every report, the paper's plots with the run drawn on top (hollow when not comparable), and how
to fetch the files when they are missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from errata.core import population as PC
from errata.core import published_band as PB
from errata.io import data
from errata.io import published_band as PBF
from errata.report import population as PR
from errata.report.model import model_report
from errata.report.study import study_report
from tests.io.test_population import MATCHED, write_population


def _section(html: str) -> str:
    start = html.index('<h2 id="population">')
    return html[start : html.index("<h2", start + 10)]


def test_model_report_says_plainly_what_is_not_comparable(small_analysis, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(data.ENV_VAR, str(write_population(tmp_path / "data")))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")  # planted files, not the registry's
    html = model_report(small_analysis, tmp_path / "r.html")["report"].read_text()
    sec = _section(html)
    assert "Not comparable." in sec and 'class="callout warn"' in sec
    for setting in ("labels", "preset", "openworld"):
        assert f"<td>{setting}</td>" in sec
    assert "--labels shankar" in sec and "peychev2023" in sec
    # the figure is there, and no figure of this run is ranked among the published ones
    assert '<svg class="plot" role="img" aria-label="published_population"' in sec
    assert sec.count("not comparable</td>") == 7  # top-1 (a 400-image subset) and all shares
    assert small_analysis.to_dict()["published"]["comparable"] is False


def test_study_report_draws_every_model(small_study, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(data.ENV_VAR, str(write_population(tmp_path / "data")))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")  # planted files, not the registry's
    html = study_report(small_study, tmp_path / "s.html")["report"].read_text()
    sec = _section(html)
    assert "Not comparable." in sec and "published_population" in sec
    assert small_study.summary["published"]["figures"]["shares"] is False


def test_missing_population_says_how_to_fetch_it(small_analysis, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "empty"))
    html = model_report(small_analysis, tmp_path / "r.html")["report"].read_text()
    sec = _section(html)
    assert "errata data fetch peychev-models-summary" in sec and "Not comparable." in sec
    assert "<svg" not in sec


@pytest.mark.parametrize("comparable", [True, False])
def test_run_is_hollow_unless_comparable(tmp_path: Path, monkeypatch, comparable: bool) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(data.ENV_VAR, str(write_population(tmp_path)))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")  # planted files, not the registry's
    settings = MATCHED if comparable else MATCHED | {"labels": "real"}
    c = PC.comparability(settings, full_val=True)
    counts = {
        "top1": 0.8,
        "mla_overlap": 0.9,
        "n_fine_grained": 6,
        "n_fine_grained_oov": 1,
        "n_spurious_correlation": 1,
        "n_non_prototypical": 0,
        "n_model_failure": 2,
    }
    run = PR.run_values(counts, settings)
    assert run["share_n_fine_grained"] == pytest.approx(0.6)
    out = PR.section([("mine", run)], c)
    fig = out["figure"]
    stars = [col for ax in fig.axes[:10] for col in ax.collections[1:]]
    assert len(stars) == 10  # one star in each of the 5 x 2 panels
    faces = {
        tuple(np.round(col.get_facecolors()[0], 3)) if len(col.get_facecolors()) else None
        for col in stars
    }
    assert (faces == {None}) is (not comparable)
    placed = out["placement"][0]["figures"]
    assert ("below" in placed["share_n_fine_grained"]) is comparable
    assert "below" in placed["top1"]  # top-1 on the full validation set is always comparable


def test_not_run_stages_are_not_drawn_as_zero() -> None:
    run = PR.run_values({"n_fine_grained": 3, "n_model_failure": 1}, {"openworld": None})
    assert np.isnan(run["share_n_fine_grained_oov"]) and np.isnan(run["share_n_non_prototypical"])
    assert run["share_n_fine_grained"] == pytest.approx(0.75)


def _band_population(root: Path, top1s: list[float]) -> Path:
    """Planted published files: one model at each top-1 (percent), model i with i + 1
    overlapping classes (the other counts as in the io tests)."""
    rows = [
        (f"timm--m{i}", 10, "ImageNet-1k (1.2M)", (i + 1, 10, 30, 4, 1, 5, 30), 900)
        for i in range(len(top1s))
    ]

    def edit(name: str, frame):  # type: ignore[no-untyped-def]
        frame["top1_val_acc"] = top1s
        return frame

    return write_population(root, rows=rows, edit=edit)


def test_model_report_places_each_share_in_its_band(small_analysis, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    top1 = 100 * small_analysis.metrics["top1"]["value"]
    monkeypatch.setenv(data.ENV_VAR, str(_band_population(tmp_path / "data", [top1] * 12)))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")
    html = model_report(small_analysis, tmp_path / "r.html")["report"].read_text()
    sec = _section(html)
    table = sec[
        sec.index('id="population-band-table"') : sec.index("</table>", sec.index("band-table"))
    ]
    assert table.count("<tr") == 7  # the header and the six categories with a published count
    assert "12 published models" in sec
    bands = small_analysis.band
    assert bands.n_models.tolist() == [12]
    for c, name in enumerate(PB.BAND_CATEGORIES):
        row = table[table.index(f"<td>{name}</td>") :].split("</tr>")[0]
        if np.isnan(bands.share[0, c]):
            assert "not run" in row
        else:
            assert f"{100 * bands.share[0, c]:.1f} %" in row
            assert ("<strong>" in row) is bool(bands.outside()[0, c])


def test_study_report_counts_the_models_outside(small_study, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    top1 = sorted(100 * small_study.models["top1"])
    monkeypatch.setenv(data.ENV_VAR, str(_band_population(tmp_path / "data", top1 * 2)))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")
    html = study_report(small_study, tmp_path / "s.html")["report"].read_text()
    sec = _section(html)
    assert 'id="population-band-table"' in sec
    settings = small_study.summary["settings"]["imagenet-val"]
    bands = PBF.models_bands(small_study.models, settings)
    pos = bands.position
    fine = PR.band_study(bands)["rows"][1]
    assert fine["category"] == "fine-grained"
    assert (
        fine["placed"]
        == np.isfinite(pos[:, 1]).sum()
        == fine["below"] + fine["inside"] + fine["above"]
    )
    row = sec[sec.index("<td>fine-grained</td>") :].split("</tr>")[0]
    assert f'<td class="n">{fine["above"]}</td>' in row


def test_study_comparability_is_judged_per_model(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Issue 23 item 2: two subset files among full ones leave the full ones' top-1 comparable;
    the placement table lists N_PLACED models and says how many there are."""
    import re

    import errata
    from errata import resources
    from errata.report import study_population as S  # the section that lists N_PLACED

    monkeypatch.setenv(data.ENV_VAR, str(write_population(tmp_path / "data")))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")  # planted files, not the registry's
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    truth = resources.validation_labels().astype(np.int64)
    rng = np.random.default_rng(0)
    for i in range(4):  # full: every validation image
        top1 = np.where(rng.random(len(truth)) < 0.7 + 0.05 * i, truth, (truth + 1) % 1000)
        np.save(zoo / f"full_{i}.npy", top1)
    names = resources.val_file_names()[:20_000]
    for i in range(2):  # subsets: 20,000 images, with their names
        np.savez(zoo / f"a_subset_{i}.npz", top1=truth[:20_000], file_names=names)
    study = errata.compare([zoo], out=tmp_path / "study", classify=False)
    assert study.summary["published"]["figures"]["top1"] is False  # the study as a whole
    monkeypatch.setattr(S, "N_PLACED", 3)
    sec = _section(study_report(tmp_path / "study", tmp_path / "s.html")["report"].read_text())
    assert "top-1 is comparable for 4 of the 6 models" in sec
    assert "(a_subset_0, a_subset_1)" in sec
    table = sec[sec.index('id="population-placement"') :].split("</table>")[0]
    placed = re.findall(
        r"<tr><td>([^<]+)</td><td>top-1</td><td[^>]*>[^<]*</td>\s*<td[^>]*>([^<]+)</td>", table
    )
    assert [m for m, _ in placed] == ["a_subset_0", "a_subset_1", "full_0"]
    for model, below in placed:
        assert (below == "not comparable") is model.startswith("a_subset"), (model, below)
    assert "showing 3 of 6 models" in sec and "all are in models.parquet" in sec
