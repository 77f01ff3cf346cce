"""Synthetic model zoos shaped like the ones users bring, for the benchmarks.

Predictions are realistic rather than random: each model has an accuracy drawn from 60–90 %,
classes differ in difficulty for every model, and 70 % of wrong predictions fall inside a
superclass of the true class (the rest anywhere), so the error pipeline sees the mix of
categories real models produce.

A zoo mixes the formats and orders people have (``KINDS``): top-1 ``.npy`` in torchvision
ImageFolder order (what ``ImageFolder`` + ``argmax`` gives, like the reference ResNet-50 file)
and in file-name order, ``.npz`` with file names in a shuffled order, top-5 integer arrays, a few
float16 logits, and CSV / Parquet files that cover a subset of the images.

Usage: python benchmarks/zoo.py OUT --models 1000 [--mix mixed|imagefolder|filename]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

# kind -> share of a mixed zoo (the rest of the zoo after these is imagefolder .npy)
MIXED = {
    "filename_npy": 0.20,
    "npz_names": 0.10,
    "top5_npy": 0.10,
    "csv_subset": 0.04,
    "parquet_subset": 0.04,
}
N_LOGITS = 4  # float16 (50,000 × 1000) logits files in a mixed zoo: 100 MB each
SUBSET = 10_000  # images in a CSV / Parquet subset
KINDS = ("imagefolder_npy", *MIXED, "logits_f16")


def _confusable(seed: int = 0) -> np.ndarray:
    """(1000, w) table of classes sharing a superclass with each class (padded by repeating)."""
    from errata import taxonomy

    same = taxonomy.load().same_superclass.copy()
    np.fill_diagonal(same, False)
    rows = [np.flatnonzero(r) for r in same]
    width = max(1, max(len(r) for r in rows))
    return np.array(
        [
            np.resize(r, width) if len(r) else np.full(width, (i + 1) % 1000)
            for i, r in enumerate(rows)
        ]
    )


class Generator:
    """Draws one realistic model at a time (file-name order, ranked top-5)."""

    def __init__(self, seed: int = 0) -> None:
        from errata import resources

        self.rng = np.random.default_rng(seed)
        self.truth = resources.validation_labels().astype(np.int64)
        self.table = _confusable()
        self.difficulty = self.rng.normal(0, 1.0, 1000)  # some classes are hard for every model

    def top5(self) -> np.ndarray:
        rng, truth, n = self.rng, self.truth, len(self.truth)
        acc = rng.uniform(0.60, 0.90)
        logit = np.log(acc / (1 - acc)) - self.difficulty[truth] + rng.normal(0, 0.5, n)
        right = rng.random(n) < 1 / (1 + np.exp(-logit))
        width = self.table.shape[1]
        cols = [truth]
        for _ in range(5):
            near = rng.random(n) < 0.7
            cols.append(
                np.where(
                    near, self.table[truth, rng.integers(0, width, n)], rng.integers(0, 1000, n)
                )
            )
        alt = np.stack(cols[1:], axis=1)
        top1 = np.where(right, truth, alt[:, 0])
        rest = np.where(right[:, None], alt[:, :4], np.column_stack([truth, alt[:, 1:4]]))
        return distinct_ranks(np.column_stack([top1, rest])).astype(np.int16)


def distinct_ranks(ranked: np.ndarray) -> np.ndarray:
    """Make every row's classes distinct (a ranking never repeats a class): a repeat moves on
    to the next class index until it is new. A loop over the k columns, not the rows."""
    out = ranked.astype(np.int64) % 1000
    for j in range(1, out.shape[1]):
        while True:
            clash = (out[:, j : j + 1] == out[:, :j]).any(axis=1)
            if not clash.any():
                break
            out[clash, j] = (out[clash, j] + 1) % 1000
    return out


def plan(n_models: int, mix: str) -> list[str]:
    """The kind of each model of a zoo."""
    if mix in ("imagefolder", "filename"):
        return [f"{mix}_npy"] * n_models
    kinds: list[str] = []
    for kind, share in MIXED.items():
        kinds += [kind] * int(round(share * n_models))
    kinds += ["logits_f16"] * min(N_LOGITS, max(0, n_models - len(kinds)))
    kinds += ["imagefolder_npy"] * (n_models - len(kinds))
    # interleaved, as a zoo sorted by model name is
    order = np.random.default_rng(1).permutation(len(kinds))
    return [kinds[i] for i in order][:n_models]


def write_zoo(folder: Path, n_models: int, *, mix: str = "mixed", seed: int = 0) -> dict[str, int]:
    """Write a zoo into ``folder``; returns the number of models of each kind."""
    kinds = plan(n_models, mix)
    _write(folder, kinds, seed=seed)
    return {k: kinds.count(k) for k in dict.fromkeys(kinds)}


def write_kind(folder: Path, kind: str, n_models: int, *, seed: int = 0, start: int = 0) -> None:
    """Write ``n_models`` models of one ``kind`` (see ``KINDS``) into ``folder``.

    Parameters
    ----------
    folder : Path
        Created when missing; files already there are kept (to grow a zoo).
    kind : str
        One of ``KINDS``.
    n_models : int
        Models to write.
    seed : int
        Seed of the generator (models, class difficulty).
    start : int
        Number of the first model (file stems ``model_NNNN_<kind>``), so that a zoo can grow
        without overwriting its models.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    _write(folder, [kind] * n_models, seed=seed, start=start)


def _write(folder: Path, kinds: list[str], *, seed: int = 0, start: int = 0) -> None:
    """Write one model of each entry of ``kinds`` into ``folder`` (numbered from ``start``)."""
    import pandas as pd

    from errata import resources
    from errata.io.predictions import imagefolder_order

    folder.mkdir(parents=True, exist_ok=True)
    gen = Generator(seed)
    names = resources.val_file_names()
    imagefolder = imagefolder_order()
    for m, kind in enumerate(kinds, start):
        top5 = gen.top5()
        stem = folder / f"model_{m:04d}_{kind}"
        if kind == "imagefolder_npy":
            np.save(f"{stem}.npy", top5[imagefolder, 0])
        elif kind == "filename_npy":
            np.save(f"{stem}.npy", top5[:, 0])
        elif kind == "top5_npy":
            np.save(f"{stem}.npy", top5[imagefolder])
        elif kind == "npz_names":
            perm = gen.rng.permutation(len(names))
            np.savez(f"{stem}.npz", top1=top5[perm, 0], file_names=names[perm])
        elif kind == "logits_f16":
            logits = gen.rng.normal(0, 1, (len(names), 1000)).astype(np.float16)
            rows = np.arange(len(names))[:, None]
            logits[rows, top5] = np.float16(8) - np.arange(5, dtype=np.float16)
            np.save(f"{stem}.npy", logits[imagefolder])
        elif kind in ("csv_subset", "parquet_subset"):
            rows = np.sort(gen.rng.choice(len(names), SUBSET, replace=False))
            df = pd.DataFrame({"file_name": names[rows]})
            for k in range(5):
                df[f"top{k + 1}"] = top5[rows, k]
            if kind == "csv_subset":
                df.to_csv(f"{stem}.csv", index=False)
            else:
                df.to_parquet(f"{stem}.parquet", index=False)
        else:  # pragma: no cover
            raise ValueError(kind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--mix", default="mixed", choices=("mixed", "imagefolder", "filename"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_zoo(args.out, args.models, mix=args.mix, seed=args.seed))


if __name__ == "__main__":
    main()
