"""errata table / errata.headline_table: the paper's headline columns against a table computed
by hand from a small run's own per-image and error files, the three formats, and studies."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import errata
from errata.exceptions import ErrataInputError
from errata.headline import headline_table, render

ERRATA = str(Path(sys.executable).with_name("errata"))
ERRORS = [  # the error categories in the registry's order, with their keys
    ("overlapping classes", "overlapping_classes"),
    ("fine-grained", "fine_grained"),
    ("fine-grained OOV", "fine_grained_oov"),
    ("spurious correlation", "spurious_correlation"),
    ("non-prototypical", "non_prototypical"),
    ("non-prototypical (ImageNet-X)", "non_prototypical_imagenet_x"),
    ("model failure", "model_failure"),
]
NOT_RUN = {"fine-grained OOV", "non-prototypical", "non-prototypical (ImageNet-X)"}  # no evidence
ACCEPTED = {  # MLA variant: the error categories it also counts as correct
    "mla": set(),
    "mla_overlap": {"overlapping classes"},
    "mla_minor": {"overlapping classes", "fine-grained", "fine-grained OOV"},
    "mla_explainable": {
        "overlapping classes",
        "fine-grained",
        "fine-grained OOV",
        "spurious correlation",
        "non-prototypical",
        "non-prototypical (ImageNet-X)",
    },
}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, data_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    """The reference ResNet-50 on 600 random validation images (file_name,top1 CSV), against
    ReaL, written with analyze --out."""
    folder = tmp_path_factory.mktemp("small")
    ref = data_dir / "cleanlab_resnet"
    top1 = np.load(ref / "imagenet_val_set_pyx_argmax_predicted_labels.npy")
    paths = json.loads((ref / "imagenet_val_set_index_to_filepath.json").read_text())
    rows = np.random.default_rng(0).choice(len(top1), 600, replace=False)
    pd.DataFrame(
        {"file_name": [paths[i].rsplit("/", 1)[-1] for i in rows], "top1": top1[rows]}
    ).to_csv(folder / "small.csv", index=False)
    run = folder / "run"
    done = subprocess.run(
        [
            ERRATA,
            "analyze",
            str(folder / "small.csv"),
            "--name",
            "resnet50_small",
            "--out",
            str(run),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return run


def by_hand(run: Path) -> dict:  # type: ignore[type-arg]
    """The headline figures counted image by image from per_image.parquet and errors.parquet."""
    per = pd.read_parquet(run / "per_image.parquet")
    errors = pd.read_parquet(run / "errors.parquet")
    category = dict(zip(errors["file_name"], errors["category"], strict=True))
    out: dict = {"top1": float((per["top1"] == per["original"]).mean())}  # type: ignore[type-arg]
    scored = per[per["evaluated"] & ~per["problematic"]]
    for key, extra in ACCEPTED.items():
        ok = [
            bool(c) or category.get(f) in extra
            for f, c in zip(scored["file_name"], scored["correct_multi"], strict=True)
        ]
        per_class = pd.Series(ok).groupby(scored["original"].to_numpy()).mean()
        out[key] = float(per_class.mean())
    counted = errors["category"].value_counts()
    out["errors"] = int(sum(counted.get(name, 0) for name, _ in ERRORS))
    out["counts"] = {name: int(counted.get(name, 0)) for name, _ in ERRORS}
    return out


def test_markdown_against_a_hand_computed_table(small_run: Path) -> None:
    h = by_hand(small_run)
    assert h["errors"] > 50 and h["counts"]["fine-grained"] > 0  # a table worth checking

    def cat(name: str) -> str:
        if name in NOT_RUN:
            return "—"
        n = h["counts"][name]
        return f"{n:,} ({100 * n / h['errors']:.1f})"

    row = [
        "resnet50_small",
        *(
            f"{100 * h[k]:.2f}"
            for k in ("top1", "mla", "mla_overlap", "mla_minor", "mla_explainable")
        ),
        f"{h['errors']:,}",
        *(cat(name) for name, _ in ERRORS),
    ]
    head = [
        "model",
        "top-1 %",
        "MLA %",
        "MLA +overlap %",
        "MLA +minor %",
        "MLA +explainable %",
        "errors",
        *(f"{name}: n (%)" for name, _ in ERRORS),
    ]
    want = "\n".join(
        [
            "| " + " | ".join(head) + " |",
            "| " + " | ".join([":---"] + ["---:"] * (len(head) - 1)) + " |",
            "| " + " | ".join(row) + " |",
            "",
        ]
    )
    got = subprocess.run(
        [ERRATA, "table", str(small_run)], capture_output=True, text=True, check=True
    ).stdout
    assert got == want


def test_the_frame_and_csv_hold_the_unrounded_figures(small_run: Path) -> None:
    h = by_hand(small_run)
    t = errata.headline_table(small_run)
    assert len(t) == 1 and t.loc[0, "model"] == "resnet50_small"
    for key in ("top1", "mla", "mla_overlap", "mla_minor", "mla_explainable"):
        assert t.loc[0, key] == pytest.approx(h[key], abs=1e-12)
    for name, key in ERRORS:
        if name in NOT_RUN:
            assert pd.isna(t.loc[0, f"n_{key}"]) and pd.isna(t.loc[0, f"share_{key}"])
        else:
            assert t.loc[0, f"n_{key}"] == h["counts"][name]
            assert t.loc[0, f"share_{key}"] == pytest.approx(h["counts"][name] / h["errors"])
    back = pd.read_csv(io.StringIO(render(t, "csv")))
    assert back.loc[0, "n_fine_grained"] == h["counts"]["fine-grained"]
    assert np.isnan(back.loc[0, "n_fine_grained_oov"])
    # the Analysis object gives the same table as its folder
    same = headline_table(
        errata.analyze(str(small_run.parent / "small.csv"), name="resnet50_small")
    )
    pd.testing.assert_frame_equal(same, t)


def test_latex_escapes_and_is_booktabs(small_run: Path) -> None:
    tex = render(headline_table(small_run), "latex")
    lines = tex.splitlines()
    assert lines[0] == "\\begin{tabular}{l" + "r" * 13 + "}" and lines[-1] == "\\end{tabular}"
    assert lines[1] == "\\toprule" and lines[3] == "\\midrule" and lines[-2] == "\\bottomrule"
    assert lines[4].startswith("resnet50\\_small & ") and lines[4].endswith(" \\\\")
    assert "top-1 \\% & MLA \\%" in lines[2] and "—" not in tex and " -- " in tex
    assert lines[4].count(" & ") == 13


def test_a_study_table_has_every_model(tmp_path: Path, small_run: Path) -> None:
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    csv = small_run.parent / "small.csv"
    df = pd.read_csv(csv)
    df.to_csv(zoo / "a_model.csv", index=False)
    df.assign(top1=(df["top1"] + 1) % 1000).to_csv(zoo / "b_model.csv", index=False)
    study = errata.compare([zoo], out=tmp_path / "study")
    t = headline_table(tmp_path / "study")
    assert sorted(t["model"]) == ["a_model", "b_model"]
    models = study.models.set_index("model")
    for r in t.to_dict(orient="records"):
        assert r["top1"] == pytest.approx(models.loc[r["model"], "top1"])
        assert r["mla_minor"] == pytest.approx(models.loc[r["model"], "mla_minor"])
        assert r["n_model_failure"] == models.loc[r["model"], "n_model_failure"]
        assert pd.isna(r["n_fine_grained_oov"])  # the stage did not run: not 0
    a = t.set_index("model").loc["a_model"]
    one = headline_table(small_run).iloc[0]
    assert a["n_fine_grained"] == one["n_fine_grained"] and a["top1"] == one["top1"]
    md = render(t, "markdown").splitlines()
    assert len(md) == 4 and sum(line.startswith("| a_model | ") for line in md) == 1


def test_bad_sources_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ErrataInputError, match="not a run folder"):
        headline_table(tmp_path)
    with pytest.raises(ErrataInputError, match="format: 'html' is not one of"):
        render(pd.DataFrame(), "html")
    done = subprocess.run(
        [ERRATA, "table", str(tmp_path), "--format", "html"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --format: 'html' is not one of markdown, latex, csv"


def test_imagenet_m_when_the_label_set_has_it(small_run: Path, tmp_path: Path) -> None:
    """A label set in errata's JSON schema with an ImageNet-M list: the column shows correct
    of its images, counted by hand."""
    per = pd.read_parquet(small_run / "per_image.parquet")
    images = {
        f: {"correct": [int(o)], "unclear": [], "problematic": False}
        for f, o in zip(per["file_name"], per["original"], strict=True)
    }
    m = per["file_name"].tolist()[:20]
    (tmp_path / "labels.json").write_text(json.dumps({"images": images, "imagenet_m": m}))
    run = tmp_path / "run"
    subprocess.run(
        [
            ERRATA,
            "analyze",
            str(small_run.parent / "small.csv"),
            "--labels",
            str(tmp_path / "labels.json"),
            "--out",
            str(run),
        ],
        check=True,
        capture_output=True,
    )
    right = int((per["top1"] == per["original"]).to_numpy()[:20].sum())
    t = headline_table(run)
    assert (t.loc[0, "imagenet_m"], t.loc[0, "imagenet_m_of"]) == (right, 20)
    md = render(t).splitlines()
    assert "| ImageNet-M |" in md[0] and f"| {right} / 20 |" in md[2]


def test_a_study_table_has_imagenet_m(small_run: Path, tmp_path: Path) -> None:
    """A study scored against a label set with ImageNet-M keeps it per model (models.parquet
    imagenet_m, imagenet_m_of), so its table has the column, as analyze's metrics have it."""
    per = pd.read_parquet(small_run / "per_image.parquet")
    images = {
        f: {"correct": [int(o)], "unclear": [], "problematic": False}
        for f, o in zip(per["file_name"], per["original"], strict=True)
    }
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"images": images, "imagenet_m": per["file_name"].tolist()[:20]}))
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "small.csv").write_bytes((small_run.parent / "small.csv").read_bytes())
    study = errata.compare([zoo], out=tmp_path / "study", labels=str(labels))
    one = errata.analyze(str(zoo / "small.csv"), labels=str(labels)).metrics["imagenet_m"]
    row = study.models.iloc[0]
    assert (row["imagenet_m"], row["imagenet_m_of"]) == (one["value"], one["of"]) and one[
        "of"
    ] == 20
    t = headline_table(tmp_path / "study")
    assert (t.loc[0, "imagenet_m"], t.loc[0, "imagenet_m_of"]) == (one["value"], 20)
    assert f"| {one['value']} / 20 |" in render(t).splitlines()[2]
