"""The open-world stage as a pipeline stage: load a bundle of cached arrays once, then claim
errors for any number of models without encoding anything again.

A bundle is a folder (the layout the README's open-world steps produce)::

    BUNDLE/val/        validation-image embeddings (``errata openworld embed`` output, or a
                       .npz/.parquet file named val.npz / val.parquet)
    BUNDLE/index/      training-image neighbour index (``errata openworld index``)
    BUNDLE/texts.npz   proposal text embeddings (``errata openworld texts``)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.exceptions import ErrataInputError, arg

if TYPE_CHECKING:
    from errata.core.evidence import OovStage
    from errata.core.labelset import LabelSet
    from errata.openworld.embeddings import Embeddings
    from errata.openworld.index import NeighbourIndex
    from errata.openworld.proposals import Proposals


@dataclass(frozen=True, eq=False)
class Bundle:
    embeddings: Embeddings
    index: NeighbourIndex
    text_embeddings: np.ndarray
    proposals: Proposals
    source: str


def load_bundle(folder: str | Path) -> Bundle:
    """Load the cached arrays of the open-world stage from ``folder`` (see module docstring)."""
    from errata.openworld.embeddings import load_embeddings
    from errata.openworld.index import load_index
    from errata.openworld.proposals import build_proposals, load_text_embeddings

    folder = Path(folder)
    if not folder.is_dir():
        raise ErrataInputError(
            f"{arg('openworld', folder)}: not a folder (expected val/, index/ and "
            "texts.npz from `errata openworld embed|index|texts`)"
        )
    val = next(
        (p for p in (folder / "val", folder / "val.npz", folder / "val.parquet") if p.exists()),
        None,
    )
    for what, path in (
        ("validation embeddings (val/)", val),
        ("index/", folder / "index"),
        ("texts.npz", folder / "texts.npz"),
    ):
        if path is None or not Path(path).exists():
            raise ErrataInputError(
                f"{arg('openworld', folder)}: missing {what}; see the README's open-world steps"
            )
    assert val is not None  # checked above
    proposals = build_proposals()
    return Bundle(
        embeddings=load_embeddings(val),
        index=load_index(folder / "index"),
        text_embeddings=load_text_embeddings(folder / "texts.npz", proposals),
        proposals=proposals,
        source=str(folder),
    )


def _bundle_key(folder: Path) -> bytes:
    """What the neighbour search depends on: the bundle's embedding and index files, by path,
    size and modification time (an index can be gigabytes: too large to hash every run)."""
    parts = [str(folder.resolve())]
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "texts.npz"):
        st = f.stat()
        parts.append(f"{f.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}")
    return "\n".join(parts).encode()


def cached_neighbours(bundle: Bundle) -> np.ndarray:
    """``(rows of the bundle's validation embeddings, K_NEIGHBOURS)`` int16: the classes of the
    nearest training images of every validation image. The exact search takes seconds for the
    50,000 images (minutes against a full training index), so its result is kept in errata's
    disk cache (:func:`errata.io.files.cached_arrays`) until a file of the bundle changes."""
    from errata.io.files import cached_arrays
    from errata.openworld.index import K_NEIGHBOURS, neighbour_classes

    def build() -> dict[str, np.ndarray]:
        vectors = bundle.embeddings.vectors
        return {"classes": neighbour_classes(bundle.index, vectors, k=K_NEIGHBOURS)}

    arrays = cached_arrays("openworld-neighbours", _bundle_key(Path(bundle.source)), build)
    classes: np.ndarray = arrays["classes"]
    return classes


def make_stage(bundle: Bundle, labels: LabelSet) -> OovStage:
    """The open-world stage over ``labels``' images, as :class:`errata.core.evidence.OovStage`:
    ``stage(image rows, predictions) -> (claimed, reasons)``.

    A decision depends only on the (image, prediction) pair, so decisions are memoised across
    calls: a zoo classified in batches computes each distinct error once, whichever model and
    batch makes it.
    """
    from errata.openworld.stage import align_images, oov_stage
    from errata.resources import N_CLASSES

    image_emb, neighbours = align_images(
        labels.file_names, bundle.embeddings, bundle.index, neighbours=cached_neighbours(bundle)
    )
    multi = labels.multi
    memo = {
        "keys": np.zeros(0, np.int64),
        "claimed": np.zeros(0, bool),
        "reasons": np.zeros(0, object),
    }

    def stage(image: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = np.asarray(image, dtype=np.int64) * N_CLASSES + np.asarray(prediction, np.int64)
        uniq, inverse = np.unique(key, return_inverse=True)
        keys = memo["keys"]
        pos = np.searchsorted(keys, uniq).clip(max=max(len(keys) - 1, 0))
        known = (keys[pos] == uniq) if len(keys) else np.zeros(len(uniq), bool)
        new = uniq[~known]
        if len(new):
            claimed, reasons = oov_stage(
                new // N_CLASSES,
                new % N_CLASSES,
                multi,
                neighbours,
                image_emb,
                bundle.text_embeddings,
                bundle.proposals,
            )
            order = np.argsort(np.concatenate([keys, new]), kind="stable")
            memo["keys"] = np.concatenate([keys, new])[order]
            memo["claimed"] = np.concatenate([memo["claimed"], claimed])[order]
            memo["reasons"] = np.concatenate([memo["reasons"], reasons])[order]
        at = np.searchsorted(memo["keys"], uniq)[inverse]
        return memo["claimed"][at].astype(bool), memo["reasons"][at].astype(object)

    return stage


def stage_for(folder: str | Path | None, labels: LabelSet) -> tuple[OovStage, str] | None:
    """The open-world stage over ``labels`` from the bundle in ``folder`` (``None``: none),
    with its name for the outputs; needs the ``openworld`` extra."""
    if folder is None:
        return None
    from errata.exceptions import require

    require("faiss", "openworld")
    return make_stage(load_bundle(folder), labels), f"open-world model ({folder})"
