"""Aggregation of app answers, export to the Shankar schema, the loop back into errata's label
loader, and the human-vs-model report."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from errata.review.models import CORRECT, UNCLEAR, WRONG


def first_novel_item(proj):  # type: ignore[no-untyped-def]
    from errata.review import storage

    item_id = storage.next_item(proj, 2, "novel")
    return item_id, storage.item_view(proj, item_id, 2)


def answer_all(proj, item_id, per_annotator):  # type: ignore[no-untyped-def]
    from errata.review import storage

    for aid, (answers, problematic) in per_annotator.items():
        storage.save_review(proj, item_id, aid, answers, problematic=problematic, note=f"by {aid}")


@pytest.mark.parametrize("method", ["majority", "dawid-skene"])
def test_export_applies_the_aggregated_answers(project, tmp_path, method):
    from errata.io.labels import load_labels
    from errata.review.export import export_labels

    proj, inputs = project
    item_id, view = first_novel_item(proj)
    novel, current = view["candidates"][0], view["labels"][0]
    assert novel >= 500 and current < 100
    # ann1, ann2: the novel class is right too; ann3: it is wrong. Two of three flag the image.
    answer_all(
        proj,
        item_id,
        {
            2: ({novel: CORRECT, current: CORRECT}, True),
            3: ({novel: CORRECT, current: CORRECT}, True),
            4: ({novel: WRONG, current: CORRECT}, False),
        },
    )
    # a second image: everybody says its current label is wrong, one is unsure about the new one
    from errata.review import storage

    item2 = storage.next_item(proj, 1, "novel")  # admin (id 1) has not reviewed anything
    assert item2 != item_id
    storage.release_lease(proj, item2, 1)  # admin only looks: its lease would hold a review slot
    v2 = storage.item_view(proj, item2, 1)
    n2, c2 = v2["candidates"][0], v2["labels"][0]
    answer_all(
        proj,
        item2,
        {
            2: ({n2: CORRECT, c2: WRONG}, False),
            3: ({n2: UNCLEAR, c2: WRONG}, False),
            4: ({n2: CORRECT, c2: WRONG}, False),
        },
    )
    out = tmp_path / "labels.json"
    counts = export_labels(proj, out, method=method)
    assert counts["questions"] == 4 and counts["problematic"] == 1
    doc = json.loads(out.read_text())
    assert set(doc) == {"initial_annots", "problematic_images"}
    from errata import resources

    wn = resources.classes().wnids
    f1, f2 = view["file_name"], v2["file_name"]
    assert doc["problematic_images"] == {f1: "by 2 | by 3"}
    assert wn[novel] in doc["initial_annots"][f1]["correct"]
    assert wn[current] in doc["initial_annots"][f1]["correct"]
    assert doc["initial_annots"][f2]["wrong"] == [wn[c2]]
    assert wn[n2] in doc["initial_annots"][f2]["correct"]
    # untouched images keep their label set
    f_other = inputs["names"][30]
    assert doc["initial_annots"][f_other] == {
        "correct": [wn[inputs["label_of"][30]]],
        "wrong": [],
        "unclear": [],
    }
    # the loop closes: errata's label loader reads the export
    labels = load_labels(out)
    assert len(labels) == len(inputs["names"])
    r1, r2 = labels.positions([f1, f2])
    assert labels.problematic[r1] and not labels.problematic[r2]
    assert labels.correct.contains_at([r2, r2], [n2, c2]).tolist() == [True, False]
    # posteriors are stored
    from sqlalchemy import func, select

    from errata.review.models import Posterior

    with proj.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Posterior).where(Posterior.method == method))
            == 4
        )


def test_export_reviewed_scope_and_atomic_write(project, tmp_path):
    from errata.review.export import export_labels

    proj, _ = project
    item_id, view = first_novel_item(proj)
    answer_all(proj, item_id, {2: ({c: CORRECT for c in view["candidates"]}, False)})
    out = tmp_path / "only.json"
    export_labels(proj, out, scope="reviewed")
    doc = json.loads(out.read_text())
    assert list(doc["initial_annots"]) == [view["file_name"]]
    assert not list(tmp_path.glob("*.tmp"))
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # shared, like every errata output
    from errata.exceptions import ErrataInputError

    with pytest.raises(ErrataInputError, match="scope"):
        export_labels(proj, tmp_path / "x.json", scope="some")  # type: ignore[arg-type]
    assert not (tmp_path / "x.json").exists()


def test_human_vs_model_report(project):
    from errata.review import storage
    from errata.review.report import GROUPS, class_groups, human_vs_model

    proj, inputs = project
    label_of = dict(zip(inputs["names"], inputs["label_of"]))
    answered = []
    for aid, right in ((2, True), (3, False)):
        for _ in range(4):
            item_id = storage.next_item(proj, aid, "classify")
            view = storage.item_view(proj, item_id, aid)
            truth = label_of[view["file_name"]]
            storage.save_review(proj, item_id, aid, {truth if right else (truth + 1) % 1000: 2})
            answered.append(view["file_name"])
    res = human_vs_model(proj, method="majority")
    rows = {r["who"]: r for r in res["rows"]}
    assert res["images"] == len(set(answered))
    assert rows["human: ann1"]["accuracy"] == 1.0
    assert rows["human: ann2"]["accuracy"] == 0.0
    assert rows["humans"]["n"] == 8 and rows["humans"]["accuracy"] == 0.5
    # model-b is right on images 6-40, model-a on images 11-40 (planted in the helpers)
    idx = np.array([inputs["names"].index(f) for f in sorted(set(answered))])
    assert rows["model-b"]["accuracy"] == pytest.approx((idx >= 5).mean())
    assert rows["model-a"]["accuracy"] == pytest.approx((idx >= 10).mean())
    groups = class_groups()
    assert (
        groups[207] == 0 and groups[1] == 1 and groups[500] == 2
    )  # retriever, goldfish, cliff dwelling
    assert (groups == 0).sum() == 118  # Shankar et al.'s 118 dog classes
    assert set(GROUPS) <= set(rows["humans"])


def test_human_vs_model_mla_leaves_out_images_of_unknown_class(project, monkeypatch):
    """An image whose original label is unknown (-1) counts in the accuracy but in no class of
    the MLA: it used to count as class 999 (3 right images of 3 classes and a wrong one gave an
    MLA of 0.75 instead of 1)."""
    import dataclasses

    from errata.review import export, storage
    from errata.review.report import human_vs_model

    proj, inputs = project
    label_of = dict(zip(inputs["names"], inputs["label_of"]))
    answered = []
    for right in (True, True, True, False):
        item_id = storage.next_item(proj, 2, "classify")
        view = storage.item_view(proj, item_id, 2)
        truth = label_of[view["file_name"]]
        storage.save_review(proj, item_id, 2, {truth if right else (truth + 1) % 1000: 2})
        answered.append(view["file_name"])
    assert len(set(answered)) == 4 and len({label_of[f] for f in answered}) == 4
    reviewed = export.reviewed_labels

    def unknown_original(*args, **kwargs):  # type: ignore[no-untyped-def]
        labels, wrong = reviewed(*args, **kwargs)
        original = labels.original.copy()
        original[labels.positions(np.array(answered[-1:]))] = -1  # the wrong answer's image
        assert not (original == 999).any()
        return dataclasses.replace(labels, original=original, _cache={}), wrong

    monkeypatch.setattr(export, "reviewed_labels", unknown_original)
    rows = {r["who"]: r for r in human_vs_model(proj, method="majority")["rows"]}
    ann1 = rows["human: ann1"]
    assert ann1["n"] == 4 and ann1["accuracy"] == 0.75  # the image counts in the accuracy
    assert ann1["mla"] == 1.0  # not (1 + 1 + 1 + 0) / 4 with the image as class 999
    assert ann1["mla_ci95"][0] <= 1.0 <= ann1["mla_ci95"][1]


def test_method_and_scope_are_matched_without_regard_to_case(project, tmp_path):
    """``--method Majority`` is majority (it raised UnboundLocalError before), in the Python API
    and on the command line; an unknown method is a one-line error even with no answers."""
    from typer.testing import CliRunner

    from errata.cli import app
    from errata.exceptions import ErrataInputError
    from errata.review.export import aggregate_answers, export_labels

    proj, _ = project
    item_id, view = first_novel_item(proj)
    answer_all(proj, item_id, {2: ({c: CORRECT for c in view["candidates"]}, False)})
    counts = export_labels(proj, tmp_path / "a.json", method="majority", scope="reviewed")
    assert export_labels(proj, tmp_path / "b.json", method="Majority", scope="Reviewed") == counts  # type: ignore[arg-type]
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    with pytest.raises(ErrataInputError, match="'bogus' is not one of majority, dawid-skene"):
        aggregate_answers(proj, method="bogus", store=False)  # type: ignore[arg-type]
    proj.engine.dispose()
    runner = CliRunner()
    out = tmp_path / "c.json"
    r = runner.invoke(
        app, ["review", "export", str(proj.path), "--out", str(out), "--method", "MAJORITY"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["review", "report", str(proj.path), "--method", "Majority", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["rows"] == [], r.output
    r = runner.invoke(app, ["review", "report", str(proj.path), "--method", "vote"])
    assert isinstance(r.exception, ErrataInputError)  # errata's main prints it in one line
    assert "'vote' is not one of majority, dawid-skene" in str(r.exception)
