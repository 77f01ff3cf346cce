"""Tiny planted inputs shared by the tests: taxonomies, label sets and contexts whose every
category, count and reason is known by construction."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from errata.core.evidence import (
    DEFAULT_SPURIOUS,
    Context,
    Cooccurrence,
    NonPrototypical,
    SpuriousRule,
    Taxonomy,
    make_context,
)
from errata.core.labelset import LabelSet
from errata.core.sparse import Csr

VAL = "ILSVRC2012_val_{:08d}.JPEG"
CLASS_NAMES = np.array([f"class{c}" for c in range(1000)])
# the default spurious rule, with co-occurrence in ≥ 2 other images: two planted images a pair
PLANTED_RULE = dataclasses.replace(DEFAULT_SPURIOUS, name="planted", min_cooccurrence=2)


def taxonomy(
    supers: dict[str, Sequence[int]],
    *,
    overlap: Sequence[tuple[int, int]] = (),
    lca: np.ndarray | None = None,
    groups: dict[str, np.ndarray] | None = None,
    name: str = "planted",
) -> Taxonomy:
    """A taxonomy over the 1000 classes with the given superclasses (name → member classes);
    classes in no listed superclass each get one of their own."""
    members = np.zeros((1000, len(supers)), dtype=bool)
    for j, cls in enumerate(supers.values()):
        members[list(cls), j] = True
    alone = np.flatnonzero(~members.any(axis=1))
    solo = np.zeros((1000, len(alone)), dtype=bool)
    solo[alone, np.arange(len(alone))] = True
    ov = np.zeros((1000, 1000), dtype=bool)
    for a, b in overlap:
        ov[a, b] = True
    if lca is None:
        lca = np.full((1000, 1000), 9, dtype=np.int16)
        np.fill_diagonal(lca, 0)
    if groups is None:
        groups = {"wordnet": np.where(np.arange(1000) < 500, "organism", "artifact")}
    return Taxonomy(
        name=name,
        class_names=CLASS_NAMES,
        overlap=ov,
        superclass_members=np.concatenate([members, solo], axis=1),
        superclass_names=np.array([*supers, *(f"solo{c}" for c in alone)]),
        lca_height=lca,
        groups=groups,
    )


def label_set(
    correct: Sequence[Sequence[int]],
    original: Sequence[int],
    *,
    problematic: Sequence[bool] | None = None,
    unclear: Sequence[Sequence[int]] | None = None,
    names: Sequence[str] | None = None,
    imagenet_m: Sequence[bool] | None = None,
    name: str = "planted",
) -> LabelSet:
    n = len(correct)
    return LabelSet(
        name=name,
        file_names=np.array(names if names is not None else [VAL.format(i + 1) for i in range(n)]),
        correct=Csr.from_lists([list(c) for c in correct]),
        unclear=Csr.from_lists([list(u) for u in unclear]) if unclear else Csr.empty(n),
        problematic=np.array(problematic if problematic is not None else [False] * n, bool),
        original=np.array(original, dtype=np.int16),
        imagenet_m=None if imagenet_m is None else np.array(imagenet_m, dtype=bool),
    )


def naive_cooccurrence(labels: LabelSet) -> Cooccurrence:
    """Counts by a dense matrix product (the reference for the CSR count)."""
    dense = labels.multi.to_dense()
    has = labels.original >= 0
    dense[np.flatnonzero(has), labels.original[has].astype(np.int64)] = True
    dense[~labels.evaluated] = False
    counts = dense.T.astype(np.int32) @ dense.astype(np.int32)
    return Cooccurrence(
        name=labels.name,
        counts=counts,
        sets=Csr.from_dense(dense),
        file_names=labels.file_names,
        description="planted",
    )


def context(
    labels: LabelSet,
    tax: Taxonomy,
    *,
    nonproto: dict[int, str] | None = None,
    imagenet_x: dict[int, str] | None = None,
    oov=None,  # type: ignore[no-untyped-def]
    cooccurrence: Cooccurrence | None = None,
    preset: str | None = None,
    spurious: SpuriousRule = PLANTED_RULE,
) -> Context:
    """A context over ``labels``; ``nonproto``/``imagenet_x`` map image rows to source names;
    ``preset="peychev2023"``: the published decision order. Its spurious rule is the default's
    with co-occurrence in ≥ 2 other images (so that two planted images make a pair)."""
    n = len(labels)
    source = np.full(n, -1, dtype=np.int16)
    from_x = np.zeros(n, dtype=bool)
    sources: list[str] = []
    for rows, x in ((nonproto or {}, False), (imagenet_x or {}, True)):
        for row, src in rows.items():
            if src not in sources:
                sources.append(src)
            source[row] = sources.index(src)
            from_x[row] = x
    provides = frozenset({"experts"} if nonproto else set()) | frozenset(
        {"imagenet_x"} if imagenet_x else set()
    )
    return make_context(
        labels,
        tax,
        cooccurrence=cooccurrence,
        nonprototypical=NonPrototypical(
            source=source, sources=tuple(sources), imagenet_x=from_x, provides=provides
        ),
        oov=oov,
        preset=preset,
        spurious=spurious,
    )
