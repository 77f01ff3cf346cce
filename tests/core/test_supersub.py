"""Superclass figures and two-stage inference against naive per-image loops, on random
taxonomies (overlapping, partial) and planted cases."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from errata.core.probabilities import probabilities
from errata.core.supersub import compose, superclass_scores, two_stage


def naive_scores(top1: np.ndarray, truth: np.ndarray, members: np.ndarray) -> dict:
    """One model, image by image: the definitions written out."""
    c, s = members.shape
    supers = [set(np.flatnonzero(members[k]).tolist()) for k in range(c)]
    out = {k: 0 for k in ("images", "correct", "sc_correct", "errors", "within")}
    per = {k: [0] * s for k in ("images", "correct", "errors", "within")}
    for p, t in zip(top1.tolist(), truth.tolist()):
        if t < 0 or p < 0 or not supers[t]:
            continue
        out["images"] += 1
        shares = bool(supers[t] & supers[p])
        out["correct"] += p == t
        out["sc_correct"] += p == t or shares
        for j in supers[t]:
            per["images"][j] += 1
            per["correct"][j] += p == t
        if p != t:
            out["errors"] += 1
            out["within"] += shares
            for j in supers[t]:
                per["errors"][j] += 1
                per["within"][j] += j in supers[p]
    return out | {f"per_{k}": v for k, v in per.items()}


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.booleans())
def test_superclass_scores_match_the_naive_loop(seed: int, m: int, partial: bool) -> None:
    rng = np.random.default_rng(seed)
    c, s, n = 30, 6, 200
    members = rng.random((c, s)) < 0.25  # overlapping superclasses
    if not partial:
        members[np.arange(c), rng.integers(0, s, c)] = True
    truth = rng.integers(-1, c, n)
    top1 = np.where(rng.random((m, n)) < 0.4, truth, rng.integers(-1, c, (m, n)))
    got = superclass_scores(top1, truth, members)
    for j in range(m):
        want = naive_scores(top1[j], truth, members)
        assert got.images[j] == want["images"] and got.correct[j] == want["correct"]
        assert got.superclass_correct[j] == want["sc_correct"]
        assert got.errors[j] == want["errors"] and got.within[j] == want["within"]
        for k in ("images", "correct", "errors", "within"):
            assert getattr(got, f"per_{k}")[j].tolist() == want[f"per_{k}"]
    # properties: within + across = errors; for a partition the per-superclass rows add up
    assert (got.within + got.across == got.errors).all()
    if not partial and (members.sum(axis=1) == 1).all():
        assert (got.per_errors.sum(axis=1) == got.errors).all()


def naive_two_stage(probs: np.ndarray, members: np.ndarray) -> list[int]:
    out = []
    for row in probs:
        sums = [
            sum(row[k] for k in range(len(row)) if members[k, j]) for j in range(members.shape[1])
        ]
        best_s = int(np.argmax(sums))
        inside = [k for k in range(len(row)) if members[k, best_s]]
        out.append(max(inside, key=lambda k: (row[k], -k)))
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_two_stage_matches_the_naive_loop(seed: int, logits: bool) -> None:
    rng = np.random.default_rng(seed)
    c, s = 25, 5
    members = np.zeros((c, s), dtype=bool)
    members[np.arange(c), rng.integers(0, s, c)] = True
    members[rng.integers(0, c, 3), rng.integers(0, s, 3)] = True  # a few in two superclasses
    x = rng.normal(size=(40, c)).astype(np.float32) * 2
    scores = x if logits else np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    topk, chosen = two_stage(scores, members, k=4)
    probs = probabilities(scores)
    assert topk[:, 0].tolist() == naive_two_stage(probs, members)
    assert members[topk[:, 0], chosen].all()  # top-1 lies in the chosen superclass
    assert (np.sort(topk, axis=1)[:, 1:] != np.sort(topk, axis=1)[:, :-1]).all()  # distinct


def test_compose_is_superclass_then_specialist() -> None:
    rng = np.random.default_rng(1)
    c, s, n = 12, 3, 50
    members = np.zeros((c, s), dtype=bool)
    members[np.arange(c), np.arange(c) % s] = True
    sup = rng.normal(size=(n, s))
    specs = [rng.normal(size=(n, int(members[:, j].sum()))) for j in range(s)]
    topk, chosen, probs = compose(sup, specs, members, k=5)
    assert chosen.tolist() == sup.argmax(axis=1).tolist()
    for i in range(n):
        cols = np.flatnonzero(members[:, chosen[i]])
        assert topk[i, 0] == cols[specs[chosen[i]][i].argmax()]
        # the chosen superclass's classes come first, by its specialist
        k = min(5, len(cols))
        assert set(topk[i, :k].tolist()) <= set(cols.tolist())
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)  # a partition: a distribution
