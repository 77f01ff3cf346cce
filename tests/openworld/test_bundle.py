"""`errata analyze --openworld BUNDLE`: the open-world stage inside the real pipeline, on a bundle
of planted arrays (no CLIP model needed: the stage only reads cached embeddings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faiss", reason="needs the 'openworld' extra (uv sync --extra openworld)")

from errata import resources  # noqa: E402

ESKIMO, MALAMUTE = 248, 249
D = 16


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    from errata.openworld.embeddings import Embeddings, save_embeddings
    from errata.openworld.index import build_index, save_index
    from errata.openworld.proposals import build_proposals

    folder = tmp_path_factory.mktemp("bundle")
    props = build_proposals()
    rng = np.random.default_rng(0)
    texts = rng.normal(size=(len(props), D)).astype(np.float32)
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    with open(folder / "texts.npz", "wb") as fh:
        np.savez(fh, vectors=texts, wnids=props.wnids.astype(str), key="{}")
    # the planted image looks exactly like a dog synset that is not an ImageNet class
    vocab = {w: i for i, w in enumerate(props.wnids.tolist())}
    outside = [w for w in props.of(ESKIMO) if vocab[w] >= props.n_classes]
    assert outside, "Eskimo dog has non-ImageNet proposals"
    target = texts[vocab[outside[0]]]
    val_names = np.array(
        ["ILSVRC2012_val_00000002.JPEG", "ILSVRC2012_val_00000003.JPEG"], dtype=object
    )
    other = rng.normal(size=D).astype(np.float32)
    val = np.stack([target, other / np.linalg.norm(other)])
    save_embeddings(
        Embeddings(file_names=val_names, class_index=np.full(2, -1, np.int16), vectors=val),
        folder / "val.npz",
    )
    # its nearest training images are malamutes (same superclass as the prediction)
    train = np.repeat(target[None, :], 12, axis=0) + rng.normal(0, 0.01, (12, D)).astype(np.float32)
    train /= np.linalg.norm(train, axis=1, keepdims=True)
    index = build_index(
        Embeddings(
            file_names=np.array([f"t{i}.JPEG" for i in range(12)], object),
            class_index=np.full(12, MALAMUTE, np.int16),
            vectors=train,
        )
    )
    save_index(index, folder / "index")
    (folder / "expected.json").write_text(json.dumps({"wnid": outside[0]}))
    return folder


def test_analyze_with_openworld_claims_the_planted_image(bundle: Path, tmp_path: Path) -> None:
    # a two-image prediction file: image 2 predicted as Eskimo dog (its label is not a dog)
    assert resources.validation_labels()[1] not in range(151, 269)  # image 2: ski, alp
    (tmp_path / "p.csv").write_text(
        "file_name,top1\nILSVRC2012_val_00000002.JPEG,248\nILSVRC2012_val_00000003.JPEG,248\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "errata",
            "analyze",
            str(tmp_path / "p.csv"),
            "--openworld",
            str(bundle),
            "--out",
            str(tmp_path / "o"),
            "--report",
            str(tmp_path / "r.html"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["categories"]["fine_grained_oov"]["count"] == 1
    assert summary["sources"]["fine_grained_oov"].startswith("open-world model")
    # the stage ran: its category has a share, and no caveat says it did not run
    assert summary["categories"]["fine_grained_oov"]["share"] == 0.5
    assert "fine-grained OOV did not run" not in (tmp_path / "r.html").read_text()
    assert not [n for n in json.loads(done.stdout)["notes"] if "did not run" in n]
    import pyarrow.parquet as pq

    errors = pq.read_table(tmp_path / "o" / "errors.parquet").to_pandas()
    row = errors[errors["file_name"] == "ILSVRC2012_val_00000002.JPEG"].iloc[0]
    assert row["category"] == "fine-grained OOV"
    wnid = json.loads((bundle / "expected.json").read_text())["wnid"]
    assert wnid in row["reason"] or "not an ImageNet class" in row["reason"], row["reason"]


def test_missing_bundle_parts_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    np.save(tmp_path / "p.npy", np.zeros(50000, dtype=np.int64))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "errata",
            "analyze",
            str(tmp_path / "p.npy"),
            "--order",
            "filename",
            "--openworld",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "missing validation embeddings" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_stage_memoises_decisions_across_batches(bundle: Path) -> None:
    """A zoo classified in batches: the second call reuses the first call's decisions."""
    from unittest import mock

    import errata
    from errata.analysis import evidence
    from errata.core import categories as K
    from errata.core.pipeline import Classifier
    from errata.io.labels import load_labels
    from errata.openworld import stage as stage_module

    labels = load_labels("real")
    top1 = np.full(len(labels), 248)
    calls = []
    real_stage = stage_module.oov_stage

    def counting(*a, **k):  # type: ignore[no-untyped-def]
        calls.append(len(a[0]))
        return real_stage(*a, **k)

    with mock.patch.object(stage_module, "oov_stage", counting):
        ctx = evidence(labels, errata.Options(openworld=bundle))
        # no pair memo in the pipeline: the open-world stage's own memo is what is tested
        classifier = Classifier(ctx, memo=False)
        first = classifier(np.stack([top1, top1]))
        second = classifier(top1)
    assert calls and len(calls) == 1  # the second batch computed nothing new
    assert (first.category[0] == second.category[0]).all()
    assert K.NAMES[second.category[0, 1]] == "fine-grained OOV"  # image 2, as planted


def test_neighbour_search_is_cached_until_a_bundle_file_changes(
    bundle: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The exact neighbour search runs once per bundle: a second run reads errata's disk cache
    (same neighbours, no search), and a rewritten index file searches again."""
    import os
    import shutil

    from errata.io.labels import load_labels
    from errata.openworld import index as index_module
    from errata.openworld import pipeline

    monkeypatch.setenv("ERRATA_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "bundle"
    shutil.copytree(bundle, folder)
    labels = load_labels("real")
    searches: list[int] = []
    real_search = index_module.neighbour_classes

    def counting(*a, **k):  # type: ignore[no-untyped-def]
        searches.append(1)
        return real_search(*a, **k)

    monkeypatch.setattr(index_module, "neighbour_classes", counting)
    first = pipeline.cached_neighbours(pipeline.load_bundle(folder))
    second = pipeline.cached_neighbours(pipeline.load_bundle(folder))
    assert len(searches) == 1 and (first == second).all()
    assert first.shape[0] == 2 and (first[0] == 249).all()  # the planted malamutes
    stage = pipeline.make_stage(pipeline.load_bundle(folder), labels)
    assert len(searches) == 1  # the stage reads the cache too
    claimed, _ = stage(np.array([1]), np.array([248]))  # image 2 (row 1), as planted
    assert claimed.tolist() == [True]
    st = (folder / "index" / "index.faiss").stat()
    os.utime(folder / "index" / "index.faiss", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    pipeline.cached_neighbours(pipeline.load_bundle(folder))
    assert len(searches) == 2  # a changed file: searched again
