"""Building the three review queues from a label set and one or more models' predictions.

* **novel** — (image, predicted class) pairs where a model's top-1 is not in the image's label set;
  one item per image with all its novel classes plus its current labels (and its original label,
  when the label set lacks it) as candidates, ranked by
  how many models agree on a novel class, then by their mean confidence (Vasudevan et al. reviewed
  exactly these "novel predictions"); or, with ``novel_ranking="cleanlab"``, the pairs the models
  rank ordered by cleanlab's label quality (:mod:`errata.labelissues`).
* **audit** — images sampled per original class for a full check of their labels.
* **classify** — images an annotator labels from scratch (human accuracy, Shankar et al.).

Golden questions (expert answers) are mixed into *novel* and *audit* every ``GOLDEN_EVERY`` items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from errata.core.probabilities import probabilities
from errata.exceptions import ErrataInputError, require
from errata.resources import N_CLASSES

if TYPE_CHECKING:
    from errata.core.labelset import LabelSet
    from errata.core.sparse import Csr
    from errata.io.predictions import Predictions
    from errata.review.storage import Project

GOLDEN_EVERY = 10  # one golden item after every this many regular items
AUDIT_PER_CLASS = 1  # images sampled per original class for the label audit
CLASSIFY_IMAGES = 200  # images in the classify queue
MAX_NOVEL = 5000  # cap on novel-prediction items (the highest-ranked are kept)


@dataclass(frozen=True)
class QueuePlan:
    """Rows of one queue: image row, candidate classes, ranking score (best first)."""

    rows: np.ndarray  # (m,) positions into the project's images
    candidates: list[list[int]]
    scores: np.ndarray  # (m,)


def _as_csr(labels: Csr | NDArray[np.bool_]) -> Csr:
    """Label sets arrive as :class:`~errata.core.sparse.Csr` (or, from small callers, dense)."""
    from errata.core.sparse import Csr

    return labels if isinstance(labels, Csr) else Csr.from_dense(np.asarray(labels, dtype=bool))


def novel_predictions(
    multi_labels: Csr | NDArray[np.bool_],
    top1: np.ndarray,
    confidence: np.ndarray | None = None,
    *,
    limit: int = MAX_NOVEL,
    original: np.ndarray | None = None,
) -> QueuePlan:
    """Rank (image, class) pairs that models predict outside the label set.

    Parameters
    ----------
    multi_labels : Csr with n rows, or bool array of shape (n, 1000)
        Current labels (correct ∪ unclear).
    top1 : ndarray of int, shape (n_models, n)
        Each model's top-1 class.
    confidence : ndarray of float, shape (n_models, n), optional
        Each model's probability for its top-1 (NaN when unknown).
    original : ndarray of int, shape (n,), optional
        The original ImageNet label (-1 unknown), added to the candidates when the label set
        lacks it, so that the annotator is always asked about it too.

    Returns
    -------
    QueuePlan
        One row per image with at least one novel prediction; candidates are the novel classes
        (most agreed first) followed by the image's current labels, then its original label when
        neither lists it; score = models agreeing on
        the best novel class + mean confidence / 10 (agreement dominates, confidence breaks ties).
    """
    multi = _as_csr(multi_labels)
    n_models, n = top1.shape
    conf = np.zeros(top1.shape) if confidence is None else np.nan_to_num(confidence, nan=0.0)
    image = np.broadcast_to(np.arange(n), top1.shape).ravel()
    cls = top1.ravel().astype(np.int64)
    novel = ~multi.contains_at(image, cls)
    key = image[novel] * N_CLASSES + cls[novel]
    if not len(key):  # every model agrees with the label set: nothing to review
        return QueuePlan(np.zeros(0, dtype=np.int64), [], np.zeros(0))
    pairs, inverse, votes = np.unique(key, return_inverse=True, return_counts=True)
    mean_conf = np.bincount(inverse, weights=conf.ravel()[novel], minlength=len(pairs)) / votes
    pair_score = votes + mean_conf / 10.0
    pair_image, pair_class = pairs // N_CLASSES, pairs % N_CLASSES
    # best pair first within each image, images by their best pair
    order = np.lexsort((-pair_score, pair_image))
    pair_image, pair_class, pair_score = pair_image[order], pair_class[order], pair_score[order]
    first = np.r_[True, pair_image[1:] != pair_image[:-1]]
    images, starts = pair_image[first], np.flatnonzero(first)
    image_score = pair_score[first]
    rank = np.argsort(-image_score, kind="stable")[:limit]
    bounds = np.r_[starts, len(pair_image)]
    candidates = []
    for r in rank:  # one Python step per *queued image* (≤ limit), not per input image
        novel_cls = pair_class[bounds[r] : bounds[r + 1]].tolist()
        i = images[r]
        current = multi.indices[multi.indptr[i] : multi.indptr[i + 1]]
        candidates.append(
            _with_original(novel_cls + current.astype(np.int64).tolist(), original, i)
        )
    return QueuePlan(images[rank], candidates, image_score[rank])


def _with_original(candidates: list[int], original: np.ndarray | None, row: int) -> list[int]:
    """``candidates`` with the image's original label appended when known and missing."""
    if original is None or original[row] < 0 or int(original[row]) in candidates:
        return candidates
    return candidates + [int(original[row])]


def novel_cleanlab(
    multi_labels: Csr | NDArray[np.bool_],
    topk: np.ndarray,
    scores: Sequence[np.ndarray | None] | None = None,
    *,
    limit: int = MAX_NOVEL,
    original: np.ndarray | None = None,
) -> QueuePlan:
    """Rank the novel predictions by cleanlab (:mod:`errata.labelissues`, the ``labelissues``
    extra) instead of by agreement: the (image, class) pairs the models rank and the label set
    lacks, ordered by cleanlab's label quality of "class absent" under the zoo's pred_probs.

    Parameters
    ----------
    multi_labels : Csr with n rows, or bool array of shape (n, 1000)
    topk : ndarray of int, shape (n_models, n, k)
        Each model's ranked classes (``-1`` where none).
    scores : sequence of n_models arrays (n, 1000) or None, optional
        Logits or probabilities, when a model has them.
    original : ndarray of int, shape (n,), optional
        The original label, appended to the candidates when missing (see
        :func:`novel_predictions`).

    Returns
    -------
    QueuePlan
        One row per image, images in the order of their best pair; candidates are the image's
        novel classes in rank order, then its current labels; score = 1 − the best pair's
        quality (the ensemble's probability of that class, with cleanlab's default method).
    """
    from errata.labelissues import candidates, ensemble, rank_pairs

    multi = _as_csr(multi_labels)
    topk = np.asarray(topk, dtype=np.int64)
    pred_probs, _ = ensemble(topk[:, :, 0], scores)
    ranked = rank_pairs(multi, pred_probs, pairs=candidates(topk))
    img, cls = ranked["image"], ranked["class_index"]
    if not len(img):
        return QueuePlan(np.zeros(0, dtype=np.int64), [], np.zeros(0))
    _, first = np.unique(img, return_index=True)
    first = np.sort(first)[:limit]  # each image at its best pair's rank
    images = img[first]
    by_image = np.argsort(img, kind="stable")  # pairs of each image, still in rank order
    bounds = np.searchsorted(img[by_image], images)
    ends = np.searchsorted(img[by_image], images, side="right")
    candidates_out = []
    for i, a, b in zip(images, bounds, ends):  # one step per queued image (≤ limit)
        current = multi.indices[multi.indptr[i] : multi.indptr[i + 1]]
        cands = cls[by_image[a:b]].tolist() + current.astype(np.int64).tolist()
        candidates_out.append(_with_original(cands, original, i))
    return QueuePlan(images, candidates_out, 1.0 - ranked["quality"][first])


NOVEL_RANKINGS = ("agreement", "cleanlab")  # sources of the novel-prediction queue


def check_novel_ranking(novel_ranking: str, queues: Sequence[str]) -> None:
    """Raise unless ``novel_ranking`` is one of :data:`NOVEL_RANKINGS` and, when it is
    ``"cleanlab"`` and the novel queue is built, the ``labelissues`` extra is installed."""
    if novel_ranking not in NOVEL_RANKINGS:
        raise ErrataInputError(
            f"--novel-ranking: '{novel_ranking}' is not one of {', '.join(NOVEL_RANKINGS)}"
        )
    if novel_ranking == "cleanlab" and "novel" in queues:
        require("cleanlab", "labelissues")


def label_audit(
    multi_labels: Csr | NDArray[np.bool_],
    original: np.ndarray,
    top1: np.ndarray,
    *,
    per_class: int = AUDIT_PER_CLASS,
    seed: int = 0,
) -> QueuePlan:
    """Sample ``per_class`` images per original class; candidates are the current labels, the
    original label and every model's top-1."""
    multi = _as_csr(multi_labels)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(original))
    cls = original[shuffled]
    order = np.argsort(cls, kind="stable")
    cls_sorted = cls[order]
    rank_in_class = np.arange(len(order)) - np.searchsorted(cls_sorted, cls_sorted)
    chosen = shuffled[order[(rank_in_class < per_class) & (cls_sorted >= 0)]]
    chosen = chosen[rng.permutation(len(chosen))]
    cand = multi.dense_rows(chosen)
    cand[np.arange(len(chosen)), original[chosen]] = True
    for t in top1:
        cand[np.arange(len(chosen)), t[chosen]] = True
    rows, cols = np.nonzero(cand)
    split = np.split(cols, np.searchsorted(rows, np.arange(1, len(chosen))))
    return QueuePlan(chosen, [c.tolist() for c in split], np.zeros(len(chosen)))


def classify_sample(n: int, *, size: int = CLASSIFY_IMAGES, seed: int = 1) -> QueuePlan:
    """A random sample of images for annotators to label from scratch."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(size, n), replace=False))
    return QueuePlan(rows, [[] for _ in rows], np.zeros(len(rows)))


def interleave_golden(
    n_regular: int,
    n_golden: int,
    *,
    every: int = GOLDEN_EVERY,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions for regular and golden items so one golden item follows every ``every``
    regular ones (extra golden items go to the end)."""
    regular = np.arange(n_regular) + np.arange(n_regular) // every
    golden_slots = np.arange(1, n_golden + 1) * (every + 1) - 1
    return regular, golden_slots


@dataclass(frozen=True)
class _Aligned:
    """The images under review (in the label set and in every model's predictions), aligned:
    their label sets, original labels, and each model's top-1 and its confidence."""

    names: NDArray[np.object_]
    multi: Csr
    original: NDArray[np.int64]
    rows_of: list[NDArray[np.intp]]  # per model: its rows of the images
    top1: NDArray[np.integer]  # (models, images)
    conf: NDArray[np.float64]  # (models, images), NaN without scores


def _align(labels: LabelSet, predictions: Sequence[Predictions]) -> _Aligned:
    import pandas as pd

    names = labels.file_names
    for p in predictions:
        names = names[pd.Index(p.file_names).get_indexer(names) >= 0]
    if len(names) == 0:
        raise ErrataInputError(
            "no image is in both the label set and the predictions "
            "(check the file names or --order)"
        )
    lab_rows = labels.positions(names)
    rows_of = [pd.Index(p.file_names).get_indexer(names) for p in predictions]  # per model
    top1 = np.stack([p.top1[r] for p, r in zip(predictions, rows_of)])
    conf = np.full(top1.shape, np.nan)
    for m, (p, r) in enumerate(zip(predictions, rows_of)):
        if p.scores is not None:
            sc = probabilities(p.scores[r])
            conf[m] = sc[np.arange(len(names)), top1[m]]
    return _Aligned(
        names=names,
        multi=labels.multi.take(lab_rows),
        original=labels.original[lab_rows].astype(np.int64),
        rows_of=rows_of,
        top1=top1,
        conf=conf,
    )


def _plans(
    al: _Aligned,
    predictions: Sequence[Predictions],
    queues: Sequence[str],
    *,
    audit_per_class: int,
    classify_images: int,
    max_novel: int,
    novel_ranking: str,
    seed: int,
) -> dict[str, QueuePlan]:
    """The rows of each queue asked for."""
    plans: dict[str, QueuePlan] = {}
    if "novel" in queues and novel_ranking == "cleanlab":
        k = max(p.topk.shape[1] for p in predictions)
        topk = np.full((len(predictions), len(al.names), k), -1, dtype=np.int64)
        for m, (p, r) in enumerate(zip(predictions, al.rows_of)):
            topk[m, :, : p.topk.shape[1]] = p.topk[r]
        scores = [
            None if p.scores is None else p.scores[r] for p, r in zip(predictions, al.rows_of)
        ]
        plans["novel"] = novel_cleanlab(
            al.multi, topk, scores, limit=max_novel, original=al.original
        )
    elif "novel" in queues:
        plans["novel"] = novel_predictions(
            al.multi, al.top1, al.conf, limit=max_novel, original=al.original
        )
    if "audit" in queues:
        plans["audit"] = label_audit(
            al.multi, al.original, al.top1, per_class=audit_per_class, seed=seed
        )
    if "classify" in queues:
        plans["classify"] = classify_sample(len(al.names), size=classify_images, seed=seed + 1)
    return plans


def _queue_rows(
    q: str,
    plan: QueuePlan,
    golden: list[tuple[int, dict[int, int]]],
    image_id: NDArray[np.int64],
) -> list[dict[str, object]]:
    """The item rows of one queue: its regular items with the golden ones interleaved."""
    pos_regular, pos_golden = interleave_golden(len(plan.rows), len(golden))
    rows: list[dict[str, object]] = [
        {
            "queue": q,
            "image_id": int(image_id[r]),
            "position": int(pos),
            "score": float(sc),
            "candidates": " ".join(map(str, c)),
            "golden": None,
        }
        for r, c, sc, pos in zip(plan.rows, plan.candidates, plan.scores, pos_regular)
    ]
    rows += [
        {
            "queue": q,
            "image_id": int(image_id[r]),
            "position": int(pos),
            "score": 0.0,
            "candidates": " ".join(map(str, exp)),
            "golden": " ".join(f"{c}:{a}" for c, a in exp.items()),
        }
        for (r, exp), pos in zip(golden, pos_golden)
    ]
    return rows


def _write(
    project: Project,
    al: _Aligned,
    predictions: Sequence[Predictions],
    plans: dict[str, QueuePlan],
    golden_rows: list[tuple[int, dict[int, int]]],
) -> dict[str, int]:
    """Insert the images used, the models, their predictions and every queue's items."""
    from sqlalchemy import insert

    from errata.review.models import Image, Item, Model, Prediction

    used = set()
    for plan in plans.values():
        used.update(plan.rows.tolist())
    used.update(r for r, _ in golden_rows)
    used_rows = np.array(sorted(used), dtype=np.int64)
    image_id = np.zeros(len(al.names), dtype=np.int64)
    image_id[used_rows] = np.arange(1, len(used_rows) + 1)
    lab_lists = [" ".join(map(str, row)) for row in al.multi.take(used_rows).lists()]
    counts: dict[str, int] = {}
    with project.engine.begin() as conn:
        conn.execute(
            insert(Image),
            [
                {
                    "id": int(image_id[r]),
                    "file_name": str(al.names[r]),
                    "original": int(al.original[r]),
                    "labels": lab,
                }
                for r, lab in zip(used_rows, lab_lists)
            ],
        )
        conn.execute(
            insert(Model), [{"id": m + 1, "name": p.name} for m, p in enumerate(predictions)]
        )
        conn.execute(
            insert(Prediction),
            [
                {
                    "image_id": int(image_id[r]),
                    "model_id": m + 1,
                    "top1": int(al.top1[m, r]),
                    "confidence": None if np.isnan(al.conf[m, r]) else float(al.conf[m, r]),
                }
                for m in range(len(predictions))
                for r in used_rows
            ],
        )
        for q, plan in plans.items():
            g = golden_rows if q in ("novel", "audit") else []
            rows = _queue_rows(q, plan, g, image_id)
            if rows:
                conn.execute(insert(Item), rows)
            counts[q] = len(plan.rows)
            counts[f"{q}_golden"] = len(g)
    return counts


def build(
    project: Project,
    labels: LabelSet,
    predictions: Sequence[Predictions],
    *,
    golden: dict[str, dict[int, int]] | None = None,
    queues: Sequence[str] = ("novel", "audit", "classify"),
    audit_per_class: int = AUDIT_PER_CLASS,
    classify_images: int = CLASSIFY_IMAGES,
    max_novel: int = MAX_NOVEL,
    novel_ranking: str = "agreement",
    seed: int = 0,
) -> dict[str, int]:
    """Fill an empty project's database with images, predictions and queue items.

    Parameters
    ----------
    project : Project
    labels : LabelSet
    predictions : sequence of Predictions
        Images reviewed are those present in the label set and in every model's predictions.
    golden : dict, optional
        ``{file_name: {class_index: expected answer code}}`` golden questions.
    novel_ranking : {"agreement", "cleanlab"}
        What orders the novel-prediction queue: model agreement and confidence
        (:func:`novel_predictions`), or cleanlab's label quality (:func:`novel_cleanlab`,
        the ``labelissues`` extra).

    Returns
    -------
    dict
        Number of items per queue (and ``golden``).
    """
    import pandas as pd

    check_novel_ranking(novel_ranking, queues)
    if not predictions:
        raise ErrataInputError("--predictions: give at least one predictions file")
    al = _align(labels, predictions)
    plans = _plans(
        al,
        predictions,
        queues,
        audit_per_class=audit_per_class,
        classify_images=classify_images,
        max_novel=max_novel,
        novel_ranking=novel_ranking,
        seed=seed,
    )
    golden_rows: list[tuple[int, dict[int, int]]] = []
    if golden:
        gpos = pd.Index(al.names).get_indexer(np.array(list(golden), dtype=object))
        golden_rows = [(int(r), golden[f]) for r, f in zip(gpos, golden) if r >= 0]
    return _write(project, al, predictions, plans, golden_rows)
