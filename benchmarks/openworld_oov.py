"""Benchmark: the fine-grained OOV stage on 50,000 images x 1,000 models with cached embeddings.

Nothing is encoded: image embeddings, neighbour classes and proposal text embeddings are arrays
(random unit vectors of ViT-L-14's width here: the stage's cost does not depend on their values).
Proposals come from the real WordNet extract; the superclasses from ``errata.taxonomy`` when it
provides them, else a stand-in (classes sharing a non-broad WordNet ancestor). Each model errs on
25 % of images, choosing among three plausible confusions per image, so models share errors as real
zoos do. Run: ``uv run --frozen --extra openworld python benchmarks/openworld_oov.py``.
"""

from __future__ import annotations

import time

import numpy as np

from errata import resources, taxonomy
from errata.openworld import build_proposals, oov_stage

N_IMAGES, N_MODELS, DIM, ERROR_RATE = 50_000, 1_000, 768, 0.25


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def stand_in_superclasses() -> tuple[np.ndarray, np.ndarray]:
    wn = taxonomy.wordnet()
    wnids = resources.classes().wnids
    anc = [{a for a in wn.ancestors(w) if not wn.is_broad(a)} for w in wnids]
    vocab = sorted(set().union(*anc))
    col = {a: i for i, a in enumerate(vocab)}
    members = np.zeros((1000, len(vocab)), bool)
    for c, s in enumerate(anc):
        members[c, [col[a] for a in s]] = True
    same = (members.astype(np.float32) @ members.T.astype(np.float32)) > 0
    np.fill_diagonal(same, True)
    return same, members


def main() -> None:
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    if hasattr(taxonomy, "superclasses"):
        props, source = build_proposals(), "errata.taxonomy superclasses"
    else:
        same, members = stand_in_superclasses()
        props = build_proposals(
            graph=taxonomy.wordnet(), same_superclass=same, superclass_members=members
        )
        source = "stand-in superclasses (shared non-broad WordNet ancestor)"
    t_props = time.perf_counter() - t
    sizes = np.diff(props.indptr)
    labels = np.zeros((N_IMAGES, 1000), bool)
    truth = resources.validation_labels().astype(np.int64)
    labels[np.arange(N_IMAGES), truth] = True
    image_emb, text_emb = _unit(rng, N_IMAGES, DIM), _unit(rng, len(props), DIM)
    # three confusions per image, preferably in the label's superclass
    conf = np.empty((N_IMAGES, 3), np.int64)
    for c in range(1000):  # setup only, per class
        rows = np.flatnonzero(truth == c)
        pool = np.flatnonzero(props.same_superclass[c] & (np.arange(1000) != c))
        pool = pool if len(pool) else np.setdiff1d(np.arange(1000), [c])
        conf[rows] = rng.choice(pool, size=(len(rows), 3))
    near = conf[np.arange(N_IMAGES)[:, None], rng.integers(0, 3, (N_IMAGES, 10))]
    nn = np.where(rng.random((N_IMAGES, 10)) < 0.5, near, rng.integers(0, 1000, (N_IMAGES, 10)))
    err_rows, err_top1 = [], []
    for _ in range(N_MODELS):
        rows = np.flatnonzero(rng.random(N_IMAGES) < ERROR_RATE)
        err_rows.append(rows)
        err_top1.append(conf[rows, rng.integers(0, 3, len(rows))])
    rows, top1 = np.concatenate(err_rows), np.concatenate(err_top1)
    t = time.perf_counter()
    claimed, reasons = oov_stage(
        rows, top1, labels, nn.astype(np.int16), image_emb, text_emb, props
    )
    t_stage = time.perf_counter() - t
    n_pairs = len(np.unique(rows * 1000 + top1))
    t = time.perf_counter()
    one, _ = oov_stage(
        err_rows[0], err_top1[0], labels, nn.astype(np.int16), image_emb, text_emb, props
    )
    t_one = time.perf_counter() - t
    print(
        f"proposals: {len(props)} synsets ({(~props.is_imagenet).sum()} not ImageNet classes), "
        f"{sizes.mean():.1f} per class (max {sizes.max()}), built in {t_props:.2f} s; {source}"
    )
    print(
        f"errors: {len(rows):,} over {N_MODELS} models x {N_IMAGES:,} images; "
        f"{n_pairs:,} distinct (image, prediction) pairs"
    )
    print(
        f"oov_stage, all models in one call: {t_stage:.2f} s; claimed {claimed.sum():,} errors "
        f"({claimed.mean():.1%})"
    )
    print(f"oov_stage, one model alone: {t_one:.2f} s ({one.sum():,} claimed)")
    print("example reason:", reasons[np.flatnonzero(claimed)[0]] if claimed.any() else "-")


if __name__ == "__main__":
    main()
