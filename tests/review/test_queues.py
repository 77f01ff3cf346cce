"""Queue building: planted novel predictions rank first, audit samples per class, golden mixing."""

from __future__ import annotations

import numpy as np

from errata.review.queues import interleave_golden, label_audit, novel_predictions


def test_novel_predictions_rank_by_agreement_then_confidence():
    n = 6
    multi = np.zeros((n, 1000), bool)
    multi[np.arange(n), np.arange(n)] = True  # image i is labelled class i
    top1 = np.array(
        [
            [0, 11, 12, 3, 14, 5],  # model a
            [0, 11, 2, 13, 14, 5],  # model b
            [0, 11, 2, 3, 4, 5],
        ]
    )  # model c
    conf = np.full(top1.shape, 0.5)
    conf[0, 4] = 0.99  # image 4: one model, very confident
    plan = novel_predictions(multi, top1, conf)
    # image 1: three models agree on 11; image 4: two agree on 14; images 2, 3: one model each
    assert plan.rows.tolist()[:2] == [1, 4]
    assert set(plan.rows.tolist()) == {1, 2, 3, 4}
    assert plan.candidates[0] == [11, 1]  # novel class first, then the current label
    assert plan.scores[0] > plan.scores[1] > plan.scores[2]


def test_novel_predictions_when_every_model_agrees_with_the_labels():
    # no novel pair at all: an empty queue, not an IndexError
    multi = np.zeros((4, 1000), bool)
    multi[np.arange(4), np.arange(4)] = True
    plan = novel_predictions(multi, np.tile(np.arange(4), (3, 1)), np.full((3, 4), 0.9))
    assert plan.rows.tolist() == [] and plan.candidates == [] and len(plan.scores) == 0


def test_label_audit_takes_per_class_samples_with_all_candidates():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 5, 200)
    multi = np.zeros((200, 1000), bool)
    multi[np.arange(200), original] = True
    top1 = original[None, :] + 10
    plan = label_audit(multi, original, top1, per_class=3, seed=1)
    assert len(plan.rows) == 15
    assert np.bincount(original[plan.rows]).tolist() == [3, 3, 3, 3, 3]
    for r, cand in zip(plan.rows, plan.candidates):
        assert cand == sorted({int(original[r]), int(original[r]) + 10})


def test_golden_interleaving():
    regular, golden = interleave_golden(25, 3, every=10)
    allpos = np.concatenate([regular, golden])
    assert len(set(allpos.tolist())) == 28  # no two items share a position
    assert golden.tolist() == [10, 21, 32]
    assert (np.sort(allpos)[:22] == np.arange(22)).all()


def test_novel_cleanlab_ranks_the_consensus_pairs_first():
    """The cleanlab source of the novel queue: the pair every model predicts first, then the
    pairs fewer models predict; candidates are novel classes in rank order, then the labels."""
    import pytest

    pytest.importorskip("cleanlab", reason="needs the 'labelissues' extra")
    from errata.review.queues import novel_cleanlab

    n = 6
    multi = np.zeros((n, 1000), bool)
    multi[np.arange(n), np.arange(n)] = True
    top1 = np.array(
        [
            [0, 11, 12, 3, 14, 5],
            [0, 11, 2, 13, 14, 5],
            [0, 11, 2, 3, 4, 5],
        ]
    )
    plan = novel_cleanlab(multi, top1[:, :, None])
    assert plan.rows.tolist() == [1, 4, 2, 3]  # 3 of 3 models, 2 of 3, then 1 of 3 (image order)
    assert plan.candidates[0] == [11, 1]
    assert plan.scores.tolist() == pytest.approx([1.0, 2 / 3, 1 / 3, 1 / 3])
    assert novel_cleanlab(multi, top1[:, :, None], limit=2).rows.tolist() == [1, 4]


def test_project_with_the_cleanlab_novel_queue(tmp_path):
    """`errata review init --novel-ranking cleanlab`: the planted novel classes every model
    predicts (images 0-4) are the first items of the novel queue."""
    import pytest

    pytest.importorskip("cleanlab", reason="needs the 'labelissues' extra")
    from review_helpers import synthetic_inputs
    from sqlalchemy import select

    from errata.exceptions import ErrataInputError
    from errata.review import init_project, storage
    from errata.review.models import Image, Item

    inputs = synthetic_inputs(tmp_path)
    counts = init_project(
        tmp_path / "p",
        labels=inputs["labels"],
        predictions=inputs["models"],
        queues=("novel",),
        novel_ranking="cleanlab",
    )
    assert counts["novel"] == 10
    proj = storage.open_project(tmp_path / "p")
    with proj.engine.connect() as conn:
        rows = conn.execute(
            select(Image.file_name, Item.candidates)
            .join(Item, Item.image_id == Image.id)
            .where(Item.queue == "novel")
            .order_by(Item.position)
        ).all()
    proj.engine.dispose()
    first = {r[0] for r in rows[:5]}
    assert first == set(inputs["names"][:5])
    assert all(int(r[1].split()[0]) >= 500 for r in rows[:5])
    with pytest.raises(ErrataInputError, match="not one of agreement, cleanlab"):
        init_project(
            tmp_path / "q",
            labels=inputs["labels"],
            predictions=inputs["models"],
            novel_ranking="votes",
        )
    assert not (tmp_path / "q").exists()
