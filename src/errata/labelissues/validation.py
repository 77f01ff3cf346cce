"""Precision and recall at k of the label-issue rankings against a better label set (e.g.
ReaL): the figures ``errata label-issues --truth`` reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import numpy as np

from errata.core.sparse import Csr

K_DEFAULT = (100, 1000, 5000)  # k of precision/recall at k


class AtK(TypedDict):
    """Precision and recall at one k (``k_used``: k, or the whole ranking when shorter)."""

    k_used: int
    hits: int
    precision: float
    recall: float


class PairFigures(TypedDict):
    """The missing-pair ranking against the truth set."""

    positives: int
    ranked: int
    ranked_positives: int
    all_precision: float
    all_recall: float
    at_k: dict[str, AtK]


class ImageFigures(TypedDict):
    """The wrong-label ranking against the truth set."""

    positives: int
    ranked: int
    flagged: int
    flag_precision: float
    flag_recall: float
    base_rate: float
    at_k: dict[str, AtK]


class Validation(TypedDict):
    """What :func:`validate` measures (``images``: one-label sets only)."""

    images_judged: int
    pairs: PairFigures
    images: NotRequired[ImageFigures]


def precision_recall_at_k(
    hits: np.ndarray, n_positive: int, ks: Sequence[int] = K_DEFAULT
) -> dict[str, AtK]:
    """Precision and recall at each k of a ranking whose entries are ``hits`` (bool, rank order).

    A ``k`` beyond the ranking counts the whole ranking (``k_used``).

    >>> at = precision_recall_at_k(np.array([True, False, True, True]), 6, ks=(2, 10))
    >>> at["2"]["precision"], at["10"]["k_used"], at["10"]["hits"], at["10"]["recall"]
    (0.5, 4, 3, 0.5)
    """
    hits = np.asarray(hits, dtype=bool)
    cum = np.concatenate([[0], np.cumsum(hits)])
    out: dict[str, AtK] = {}
    for k in ks:
        used = min(int(k), len(hits))
        h = int(cum[used])
        out[str(k)] = {
            "k_used": used,
            "hits": h,
            "precision": h / used if used else float("nan"),
            "recall": h / n_positive if n_positive else float("nan"),
        }
    return out


def validate(
    labels: Csr,
    truth: Csr,
    pairs: dict[str, np.ndarray],
    images: dict[str, np.ndarray] | None,
    given: np.ndarray | None,
    *,
    ks: Sequence[int] = K_DEFAULT,
) -> Validation:
    """Precision and recall at k of both rankings against ``truth`` (rows aligned with
    ``labels``): a missing label is a class in the truth set but not in the label set; a wrong
    label is a given label outside a non-empty truth set. Images whose truth set is empty take
    no part."""
    judged = truth.sizes > 0
    t_row = truth.row_ids
    t_cls = truth.indices.astype(np.int64)
    n_missing = int((judged[t_row] & ~labels.contains_at(t_row, t_cls)).sum())
    keep = judged[pairs["image"]]
    hit = truth.contains_at(pairs["image"][keep], pairs["class_index"][keep])
    out: Validation = {
        "images_judged": int(judged.sum()),
        "pairs": {
            "positives": n_missing,
            "ranked": int(keep.sum()),
            "ranked_positives": int(hit.sum()),
            "all_precision": float(hit.sum() / max(1, int(keep.sum()))),
            "all_recall": float(hit.sum() / max(1, n_missing)),  # the ceiling of recall at any k
            "at_k": precision_recall_at_k(hit, n_missing, ks),
        },
    }
    if images is not None and given is not None:
        wrong = judged & ~truth.contains(given)
        order = images["order"][judged[images["order"]]]
        flagged = images["is_issue"] & judged
        out["images"] = {
            "positives": int(wrong.sum()),
            "ranked": int(len(order)),
            "flagged": int(flagged.sum()),
            "flag_precision": float(wrong[flagged].mean()) if flagged.any() else float("nan"),
            "flag_recall": float(wrong[flagged].sum() / max(1, int(wrong.sum()))),
            "base_rate": float(wrong.sum() / max(1, len(order))),
            "at_k": precision_recall_at_k(wrong[order], int(wrong.sum()), ks),
        }
    return out
