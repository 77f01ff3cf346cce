"""The category registry is the only source: a category registered at run time (here, a test's
own, before model failure) flows through classify → tally → the CLI's tables and JSON → the
model report → the Parquet and CSV outputs → a study's models table → the diff of two models
(its transition matrix, the report, the command line's JSON) → the experts comparison (its rows,
cross-tables and the shared vocabulary: "model failure" until it names an expert category it
agrees with) → supersub's per-variant category columns; a category whose need
is unmet is "not run" in the stage status, in the run's not-run columns and in the published-
comparability note — all read from its record, none from a list written elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import errata
from errata.core import categories as K
from errata.core.evidence import Context
from errata.core.stages import Evidence, Pending, StageResult
from errata.report import _render  # noqa: F401  (imported before any registration, on purpose)

VAL = "ILSVRC2012_val_{:08d}.JPEG"
PLANTED_CLASS = 500  # the dummy claims every error left that predicts this class
NAME = "planted dummy"
KEY = "planted_dummy"
COLOR = "#123456"
NO_RATERS = errata.Options(proposals=None)  # no data directory needed
PLANTED_NEED = K.Need(
    "planted_evidence",
    "needs --planted (a test's evidence)",
    published="the planted evidence",
    this_run="planted stage not run",
    to_match="--planted FILE (a test's evidence)",
    flag="--planted FILE",
)


def planted_stage(ctx: Context, p: Pending) -> StageResult:
    claimed = p.alive & (p.pred == PLANTED_CLASS)
    return StageResult(claimed=claimed, count=np.where(claimed, p.pred, -1).astype(np.int32))


def planted_reason(ctx: Context, e: Evidence) -> np.ndarray:
    return np.array([f"planted: predicted class {int(c)}" for c in e.count], dtype=object)


def dummy(needs: tuple[K.Need, ...] = ()) -> K.Category:
    return K.Category(
        NAME,
        "dummy",
        COLOR,
        "explainable",
        "a test's own category: the prediction is class 500",
        planted_stage,
        planted_reason,
        needs=needs,
        evidence=("count",),
    )


@pytest.fixture
def registered() -> Iterator[K.Category]:
    cat = dummy()
    K.register(cat, before="model failure")
    try:
        yield cat
    finally:
        K.unregister(NAME)
    assert NAME not in K.NAMES


@pytest.fixture
def registered_with_need() -> Iterator[K.Category]:
    cat = dummy(needs=(PLANTED_NEED,))
    K.register(cat, before="model failure")
    try:
        yield cat
    finally:
        K.unregister(NAME)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A Shankar-schema label file of 60 images and predictions for all 50,000 (file-name
    order): a third of the images predict the planted class, the others their own label or
    another class."""
    return write_run(tmp_path_factory.mktemp("dummy"))


def write_run(root: Path) -> tuple[Path, Path]:
    """The files of :func:`run`, written into ``root``: (labels, predictions)."""
    from errata import resources

    wn = resources.classes().wnids
    orig = resources.validation_labels().astype(np.int64)
    annots = {
        VAL.format(i + 1): {"correct": [wn[orig[i]]], "wrong": [], "unclear": []} for i in range(60)
    }
    labels = root / "human_accuracy_v3.0.0.json"
    labels.write_text(
        json.dumps({"initial_annots": annots, "problematic_images": {}, "imagenet_m": []})
    )
    top1 = orig.copy()
    i = np.arange(60)
    top1[i[i % 3 == 0]] = PLANTED_CLASS
    top1[i[i % 3 == 1]] = (orig[i[i % 3 == 1]] + 37) % 1000
    preds = root / "preds.npy"
    np.save(preds, top1)
    return labels, preds


def _baseline_expected(labels: Path, preds: Path) -> tuple[set[str], int, int]:
    """Without the dummy: the model-failure errors predicting the planted class (what the
    dummy must take), the model failures and the multi-label errors."""
    a = errata.analyze(np.load(preds), labels=labels, order="filename", options=NO_RATERS)
    err = a.errors
    mf = err[(err["category"] == "model failure") & (err["top1"] == PLANTED_CLASS)]
    cats = a.summary["categories"]
    return set(mf["file_name"]), cats["model failure"]["count"], a.summary["errors"]


def test_a_registered_category_flows_end_to_end(
    run: tuple[Path, Path], tmp_path: Path, registered: K.Category
) -> None:
    labels, preds = run
    K.unregister(NAME)  # the baseline without it
    expected, failures, errors = _baseline_expected(labels, preds)
    K.register(registered, before="model failure")
    n = len(expected)
    assert n >= 5  # the planted predictions reach the dummy (some are claimed earlier)

    # the derived tables: built from the registry when read
    assert K.NAMES[K.CODE[NAME]] == NAME and registered in K.ERRORS
    assert K.CODE["model failure"] == K.CODE[NAME] + 1
    assert NAME in K.mla_variants()["mla_explainable"][0]

    # classify -> tally -> scores
    a = errata.analyze(np.load(preds), labels=labels, order="filename", options=NO_RATERS)
    cats = a.summary["categories"]
    assert cats[NAME]["count"] == n and cats[NAME]["share"] == pytest.approx(n / errors)
    assert cats["model failure"]["count"] == failures - n  # taken from model failure only
    assert a.summary["errors"] == errors
    assert int(a.per_class[f"n_{KEY}"].sum()) == n
    err = a.errors
    mine = err[err["category"] == NAME]
    assert set(mine["file_name"]) == expected
    assert (mine["evidence_count"] == PLANTED_CLASS).all()  # the column it declares
    assert set(mine["reason"]) == {f"planted: predicted class {PLANTED_CLASS}"}

    # the command line: its table and its JSON
    from typer.testing import CliRunner

    from errata.cli import app

    base = [str(preds), "--labels", str(labels), "--order", "filename", "--proposals", "none"]
    out = tmp_path / "out"
    report = tmp_path / "report.html"
    done = CliRunner().invoke(
        app,
        ["analyze", *base, "--out", str(out), "--report", str(report), "-q"],
        env={"COLUMNS": "200"},
    )
    assert done.exit_code == 0, done.output
    row = next(line for line in done.output.splitlines() if NAME in line and "│" in line)
    assert [c.strip() for c in row.split("│")[1:-1]] == [
        NAME,
        str(n),
        f"{100 * n / errors:.1f}",
        "",
    ]
    done = CliRunner().invoke(app, ["analyze", *base, "--json"])
    assert done.exit_code == 0, done.output
    js = json.loads(done.output)
    mine_js = js["errors"]["categories"][KEY]  # keyed snake_case, with its name
    assert mine_js["name"] == NAME and mine_js["count"] == n

    # the model report
    html = report.read_text()
    assert NAME in html and COLOR in html  # its row and its colour in the plots

    # the written files: Parquet and CSV
    parquet = pq.read_table(out / "errors.parquet").to_pandas()
    assert set(parquet.loc[parquet["category"] == NAME, "file_name"]) == expected
    import pandas as pd

    per_class = pd.read_csv(out / "per_class.csv")
    assert int(per_class[f"n_{KEY}"].sum()) == n
    summary = json.loads((out / "summary.json").read_text())
    assert json.dumps(summary).count(NAME) >= 1

    # a study: its models table has the category's column
    errata.compare(
        [preds], out=tmp_path / "study", labels=labels, order="filename", proposals="none"
    )
    models = pq.read_table(tmp_path / "study" / "models.parquet").to_pandas()
    assert int(models[f"n_{KEY}"].iloc[0]) == n


def test_a_registered_categorys_unmet_need_is_reported(
    run: tuple[Path, Path], registered_with_need: K.Category
) -> None:
    from errata.core.population import comparability, not_run

    labels, preds = run
    a = errata.analyze(np.load(preds), labels=labels, order="filename", options=NO_RATERS)
    row = a.summary["categories"][NAME]
    assert row == {
        "count": 0,
        "share": None,
        "status": "not run: needs --planted (a test's evidence)",
    }
    settings = a.settings
    assert f"n_{KEY}" in not_run(settings)
    c = comparability(settings, full_val=True)
    mine = [d for d in c["differences"] if d["setting"] == "planted_evidence"]
    assert mine == [
        {
            "setting": "planted_evidence",
            "this_run": "planted stage not run",
            "published": "the planted evidence",
            "to_match": "--planted FILE (a test's evidence)",
            "flag": "--planted FILE",
        }
    ]
    assert "--planted FILE" in c["note"]
    # met: a settings record holding it, and a context that provides it
    assert f"n_{KEY}" not in not_run(settings | {"planted_evidence": "file"})
    assert a.context is not None and registered_with_need.status(a.context) is not None


def test_a_context_that_provides_the_need_runs_the_stage(
    registered_with_need: K.Category,
) -> None:
    from errata.core.evidence import make_context
    from errata.core.pipeline import classify
    from tests import planted as P

    labels = P.label_set([[1], [2]], [1, 2])
    tax = P.taxonomy({"a": [1, 2]})
    for provides, want in (((), "model failure"), (("planted_evidence",), NAME)):
        ctx = make_context(labels, tax, provides=provides)
        result = classify(ctx, np.array([[PLANTED_CLASS, PLANTED_CLASS]]))
        assert {K.NAMES[c] for c in result.category[0].tolist()} == {want}
        assert (registered_with_need.status(ctx) is None) == (want == NAME)


def test_a_stage_that_fills_an_undeclared_column_is_refused(run: tuple[Path, Path]) -> None:
    import dataclasses

    labels, preds = run
    K.register(dataclasses.replace(dummy(), evidence=()), before="model failure")
    try:
        with pytest.raises(ValueError, match="fills count, which its category's evidence"):
            errata.analyze(np.load(preds), labels=labels, order="filename", options=NO_RATERS)
    finally:
        K.unregister(NAME)


def test_register_refuses_a_taken_name_or_an_unknown_place() -> None:
    K.register(dummy(), before="excluded")
    try:
        with pytest.raises(ValueError, match="registered already"):
            K.register(dummy(), before="excluded")
    finally:
        K.unregister(NAME)
    with pytest.raises(ValueError, match="before: 'nowhere'"):
        K.register(dummy(), before="nowhere")
    assert NAME not in K.NAMES


def test_the_experts_vocabulary_is_built_from_the_registry() -> None:
    import dataclasses

    import errata.experts as E

    before, (auto, _) = E.agrees(), E.shared_vocabulary()
    assert NAME not in auto and all(NAME not in v for v in before.values())
    # an error category no expert uses is "model failure" in the shared vocabulary
    K.register(dummy(), before="model failure")
    try:
        assert E.agrees() == before
        assert E.shared_vocabulary()[0][NAME] == E.NO_EXPERT
    finally:
        K.unregister(NAME)
    # one that agrees with an expert category joins it, in precedence order
    K.register(
        dataclasses.replace(dummy(), expert=("Spurious Correlation",)), before="model failure"
    )
    try:
        spurious = (*before["Spurious Correlation"], NAME)
        assert E.agrees()["Spurious Correlation"] == spurious
        assert E.AGREES["Spurious Correlation"] == spurious  # the module attribute, read now
        assert K.expert_agreement_map()["Spurious Correlation"] == spurious
        assert E.shared_vocabulary()[0][NAME] == "Spurious Correlation"
        assert E.explained_categories() == tuple(dict.fromkeys(E.shared_vocabulary()[1].values()))
    finally:
        K.unregister(NAME)
    assert E.agrees() == before and NAME not in E.shared_vocabulary()[0]


def test_registration_is_seen_at_once_while_other_threads_read_the_tables() -> None:
    """register/unregister replace the registry's state whole, under a lock: the registering
    thread sees its own change at once, and every snapshot a reader gets is one state (all
    its tables agree), however the threads interleave."""
    import sys
    import threading

    stop = threading.Event()
    bad: list[str] = []

    def read() -> None:
        while not stop.is_set():
            t = K.tables()
            if not (len(t.CATEGORIES) == len(t.NAMES) == len(t.CODE) == len(t.BY_NAME)):
                bad.append(f"version {t.version}: tables of different states")
            if (NAME in t.NAMES) != any(NAME in v for v in (t.CODE, t.BY_NAME)):
                bad.append(f"version {t.version}: the dummy in some tables only")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    try:
        for _ in range(300):
            K.register(dummy(), before="model failure")
            assert NAME in K.NAMES and NAME in K.tables().CODE
            K.unregister(NAME)
            assert NAME not in K.NAMES and NAME not in K.tables().CODE
    finally:
        stop.set()
        for r in readers:
            r.join()
        sys.setswitchinterval(interval)
    assert bad == []


def _fixed(preds: Path) -> np.ndarray:
    """The predictions with every planted row predicting its own label (B fixes them)."""
    from errata import resources

    top1 = np.load(preds)
    i = np.arange(60)[np.arange(60) % 3 == 0]
    top1[i] = resources.validation_labels().astype(np.int64)[i]
    return top1


def test_the_dummy_in_the_diff_of_two_models(
    run: tuple[Path, Path], tmp_path: Path, registered: K.Category
) -> None:
    from typer.testing import CliRunner

    from errata.cli import app
    from errata.report.diff import diff_report, model_diff, states

    labels, preds = run
    a = errata.analyze(np.load(preds), labels=labels, order="filename", options=NO_RATERS)
    b = errata.analyze(_fixed(preds), labels=labels, order="filename", options=NO_RATERS)
    n = a.summary["categories"][NAME]["count"]
    assert n >= 5 and b.summary["categories"][NAME]["count"] == 0
    d = model_diff(a, b)
    assert NAME in states() and NAME in d.transitions.index and NAME in d.transitions.columns
    assert d.transitions.loc[NAME].sum() == n  # every dummy error of A …
    assert d.transitions.loc[NAME, ["correct", "correct multi-label"]].sum() == n  # … fixed by B
    mine = d.changes[d.changes["category_a"] == NAME]
    assert len(mine) == n and set(mine["change"]) == {"fixed"}
    html = Path(diff_report(d, tmp_path / "diff.html")["report"]).read_text()
    assert NAME in html

    # the command line's JSON: the transition matrix keyed by the dummy's key
    np.save(tmp_path / "b.npy", _fixed(preds))
    done = CliRunner().invoke(
        app, ["diff", str(preds), str(tmp_path / "b.npy"), "--labels", str(labels), "--json"]
    )
    assert done.exit_code == 0, done.output
    tr = json.loads(done.output)["transitions"]
    default = errata.analyze(np.load(preds), labels=labels, order="filename")  # diff's evidence
    n_default = default.summary["categories"][NAME]["count"]
    assert sum(tr[KEY].values()) == n_default and sum(r[KEY] for r in tr.values()) == 0


def _expert_file(preds: Path, folder: Path) -> Path:
    """A dough-bagel expert file over the run's images: the planted rows called spurious
    correlation by the experts, the rows predicting another class fine-grained."""
    top1 = np.load(preds)
    called = {0: "Spurious Correlation", 1: "Fine-grained error"}
    entries = {
        VAL.format(i + 1): {
            "top_prediction": int(top1[i]),
            "failure category": called[i % 3],
            "failure severity": "Major",
        }
        for i in range(60)
        if i % 3 in called
    }
    path = folder / "experts.json"
    path.write_text(json.dumps(entries))
    return path


def test_the_dummy_in_the_experts_comparison(run: tuple[Path, Path], tmp_path: Path) -> None:
    import dataclasses

    from errata.experts import expert_agreement

    labels, preds = run
    expected, _, _ = _baseline_expected(labels, preds)
    path = _expert_file(preds, tmp_path)
    for expert, agreeing in (((), False), (("Spurious Correlation",), True)):
        K.register(dataclasses.replace(dummy(), expert=expert), before="model failure")
        try:
            a = expert_agreement(path, labels=labels, options=NO_RATERS)
            mine = a.rows[a.rows["category"] == NAME]
            assert set(mine["file_name"]) == expected
            assert (mine["expert_category"] == "Spurious Correlation").all()
            assert bool(mine["agrees"].all()) is agreeing and bool(mine["agrees"].any()) is agreeing
            assert a.confusion.loc[NAME, "Spurious Correlation"] == len(expected)
            per = a.summary["per_expert_category"]["Spurious Correlation"]
            assert (NAME in per["agreeing_categories"]) is agreeing
            # in the shared vocabulary: model failure when it agrees with no expert category
            shared = "Spurious Correlation" if agreeing else "model failure"
            assert a.error_confusion.loc[shared, "Spurious Correlation"] >= len(expected)
            js = a.to_dict()
            assert json.dumps(js["confusion"]).count(KEY) >= 1
        finally:
            K.unregister(NAME)


def test_the_dummy_in_supersub(
    run: tuple[Path, Path], tmp_path: Path, registered: K.Category
) -> None:
    from errata import resources, taxonomy
    from errata.supersub import supersub

    labels, preds = run
    top1 = np.load(preds)[:60]
    logits = np.random.default_rng(0).normal(size=(60, 1000)).astype(np.float32)
    logits[np.arange(60), top1] += 10.0  # the file's top-1 is the run's
    npz = tmp_path / "logits.npz"
    np.savez(npz, logits=logits, file_names=resources.val_file_names()[:60])
    for tax in ("errata", "supersub10"):
        r = supersub([npz], taxonomy=tax, labels=labels, options=NO_RATERS)
        row = r.models.iloc[0]
        assert row["scores"]
        # the flat variant is the model as given, over the images whose class the taxonomy
        # covers: the dummy's column counts the dummy's errors among them
        a = errata.analyze(npz, labels=labels, options=NO_RATERS)
        covered = taxonomy.load(tax).superclass_members.any(axis=1)
        err = a.errors
        want = int(((err["category"] == NAME) & covered[err["original"].to_numpy()]).sum())
        assert row[f"flat_n_{KEY}"] == want, tax
        assert f"two_stage_n_{KEY}" in row
    assert want >= 1  # supersub10 covers some of the planted rows' classes


def test_a_registration_while_compare_runs_is_refused(
    run: tuple[Path, Path], tmp_path: Path
) -> None:
    """A category registered while a compare scores its models (here from its progress
    callback, between two batches) would leave the batches tallied over different categories:
    compare refuses in one line and writes nothing."""
    from errata.exceptions import ErrataInputError

    labels, preds = run
    np.save(tmp_path / "b.npy", _fixed(preds))
    calls: list[int] = []

    def progress(done: int, total: int, name: str) -> None:
        calls.append(done)
        if done == 2:
            K.register(dummy(), before="model failure")

    try:
        with pytest.raises(ErrataInputError, match="category registry changed while the models"):
            errata.compare(
                [preds, tmp_path / "b.npy"],
                out=tmp_path / "study",
                labels=labels,
                order="filename",
                proposals="none",
                batch=1,
                progress=progress,
            )
    finally:
        if NAME in K.NAMES:
            K.unregister(NAME)
    assert calls == [1, 2]
    assert not (tmp_path / "study").exists()
