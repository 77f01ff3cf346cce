"""A category registered while a run scores its models — here from inside a stage function,
between the classification of a batch and its tally, so the race happens on every run — can
neither crash the run nor change its figures: classify → tally → scores read one snapshot of
the registry, taken at the run's entry, and ``analyze`` and ``compare`` refuse in one line a
run during which the registry changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import errata
from errata.core import categories as K
from errata.core.evidence import Context
from errata.core.stages import Pending, StageResult
from errata.exceptions import ErrataInputError
from tests.test_registry_dummy import NAME, NO_RATERS, _fixed, dummy, planted_stage, write_run

SECOND = "second dummy"  # what the racing stage registers, in front of every category


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_run(tmp_path_factory.mktemp("race"))


@pytest.fixture
def racing() -> Iterator[list[int]]:
    """The dummy category, whose stage registers another category (before "correct": every
    code moves) the first time it runs; yields the registry versions it saw (one per call)."""
    seen: list[int] = []

    def stage(ctx: Context, p: Pending) -> StageResult:
        seen.append(K.tables().version)
        if SECOND not in K.NAMES:
            K.register(dataclasses.replace(dummy(), name=SECOND, short="2nd"), before="correct")
        return planted_stage(ctx, p)

    K.register(dataclasses.replace(dummy(), stage=stage), before="model failure")
    try:
        yield seen
    finally:
        for name in (SECOND, NAME):
            if name in K.NAMES:
                K.unregister(name)


def test_classify_and_tally_read_one_snapshot_of_the_registry(
    run: tuple[Path, Path], racing: list[int]
) -> None:
    from errata.analysis import evidence
    from errata.core.scoring import make_scores, score, topk_counts
    from errata.io.labels import load_labels

    labels_path, preds = run
    labels = load_labels(labels_path)
    top1 = np.load(preds)[:60].astype(np.int64)
    hits, n = topk_counts(top1[:, None], labels.original.astype(np.int64), 1000)
    ctx = evidence(labels, NO_RATERS)
    before = K.tables()
    tally_, result = score(labels, top1[None], topk_hits=hits[None], topk_n=n[None], context=ctx)
    assert racing and SECOND in K.NAMES  # the stage ran, and registered in the middle
    assert result.registry is before and tally_.registry is before
    s = make_scores(labels, ["m"], tally_, context=ctx)
    cats = s.summary()["categories"]
    assert list(cats) == list(before.NAMES) and SECOND not in cats
    # the figures of the state the run started in: 20 planted rows, 20 right, 20 others
    assert cats[NAME]["count"] == 20 and cats["correct"]["count"] == 20
    assert cats["model failure"]["count"] + cats["fine-grained"]["count"] == 20
    assert s.summary()["errors"] == 40 and sum(c["count"] for c in cats.values()) == 60
    assert int(s.per_class()[f"n_{K.slug(NAME)}"].sum()) == 20


def test_analyze_refuses_a_registration_during_its_run(
    run: tuple[Path, Path], racing: list[int]
) -> None:
    labels, preds = run
    with pytest.raises(ErrataInputError) as got:
        errata.analyze(np.load(preds), labels=labels, order="filename", options=NO_RATERS)
    assert str(got.value) == (
        "analyze: the category registry changed while the model was scored (register "
        "categories before a run starts)"
    )
    assert racing and SECOND in K.NAMES
    # registered before the next run: it runs, over the new registry (the second, first in
    # precedence, claims what the first did)
    a = errata.analyze(np.load(preds), labels=labels, order="filename", options=NO_RATERS)
    cats = a.summary["categories"]
    assert cats[SECOND]["count"] == 20 and cats[NAME]["count"] == 0


def test_compare_refuses_a_registration_inside_a_stage(
    run: tuple[Path, Path], tmp_path: Path, racing: list[int]
) -> None:
    labels, preds = run
    np.save(tmp_path / "b.npy", _fixed(preds))
    with pytest.raises(ErrataInputError, match="category registry changed while the models"):
        errata.compare(
            [preds, tmp_path / "b.npy"],
            out=tmp_path / "study",
            labels=labels,
            order="filename",
            proposals="none",
            batch=1,
        )
    assert len(set(racing)) == 1  # every batch ran the stages of the run's snapshot
    assert not (tmp_path / "study").exists()
