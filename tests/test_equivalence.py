"""The vectorised core against the row-wise reference (``tests/reference.py``) on a small zoo
in every order and format people bring: per-model figures and per-image categories must be the
same, through ``compare`` (many models at once) and through ``analyze`` (one at a time)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import errata
from errata import resources
from errata.core import categories as K
from errata.io.predictions import imagefolder_order
from tests import reference as R

N = 50_000
SUBSET = 3_000


def model(rng: np.random.Generator, same: np.ndarray, acc: float) -> np.ndarray:
    """(50000, 5) ranked predictions in file-name order: right, in-superclass, or anywhere."""
    truth = resources.validation_labels().astype(np.int64)
    cols = []
    for k in range(5):
        u = rng.random(N)
        near = np.array([rng.choice(same[t]) for t in truth[:200]] * (N // 200))
        pick = np.where(u < 0.6, near, rng.integers(0, 1000, N))
        cols.append(np.where((u < acc) & (k == 0), truth, pick))
    out = np.stack(cols, axis=1)
    for j in range(1, 5):  # a ranking never repeats a class
        while (clash := (out[:, j : j + 1] == out[:, :j]).any(axis=1)).any():
            out[clash, j] = (out[clash, j] + 1) % 1000
    return out.astype(np.int16)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Seven models, each in another format; returns (folder, {stem: {file name: ranked}})."""
    folder = tmp_path_factory.mktemp("zoo")
    rng = np.random.default_rng(7)
    from errata import taxonomy

    same = [np.flatnonzero(r) for r in taxonomy.load().same_superclass]
    names = resources.val_file_names()
    folder_order = imagefolder_order()
    truth_rows: dict[str, dict[str, list[int]]] = {}

    def keep(stem: str, rows: np.ndarray, ranked: np.ndarray) -> None:
        truth_rows[stem] = {str(names[r]): ranked[j].tolist() for j, r in enumerate(rows)}

    everything = np.arange(N)
    m = model(rng, same, 0.75)
    np.save(folder / "a_filename.npy", m[:, 0])
    keep("a_filename", everything, m[:, :1])
    m = model(rng, same, 0.8)
    np.save(folder / "b_imagefolder.npy", m[folder_order, 0])
    keep("b_imagefolder", everything, m[:, :1])
    m = model(rng, same, 0.7)
    perm = rng.permutation(N)
    np.savez(folder / "c_named.npz", top1=m[perm, 0], file_names=names[perm])
    keep("c_named", everything, m[:, :1])
    m = model(rng, same, 0.85)
    np.save(folder / "d_top5.npy", m[folder_order])
    keep("d_top5", everything, m)
    m = model(rng, same, 0.65)
    sub = np.sort(rng.choice(N, SUBSET, replace=False))
    logits = rng.normal(0, 1, (SUBSET, 1000)).astype(np.float16)
    logits[np.arange(SUBSET)[:, None], m[sub]] = np.float16(9) - np.arange(5, dtype=np.float16)
    np.savez(folder / "e_logits.npz", logits=logits, file_names=names[sub])
    ranked = np.argsort(-logits.astype(np.float32), axis=1, kind="stable")[:, :5]  # ties: lower
    keep("e_logits", sub, ranked)
    m = model(rng, same, 0.6)
    sub = np.sort(rng.choice(N, SUBSET, replace=False))
    df = pd.DataFrame({"file_name": names[sub], **{f"top{k + 1}": m[sub, k] for k in range(5)}})
    df.to_csv(folder / "f_subset.csv", index=False)
    keep("f_subset", sub, m[sub])
    m = model(rng, same, 0.9)
    sub = np.sort(rng.choice(N, SUBSET, replace=False))
    pd.DataFrame({"file_name": names[sub], "prediction": m[sub, 0]}).to_parquet(
        folder / "g_subset.parquet"
    )
    keep("g_subset", sub, m[sub, :1])
    experts = folder.parent / "experts.json"
    expert_rows = {int(i): str(names[i]) for i in rng.choice(N, 300, replace=False)}
    experts.write_text(
        json.dumps(
            {
                n: {
                    "top_prediction": 1,
                    "failure category": "Non-prototypical",
                    "failure severity": "Major",
                }
                for n in expert_rows.values()
            }
        )
    )
    return folder, truth_rows, experts, expert_rows


@pytest.fixture(scope="module")
def reference(zoo):  # type: ignore[no-untyped-def]
    from errata import taxonomy
    from errata.io import data
    from errata.io.labels import load_labels
    from errata.io.rejections import load_rater_answers

    _, rows, _, expert_rows = zoo
    labels = load_labels("real")
    indptr, indices = resources.real_labels()
    real = [indices[indptr[n] : indptr[n + 1]].tolist() for n in range(N)]
    rejected = R.Rejected.of(
        *load_rater_answers(data.path("real-raters")), real, resources.validation_labels()
    )
    world = R.World.of(
        labels,
        taxonomy.load(),
        {i: ("expert annotation (experts.json)", False) for i in expert_rows},
        rejected,
    )
    original = {
        str(n): int(o) for n, o in zip(resources.val_file_names(), resources.validation_labels())
    }
    return {stem: R.score_model(world, r, original) for stem, r in rows.items()}


def close(a: float, b: float | None) -> bool:
    if b is None:
        return math.isnan(a)
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) < 1e-12


@pytest.mark.slow
def test_compare_equals_the_row_wise_reference(zoo, reference, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, _, experts, _ = zoo
    study = errata.compare(
        [folder], out=tmp_path / "s", batch=3, options=errata.Options(experts=(experts,))
    )
    assert not study.failed and len(study.models) == 7
    table = study.models.set_index("model")
    errors = errata.query(
        tmp_path / "s",
        "SELECT model, file_name, category, evidence_label, evidence_count FROM errors",
    )
    for stem, ref in reference.items():
        row = table.loc[stem]
        for key in ("top1", "real", "mla_overlap", "mla_minor", "mla_explainable", "mean_severity"):
            want = ref["label_accuracy" if key == "real" else key]
            assert close(float(row[key]), want), (stem, key, row[key], want)
        assert close(float(row["top5"]), ref["top5"]), stem
        assert row["errors"] == ref["errors"]
        for c in K.CATEGORIES:
            assert row[f"n_{c.key}"] == ref["counts"].get(c.name, 0), (stem, c.name)
        for split, counts in ref["groups"].items():
            for (g, cat), n in counts.items():
                assert row[f"{split}_{K.slug(g)}_{K.slug(cat)}"] == n, (stem, split, g, cat)
        mine = errors[errors["model"] == stem]
        val_names = resources.val_file_names()
        want = {val_names[i]: v for i, v in ref["per_image"].items() if v[0] in R.ERRORS}
        assert len(mine) == len(want), stem
        got = {
            f: (c, lab, cnt)
            for f, c, lab, cnt in zip(
                mine["file_name"], mine["category"], mine["evidence_label"], mine["evidence_count"]
            )
        }
        assert got == {f: (v[0], v[1], v[2]) for f, v in want.items()}, stem


@pytest.mark.slow
def test_analyze_equals_the_row_wise_reference(zoo, reference) -> None:  # type: ignore[no-untyped-def]
    folder, _, experts, _ = zoo
    for path in sorted(folder.iterdir()):
        a = errata.analyze(path, options=errata.Options(experts=(experts,), n_resamples=10))
        ref = reference[path.stem]
        assert close(a.metrics["top1"]["value"], ref["top1"])
        assert close(a.metrics["real"]["value"], ref["label_accuracy"])
        assert a.summary["errors"] == ref["errors"]
        assert {c: v["count"] for c, v in a.summary["categories"].items() if v["count"]} == {
            c: n for c, n in ref["counts"].items() if n
        }
        cats = a.classified.category[0]
        for i, v in ref["per_image"].items():
            assert K.NAMES[cats[i]] == v[0]
