"""Super-Sub: the supersub10 taxonomy against its WordNet rule and the published counts, the
shell's two-stage figures against errata's own pipeline on the two-stage predictions, study
folders, the command line, and the reference ResNet-50's real superclass figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import errata
from errata import resources, taxonomy
from errata.core.supersub import superclass_scores, two_stage
from errata.exceptions import ErrataInputError
from errata.io.predictions import Predictions
from errata.supersub import supersub


def test_supersub10_follows_its_rule_and_the_published_counts() -> None:
    """Every class all of whose WordNet paths pass through the root, and nothing else; the rule
    reproduces the two counts the paper publishes (116 dogs, 52 birds) and its range 7-116."""
    sc = taxonomy.supersub10()
    g, anc = taxonomy.wordnet(), taxonomy.class_ancestry()
    wnids = resources.classes().wnids
    assert len(sc) == 10
    sizes = dict(zip(sc.names.tolist(), sc.members.sum(axis=0).tolist()))
    assert sizes["dog"] == 116 and sizes["bird"] == 52
    assert min(sizes.values()) == 7 and max(sizes.values()) == 116
    assert (sc.members.sum(axis=1) <= 1).all()  # disjoint
    for j, root in enumerate(sc.roots):
        (r,) = root
        below = np.flatnonzero(anc.below(r))
        strict = [c for c in below if all(r in p for p in g.paths(wnids[c]))]
        assert np.flatnonzero(sc.members[:, j]).tolist() == strict, sc.names[j]
        for c in set(below.tolist()) - set(strict):  # each exclusion names its other path
            why = sc.exceptions[(c, j)]
            other = [p for p in g.paths(wnids[c]) if r not in p]
            assert other and any(g.name(w) in why for w in other[0]), why
    t = taxonomy.load("supersub10")
    assert t.superclass_members.sum() == 338 and t.name == "supersub10"


def test_reference_resnet50_superclass_figures(data_dir: Path) -> None:
    """The real model (top-1 only: no two-stage) under both taxonomies, against a naive loop."""
    from errata.analysis import analyze

    a = analyze("cleanlab-resnet50", options=errata.Options(classify=False))
    top1, truth = a.predictions.top1.astype(int), a.alignment.original.astype(int)
    for name in ("errata", "supersub10"):
        t = taxonomy.load(name)
        supers = [set(np.flatnonzero(r).tolist()) for r in t.superclass_members]
        scope = [bool(supers[x]) for x in truth]
        err = [p != x for p, x in zip(top1, truth)]
        within = sum(
            e and bool(supers[x] & supers[p]) for p, x, e, s in zip(top1, truth, err, scope) if s
        )
        errors = sum(e for e, s in zip(err, scope) if s)
        r = supersub(["cleanlab-resnet50"], taxonomy=name).models.iloc[0]
        assert r["flat_images"] == sum(scope) and r["flat_errors"] == errors
        assert r["flat_within"] == within and not r["scores"]
    full = supersub(["cleanlab-resnet50"], taxonomy="errata").models.iloc[0]
    ten = supersub(["cleanlab-resnet50"], taxonomy="supersub10").models.iloc[0]
    # the figures the docs state (in-sample facts of the reference file)
    assert (full["flat_images"], full["flat_errors"]) == (50000, 13634)
    assert round(100 * full["flat_superclass_accuracy"], 2) == 83.16
    assert (full["flat_within"], round(100 * full["flat_within_share"], 2)) == (5212, 38.23)
    assert (ten["flat_images"], ten["flat_errors"], ten["flat_within"]) == (16900, 4133, 2883)
    assert round(100 * ten["flat_superclass_accuracy"], 2) == 92.6


@pytest.fixture(scope="module")
def logits_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic logits for 3,000 validation images (there are no real logits here)."""
    folder = tmp_path_factory.mktemp("logits")
    n = 3000
    truth = resources.validation_labels()[:n].astype(np.int64)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(n, 1000)).astype(np.float32)
    logits[np.arange(n), truth] += 2.5
    members = taxonomy.load("supersub10").superclass_members
    sc_of = members.argmax(axis=1)
    covered = members.any(axis=1)
    # a superclass-aware model: some mass on the true class's superclass
    for i in range(n):
        if covered[truth[i]]:
            logits[i, members[:, sc_of[truth[i]]]] += 0.8
    np.savez(folder / "synthetic.npz", logits=logits, file_names=resources.val_file_names()[:n])
    return folder / "synthetic.npz"


@pytest.mark.parametrize("tax", ["errata", "supersub10"])
def test_two_stage_figures_are_the_pipeline_s_on_two_stage_predictions(
    logits_file: Path, tax: str
) -> None:
    r = supersub([logits_file], taxonomy=tax)
    row = r.models.iloc[0]
    assert row["scores"]
    t = taxonomy.load(tax)
    members = t.superclass_members
    flat = errata.analyze(logits_file)
    scores = flat.predictions.scores
    topk, _ = two_stage(scores, members, k=flat.predictions.k)
    covered = members.any(axis=1)[flat.alignment.original]
    names = flat.predictions.file_names[covered]
    for variant, ranked in (("flat", flat.predictions.topk), ("two_stage", topk)):
        p = Predictions(
            file_names=names,
            topk=ranked[covered],
            name=variant,
            numbers=flat.predictions.numbers[covered],
        )
        a = errata.analyze(p)
        assert row[f"{variant}_pipeline_top1"] == pytest.approx(a.metrics["top1"]["value"])
        assert row[f"{variant}_pipeline_real"] == pytest.approx(a.metrics["real"]["value"])
        for cat, v in a.summary["categories"].items():
            key = f"{variant}_n_" + cat.replace(" ", "_").replace("-", "_").replace(
                "(", ""
            ).replace(")", "")
            if key in row:
                assert row[key] == v["count"], (variant, cat)
        s = superclass_scores(ranked[covered, 0], flat.alignment.original[covered], members)
        assert row[f"{variant}_within"] == s.within[0]
    per = r.superclasses
    assert set(per["variant"]) == {"flat", "two_stage"}
    if tax == "supersub10":  # a partition: right superclass ⟺ the first stage chose it
        _, chosen = two_stage(scores, members)
        truth = flat.alignment.original[covered]
        right = chosen[covered] == members[truth].argmax(axis=1)
        assert row["two_stage_superclass_accuracy"] == pytest.approx(right.mean())


def test_study_folders_and_the_command_line(logits_file: Path, tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "synthetic.npz").write_bytes(logits_file.read_bytes())
    np.save(zoo / "perfect.npy", resources.validation_labels().astype(np.int64))
    errata.compare([zoo], out=tmp_path / "study")
    r = supersub([tmp_path / "study"], taxonomy="supersub10")
    assert sorted(r.models["model"]) == ["perfect", "synthetic"]
    perfect = r.models.set_index("model").loc["perfect"]
    assert perfect["flat_errors"] == 0 and np.isnan(perfect["flat_within_share"])
    out, report = tmp_path / "out", tmp_path / "ss.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "errata",
            "supersub",
            str(tmp_path / "study"),
            "-t",
            "supersub10",
            "--out",
            str(out),
            "--report",
            str(report),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    js = json.loads(done.stdout)
    assert js["taxonomy"] == "supersub10" and js["counts"] == {
        "models": 2,
        "with_scores": 1,
        "failed": 0,
    }
    assert len(js["superclasses"]) == 10
    assert sorted(p.name for p in out.iterdir()) == [
        "models.parquet",
        "superclasses.parquet",
        "supersub.json",
    ]
    html = report.read_text()
    assert "two-stage" in html and "Content-Security-Policy" in html
    assert 'src="http' not in html and 'href="http' not in html  # no request leaves the page
    table = subprocess.run(
        [sys.executable, "-m", "errata", "supersub", str(logits_file), "-t", "supersub10"],
        capture_output=True,
        text=True,
    )
    assert table.returncode == 0 and "two-stage" in table.stdout and "fungus" in table.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "errata", "supersub", str(logits_file), "-t", "wordnet"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "error: --taxonomy: 'wordnet' is not one of errata, peychev2023, supersub10"
    )


def test_bad_inputs_of_the_shell(tmp_path: Path) -> None:
    with pytest.raises(ErrataInputError, match="not found"):
        supersub([tmp_path / "none.npy"])
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "study.json").write_text(
        json.dumps({"format": 3, "settings": {}, "models": []})
    )
    with pytest.raises(ErrataInputError, match="holds no models"):
        supersub([tmp_path / "s"])


def test_a_study_of_an_older_errata_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "study.json").write_text(
        json.dumps({"format": 2, "settings": {"labels": "real"}, "models": [{"model": "m"}]})
    )
    with pytest.raises(ErrataInputError, match="written by an older errata; rebuild it with"):
        supersub([tmp_path / "s"])


def test_a_study_gives_its_top1_files_real_and_mla(logits_file: Path, tmp_path: Path) -> None:
    """Files without scores have no two-stage pipeline; from a study their ReaL and MLA are the
    study's own (same label set, every image) — only when the taxonomy covers every class and
    no other label set is given. A scored file keeps the figures of its own pipeline."""
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "synthetic.npz").write_bytes(logits_file.read_bytes())
    top1 = resources.validation_labels().astype(np.int64)
    top1[::7] = (top1[::7] + 1) % 1000
    np.save(zoo / "top1.npy", top1)
    study = errata.compare([zoo], out=tmp_path / "study").models.set_index("model")
    r = supersub([tmp_path / "study"], taxonomy="errata")
    got = r.models.set_index("model")
    assert got.loc["top1", "flat_pipeline_real"] == pytest.approx(study.loc["top1", "real"])
    assert got.loc["top1", "flat_pipeline_mla"] == pytest.approx(study.loc["top1", "mla"])
    assert not np.isnan(study.loc["top1", "real"]) and "from_study" in r.summary
    alone = supersub([logits_file], taxonomy="errata").models.iloc[0]
    assert got.loc["synthetic", "flat_pipeline_real"] == pytest.approx(alone["flat_pipeline_real"])
    for other in (
        supersub([tmp_path / "study"], taxonomy="supersub10"),  # 338 classes: other images
        supersub([tmp_path / "study"], taxonomy="errata", labels="original"),
    ):
        row = other.models.set_index("model").loc["top1"]
        assert np.isnan(row.get("flat_pipeline_real", np.nan)) and "from_study" not in other.summary
    table = subprocess.run(
        [sys.executable, "-m", "errata", "supersub", str(tmp_path / "study")],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "COLUMNS": "200"},
    )
    assert table.returncode == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if "│ top1 " in x)
    assert f"{100 * study.loc['top1', 'real']:.2f}" in line
    assert f"{100 * study.loc['top1', 'mla']:.2f}" in line
