"""Label issues from model consensus (cleanlab): precision/recall at k against a naive
reference, the ensemble, planted wrong labels and missing pairs that must rank first, a zoo built
from the reference ResNet-50 and perturbed copies, the command line, and the real figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cleanlab", reason="needs the 'labelissues' extra")

from errata import resources  # noqa: E402
from errata.core.labelset import LabelSet  # noqa: E402
from errata.core.probabilities import probabilities  # noqa: E402
from errata.core.sparse import Csr  # noqa: E402
from errata.exceptions import ErrataInputError  # noqa: E402
from errata.io.predictions import Predictions  # noqa: E402
from errata.labelissues import (  # noqa: E402
    candidates,
    ensemble,
    label_issues,
    precision_recall_at_k,
    rank_pairs,
)

N = 2000  # planted images
N_WRONG = 60  # images whose label is planted wrong (the zoo agrees on another class)
N_MISSING = 80  # images with a planted second object (the zoo sees it; truth has it)


def naive_at_k(hits: list[bool], n_pos: int, k: int) -> tuple[float, float]:
    top = hits[:k]
    return sum(top) / len(top), sum(top) / n_pos


@pytest.mark.parametrize("seed", range(5))
def test_precision_recall_at_k_matches_a_naive_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    hits = rng.random(int(rng.integers(1, 300))) < rng.random()
    n_pos = int(hits.sum()) + int(rng.integers(0, 50)) or 1
    ks = (1, 7, 50, 1000)
    got = precision_recall_at_k(hits, n_pos, ks)
    for k in ks:
        p, r = naive_at_k(hits.tolist(), n_pos, k)
        assert got[str(k)]["precision"] == pytest.approx(p)
        assert got[str(k)]["recall"] == pytest.approx(r)
        assert got[str(k)]["k_used"] == min(k, len(hits))


def test_ensemble_averages_votes_and_probabilities_over_the_models_that_predicted() -> None:
    top1 = np.array([[1, 2, -1], [1, 3, 4]])
    logits = np.zeros((3, 1000), dtype=np.float32)
    logits[:, 7] = np.log(999.0)  # softmax: 0.5 on class 7, 0.5 spread over the rest
    p, n = ensemble(top1, [None, logits])
    assert n.tolist() == [2, 2, 1]
    assert p[0, 1] == pytest.approx(0.5 + 0.5 / 1998)  # a vote and the softmax
    assert p[0, 7] == pytest.approx(0.25)
    assert p[2, 7] == pytest.approx(0.5)  # only model b predicted image 2
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    probs = np.full((2, 1000), 1e-3)
    assert np.allclose(probabilities(probs), 1e-3)  # probabilities stay as they are


def test_label_issues_sums_the_zoo_exactly_as_ensemble_does() -> None:
    """label_issues adds each model to the ensemble as it reads it (no model's dense score
    matrix is kept): the probabilities it ranks are exactly ensemble()'s over the dense
    matrices, for models that cover only some images (rows in another order) and give logits,
    probabilities or a top-1 only."""
    given, _, models = planted(logits=True)
    m = models[0]
    part = np.arange(N)[::-1][: N - 300]
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.full(1000, 0.1), N)
    zoo = [
        m,
        Predictions(m.file_names[part], m.topk[part], scores=m.scores[part], name="part"),
        Predictions(m.file_names, np.argsort(-probs, axis=1)[:, :5], scores=probs, name="p"),
        Predictions(m.file_names[:1500], m.topk[:1500, :1], name="top1"),
    ]
    r = label_issues(zoo, labels=given)
    top1 = np.full((len(zoo), N), -1, dtype=np.int64)
    scores: list[np.ndarray | None] = []
    for j, p in enumerate(zoo):
        rows = given.positions(p.file_names)
        top1[j, rows] = p.top1
        s = None
        if p.scores is not None:
            s = np.zeros((N, 1000), dtype=np.float32)
            s[rows] = p.scores
        scores.append(s)
    want, _ = ensemble(top1, scores)
    img = given.positions(r.pairs["file_name"].to_numpy())
    cls = r.pairs["class_index"].to_numpy()
    assert len(img) > N
    np.testing.assert_array_equal(r.pairs["probability"].to_numpy(), want[img, cls])


def planted(seed: int = 0, n_models: int = 5, logits: bool = False):  # type: ignore[no-untyped-def]
    """A label set of ``N`` validation images (one label each), a truth set, and a zoo.

    Planted: the first ``N_WRONG`` images are labelled wrongly (truth: another class, which
    every model predicts); images ``N_WRONG`` … ``N_WRONG + N_MISSING`` have a second object
    that truth lists and every model predicts. Elsewhere each model is right 80 % of the time
    and otherwise predicts a random class (noise that the consensus should not trust).
    """
    rng = np.random.default_rng(seed)
    names = resources.val_file_names()[:N]
    label = rng.integers(0, 50, N)  # 40 images per class: cleanlab's per-class thresholds
    other = (label + rng.integers(1, 50, N)) % 50
    truth_lists = [[int(c)] for c in label]
    for i in range(N_WRONG):
        truth_lists[i] = [int(other[i])]
    for i in range(N_WRONG, N_WRONG + N_MISSING):
        truth_lists[i] = [int(label[i]), int(other[i])]
    models = []
    for m in range(n_models):
        top1 = np.where(rng.random(N) < 0.8, label, rng.integers(0, 1000, N))
        top1[: N_WRONG + N_MISSING] = other[: N_WRONG + N_MISSING]
        scores = None
        if logits:
            scores = rng.normal(0, 1, (N, 1000)).astype(np.float32)
            clear = np.arange(N) < N_WRONG + N_MISSING  # the planted objects are clear
            scores[np.arange(N), top1] += np.where(clear, 8.0, 5.0)
            top1 = scores.argmax(axis=1)
        top = top1[:, None] if scores is None else np.argsort(-scores, axis=1)[:, :5]
        models.append(Predictions(names, top.astype(np.int16), scores=scores, name=f"m{m}"))

    def labelset(lists: list[list[int]], name: str) -> LabelSet:
        return LabelSet(
            name=name,
            file_names=names,
            correct=Csr.from_lists(lists),
            unclear=Csr.empty(N),
            problematic=np.zeros(N, dtype=bool),
            original=label.astype(np.int16),
        )

    return labelset([[int(c)] for c in label], "given"), labelset(truth_lists, "truth"), models


@pytest.mark.parametrize("logits", [False, True])
def test_planted_issues_rank_first(logits: bool) -> None:
    given, truth, models = planted(logits=logits)
    r = label_issues(models, labels=given, truth=truth, ks=(N_WRONG, N_WRONG + N_MISSING))
    v = r.summary["validation"]
    # the planted images come first (a wrong label and a missing second object look alike from
    # the label set: every model predicts another class), then the noise
    k = N_WRONG + N_MISSING
    planted_images = set(given.file_names[:k])
    top_images = set(r.images["file_name"][:k])
    assert len(top_images & planted_images) >= 0.97 * k  # logits: noise may swap one or two
    assert v["images"]["at_k"][str(k)]["recall"] >= 0.97
    assert len(set(r.pairs["file_name"][:k]) & planted_images) >= 0.97 * k
    assert v["pairs"]["at_k"][str(k)]["precision"] >= 0.97
    assert v["pairs"]["positives"] == k
    if not logits:  # votes: the planted ones are exactly first, and cleanlab flags them
        assert top_images == planted_images
        flagged = set(r.images["file_name"][r.images["is_label_issue"]])
        assert planted_images <= flagged
    # every ranked pair is a class some model ranks that the label set lacks
    given_of = dict(zip(given.file_names, given.original.tolist()))
    assert all(given_of[f] != c for f, c in zip(r.pairs["file_name"], r.pairs["class_index"]))


def test_one_top1_model_flags_but_cannot_rank() -> None:
    given, truth, models = planted(n_models=1)
    r = label_issues(models[:1], labels=given, truth=truth)
    top1 = models[0].top1
    # confident learning flags a disagreement when the predicted class is a class of the label
    # set (on ImageNet every class is: all 13,634 of the ResNet-50's are flagged, below)
    disagree = (top1 != given.original) & np.isin(top1, given.original)
    assert r.summary["label_issues_flagged"] == int(disagree.sum())
    flagged = r.images[r.images["is_label_issue"]]
    assert (flagged["quality"] == 0).all()  # every self-confidence ties at 0
    assert list(flagged["rank"]) == list(range(1, len(flagged) + 1))
    ranks = {f: i for i, f in enumerate(given.file_names)}
    assert sorted(flagged["file_name"], key=ranks.get) == list(flagged["file_name"])
    assert any("cannot rank" in n for n in r.summary["notes"])


def test_multi_label_sets_rank_pairs_only() -> None:
    _, truth, models = planted()
    r = label_issues(models, labels=truth)
    assert r.images is None and any("several labels" in n for n in r.summary["notes"])
    # the truth's own second objects are not "missing"
    in_truth = truth.multi.contains_at(
        truth.positions(r.pairs["file_name"].to_numpy()), r.pairs["class_index"].to_numpy()
    )
    assert not in_truth.any()


def test_rank_pairs_scores_are_cleanlabs_quality_of_absent() -> None:
    """With cleanlab's default (self-confidence) the quality of "absent" is 1 − p: checked
    against cleanlab's own function on a chunk that holds every class at once."""
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class

    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(1000, 0.05), size=30)
    labels = Csr.from_lists([[int(c)] for c in rng.integers(0, 1000, 30)])
    pairs = candidates(np.argsort(-probs, axis=1)[None, :, :3])
    got = rank_pairs(labels, probs, pairs=pairs)
    full = get_label_quality_scores_per_class(labels.lists(), probs)
    assert np.allclose(got["quality"], full[got["image"], got["class_index"]])
    assert np.all(np.diff(got["quality"]) >= 0)
    assert np.allclose(got["quality"], 1 - got["probability"])


def test_zoo_of_perturbed_copies_ranks_consensus_first(data_dir: Path) -> None:
    """A zoo made only for this test: the reference ResNet-50 and four copies with 10 % of
    their predictions replaced at random. The pairs all five agree on rank before any pair that
    only a perturbed copy predicts."""
    from errata.io.predictions import load_predictions

    base = load_predictions("cleanlab-resnet50")
    rng = np.random.default_rng(0)
    zoo = [base]
    for m in range(4):
        t = base.top1.copy()
        hit = rng.random(len(t)) < 0.1
        t[hit] = rng.integers(0, 1000, int(hit.sum()))
        zoo.append(Predictions(base.file_names, t[:, None], name=f"copy{m}"))
    r = label_issues(zoo, labels="original", truth="real", ks=(1000,))
    p = r.pairs["probability"].to_numpy()
    assert np.all(np.diff(p) <= 1e-6)  # best consensus first
    assert p[0] == pytest.approx(1.0) and p[-1] == pytest.approx(0.2)
    single = label_issues([base], labels="original", truth="real", ks=(1000,))
    zoo_p = r.summary["validation"]["pairs"]["at_k"]["1000"]["precision"]
    one_p = single.summary["validation"]["pairs"]["at_k"]["1000"]["precision"]
    assert zoo_p >= one_p - 0.05  # random noise must not push the real disagreements down


def test_reference_resnet_against_real(data_dir: Path) -> None:
    """The docs' figures: one top-1 model, original labels audited, ReaL as the truth."""
    r = label_issues(["cleanlab-resnet50"], labels="original", truth="real")
    v = r.summary["validation"]
    assert r.summary["label_issues_flagged"] == 13634  # every disagreement (top-1 72.732 %)
    assert v["images_judged"] == 46837
    assert v["images"]["positives"] == 4673  # original label outside a non-empty ReaL set
    assert v["images"]["flagged"] == 11654
    assert v["pairs"]["positives"] == 15389
    assert v["pairs"]["ranked"] == 11654
    at = v["images"]["at_k"]
    assert (at["100"]["hits"], at["1000"]["hits"], at["5000"]["hits"]) == (26, 230, 1306)
    at = v["pairs"]["at_k"]
    assert (at["100"]["hits"], at["1000"]["hits"], at["5000"]["hits"]) == (28, 224, 1158)


def test_cli_writes_the_rankings_and_json(tmp_path: Path) -> None:
    from tests.test_bad_input import cli

    given, truth, models = planted()
    for m in models[:2]:
        np.savez(tmp_path / f"{m.name}.npz", top1=m.top1, file_names=m.file_names)
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "file_name,labels\n"
        + "".join(f"{f},{int(c)}\n" for f, c in zip(given.file_names, given.original))
    )
    code, out, err = cli(
        [
            "label-issues",
            str(tmp_path / "m0.npz"),
            str(tmp_path / "m1.npz"),
            "--labels",
            str(labels),
            "--truth",
            "real",
            "--out",
            str(tmp_path / "issues"),
            "--json",
            "--k",
            "10,100",
        ],
        tmp_path,
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["models"] == ["m0", "m1"] and set(summary["validation"]["pairs"]["at_k"]) == {
        "10",
        "100",
    }
    written = sorted(p.name for p in (tmp_path / "issues").iterdir())
    assert written == ["images.parquet", "label_issues.json", "pairs.parquet"]
    import pandas as pd

    pairs = pd.read_parquet(tmp_path / "issues" / "pairs.parquet")
    assert len(pairs) == summary["pairs_ranked"] and pairs["rank"].is_monotonic_increasing
    code, out, _ = cli(
        ["label-issues", str(tmp_path / "m0.npz"), "--labels", str(labels)], tmp_path
    )
    assert code == 0 and "pairs the label set probably lacks" in out


def test_missing_extra_names_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from errata.exceptions import MissingExtraError

    monkeypatch.setitem(sys.modules, "cleanlab", None)
    given, _, models = planted(n_models=1)
    hint = r"--extra labelissues|imagenet-errata\[labelissues\]"
    with pytest.raises(MissingExtraError, match=hint):
        label_issues(models, labels=given)


def test_bad_arguments_are_one_line() -> None:
    given, _, models = planted(n_models=1)
    with pytest.raises(ErrataInputError, match="give at least one predictions file"):
        label_issues([], labels=given)
    with pytest.raises(ErrataInputError, match="expected whole numbers"):
        label_issues(models, labels=given, ks=(0,))


def test_flags_do_not_depend_on_how_the_cpu_sorts_ties(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Vote shares tie by the thousand; cleanlab prunes the largest margins with an unstable
    argsort, whose order of ties is the CPU's (AVX-512, AVX2 or scalar kernels). Emulate a
    machine whose sort puts ties in another order: the flags must not change."""
    from errata.labelissues.rankings import rank_images

    rng = np.random.default_rng(3)
    n, c = 6000, 1000
    given = rng.integers(0, 20, n)
    votes = np.zeros((n, c), dtype=np.float64)
    for _ in range(3):  # three top-1 models: shares in {0, 1/3, 2/3, 1}
        pick = np.where(rng.random(n) < 0.6, given, rng.integers(0, 20, n))
        votes[np.arange(n), pick] += 1 / 3
    here = rank_images(given, votes)["is_issue"]
    real_argsort = np.argsort

    def other_machine(a, axis=-1, kind=None, order=None):  # type: ignore[no-untyped-def]
        # ties reversed: a stable sort of the array read backwards, mapped back
        a = np.asarray(a)
        back = real_argsort(a[::-1], axis=axis, kind="stable")
        return (len(a) - 1 - back) if a.ndim == 1 else real_argsort(a, axis=axis, kind=kind)

    monkeypatch.setattr(np, "argsort", other_machine)
    there = rank_images(given, votes)["is_issue"]
    assert here.sum() > 100  # many flags, many of them chosen among ties
    assert np.array_equal(here, there)


def test_flags_are_the_same_with_numpys_simd_sorts_off(tmp_path: Path) -> None:
    """The same check on this machine's real kernels: a child process with NumPy's x86-64-v3
    kernels (AVX2 sorts among them) disabled flags the same images as this one."""
    import os
    import subprocess
    import sys

    from numpy._core._multiarray_umath import __cpu_features__

    if not __cpu_features__.get("X86_V3"):
        pytest.skip("this CPU has no x86-64-v3 kernels to turn off")
    script = tmp_path / "flags.py"
    script.write_text(
        "import sys, numpy as np\n"
        "from errata.labelissues.rankings import rank_images\n"
        "rng = np.random.default_rng(3)\n"
        "given = rng.integers(0, 20, 6000)\n"
        "votes = np.zeros((6000, 1000))\n"
        "for _ in range(3):\n"
        "    pick = np.where(rng.random(6000) < 0.6, given, rng.integers(0, 20, 6000))\n"
        "    votes[np.arange(6000), pick] += 1 / 3\n"
        "np.save(sys.argv[1], rank_images(given, votes)['is_issue'])\n"
    )
    flags = []
    for off in ("", "X86_V3"):
        out = tmp_path / f"flags{off}.npy"
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": off}
        subprocess.run([sys.executable, str(script), str(out)], env=env, check=True)
        flags.append(np.load(out))
    assert flags[0].sum() > 100
    assert np.array_equal(flags[0], flags[1])
