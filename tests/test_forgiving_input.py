"""Typical slips (issue 23 item 5): names matched without regard to case, the closest names
suggested, swapped ``query`` arguments recognised, and predictions that are the original labels
themselves pointed out — in Python naming keywords, on the command line naming flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import errata
from errata import resources
from errata.exceptions import ErrataInputError, arg, choose, command_line, did_you_mean

ORIGINAL_NOTE = "these predictions are the original labels themselves"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "errata", *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def labels_as_predictions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("orig") / "orig.npy"
    np.save(path, resources.validation_labels().astype(np.int64))
    return path


def shifted(tmp: Path) -> Path:
    """A model that is right on every image but one: not the labels themselves."""
    top1 = resources.validation_labels().astype(np.int64)
    top1[0] = (top1[0] + 1) % 1000
    np.save(tmp / "model.npy", top1)
    return tmp / "model.npy"


def test_did_you_mean_suggests_the_closest_names_only() -> None:
    assert did_you_mean("reall", ["original", "real", "shankar"]) == "; did you mean 'real'?"
    assert did_you_mean("REAL-RATER", ["real", "real-raters"]) == "; did you mean 'real-raters'?"
    assert did_you_mean("zebra", ["original", "real", "shankar"]) == ""


def test_choose_matches_without_regard_to_case_and_names_the_argument() -> None:
    assert choose("Peychev2023", ["errata", "peychev2023"], keyword="taxonomy") == "peychev2023"
    with pytest.raises(ErrataInputError) as info:
        choose("peychev", ["errata", "peychev2023"], keyword="taxonomy")
    assert str(info.value) == (
        "taxonomy: 'peychev' is not one of errata, peychev2023; did you mean 'peychev2023'?"
    )
    before = command_line(True)
    try:
        assert arg("rebuild", True) == "--rebuild"
        assert arg("n_resamples") == "--bootstrap"
        with pytest.raises(ErrataInputError, match=r"^--taxonomy: 'x'"):
            choose("x", ["errata"], keyword="taxonomy")
    finally:
        command_line(before)
    assert arg("rebuild", True) == "rebuild=True"


def test_names_in_any_case_are_the_names(labels_as_predictions: Path) -> None:
    a = errata.analyze(
        labels_as_predictions,
        labels="Real",
        dataset="ImageNet-Val",
        options=errata.Options(classify=False, taxonomy="Peychev2023", interval="Wilson"),
    )
    assert a.labels.name == "real"
    assert a.settings["dataset"] == "imagenet-val"
    assert a.options.taxonomy == "peychev2023" and a.options.interval == "wilson"
    assert errata.Options(spurious="Published").spurious == "published"


def test_python_errors_name_keywords_and_suggest(labels_as_predictions: Path) -> None:
    with pytest.raises(ErrataInputError) as info:
        errata.analyze(labels_as_predictions, labels="reall")
    assert str(info.value) == (
        "labels: 'reall' is neither a built-in label set (original, real, shankar) nor an "
        "existing file; did you mean 'real'?"
    )
    with pytest.raises(ErrataInputError, match=r"^dataset: 'imagenet-vv2' .*'imagenet-v2'\?$"):
        errata.analyze(labels_as_predictions, dataset="imagenet-vv2")
    with pytest.raises(ErrataInputError) as info:
        errata.analyze("cleanlab-resnet5")
    assert str(info.value) == (
        "cleanlab-resnet5: file not found, nor a registry name (errata data list); did you mean "
        "'cleanlab-resnet50'?"
    )
    with pytest.raises(ErrataInputError, match=r"^runs/x\.npy: file not found$"):
        errata.analyze("runs/x.npy")  # a path near no registry name: no suggestion


def test_the_command_line_names_flags_and_accepts_any_case(labels_as_predictions: Path) -> None:
    res = cli("analyze", str(labels_as_predictions), "--labels", "reall")
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: --labels: 'reall' is neither")
    assert res.stderr.strip().endswith("did you mean 'real'?")
    res = cli("analyze", str(labels_as_predictions), "--labels", "Real", "--no-errors", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["labels"]["name"] == "real"


def test_swapped_query_arguments_say_the_order(tmp_path: Path) -> None:
    np.save(tmp_path / "m.npy", resources.validation_labels().astype(np.int64))
    out = tmp_path / "study"
    errata.compare([tmp_path / "m.npy"], out=out, options=errata.Options(classify=False))
    with pytest.raises(ErrataInputError) as info:
        errata.query("SELECT model FROM models", str(out))
    assert str(info.value) == (
        "'SELECT model FROM models': the study folder and the SQL are the other way round; the "
        'folder comes first (query(folder, sql): query("study/", "SELECT …"))'
    )
    res = cli("query", "SELECT model FROM models", str(out))
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "error: 'SELECT model FROM models': the study folder and the SQL are the other way "
        'round; the folder comes first (errata query STUDY "SELECT …")'
    )
    assert list(errata.query(out, "SELECT model FROM models")["model"]) == ["m"]


def test_predictions_that_are_the_original_labels_are_pointed_out(
    labels_as_predictions: Path, tmp_path: Path
) -> None:
    a = errata.analyze(labels_as_predictions, options=errata.Options(classify=False))
    assert a.predicts_original
    note = next(n for n in a.notes() if n.startswith(ORIGINAL_NOTE))
    assert "on all 50,000 rows" in note
    assert note in a.to_dict()["notes"]
    model = errata.analyze(shifted(tmp_path), options=errata.Options(classify=False))
    assert not model.predicts_original
    assert not any(n.startswith(ORIGINAL_NOTE) for n in model.notes())
    res = cli("analyze", str(labels_as_predictions), "--no-errors")
    assert f"note: {ORIGINAL_NOTE}" in " ".join(res.stdout.split())


def test_the_report_points_out_the_labels_themselves(tmp_path: Path) -> None:
    from errata.report.model import model_report
    from tests.report.conftest import planted_taxonomy, synthetic_labels

    labels = synthetic_labels()
    a = errata.analyze(
        labels.original.astype(np.int64),
        labels=labels,
        file_names=labels.file_names,
        taxonomy=planted_taxonomy(),
        n_resamples=20,
    )
    html = model_report(a, tmp_path / "r.html")["report"].read_text(encoding="utf-8")
    assert f'<li class="note">{ORIGINAL_NOTE}' in html


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("file_name,predicted", "did you mean 'prediction' for 'predicted'? (rename the column)"),
        ("file_name,top_1,conf", "did you mean 'top1' for 'top_1'? (rename the column)"),
        ("file_name,score", None),  # nothing close: no guess
    ],
)
def test_a_misnamed_prediction_column_is_pointed_out(
    tmp_path: Path, header: str, hint: str | None
) -> None:
    path = tmp_path / "p.csv"
    extra = ",0.5" * (header.count(",") - 1)
    path.write_text(f"{header}\nILSVRC2012_val_00000001.JPEG,65{extra}\n")
    with pytest.raises(ErrataInputError) as got:
        errata.load_predictions(path)
    msg = str(got.value)
    n = header.count(",")
    assert f"found {n} column{'s' * (n != 1)}: " in msg
    if hint is None:
        assert "did you mean" not in msg
    else:
        assert msg.endswith(hint)
