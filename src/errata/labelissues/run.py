"""The entry point of label issues (:func:`label_issues`, ``errata label-issues``): a zoo read
through :func:`errata.io.zoo.read_zoo`, ranked (:mod:`errata.labelissues.rankings`) and, with a
truth set, validated (:mod:`errata.labelissues.validation`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict

import numpy as np

from errata.core import datasets as D
from errata.core.arrays import distinct
from errata.core.checks import Order
from errata.core.labelset import LabelSet
from errata.exceptions import ErrataInputError, arg
from errata.io.labels import load_labels
from errata.io.predictions import Predictions
from errata.io.zoo import ZooFile, read_zoo
from errata.labelissues.ensemble import _keys, _Sum
from errata.labelissues.rankings import _cleanlab, rank_images, rank_pairs
from errata.labelissues.validation import K_DEFAULT, Validation, validate
from errata.resources import N_CLASSES

if TYPE_CHECKING:
    import pandas as pd

OUTPUTS = ("pairs.parquet", "images.parquet", "label_issues.json")

Progress = Callable[[int, int, str], None]  # (models read, models, the model's name)


class Method(TypedDict):
    """How the rankings were made, in words (``label_issues.json``'s ``method``)."""

    pred_probs: str
    images: str
    pairs: str
    cleanlab: str  # its version


class Summary(TypedDict):
    """``label_issues.json`` and ``errata label-issues --json``: the models, the label set, the
    counts, the notes and, with a truth set, its name and the validation figures."""

    models: list[str]
    labels: str
    method: Method
    images_ranked: int
    pairs_ranked: int
    label_issues_flagged: int | None  # None: a multi-label set (images are not ranked)
    notes: list[str]
    truth: NotRequired[str]
    validation: NotRequired[Validation]


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

    pairs: pd.DataFrame
    images: pd.DataFrame | None
    summary: Summary

    def to_dict(self) -> dict[str, object]:
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
    progress: Progress | None = None,
    dataset: str = D.DEFAULT,
    outside: D.Outside = "error",
) -> LabelIssues:
    """Rank the label set's probable label issues from a zoo's predictions (see
    :mod:`errata.labelissues` for the method).

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

    notes: list[str] = []
    given: np.ndarray | None = None
    image_rank: dict[str, np.ndarray] | None = None
    images: pd.DataFrame | None = None
    if bool((multi.sizes == 1).all()):
        given = multi.indices[multi.indptr[:-1]].astype(np.int64)
        image_rank = rank_images(given, probs)
        images = _images_table(image_rank, given, probs, file_names)
    else:
        notes.append(
            f"label set '{label_set.name}' has images with several labels: only the missing "
            "pairs are ranked (images whose label is wrong need one label per image, e.g. "
            "--labels original)"
        )
    if not any_scores:
        notes.append(_top1_only_note(len(predictions)))
    local = np.full(n, -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    cand = np.concatenate(keys)
    key = distinct(local[cand // N_CLASSES] * N_CLASSES + cand % N_CLASSES)
    key = key[key >= 0]
    pair_rank = rank_pairs(multi, probs, pairs=(key // N_CLASSES, key % N_CLASSES))
    pairs = _pairs_table(pair_rank, image_rank, file_names)
    summary: Summary = {
        "models": names,
        "labels": label_set.name,
        "method": _method(),
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


def _top1_only_note(n_models: int) -> str:
    """What the rankings can say when no model gave scores (only votes)."""
    if n_models == 1:
        return (
            "one model with top-1 only: cleanlab's pred_probs are one-hot, so it flags the "
            "disagreements but cannot rank them (every score ties; ties stay in image order)"
        )
    return f"{n_models} models with top-1 only: pred_probs are their vote shares"


def _method() -> Method:
    return {
        "pred_probs": "mean of the models' probabilities (top-1 only: a one-hot vote)",
        "images": "cleanlab.filter.find_label_issues + cleanlab.rank."
        "get_label_quality_scores (self_confidence)",
        "pairs": "cleanlab.multilabel_classification.rank.get_label_quality_scores_per_class"
        " (self_confidence)",
        "cleanlab": _version(),
    }


def _images_table(
    image_rank: dict[str, np.ndarray],
    given: np.ndarray,
    probs: np.ndarray,
    file_names: np.ndarray,
) -> pd.DataFrame:
    """The images ranked by :func:`rank_images` as :class:`LabelIssues`' ``images`` table."""
    import pandas as pd

    from errata import resources

    cnames = np.asarray(resources.classes().names)
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
    return images


def _pairs_table(
    pair_rank: dict[str, np.ndarray],
    image_rank: dict[str, np.ndarray] | None,
    file_names: np.ndarray,
) -> pd.DataFrame:
    """The pairs ranked by :func:`rank_pairs` as :class:`LabelIssues`' ``pairs`` table."""
    import pandas as pd

    from errata import resources

    classes = resources.classes()
    wnids, cnames = np.asarray(classes.wnids), np.asarray(classes.names)
    img = pair_rank["image"]
    return pd.DataFrame(
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


def _read_ensemble(
    zoo: Iterable[ZooFile], n: int, n_models: int, progress: Progress | None
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
