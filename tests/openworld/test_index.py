"""The faiss index: neighbours are the nearest by cosine, and a saved index reloads identically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from errata.exceptions import ErrataInputError

pytest.importorskip("open_clip", reason="needs the 'openworld' extra (uv sync --extra openworld)")
pytest.importorskip("faiss", reason="needs the 'openworld' extra (uv sync --extra openworld)")


def _emb(n: int, d: int, seed: int):
    from errata.openworld import Embeddings

    rng = np.random.default_rng(seed)
    return Embeddings(
        file_names=np.array([f"x{i}.JPEG" for i in range(n)], dtype=object),
        class_index=rng.integers(0, 1000, n).astype(np.int16),
        vectors=rng.normal(size=(n, d)).astype(np.float32) / np.sqrt(d),
        model="m",
    )


def test_neighbours_match_brute_force_and_round_trip(tmp_path: Path) -> None:
    from errata.openworld import (
        build_index,
        load_embeddings,
        load_index,
        neighbour_classes,
        save_embeddings,
        save_index,
    )

    train = load_embeddings(save_embeddings(_emb(300, 16, 0), tmp_path / "t.npz"))
    val = load_embeddings(save_embeddings(_emb(40, 16, 1), tmp_path / "v.npz"))
    idx = build_index(train)
    nn = neighbour_classes(idx, val)
    assert nn.shape == (40, 10) and nn.dtype == np.int16
    brute = np.argsort(-(val.vectors @ train.vectors.T), axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(nn, train.class_index[brute])
    save_index(idx, tmp_path / "index")
    back = load_index(tmp_path / "index")
    assert len(back) == 300 and back.model == "m"
    np.testing.assert_array_equal(neighbour_classes(back, val.vectors), nn)


def test_index_errors(tmp_path: Path) -> None:
    from errata.openworld import build_index, load_index, neighbour_classes

    e = _emb(20, 8, 0)
    with pytest.raises(ErrataInputError, match="width|shape"):
        neighbour_classes(build_index(e), np.zeros((3, 5), np.float32))
    unknown = type(e)(
        file_names=e.file_names, class_index=np.full(20, -1, np.int16), vectors=e.vectors
    )
    with pytest.raises(ErrataInputError, match="no image has a known class"):
        build_index(unknown)
    with pytest.raises(ErrataInputError, match="no index.faiss"):
        load_index(tmp_path)
