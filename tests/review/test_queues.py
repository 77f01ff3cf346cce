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
