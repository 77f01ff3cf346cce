"""errata.io.zoo.read_zoo: one result per input, in order, failures as one-line errors, the
same arrays read ahead in a thread as read in the caller's, hashing and reuse."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from errata import resources
from errata.io.labels import load_labels
from errata.io.zoo import Entry, read_zoo


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("zoo")
    truth = resources.validation_labels().astype(np.int64)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        top1 = np.where(rng.random(len(truth)) < 0.7, truth, rng.integers(0, 1000, len(truth)))
        p = folder / f"m{i}.npy"
        np.save(p, top1)
        paths.append(p)
    bad = folder / "bad.npy"
    np.save(bad, np.zeros(10, dtype=np.int64))
    paths.insert(2, bad)
    return paths


def test_one_result_per_input_in_order(zoo: list[Path]) -> None:
    labels = load_labels("real")
    got = list(read_zoo(zoo, labels=labels, prefetch=3))
    assert [g.where for g in got] == [str(p) for p in zoo]
    assert [g.error is None for g in got] == [True, True, False, True, True, True]
    assert "10" in str(got[2].error) and str(zoo[2]) in str(got[2].error)
    for g, p in zip(got, zoo):
        if g.error is None:
            assert g.predictions is not None and g.alignment is not None and g.top1 is not None
            assert g.predictions.name == p.stem
            assert np.array_equal(g.top1, g.alignment.scatter(g.predictions.top1))
            assert g.hits is not None and g.n is not None
            assert g.hits[0].sum() == (g.top1 == labels.original).sum()


def test_prefetch_reads_the_same(zoo: list[Path]) -> None:
    labels = load_labels("real")
    ahead = list(read_zoo(zoo, labels=labels, prefetch=2))
    inline = list(read_zoo(zoo, labels=labels))
    for a, b in zip(ahead, inline):
        assert (a.error is None) == (b.error is None)
        if a.error is None:
            assert np.array_equal(a.top1, b.top1)
            assert np.array_equal(a.hits, b.hits) and np.array_equal(a.n, b.n)


def test_labels_read_per_file(zoo: list[Path]) -> None:
    """A label-set name is read against each file's images (as analyze reads it)."""
    got = next(read_zoo(zoo[:1], labels="real"))
    assert got.labels is not None and got.labels.name == "real"


def test_hash_and_reuse(zoo: list[Path]) -> None:
    labels = load_labels("real")
    entries = [Entry.of(p, p.stat(), "imagenet-val") for p in zoo[:2]]
    keep = hashlib.sha256(zoo[0].read_bytes()).hexdigest()
    got = list(
        read_zoo(
            [e.path for e in entries],
            labels=labels,
            entries=entries,
            unchanged=lambda e: e.sha256 == keep,
        )
    )
    assert entries[0].sha256 == keep and entries[1].sha256 is not None
    assert got[0].reused and got[0].predictions is None
    assert not got[1].reused and got[1].predictions is not None


@pytest.mark.parametrize("layout", ["C", "F", ">i4"])
def test_in_memory_npy_reads_as_numpy_load(tmp_path: Path, layout: str) -> None:
    """A hashed file is parsed from the bytes already read: the same array as np.load gives
    (Fortran order, other byte order), and a truncated file a one-line error naming it."""
    from errata.exceptions import ErrataInputError
    from errata.io.predictions import load_predictions

    truth = resources.validation_labels().astype(np.int64)
    shift = np.random.default_rng(2).integers(1, 199, (len(truth), 1))
    top5 = (truth[:, None] + shift * np.arange(5)) % 1000  # five distinct classes per row
    arr = np.asfortranarray(top5) if layout == "F" else top5.astype(layout.replace("C", "<i8"))
    p = tmp_path / "m.npy"
    np.save(p, arr)
    data = p.read_bytes()
    from_disk = load_predictions(p, order="filename")
    in_memory = load_predictions(p, order="filename", content=data)
    assert np.array_equal(in_memory.topk, from_disk.topk)
    assert np.array_equal(in_memory.topk, top5)
    with pytest.raises(ErrataInputError, match=r"m\.npy: not a valid \.npy array, truncated"):
        load_predictions(p, order="filename", content=data[:-8])
