"""Label issues from model consensus (a shell over cleanlab): which (image, class) pairs the label
set probably lacks, and which images' label is probably wrong, ranked from a zoo's predictions.

The zoo's predictions become one matrix of predicted probabilities, ``pred_probs`` (n_images,
1000): per image, the mean over the models that predicted it of each model's probabilities
(softmax of its logits, or its probabilities as given) — a model with top-1 only counts as a
one-hot vote, the model as an annotator. cleanlab (Northcutt et al., "Confident Learning", JAIR
2021; the ``labelissues`` extra) then does the rest, with its default methods:

* **images whose label is probably wrong** (label sets with one label per image, such as the
  original labels): :func:`cleanlab.filter.find_label_issues` flags them by confident learning
  (per-class thresholds, prune by noise rate) and :func:`cleanlab.rank.get_label_quality_scores`
  (self-confidence) ranks every image, lowest quality first (ties: flagged first).
* **pairs the label set probably lacks**: every (image, class) that a model ranks (its top-1, or
  its top-5 when it gave scores) and the image's labels lack, ranked by
  :func:`cleanlab.multilabel_classification.rank.get_label_quality_scores_per_class` — the
  quality of the annotation "class absent", lowest first. With the default method
  (self-confidence) that quality is 1 − the ensemble's probability of the class: the pairs most
  of the zoo predicts come first.

What this can and cannot do (measured on the reference ResNet-50, see ``benchmarks/``): with one
model's top-1 only, ``pred_probs`` is one-hot, so cleanlab flags exactly the images where the model
disagrees with the label but every self-confidence is 0 — a flag without a ranking (ties are kept
in image order). A zoo's votes, or logits, give the ranking its information.
:mod:`cleanlab.multiannotator` was not used: its CROWDLAB scores need ``pred_probs`` from a model
besides the annotators' labels, and with models as the annotators the same predictions would be
counted twice.

:func:`label_issues` is the entry point (``errata label-issues``); with ``truth`` (e.g. ReaL), it
measures precision and recall at k of both rankings (:func:`precision_recall_at_k`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from errata.core import datasets as D
from errata.core.labelset import LabelSet
from errata.core.probabilities import probabilities
from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError, arg, require
from errata.io.labels import load_labels
from errata.io.predictions import Order, Predictions
from errata.io.zoo import ZooFile, read_zoo
from errata.resources import N_CLASSES

K_DEFAULT = (100, 1000, 5000)  # k of precision/recall at k
CHUNK_CELLS = 5_000_000  # images x classes scored by cleanlab at once (memory)
OUTPUTS = ("pairs.parquet", "images.parquet", "label_issues.json")


def _cleanlab() -> Any:
    return require("cleanlab", "labelissues")


# ---------------------------------------------------------------------------------------------
# the ensemble


def ensemble(
    top1: np.ndarray, scores: Sequence[np.ndarray | None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The zoo's ``pred_probs``: per image, the mean of the models' probabilities over the models
    that predicted it (a top-1-only model is a one-hot vote).

    Parameters
    ----------
    top1 : ndarray of int, shape (m, n)
        Each model's top-1 per image, ``-1`` where it did not predict the image.
    scores : sequence of m arrays of shape (n, 1000) or None, optional
        A model's logits or probabilities per image (rows of unpredicted images are ignored).

    Returns
    -------
    pred_probs : ndarray of float32, shape (n, 1000)
    n_models : ndarray of int, shape (n,)
        Models that predicted each image (rows with 0 are all zero).

    Examples
    --------
    >>> p, n = ensemble(np.array([[3, 3], [3, -1]]))
    >>> p[:, 3].tolist(), n.tolist()
    ([1.0, 1.0], [2, 1])
    """
    top1 = np.asarray(top1)
    m, n = top1.shape
    total = _Sum(n)
    for j in range(m):  # one step per model, whole arrays inside
        s = None if scores is None else scores[j]
        total.add(top1[j], None if s is None else s[np.flatnonzero(top1[j] >= 0)])
    return total.mean()


class _Sum:
    """The running sum behind :func:`ensemble`, one model at a time (a zoo's score matrices
    need not all be held at once): ``total`` (n, 1000) float32, the sum of the models'
    probabilities (one-hot votes), and ``n_models`` (n,), the models that predicted each image."""

    def __init__(self, n: int) -> None:
        self.total = np.zeros((n, N_CLASSES), dtype=np.float32)
        self.n_models = np.zeros(n, dtype=np.int64)

    def add(self, top1: np.ndarray, scores: np.ndarray | None = None) -> None:
        """Add one model: ``top1`` (n,), ``-1`` where it did not predict the image; ``scores``
        its logits or probabilities for the images it predicted only (in image order), or None
        for a one-hot vote at its top-1."""
        has = top1 >= 0
        rows = np.flatnonzero(has)
        if scores is None:
            np.add.at(self.total, (rows, top1[rows]), 1.0)
        else:
            self.total[rows] += probabilities(scores).astype(np.float32)
        self.n_models += has

    def mean(self) -> tuple[np.ndarray, np.ndarray]:
        """``(pred_probs, n_models)`` as :func:`ensemble` returns them (``total`` is divided in
        place)."""
        np.divide(self.total, np.maximum(self.n_models, 1)[:, None], out=self.total)
        return self.total, self.n_models


# ---------------------------------------------------------------------------------------------
# the two rankings


def rank_images(given: np.ndarray, pred_probs: np.ndarray) -> dict[str, np.ndarray]:
    """Images whose label is probably wrong, by cleanlab's confident learning.

    Parameters
    ----------
    given : ndarray of int, shape (n,)
        The label of each image.
    pred_probs : ndarray of float, shape (n, 1000)

    Returns
    -------
    dict
        ``order`` (n,) image positions by quality, lowest first (ties: flagged images first,
        then image order); ``quality`` (n,) cleanlab's self-confidence; ``is_issue`` (n,) bool,
        cleanlab's flag.
    """
    _cleanlab()
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    given = np.asarray(given, dtype=np.int64)
    probs = np.asarray(pred_probs, dtype=np.float64)
    with warnings.catch_warnings():  # cleanlab warns about classes without an image
        warnings.simplefilter("ignore")
        is_issue = find_label_issues(given, probs, n_jobs=1)
        quality = get_label_quality_scores(given, probs)
    order = np.lexsort((np.arange(len(given)), ~np.asarray(is_issue, dtype=bool), quality))
    return {"order": order, "quality": quality, "is_issue": np.asarray(is_issue, dtype=bool)}


def candidates(topk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (image, class) pairs some model predicts: the distinct classes of ``topk`` (m, n, k)
    — each model's ranked classes per image, ``-1`` where none — as ``(image, class)`` arrays.

    >>> candidates(np.array([[[3, 4], [5, -1]], [[3, 9], [-1, -1]]]))
    (array([0, 0, 0, 1]), array([3, 4, 9, 5]))
    """
    key = np.unique(_keys(topk))
    return key // N_CLASSES, key % N_CLASSES


def _keys(topk: np.ndarray) -> np.ndarray:
    """``image * 1000 + class`` of every ranked class of ``topk`` (m, n, k) (``-1``: none), not
    deduplicated."""
    topk = np.asarray(topk, dtype=np.int64)
    img = np.broadcast_to(np.arange(topk.shape[1])[None, :, None], topk.shape)
    ok = topk >= 0
    return img[ok] * N_CLASSES + topk[ok]


def rank_pairs(
    labels: Csr,
    pred_probs: np.ndarray,
    *,
    pairs: tuple[np.ndarray, np.ndarray],
) -> dict[str, np.ndarray]:
    """(image, class) pairs the label set probably lacks, ranked by cleanlab's per-class label
    quality of the annotation "absent" (lowest first; ties by image, then class).

    Parameters
    ----------
    labels : Csr, n rows
        The label set's labels per image.
    pred_probs : ndarray of float, shape (n, 1000)
    pairs : (image, class) arrays
        The candidates (:func:`candidates`: the classes the models rank). Pairs already in the
        label set are dropped.

    Returns
    -------
    dict
        ``image``, ``class_index``, ``quality``, ``probability`` — one entry per pair, in rank
        order.
    """
    _cleanlab()
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class

    n = len(labels)
    probs = np.asarray(pred_probs)
    cand_img, cand_cls = pairs
    absent = ~labels.contains_at(cand_img, cand_cls)
    cand_img, cand_cls = cand_img[absent], cand_cls[absent]
    quality = np.ones(len(cand_img))
    classes = np.unique(cand_cls)
    if len(classes):
        labelled = np.unique(labels.indices).astype(np.int64)
        if not len(labelled):
            raise ErrataInputError("label issues: the label set has no label on these images")
        # chunks of classes, each holding a labelled class (cleanlab infers the classes from
        # the labels it is given), scored as cleanlab's multi-label per-class quality
        cols = np.union1d(classes, labelled)
        n_chunks = max(1, min(len(labelled), int(np.ceil(n * len(cols) / CHUNK_CELLS))))
        rest = np.setdiff1d(cols, labelled)
        lists = labels.lists()
        for c in range(n_chunks):
            chunk = np.concatenate([labelled[c::n_chunks], rest[c::n_chunks]])
            local = np.full(N_CLASSES, -1, dtype=np.int64)
            local[chunk] = np.arange(len(chunk))
            chunk_lists = [[int(local[v]) for v in row if local[v] >= 0] for row in lists]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                q = get_label_quality_scores_per_class(
                    chunk_lists, np.asarray(probs[:, chunk], dtype=np.float64)
                )
            mine = local[cand_cls] >= 0
            quality[mine] = np.asarray(q)[cand_img[mine], local[cand_cls[mine]]]
    order = np.lexsort((cand_cls, cand_img, quality))
    return {
        "image": cand_img[order].astype(np.int64),
        "class_index": cand_cls[order].astype(np.int64),
        "quality": quality[order],
        "probability": probs[cand_img[order], cand_cls[order]].astype(np.float64),
    }


# ---------------------------------------------------------------------------------------------
# validation


def precision_recall_at_k(
    hits: np.ndarray, n_positive: int, ks: Sequence[int] = K_DEFAULT
) -> dict[str, dict[str, float | int]]:
    """Precision and recall at each k of a ranking whose entries are ``hits`` (bool, rank order).

    A ``k`` beyond the ranking counts the whole ranking (``k_used``).

    >>> at = precision_recall_at_k(np.array([True, False, True, True]), 6, ks=(2, 10))
    >>> at["2"]["precision"], at["10"]["k_used"], at["10"]["hits"], at["10"]["recall"]
    (0.5, 4, 3, 0.5)
    """
    hits = np.asarray(hits, dtype=bool)
    cum = np.concatenate([[0], np.cumsum(hits)])
    out: dict[str, dict[str, float | int]] = {}
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
) -> dict[str, Any]:
    """Precision and recall at k of both rankings against ``truth`` (rows aligned with
    ``labels``): a missing label is a class in the truth set but not in the label set; a wrong
    label is a given label outside a non-empty truth set. Images whose truth set is empty take
    no part."""
    judged = truth.sizes > 0
    t_row = truth.row_ids
    t_cls = truth.indices.astype(np.int64)
    n_missing = int((judged[t_row] & ~labels.contains_at(t_row, t_cls)).sum())
    out: dict[str, Any] = {"images_judged": int(judged.sum())}
    keep = judged[pairs["image"]]
    hit = truth.contains_at(pairs["image"][keep], pairs["class_index"][keep])
    out["pairs"] = {
        "positives": n_missing,
        "ranked": int(keep.sum()),
        "ranked_positives": int(hit.sum()),
        "all_precision": float(hit.sum() / max(1, int(keep.sum()))),
        "all_recall": float(hit.sum() / max(1, n_missing)),  # the ceiling of recall at any k
        "at_k": precision_recall_at_k(hit, n_missing, ks),
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


# ---------------------------------------------------------------------------------------------
# the entry point


@dataclass(eq=False)
class LabelIssues:
    """The result of :func:`label_issues`.

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per (image, class) pair the label set lacks, best first: ``rank``,
        ``file_name``, ``class_index``, ``wnid``, ``name``, ``quality`` (cleanlab; low = likely
        missing), ``probability`` (the ensemble's), ``label_issue`` (the image's label is
        flagged as wrong; ``None`` for multi-label sets).
    images : pandas.DataFrame or None
        One-label sets: one row per image, best first: ``rank``, ``file_name``, ``label``,
        ``quality``, ``is_label_issue``, ``suggested`` (the ensemble's most probable class).
    summary : dict
        Models, label set, counts, notes and (with a truth set) ``validation``.
    """

    pairs: Any
    images: Any
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.summary)

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write ``pairs.parquet``, ``images.parquet`` (one-label sets) and
        ``label_issues.json`` into ``out``, as one unit (:func:`errata.io.files.atomic_folder`)."""
        import pyarrow as pa

        from errata.io import files

        out = Path(out)
        written = {"pairs": out / "pairs.parquet", "summary": out / "label_issues.json"}
        with files.atomic_folder(out, managed=OUTPUTS) as tmp:
            files.write_parquet(tmp / "pairs.parquet", pa.Table.from_pandas(self.pairs))
            if self.images is not None:
                files.write_parquet(tmp / "images.parquet", pa.Table.from_pandas(self.images))
                written["images"] = out / "images.parquet"
            files.write_json(tmp / "label_issues.json", self.summary)
        return written


def label_issues(
    predictions: Sequence[str | Path | Predictions],
    *,
    labels: str | Path | LabelSet = "original",
    truth: str | Path | LabelSet | None = None,
    order: Order = "auto",
    ks: Sequence[int] = K_DEFAULT,
    progress: Any = None,
    dataset: str = D.DEFAULT,
    outside: D.Outside = "error",
) -> LabelIssues:
    """Rank the label set's probable label issues from a zoo's predictions (see the module
    docstring for the method).

    Parameters
    ----------
    predictions : sequence of paths, registry names or Predictions
        One or more models (any format :func:`errata.io.predictions.load_predictions` reads);
        logits or probabilities are used when a file has them.
    labels : {"original", "real", "shankar"}, path or LabelSet
        The label set to audit. Images it excludes (problematic, or without a label) are not
        ranked.
    truth : label set, optional
        A better label set (e.g. ``"real"``) to measure the rankings against.
    order : {"auto", "filename", "imagefolder"}
        Row order of files without file names.
    ks : sequence of int
        The k of precision and recall at k.
    progress : callable(done, total, name), optional
    dataset, outside
        The test set and what a top-1 outside a subset test set does, as in
        :func:`errata.analyze` (outside the validation set the ``original`` labels are the
        class folders of the images the files predict).

    Notes
    -----
    The tests (``tests/test_labelissues.py``) plant wrong labels and missing pairs in a
    synthetic zoo and check that they rank first; ``benchmarks/label_issues.py`` measures the
    rankings on the reference ResNet-50 against ReaL.
    """
    import pandas as pd

    from errata import resources

    if not predictions:
        raise ErrataInputError("label issues: give at least one predictions file")
    if any(int(k) < 1 for k in ks):
        raise ErrataInputError(f"{arg('k')}: {', '.join(map(str, ks))}; expected whole numbers ≥ 1")
    _cleanlab()
    from errata.study import label_set_for

    ds = D.get(dataset)
    paths = [Path(p) for p in predictions if not isinstance(p, Predictions) and Path(p).exists()]
    label_set = label_set_for(labels, ds, paths)
    truth_set = None if truth is None else load_labels(truth, dataset=ds)
    n = len(label_set)
    zoo = read_zoo(
        predictions, dataset=ds, order=order, outside=outside, labels=label_set, counts=False
    )
    total, keys, any_scores, names = _read_ensemble(zoo, n, len(predictions), progress)
    pred_probs, n_models = total.mean()
    universe = label_set.evaluated & (n_models > 0)
    if not universe.any():
        raise ErrataInputError(
            f"label issues: no image of label set '{label_set.name}' is both evaluated and "
            "predicted (check the file names or --order)"
        )
    rows = np.flatnonzero(universe)
    multi = label_set.multi.take(rows)
    probs = pred_probs[rows]
    file_names = label_set.file_names[rows]
    classes = resources.classes()
    wnids, cnames = np.asarray(classes.wnids), np.asarray(classes.names)

    one_label = bool((multi.sizes == 1).all())
    images = None
    given = None
    image_rank = None
    notes = []
    if one_label:
        given = multi.indices[multi.indptr[:-1]].astype(np.int64)
        image_rank = rank_images(given, probs)
        o = image_rank["order"]
        images = pd.DataFrame(
            {
                "rank": np.arange(1, len(o) + 1),
                "file_name": file_names[o],
                "label": given[o],
                "label_name": cnames[given[o]],
                "quality": image_rank["quality"][o],
                "is_label_issue": image_rank["is_issue"][o],
                "suggested": probs[o].argmax(axis=1),
            }
        )
        images["suggested_name"] = cnames[images["suggested"].to_numpy()]
    else:
        notes.append(
            f"label set '{label_set.name}' has images with several labels: only the missing "
            "pairs are ranked (images whose label is wrong need one label per image, e.g. "
            "--labels original)"
        )
    if not any_scores:
        if len(predictions) == 1:
            notes.append(
                "one model with top-1 only: cleanlab's pred_probs are one-hot, so it flags the "
                "disagreements but cannot rank them (every score ties; ties stay in image order)"
            )
        else:
            notes.append(
                f"{len(predictions)} models with top-1 only: pred_probs are their vote shares"
            )
    local = np.full(n, -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    cand = np.concatenate(keys)
    key = np.unique(local[cand // N_CLASSES] * N_CLASSES + cand % N_CLASSES)
    key = key[key >= 0]
    pair_rank = rank_pairs(multi, probs, pairs=(key // N_CLASSES, key % N_CLASSES))
    img = pair_rank["image"]
    pairs = pd.DataFrame(
        {
            "rank": np.arange(1, len(img) + 1),
            "file_name": file_names[img],
            "class_index": pair_rank["class_index"],
            "wnid": wnids[pair_rank["class_index"]],
            "name": cnames[pair_rank["class_index"]],
            "quality": pair_rank["quality"],
            "probability": pair_rank["probability"],
            "label_issue": image_rank["is_issue"][img] if image_rank is not None else None,
        }
    )
    summary: dict[str, Any] = {
        "models": names,
        "labels": label_set.name,
        "method": {
            "pred_probs": "mean of the models' probabilities (top-1 only: a one-hot vote)",
            "images": "cleanlab.filter.find_label_issues + cleanlab.rank."
            "get_label_quality_scores (self_confidence)",
            "pairs": "cleanlab.multilabel_classification.rank.get_label_quality_scores_per_class"
            " (self_confidence)",
            "cleanlab": _version(),
        },
        "images_ranked": int(len(rows)),
        "pairs_ranked": int(len(pairs)),
        "label_issues_flagged": None if image_rank is None else int(image_rank["is_issue"].sum()),
        "notes": notes,
    }
    if truth_set is not None:
        t_rows = truth_set.positions(file_names)
        known = t_rows >= 0
        known[known] &= truth_set.evaluated[t_rows[known]]  # problematic truth: not judged
        t = truth_set.multi.take(np.maximum(t_rows, 0)).keep_rows(known)
        summary["truth"] = truth_set.name
        summary["validation"] = validate(multi, t, pair_rank, image_rank, given, ks=ks)
    return LabelIssues(pairs=pairs, images=images, summary=summary)


def _read_ensemble(
    zoo: Iterable[ZooFile], n: int, n_models: int, progress: Any
) -> tuple[_Sum, list[np.ndarray], bool, list[str]]:
    """The zoo's ensemble, summed as each model is read (see :func:`ensemble`), each model's
    (image, class) candidates (as :func:`_keys`), whether any model gave scores, the names; a
    model that cannot be read stops the run (its one-line error)."""
    total = _Sum(n)
    keys: list[np.ndarray] = []
    any_scores = False
    names: list[str] = []
    for j, got in enumerate(zoo):
        if got.error is not None:
            raise got.error
        pred, al = got.predictions, got.alignment
        assert pred is not None and al is not None
        top1 = al.scatter(pred.top1.astype(np.int64))
        keys.append(_keys(al.scatter(pred.topk.T.astype(np.int64)).T[None]))
        if pred.scores is None:
            total.add(top1)
        else:
            # the rows of the images it predicted (made probabilities, then float32, in add)
            row_of = np.zeros(n, dtype=np.int64)
            row_of[al.images] = al.rows
            total.add(top1, pred.scores[row_of[top1 >= 0]])
            any_scores = True
        names.append(pred.name)
        if progress:
            progress(j + 1, n_models, pred.name)
    return total, keys, any_scores, names


def _version() -> str:
    import cleanlab

    return str(cleanlab.__version__)


__all__ = [
    "LabelIssues",
    "ensemble",
    "label_issues",
    "precision_recall_at_k",
    "rank_images",
    "rank_pairs",
    "validate",
]
