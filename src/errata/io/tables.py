"""Results as Arrow tables (the edge): one model's per-image and error tables, and the error
rows of a study, written in Parquet parts.

Nothing here computes a figure; it lays out what :mod:`errata.core` computed, without a Python
loop per row (list columns are built from the CSR arrays directly).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.core import categories as K
from errata.core.evidence import Context
from errata.core.pipeline import Classified, reasons
from errata.core.sparse import Csr

if TYPE_CHECKING:
    import pyarrow as pa

    from errata.core.labelset import LabelSet


def list_column(sets: Csr, rows: np.ndarray, n: int) -> pa.ListArray:
    """An Arrow ``list<int16>`` array of length ``n``: entry ``rows[j]`` is row ``j`` of
    ``sets``; the other entries are null."""
    import pyarrow as pa

    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    sub = sets.take(order)
    sizes = np.zeros(n, dtype=np.int64)
    sizes[rows[order]] = sub.sizes
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    mask = np.ones(n, dtype=bool)
    mask[rows] = False
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(sub.indices.astype(np.int16)), mask=pa.array(mask)
    )


def _dictionary(codes: np.ndarray, values: Sequence[str] | np.ndarray) -> pa.DictionaryArray:
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(values, type=pa.string())
    )


def per_image_table(
    *,
    file_names: np.ndarray,
    top1: np.ndarray,
    original: np.ndarray,
    rows: np.ndarray,
    images: np.ndarray,
    labels: LabelSet,
    category: np.ndarray,
    registry: K.Tables | None = None,
) -> pa.Table:
    """One model's per-image table, one row per prediction row: file_name, original, labels,
    unclear, top1, correct_original, correct_multi, evaluated, problematic.

    ``rows``/``images`` map prediction rows to label-set rows; ``category`` is the model's
    category per label-set image, in the codes of ``registry`` (the classified result's;
    default: the registry now).
    """
    t = K.tables() if registry is None else registry
    import pyarrow as pa

    n = len(file_names)
    evaluated = np.zeros(n, dtype=bool)
    problematic = np.zeros(n, dtype=bool)
    correct_multi = np.zeros(n, dtype=bool)
    evaluated[rows] = labels.evaluated[images]
    problematic[rows] = labels.problematic[images]
    correct_multi[rows] = np.isin(category[images], t.CORRECT_CODES)
    return pa.table(
        {
            "file_name": pa.array(file_names, type=pa.string()),
            "original": original,
            "labels": list_column(labels.correct.take(images), rows, n),
            "unclear": list_column(labels.unclear.take(images), rows, n),
            "top1": top1,
            "correct_original": (top1 == original) & (original >= 0),
            "correct_multi": correct_multi,
            "evaluated": evaluated,
            "problematic": problematic,
        }
    )


def error_table(ctx: Context, result: Classified, model: int = 0) -> pa.Table:
    """One model's multi-label errors with their reasons: file_name, original, labels, top1,
    category, reason, severity, evidence_label, evidence_count and the group of every split."""
    import pyarrow as pa

    sel = np.flatnonzero(result.errors.model == model)
    e = result.errors.take(sel)
    labels = ctx.labels
    tax = ctx.taxonomy
    orig = labels.original[e.image]
    table = {
        "file_name": pa.array(labels.file_names[e.image], type=pa.string()),
        "original": orig,
        "labels": list_column(labels.multi.take(e.image), np.arange(len(e)), len(e)),
        "top1": e.pred,
        "category": _dictionary(e.code, list(result.registry.NAMES)),
        "reason": pa.array(reasons(ctx, result, sel).astype(str), type=pa.string()),
        "severity": e.severity,
        "evidence_label": e.label,
        "evidence_count": e.count,
    }
    for split, names in tax.groups.items():
        g = np.where(orig >= 0, np.asarray(names)[np.clip(orig, 0, None)], "unknown")
        table[f"group_{split}"] = pa.array(g, type=pa.string()).dictionary_encode()
    return pa.table(table)


class StudyErrors:
    """Lays out a study's error rows, batch by batch, as Arrow tables: model, dataset,
    file_name, original, top1, category, evidence_label, evidence_count, severity
    (dictionary-encoded names, so a part of a million rows stays small). The categories are
    those of ``registry`` (the run's snapshot of the category registry; default: the registry
    now), which every batch's codes are in."""

    def __init__(self, labels: LabelSet, registry: K.Tables | None = None) -> None:
        from errata.io import arrow

        self.registry = K.tables() if registry is None else registry
        # pandas-free (errata.io.arrow): pyarrow's converters import pandas, which compare skips
        self.file_names = arrow.array(labels.file_names, string=True)
        self.categories = arrow.array(list(self.registry.NAMES), string=True)
        self.original = labels.original
        self.dataset = arrow.array([labels.dataset], string=True)

    def table(self, names: list[str], result: Classified) -> pa.Table:
        """The error rows of one batch of models (``names`` in stack order)."""
        from errata.io import arrow

        if result.registry.version != self.registry.version:
            raise ValueError("a batch classified over another state of the category registry")
        e = result.errors
        return arrow.table(
            {
                "model": arrow.dictionary(e.model, names),
                "dataset": arrow.dictionary(np.zeros(len(e), dtype=np.int32), self.dataset),
                "file_name": arrow.dictionary(e.image, self.file_names),
                "original": self.original[e.image],
                "top1": e.pred,
                "category": arrow.dictionary(e.code, self.categories),
                "evidence_label": e.label,
                "evidence_count": e.count,
                "severity": e.severity,
            }
        )

    def empty(self) -> pa.Table:
        """A table with the columns and no rows."""
        from errata.core.pipeline import ErrorRows

        empty = Classified(np.zeros((0, 0), np.int8), ErrorRows.empty(), registry=self.registry)
        return self.table([], empty)


def write_part(path: Path, table: pa.Table) -> None:
    """Write one Parquet part of a study's errors, atomically."""
    import pyarrow.parquet as pq

    from errata.io.files import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pq.write_table(
            table,
            fh,
            compression="zstd",
            compression_level=1,  # level 1 writes a third faster than 3 for 0.1 % more bytes
            use_dictionary=["model", "dataset", "file_name", "category"],
            write_statistics=["model"],
        )
