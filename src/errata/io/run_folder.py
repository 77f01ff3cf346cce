"""One model's output folder (``errata analyze --out``): ``metrics.json``,
``per_image.parquet``, ``per_class.csv`` and, when errors were classified, ``errors.parquet`` and
``summary.json``, written as one unit; and the pandas views of the Arrow tables of one model (the
error table with class names, Arrow list columns kept Arrow-backed)."""

from __future__ import annotations

import collections
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict

import numpy as np

from errata.core.evidence import Source
from errata.core.scoring import CategorySummary, ErrorSummary, GroupSummary, MLAVariant
from errata.core.scoring import Metric as Metric
from errata.io import files

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from errata.core.labelset import LabelSetSummary
    from errata.core.population import Comparability
    from errata.core.published_band import Band

OUTPUTS = ("metrics.json", "per_image.parquet", "per_class.csv", "errors.parquet", "summary.json")


class Coverage(TypedDict):
    """How the prediction rows cover the label set."""

    prediction_rows: int
    in_label_set: int
    label_set_images: int
    subset: bool


class KeyedCategory(CategorySummary):
    """One category of :class:`KeyedSummary`: its name as errata prints it, then its figures."""

    name: str


class KeyedGroup(GroupSummary):
    """One group of :class:`KeyedSummary` (its categories keyed by category key)."""

    name: str


class KeyedSummary(TypedDict, total=False):
    """An error summary for JSON (:func:`keyed`): :class:`errata.core.scoring.ErrorSummary`
    with categories and groups keyed by key, each entry with its ``name``."""

    errors: int
    top1_errors: int
    excluded: int
    categories: dict[str, KeyedCategory]
    groups: dict[str, dict[str, KeyedGroup]]
    mla_variants: dict[str, MLAVariant]
    mean_severity: float | None
    sources: dict[str, Source]


class AnalysisJSON(TypedDict):
    """:meth:`Analysis.to_dict` (``metrics.json``, ``analyze --json``); ``errors`` and
    ``published_band`` only when errors were classified."""

    model: str
    predictions: str
    coverage: Coverage
    notes: list[str]
    labels: LabelSetSummary
    settings: dict[str, object]
    metrics: dict[str, Metric]
    errors: NotRequired[KeyedSummary]
    published: NotRequired[Comparability]
    published_band: NotRequired[Band]


def write_run_folder(
    out: str | Path,
    *,
    metrics: Mapping[str, object],
    per_image: pa.Table,
    per_class: pd.DataFrame,
    errors: pa.Table | None = None,
    summary: Mapping[str, object] | None = None,
) -> dict[str, Path]:
    """Write ``metrics.json``, ``per_image.parquet``, ``per_class.csv`` (and ``errors.parquet``,
    ``summary.json`` when ``errors`` are given) into ``out`` — as one unit: the folder is built
    beside the old one and swapped in, so ``out`` holds either the previous run's files or all
    of this one's. Returns the path of each file by its key."""
    out = Path(out)
    names = {
        "metrics": "metrics.json",
        "per_image": "per_image.parquet",
        "per_class": "per_class.csv",
    }
    if errors is not None:
        names |= {"errors": "errors.parquet", "summary": "summary.json"}
    with files.atomic_folder(out, managed=OUTPUTS) as tmp:
        files.write_json(tmp / names["metrics"], metrics)
        files.write_parquet(tmp / names["per_image"], per_image)
        files.write_text(
            tmp / names["per_class"], per_class.to_csv(index=False, float_format="%.6g")
        )
        if errors is not None:
            files.write_parquet(tmp / names["errors"], errors)
            files.write_json(tmp / names["summary"], summary)
    return {k: out / v for k, v in names.items()}


def keyed(summary: ErrorSummary) -> KeyedSummary:
    """An error summary for JSON: ``categories`` keyed by category key (``fine_grained_oov``)
    and ``groups`` by group key (``other_organisms``), each entry with its ``name`` as errata
    prints it — the Python ``summary`` keeps the names as keys.

    >>> keyed({"categories": {"fine-grained OOV": {"count": 0}}, "groups": {}})["categories"]
    {'fine_grained_oov': {'name': 'fine-grained OOV', 'count': 0}}
    """
    from errata.core.categories import slug

    categories: dict[str, KeyedCategory] = {
        slug(n): {"name": n, **v} for n, v in summary.get("categories", {}).items()
    }
    groups: dict[str, dict[str, KeyedGroup]] = {
        split: {
            slug(g): {
                "name": g,
                **b,
                "categories": {slug(n): v for n, v in b["categories"].items()},
            }
            for g, b in blocks.items()
        }
        for split, blocks in summary.get("groups", {}).items()
    }
    return {**summary, "categories": categories, "groups": groups}


def errors_frame(table: pa.Table) -> pd.DataFrame:
    """The error table as a pandas DataFrame, with the class names beside the class indices
    (``original_name``, ``top1_name``, ``evidence_label_name``: categoricals over the 1000 names,
    the two names two classes share told apart by WordNet id) and a proper null (``<NA>``) for
    an error without an evidence label or count (``-1`` in the Parquet file)."""
    import pandas as pd

    df = table.to_pandas(types_mapper=arrow_types)
    names = class_categories()
    for col in ("original", "top1", "evidence_label"):
        codes = df[col].to_numpy(dtype=np.int64)
        at = df.columns.get_loc(col) + 1
        df.insert(at, f"{col}_name", pd.Categorical.from_codes(codes, categories=names))
    for col, dtype in (("evidence_label", "Int16"), ("evidence_count", "Int32")):
        values = df[col].to_numpy()
        df[col] = pd.Series(values, dtype=dtype).mask(values < 0)
    return df


def class_categories() -> pd.Index:
    """The 1000 class names as unique categories: a name two classes share ("crane",
    "maillot") carries its WordNet id."""
    import pandas as pd

    from errata import resources

    c = resources.classes()
    twice = {n for n, k in collections.Counter(c.names).items() if k > 1}
    return pd.Index([f"{n} ({w})" if n in twice else n for n, w in zip(c.names, c.wnids)])


def arrow_types(t: pa.DataType) -> pd.ArrowDtype | None:
    """Keep Arrow list columns as Arrow-backed pandas columns (no per-row Python lists)."""
    import pandas as pd
    import pyarrow as pa

    return pd.ArrowDtype(t) if pa.types.is_list(t) else None


__all__ = [
    "OUTPUTS",
    "AnalysisJSON",
    "Coverage",
    "Metric",
    "arrow_types",
    "class_categories",
    "errors_frame",
    "keyed",
    "write_run_folder",
]
