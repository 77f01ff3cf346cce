"""Nearest-neighbour index over training-image embeddings (faiss, exact inner product).

Vectors are L2-normalised, so inner product is cosine similarity. The index stores the class of
every training image; a query returns the classes of the ``k`` nearest training images, which is
the neighbour evidence of the OOV stage. Saved as a folder: ``index.faiss`` (faiss's own format)
and ``classes.npz`` (class index and file name per row), each written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from errata.exceptions import ErrataInputError, require
from errata.io.files import atomic_path, read_json, write_json
from errata.openworld.embeddings import EXTRA, Embeddings

K_NEIGHBOURS = 10  # neighbours per image in the OOV stage (Peychev et al.)
_QUERY_BATCH = 8192  # queries per faiss call: bounds the (batch, k) result memory


class FaissIndex(Protocol):
    """What errata uses of a faiss index: its size and width, and the nearest neighbours."""

    ntotal: int
    d: int

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class NeighbourIndex:
    """A faiss inner-product index with the class of each indexed image.

    Attributes
    ----------
    index : faiss.Index
    class_index : ndarray of int16, shape (N,)
        ImageNet class of each indexed (training) image.
    file_names : ndarray of object, shape (N,)
    model : str
        The CLIP model the vectors came from; queries must come from the same model.
    """

    index: FaissIndex
    class_index: np.ndarray
    file_names: np.ndarray
    model: str = ""

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)


def build_index(train: Embeddings) -> NeighbourIndex:
    """Index training-image embeddings whose class is known.

    Raises
    ------
    ErrataInputError
        When no embedding has a known class (the neighbours' classes are the whole point).
    """
    faiss = require("faiss", EXTRA)
    keep = train.class_index >= 0
    if not keep.any():
        raise ErrataInputError(
            "training embeddings: no image has a known class (expected "
            "ImageNet train in <wnid>/<image> folders, or a class_index field)"
        )
    vec = np.ascontiguousarray(train.vectors[keep], dtype=np.float32)
    index = faiss.IndexFlatIP(vec.shape[1])
    index.add(vec)
    return NeighbourIndex(
        index=index,
        class_index=train.class_index[keep].astype(np.int16),
        file_names=train.file_names[keep],
        model=train.model,
    )


def neighbour_classes(
    index: NeighbourIndex, queries: Embeddings | np.ndarray, *, k: int = K_NEIGHBOURS
) -> np.ndarray:
    """``(n, k)`` int16 classes of the ``k`` nearest indexed images of each query, nearest first
    (``-1`` pads when the index has fewer than ``k`` images).

    Raises
    ------
    ErrataInputError
        When the query vectors' width differs from the index's (another CLIP model).
    """
    vec = queries.vectors if isinstance(queries, Embeddings) else np.asarray(queries)
    if (
        isinstance(queries, Embeddings)
        and index.model
        and queries.model
        and queries.model != index.model
    ):
        raise ErrataInputError(
            f"query embeddings come from {queries.model!r}, the index from "
            f"{index.model!r}; embed both with the same model"
        )
    if vec.ndim != 2 or vec.shape[1] != index.dim:
        raise ErrataInputError(
            f"query embeddings have shape {vec.shape}, the index expects (n, {index.dim})"
        )
    out = np.full((len(vec), k), -1, dtype=np.int16)
    for s in range(0, len(vec), _QUERY_BATCH):
        q = np.ascontiguousarray(vec[s : s + _QUERY_BATCH], dtype=np.float32)
        _, ids = index.index.search(q, k)
        out[s : s + len(q)] = np.where(ids >= 0, index.class_index[ids.clip(0)], -1)
    return out


def save_index(index: NeighbourIndex, path: str | Path) -> Path:
    """Save to a folder (``index.faiss``, ``classes.npz``, ``index.json``), each file atomically."""
    faiss = require("faiss", EXTRA)
    path = Path(path)
    with atomic_path(path / "index.faiss") as tmp:
        faiss.write_index(index.index, str(tmp))
    with atomic_path(path / "classes.npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, class_index=index.class_index, file_name=index.file_names.astype(str))
    write_json(
        path / "index.json",
        {
            "format": "errata-index/1",
            "model": index.model,
            "n": len(index),
            "dim": index.dim,
            "metric": "inner product",
        },
    )
    return path


def load_index(path: str | Path) -> NeighbourIndex:
    """Load an index saved by :func:`save_index`.

    Raises
    ------
    ErrataInputError
        When a file is missing or the parts disagree.
    """
    faiss = require("faiss", EXTRA)
    path = Path(path)
    for name in ("index.faiss", "classes.npz", "index.json"):
        if not (path / name).is_file():
            raise ErrataInputError(
                f"{path}: no {name} (expected a folder written by `errata openworld index`)"
            )
    try:
        idx = faiss.read_index(str(path / "index.faiss"))
    except RuntimeError as exc:
        raise ErrataInputError(
            f"{path / 'index.faiss'}: unreadable faiss index ({str(exc).splitlines()[0][:120]})"
        ) from None
    with np.load(path / "classes.npz", allow_pickle=False) as z:
        cls, names = z["class_index"].astype(np.int16), z["file_name"].astype(object)
    meta = read_json(path / "index.json", what="the index.json of `errata openworld index`")
    if not isinstance(meta, dict):
        raise ErrataInputError(f"{path / 'index.json'}: expected a JSON object")
    if idx.ntotal != len(cls):
        raise ErrataInputError(
            f"{path}: index.faiss has {idx.ntotal} vectors, classes.npz {len(cls)} rows"
        )
    return NeighbourIndex(index=idx, class_index=cls, file_names=names, model=meta.get("model", ""))
