"""Layer 8 — one model's analysis: align predictions with a label set, compute the metrics, and
(in :mod:`errata.errors`) classify the errors. :func:`analyze` is the public entry point that the
CLI, reports and web app call."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from errata import metrics as M
from errata.exceptions import ErrataInputError, row_ref
from errata.labels import LabelSet, load_labels, original_labels_for
from errata.predictions import Order, Predictions, load_predictions


@dataclass(frozen=True, eq=False)
class Aligned:
    """Predictions and labels for the same images, row for row.

    ``rows`` are the prediction rows that the label set knows (shape (n,)); ``labels`` is the
    label set restricted to those images in the same order.
    """

    predictions: Predictions
    labels: LabelSet
    rows: np.ndarray

    @property
    def top1(self) -> np.ndarray:
        return self.predictions.top1[self.rows]

    @cached_property
    def original(self) -> np.ndarray:
        """``(len(predictions),)`` original ImageNet label of every prediction row (``-1``
        unknown), computed once for the metrics, the tables and the per-class figures."""
        return original_labels_for(self.predictions.file_names)


def align(predictions: Predictions, labels: LabelSet) -> Aligned:
    """Match prediction rows to label-set rows by file name.

    A file name that is neither in the label set nor an ImageNet validation image is an error (it
    is probably a typo or a different data set); validation images that the label set does not
    cover (e.g. the 30,000 images outside Shankar et al.'s subset) are simply not evaluated there.
    """
    pos = labels.positions(predictions.file_names)
    known = pos >= 0
    if not known.any():
        raise ErrataInputError(
            f"{predictions.source}: its {len(predictions)} images and the label set "
            f"'{labels.name}' ({len(labels)} images) share no file names "
            f"(e.g. '{predictions.file_names[0]}' vs '{labels.file_names[0]}')"
        )
    if not known.all():
        unknown = ~known & (original_labels_for(predictions.file_names) < 0)
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise ErrataInputError(
                f"{predictions.source}: {row_ref(predictions.source, row)}: unknown file name "
                f"'{predictions.file_names[row]}' "
                f"(not in label set '{labels.name}' and not an ImageNet validation image; "
                f"{int(unknown.sum())} such rows)"
            )
    # prediction rows in label-set order: when they cover the whole set, the (large, dense) label
    # set is used as it is instead of being copied into the predictions' order
    rows = np.flatnonzero(known)
    rows = rows[np.argsort(pos[rows], kind="stable")]
    if len(rows) == len(labels):
        return Aligned(predictions=predictions, labels=labels, rows=rows)
    return Aligned(predictions=predictions, labels=labels.take(pos[rows]), rows=rows)


def compute_metrics(
    aligned: Aligned, *, n_resamples: int = M.N_RESAMPLES, seed: int = 0
) -> dict[str, Any]:
    """Headline metrics with bootstrap 95 % intervals; see :data:`errata.metrics.METRICS`."""
    preds, labels = aligned.predictions, aligned.labels
    out: dict[str, Any] = {}

    def put(key: str, hits: np.ndarray, classes: np.ndarray | None = None) -> None:
        value = M.accuracy(hits) if classes is None else M.class_averaged_accuracy(hits, classes)
        lo, hi = M.bootstrap_ci(hits, classes=classes, n_resamples=n_resamples, seed=seed)
        out[key] = {"value": value, "ci95": [lo, hi], "images": int(hits.size)}

    original = aligned.original
    has_orig = original >= 0
    if has_orig.any():
        put("top1", M.topk_hits(preds.topk[has_orig], original[has_orig].astype(np.int64), 1))
        if preds.k >= 5:
            put("top5", M.topk_hits(preds.topk[has_orig], original[has_orig].astype(np.int64), 5))

    evaluated = labels.evaluated
    top1 = aligned.top1.astype(np.int64)
    hits = M.label_hits(top1, labels.multi_labels)
    key = "real" if labels.name == "real" else "label_accuracy"
    put(key, hits[evaluated])
    if labels.name != "real":
        cls = labels.original.astype(np.int64)
        ok = evaluated & (cls >= 0)
        put("mla", hits[ok], cls[ok])
    if labels.imagenet_m is not None and labels.imagenet_m.any():
        m = labels.imagenet_m
        out["imagenet_m"] = {
            "value": int(hits[m].sum()),
            "of": int(m.sum()),
            "images": int(m.sum()),
        }
    return out


@dataclass(eq=False)
class Analysis:
    """The result of :func:`analyze` for one model.

    Attributes
    ----------
    predictions, labels : the validated inputs (labels aligned to the evaluated images)
    metrics : dict
        ``{key: {"value", "ci95", "images"}}`` for the keys of :data:`errata.metrics.METRICS`.
    per_image : pandas.DataFrame
        One row per prediction row (file_name, original, labels, unclear, top1, correct_original,
        correct_multi, evaluated, problematic); ``per_image_table`` is the same as Arrow.
    errors : pandas.DataFrame or None
        One row per multi-label error with its category and reason (see :mod:`errata.errors`);
        ``errors_table`` is the same as Arrow.
    summary : dict
        Category counts and MLA variants (see :mod:`errata.errors`).
    """

    predictions: Predictions
    labels: LabelSet
    aligned: Aligned
    metrics: dict[str, Any]
    errors_table: Any = None
    summary: dict[str, Any] = field(default_factory=dict)
    context: Any = None  # errata.errors.Context, when errors were classified
    classified: Any = None  # errata.errors.Classified, when errors were classified

    @cached_property
    def per_image_table(self) -> Any:
        """pyarrow Table of :attr:`per_image` (built on first use: printing needs no Arrow)."""
        return per_image_table(self.aligned)

    @property
    def per_image(self) -> Any:
        return self.per_image_table.to_pandas(types_mapper=_arrow_types)

    @property
    def errors(self) -> Any:
        return (
            None
            if self.errors_table is None
            else self.errors_table.to_pandas(types_mapper=_arrow_types)
        )

    @cached_property
    def per_class(self) -> Any:
        """pandas DataFrame, one row per class (by original label): index, wnid, name, images,
        top1 (accuracy against the original label), evaluated (images in the multi-label
        evaluation) and multi_label (accuracy against correct ∪ unclear)."""
        import pandas as pd

        from errata import resources

        preds = self.predictions
        original = self.aligned.original.astype(np.int64)
        has = original >= 0
        top1_hits = preds.top1[has] == original[has]
        labels = self.labels
        ok = labels.evaluated & (labels.original >= 0)
        multi_hits = M.label_hits(self.aligned.top1.astype(np.int64), labels.multi_labels)[ok]
        classes = labels.original.astype(np.int64)[ok]
        c = resources.classes()
        return pd.DataFrame(
            {
                "class_index": np.arange(1000),
                "wnid": c.wnids,
                "name": c.names,
                "images": np.bincount(original[has], minlength=1000),
                "top1": M.per_class_accuracy(top1_hits, original[has]),
                "evaluated": np.bincount(classes, minlength=1000),
                "multi_label": M.per_class_accuracy(multi_hits, classes),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: model, label set, metrics, and the error summary when classified."""
        return {
            "model": self.predictions.name,
            "predictions": self.predictions.source,
            "labels": self.labels.summary() | {"source": self.labels.source},
            "metrics": self.metrics,
            **({"errors": self.summary} if self.summary else {}),
        }

    def to_html(self, path: str | Path, **options: Any) -> dict[str, Path]:
        """Write a self-contained HTML report (see :func:`errata.report.model.model_report`:
        ``images=``, ``plots=``, ``max_image_bytes=``, ``thumbnail_size=``)."""
        from errata.report.model import model_report

        return model_report(self, path, **options)

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write ``metrics.json``, ``per_image.parquet``, ``per_class.csv`` (and
        ``errors.parquet``, ``summary.json`` when errors were classified) into ``out``, each
        atomically."""
        from errata import _io

        out = Path(out)
        written = {
            "metrics": out / "metrics.json",
            "per_image": out / "per_image.parquet",
            "per_class": out / "per_class.csv",
        }
        _io.write_json(written["metrics"], self.to_dict())
        _io.write_parquet(written["per_image"], self.per_image_table)
        _io.write_text(
            written["per_class"], self.per_class.to_csv(index=False, float_format="%.6g")
        )
        if self.errors_table is not None:
            written["errors"] = out / "errors.parquet"
            written["summary"] = out / "summary.json"
            _io.write_parquet(written["errors"], self.errors_table)
            _io.write_json(written["summary"], self.summary)
        return written


def _arrow_types(t: Any) -> Any:
    """Keep Arrow list columns as Arrow-backed pandas columns (no per-row Python lists)."""
    import pandas as pd
    import pyarrow as pa

    return pd.ArrowDtype(t) if pa.types.is_list(t) else None


def list_column(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, n: int) -> Any:
    """An Arrow list<int16> array: row ``rows[j]`` gets list ``j`` of the CSR
    ``(indptr, indices)``; the other rows are null. Built without a Python loop per image."""
    import pyarrow as pa

    sizes = np.zeros(n, dtype=np.int64)
    sizes[rows] = np.diff(indptr)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    values = _reorder_csr(indptr, indices, np.argsort(rows, kind="stable"))
    mask = np.ones(n, dtype=bool)
    mask[rows] = False
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(values.astype(np.int16)), mask=pa.array(mask)
    )


def _reorder_csr(indptr: np.ndarray, indices: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Concatenate the CSR rows in ``order`` (vectorised)."""
    sizes = np.diff(indptr)[order]
    starts = indptr[:-1][order]
    pos = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes) + np.arange(
        sizes.sum()
    )
    return indices[pos]


def per_image_table(aligned: Aligned) -> Any:
    """The per-image table of one model as a pyarrow Table (see :class:`Analysis`)."""
    import pyarrow as pa

    preds = aligned.predictions
    n = len(preds)
    original = aligned.original
    labels = aligned.labels
    rows = aligned.rows
    evaluated = np.zeros(n, dtype=bool)
    problematic = np.zeros(n, dtype=bool)
    correct_multi = np.zeros(n, dtype=bool)
    evaluated[rows] = labels.evaluated
    problematic[rows] = labels.problematic
    correct_multi[rows] = M.label_hits(aligned.top1.astype(np.int64), labels.multi_labels)
    return pa.table(
        {
            "file_name": pa.array(preds.file_names, type=pa.string()),
            "original": original,
            "labels": list_column(*labels.csr("correct"), rows, n),
            "unclear": list_column(*labels.csr("unclear"), rows, n),
            "top1": preds.top1,
            "correct_original": (preds.top1 == original) & (original >= 0),
            "correct_multi": correct_multi,
            "evaluated": evaluated,
            "problematic": problematic,
        }
    )


def analyze(
    predictions: str | Path | np.ndarray | Predictions,
    *,
    labels: str | Path | LabelSet = "real",
    order: Order = "filename",
    file_names: str | Path | np.ndarray | list[str] | None = None,
    name: str | None = None,
    classify_errors: bool = True,
    n_resamples: int = M.N_RESAMPLES,
    seed: int = 0,
    **pipeline_options: Any,
) -> Analysis:
    """Score one model's predictions and classify its errors.

    Parameters
    ----------
    predictions : path, registry name, array or Predictions
        See :func:`errata.predictions.load_predictions`.
    labels : {"real", "original", "shankar"}, path or LabelSet
        Ground truth; see :func:`errata.labels.load_labels`.
    order, file_names, name
        How rows map to images; see :func:`errata.predictions.load_predictions`.
    classify_errors : bool
        Run the error pipeline (:mod:`errata.errors`).
    n_resamples, seed
        Bootstrap settings of the confidence intervals.
    **pipeline_options
        Passed to :func:`errata.errors.classify` (e.g. ``expert_files``).

    Examples
    --------
    >>> import errata  # doctest: +SKIP
    >>> a = errata.analyze("cleanlab-resnet50", order="imagefolder")  # doctest: +SKIP
    >>> m = a.metrics  # doctest: +SKIP
    >>> round(100 * m["top1"]["value"], 3), round(100 * m["real"]["value"], 2)  # doctest: +SKIP
    (72.732, 77.61)
    """
    preds = load_predictions(predictions, order=order, file_names=file_names, name=name)
    label_set = load_labels(labels)
    aligned = align(preds, label_set)
    result = Analysis(
        predictions=preds,
        labels=aligned.labels,
        aligned=aligned,
        metrics=compute_metrics(aligned, n_resamples=n_resamples, seed=seed),
    )
    if classify_errors:
        from errata import errors

        errors.attach(result, **pipeline_options)
    return result
