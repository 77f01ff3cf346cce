"""The open world (a shell): CLIP embeddings, a nearest-neighbour index over training images,
and the fine-grained out-of-vocabulary (OOV) stage of the error pipeline. Optional extra
``imagenet-errata[openworld]`` (open_clip, torch, faiss).

Steps, each cached on disk so that nothing is encoded twice:

1. :func:`embed_folder` — image embeddings of ImageNet train and validation (resumable shards).
2. :func:`build_index` / :func:`save_index` — faiss inner-product index over train embeddings;
   :func:`neighbour_classes` gives the classes of each validation image's 10 nearest neighbours.
3. :func:`build_proposals` and :func:`text_embeddings` — WordNet proposals of every class and
   their CLIP text embeddings, computed once per model.
4. :func:`oov_stage` — a pure function over those arrays, called by the error pipeline.

Importing this package needs only numpy: torch, open_clip and faiss load on first use, and a
missing extra raises :class:`~errata.exceptions.MissingExtraError` naming it.
"""

from __future__ import annotations

from errata.io.images import ImageFolder, list_images  # re-exported: the images a step reads
from errata.openworld.embeddings import (
    DEFAULT_MODEL,
    PROMPT,
    TINY_MODEL,
    ClipModel,
    Embeddings,
    EmbedReport,
    embed_folder,
    encode_texts,
    load_clip,
    load_embeddings,
    save_embeddings,
)
from errata.openworld.index import (
    K_NEIGHBOURS,
    NeighbourIndex,
    build_index,
    load_index,
    neighbour_classes,
    save_index,
)
from errata.openworld.proposals import (
    META_SYNSETS,
    Proposals,
    build_proposals,
    load_text_embeddings,
    text_embeddings,
)
from errata.openworld.stage import align_images, oov_stage

__all__ = [
    "DEFAULT_MODEL",
    "K_NEIGHBOURS",
    "META_SYNSETS",
    "PROMPT",
    "TINY_MODEL",
    "ClipModel",
    "EmbedReport",
    "Embeddings",
    "ImageFolder",
    "NeighbourIndex",
    "Proposals",
    "align_images",
    "build_index",
    "build_proposals",
    "embed_folder",
    "encode_texts",
    "list_images",
    "load_clip",
    "load_embeddings",
    "load_index",
    "load_text_embeddings",
    "neighbour_classes",
    "oov_stage",
    "save_embeddings",
    "save_index",
    "text_embeddings",
]
