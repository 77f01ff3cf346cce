"""Ranking scores (pure numpy): the top-k classes of every row, best first, of a score matrix
checked to be finite, and a ranking moved onto a 200-class subset test set."""

from __future__ import annotations

import numpy as np

from errata import resources
from errata.core import datasets as D
from errata.exceptions import ErrataInputError, row_ref
from errata.resources import N_CLASSES

TOPK_SAVED = 5  # how many ranked classes are kept when scores are given


def top_classes(block: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` int16: the ``k`` best columns of every row of ``block`` (``(n, c)`` finite
    floats), best first, ties to the lower column — by repeated arg-max (a few passes over the
    block beat one full sort or partition of 1,000 columns). ``block`` is overwritten (the
    chosen scores become ``-inf``).

    Examples
    --------
    >>> top_classes(np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0]]), 2).tolist()
    [[1, 2], [0, 1]]
    """
    topk = np.empty((len(block), k), dtype=np.int16)
    rows = np.arange(len(block))
    for j in range(k):
        best = block.argmax(axis=1)
        topk[:, j] = best
        block[rows, best] = -np.inf
    return topk


SCORE_BLOCK = 4096  # rows of a score matrix ranked at a time (bounds the working copy)


def rank_scores(
    arr: np.ndarray,
    where: str,
    keep: bool,
    columns: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The top-k classes of every row of a score matrix (best first, ties to the lower class),
    checking that every score is finite; block by block, by repeated arg-max (a few passes
    over each block beat one full sort or partition of 1,000 columns). Scores are compared in
    their own precision: float64 scores stay float64 (a cast to float32 would tie scores that
    differ by 1e-12, or overflow), narrower floats are compared as float32. The ranking is
    :func:`errata.core.ranking.top_classes`.

    ``columns``: the 1000-class index of each column of a subset's ``(n, K)`` scores; ``mask``
    ``(1000,)``: the classes a subset test set is scored over (the others are ``-inf`` before
    the arg-max, so a subset model is never credited or blamed for a class it is not asked)."""
    k = min(TOPK_SAVED, N_CLASSES if mask is None else int(mask.sum()))
    n = len(arr)
    dtype = np.float64 if arr.dtype.itemsize >= 8 else np.float32
    topk = np.empty((n, k), dtype=np.int16)
    scores = np.empty((n, N_CLASSES), dtype=dtype) if keep else None
    for start in range(0, n, SCORE_BLOCK):
        with np.errstate(over="ignore"):
            block = np.array(arr[start : start + SCORE_BLOCK], dtype=dtype)
        finite = np.isfinite(block)
        if not finite.all():
            r, c = (int(v[0]) for v in np.nonzero(~finite))
            given = arr[start + r, c]
            if np.isfinite(given):  # finite as given: the cast overflowed
                shown = np.format_float_scientific(given, precision=4, trim="-")
                raise ErrataInputError(
                    f"{where}: {row_ref(where, start + r)}, class {c}: score {shown} does not "
                    f"fit {np.dtype(dtype).name} (at most {np.finfo(dtype).max:.3g}); rescale "
                    "the scores (subtracting each row's maximum keeps the ranking)"
                )
            raise ErrataInputError(
                f"{where}: {row_ref(where, start + r)}, class {c}: score {block[r, c]} is not "
                "finite (NaN or inf); expected finite logits or probabilities"
            )
        if columns is not None:
            block = D.expand_scores(block, columns)
        elif mask is not None:
            block[:, ~mask] = -np.inf
        if scores is not None:
            scores[start : start + len(block)] = block
        topk[start : start + len(block)] = top_classes(block, k)
    return topk, scores


def into_subset(
    topk: np.ndarray, ds: D.Dataset, outside: str, where: str
) -> tuple[np.ndarray, int, int]:
    """Ranked classes of a subset test set: each row re-ranked with the subset's classes first
    (the restricted ranking, as far as the file ranks); a top-1 outside the subset is an error,
    or with ``outside="map"`` counted: ``(topk, rows re-ranked, rows ranking no subset class)``."""
    off = ds.outside(topk[:, 0])
    if not off.any():
        return D.first_in_subset(topk, ds.mask)[0], 0, 0
    if outside == "error":
        row = int(np.flatnonzero(off)[0])
        c = int(topk[row, 0])
        hint = ""
        if int(topk.max()) < ds.n_classes:
            hint = (
                f"; all its indices are below {ds.n_classes}: if they number the "
                f"{ds.n_classes} classes of {ds.title} (0-{ds.n_classes - 1}) rather than the "
                f"1000, convert them with `errata datasets classes {ds.name}`"
            )
        raise ErrataInputError(
            f"{where}: {row_ref(where, row)}: class {c} ({resources.classes().names[c]}) is not "
            f"one of {ds.class_list()} ({int(off.sum())} such rows); give the scores (restricted "
            "to the subset before the arg-max) or --outside map (each row takes its best-ranked "
            f"class of the subset){hint}"
        )
    ranked, has = D.first_in_subset(topk, ds.mask)
    return ranked, int((off & has).sum()), int((~has).sum())
