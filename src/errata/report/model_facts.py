"""The numbers of a one-model report, computed once from an :class:`~errata.analysis.Analysis`:
what the top-1 errors are per group, the most frequent confused pairs and per-superclass
accuracy (:func:`facts`), and which label a prediction was confused with
(:func:`confused_label`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from errata.core import categories as K
from errata.exceptions import ErrataInputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from errata.analysis import Analysis
    from errata.core.scoring import ErrorSummary

N_PAIRS = 30  # confused pairs listed


def breakdown_categories() -> tuple[str, ...]:
    """What a top-1 error turns out to be: the error categories and correct multi-label, from
    the category registry as it is now."""
    return tuple(c.name for c in K.CATEGORIES if c.is_error or c.name == "correct multi-label")


SPLIT_TITLES = {"wordnet": "WordNet", "shankar": "Shankar"}  # group splits, as titles say them

Breakdown = list[tuple[str, dict[str, int]]]  # (title, {category: count}) per bar


@dataclass(frozen=True)
class ModelFacts:
    """The numbers a one-model report shows, computed once from an Analysis (also used by tests).

    ``breakdown`` rows are (title, {category: count}); ``pairs`` and ``superclasses`` are
    DataFrames; ``category`` (n,) int8 codes of the images of ``analysis.labels``.
    """

    breakdown: Breakdown
    pairs: pd.DataFrame
    superclasses: pd.DataFrame
    category: np.ndarray
    n_pairs: int = 0  # distinct confused pairs (``pairs`` holds the N_PAIRS most frequent)


def require_errors(analysis: Analysis) -> pa.Table:
    """The analysis's table of errors, or a one-line error when it classified none."""
    if analysis.context is None or not analysis.summary or analysis.errors_table is None:
        raise ErrataInputError(
            "report: the analysis has no classified errors (run analyze "
            "without --no-errors / classify_errors=False)"
        )
    return analysis.errors_table


def facts(analysis: Analysis) -> ModelFacts:
    """Breakdown per group, confused pairs and per-superclass accuracy of one analysis."""
    err = require_errors(analysis)
    pairs, n_pairs = confused_pairs(err)
    return ModelFacts(
        breakdown=breakdown(analysis.summary),
        pairs=pairs,
        superclasses=superclass_accuracy(analysis),
        category=analysis.classified.category[0],
        n_pairs=n_pairs,
    )


def breakdown(summary: ErrorSummary) -> Breakdown:
    """What the top-1 errors are: all images, then each group of each split."""
    cats = summary["categories"]
    names = breakdown_categories()
    out = [("all images", {c: int(cats[c]["count"]) for c in names})]
    for split, blocks in summary.get("groups", {}).items():
        for g, block in blocks.items():
            out.append(
                (
                    f"{g} ({SPLIT_TITLES.get(split, split)})",
                    {c: int(block["categories"].get(c, 0)) for c in names},
                )
            )
    return out


def confused_pairs(err: pa.Table) -> tuple[pd.DataFrame, int]:
    """The :data:`N_PAIRS` most frequent (label, prediction) pairs of the multi-label errors,
    each with its main category and the count of every category, and the number of pairs."""
    import pandas as pd

    top1 = err.column("top1").to_numpy().astype(np.int64)
    orig = confused_label(err)
    names = np.asarray(K.NAMES, dtype=object)
    cat_codes, cat_table = codes(err.column("category"))
    lut = np.array([K.CODE[c] for c in cat_table] or [0], dtype=np.int64)
    cat = lut[np.asarray(cat_codes, dtype=np.int64)]
    frame = pd.DataFrame({"original": orig, "top1": top1, "category": cat})
    per = frame.groupby(["original", "top1", "category"]).size().rename("n").reset_index()
    per = per.sort_values(
        ["original", "top1", "n", "category"], ascending=[True, True, False, True]
    )
    pairs = per.groupby(["original", "top1"], sort=False).agg(
        count=("n", "sum"), category=("category", "first")
    )
    detail = per.assign(text=names[per["category"].to_numpy()] + " " + per["n"].astype(str))
    pairs["categories"] = detail.groupby(["original", "top1"], sort=False)["text"].agg(", ".join)
    pairs = pairs.reset_index()
    pairs["category"] = names[pairs["category"].to_numpy()]
    n_pairs = len(pairs)
    pairs = (
        pairs.sort_values(["count", "original", "top1"], ascending=[False, True, True])
        .head(N_PAIRS)
        .reset_index(drop=True)
    )
    return pairs, n_pairs


def superclass_accuracy(analysis: Analysis) -> pd.DataFrame:
    """Per superclass with images: classes, images, multi-label accuracy, errors and
    fine-grained errors over the evaluated images, by their original class."""
    import pandas as pd

    assert analysis.context is not None
    tax = analysis.context.taxonomy
    counts = analysis.scores.tally.counts[0, : tax.n_classes]  # (C, buckets)
    per = analysis.scores.per_class(0)
    n_c = per["evaluated"].astype(np.float64)
    hit_c = counts[:, list(K.CORRECT_CODES)].sum(axis=1)
    err_c = counts[:, list(K.ERROR_CODES)].sum(axis=1)
    fine_c = counts[:, K.CODE["fine-grained"]]
    members = np.asarray(tax.superclass_members, dtype=np.float64)  # (1000, S)
    images = members.T @ n_c
    with np.errstate(invalid="ignore", divide="ignore"):
        sc = pd.DataFrame(
            {
                "superclass": list(tax.superclass_names),
                "classes": members.sum(axis=0).astype(int),
                "images": images.astype(int),
                "accuracy": np.where(images > 0, (members.T @ hit_c) / images, np.nan),
                "errors": (members.T @ err_c).astype(int),
                "fine_grained": (members.T @ fine_c).astype(int),
            }
        )
    return sc[sc["images"] > 0].reset_index(drop=True)


def confused_label(err: pa.Table) -> np.ndarray:
    """Per error row, the label the prediction was confused with: the stage's evidence label
    when there is one, else the original label unless the prediction *is* the original label
    (rejected by the multi-label set), in which case the image's first multi-label (-1: none)."""
    import pyarrow as pa

    evidence = err.column("evidence_label").to_numpy().astype(np.int64)
    original = err.column("original").to_numpy().astype(np.int64)
    top1 = err.column("top1").to_numpy().astype(np.int64)
    lists = err.column("labels")
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    values = np.asarray(lists.values.to_numpy(zero_copy_only=False), dtype=np.int64)
    has = np.diff(offsets) > 0
    first_arr = np.full(len(top1), -1, dtype=np.int64)
    first_arr[has] = values[offsets[:-1][has]]
    fallback = np.where(original != top1, original, first_arr)
    return np.where(evidence >= 0, evidence, fallback)


def codes(column: pa.Array | pa.ChunkedArray) -> tuple[list[int], list[str]]:
    """Dictionary-encode an Arrow string column: (codes per row, distinct values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(col.type):
        col = pc.dictionary_encode(col)
    return col.indices.to_numpy(zero_copy_only=False).tolist(), [
        str(v) for v in col.dictionary.to_pylist()
    ]
