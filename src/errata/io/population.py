"""The published population (the edge): the per-model results of the 962 models that Peychev et
al. (NeurIPS 2023) classified, read from the files of their public repository
(``eth-sri/automated-error-analysis``, Apache-2.0) into one table, and the test of whether a run of
errata can be placed among them.

:func:`population` returns one row per model: its metadata, its ImageNet figures (overall and per
WordNet group) and its ImageNet-A figures, in errata's vocabulary. What each published column
means, and which errata figure it corresponds to, is :data:`COLUMN_MAP`
(``num_collapsed_mappings`` → ``n_overlapping_classes`` …); the correspondences that are not
one-to-one are in :data:`NOT_ONE_TO_ONE`.

How the published figures were made (read from the repository's ``src/evaluation.py`` and
``src/utils_plot.py``):

* the images are the 18,692 **non-problematic** validation images of Shankar et al.'s multi-label
  set (ImageNet), or the 7,500 ImageNet-A images (no multi-labels: every "ambiguous" and
  "non-prototypical" count is 0 there);
* each top-1 error (prediction ≠ original label) gets the first category that applies: collapsed
  mapping (errata: overlapping classes), then prediction in the multi-labels ("ambiguous";
  errata: correct multi-label), same superclass (fine-grained), CLIP out-of-vocabulary (fine-grained
  OOV), common co-occurrence (spurious correlation), one of the non-prototypical images of
  Vasudevan et al.'s two expert files (non-prototypical), else "not classified" (model failure);
* MLA is class-averaged and counts collapsed mappings as correct — errata's ``mla_overlap``; the
  "minor" variant also fine-grained and OOV errors, the "explainable" one also spurious and
  non-prototypical errors — errata's ``mla_minor`` and ``mla_explainable``;
* the paper's plots show each category's count relative to the **multi-label errors** (MLE):
  top-1 errors minus collapsed mappings minus ambiguous ones
  (:data:`errata.core.population.MLE_CATEGORIES`), against top-1 accuracy on all 50,000 images
  and against MLA, coloured by the training-data size.

What a run's figures mean beside these ones — :func:`~errata.core.population.comparability`,
:func:`~errata.core.population.placement`, the published band — is analysis, in
:mod:`errata.core.population` and :mod:`errata.core.published_band`; this module reads the
files (:func:`population`); :mod:`errata.io.published_band` reads the band's.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.exceptions import ErrataInputError

if TYPE_CHECKING:
    import pandas as pd

N_MODELS = 962  # models in the published files
DATASETS = ("imagenet", "imagenet-a")
GROUPS = ("organism", "artifact", "other")  # the published WordNet groups
SUMMARY = "peychev-models-summary"  # registry name of models_summary.csv


def stats_name(dataset: str, group: str) -> str:
    """Registry name of one published statistics file: ``peychev-imagenet-a-organism`` …"""
    return f"peychev-{dataset}-{group}"


# published column -> (errata column, what it means). Counts are over the evaluated images.
COLUMN_MAP: dict[str, tuple[str, str]] = {
    "num_group_correct": (
        "n_correct",
        "top-1 = original label, and the label is one of the image's multi-labels",
    ),
    "num_collapsed_mappings": (
        "n_overlapping_classes",
        "top-1 is a class the original label's class overlaps with (Vasudevan et al.'s "
        "collapsed mappings), checked before the multi-labels",
    ),
    "num_ambiguous": (
        "n_correct_multi_label",
        "top-1 ≠ original label but one of the image's multi-labels (correct ∪ unclear)",
    ),
    "num_same_superclass": (
        "n_fine_grained",
        "top-1 shares a superclass with a multi-label (the published taxonomy)",
    ),
    "num_OOV_clip": (
        "n_fine_grained_oov",
        "CLIP chose an out-of-vocabulary WordNet synset of the prediction's superclass",
    ),
    "num_common_co_occ": (
        "n_spurious_correlation",
        "top-1 and a multi-label co-occur often in the multi-label set",
    ),
    "num_non_prototypical": (
        "n_non_prototypical",
        "the image is non-prototypical in Vasudevan et al.'s expert files (ViT-3B, Greedy Soups)",
    ),
    "num_not_classified": ("n_model_failure", "none of the above"),
    "num_all_top1_errors": ("top1_errors", "top-1 ≠ original label, over the evaluated images"),
    "num_group_samples": ("images", "evaluated images (non-problematic, in the group)"),
    "top1_val_acc": (
        "top1",
        "top-1 accuracy on all 50,000 validation images (ImageNet-A: all 7,500)",
    ),
    "mla_group": ("mla_overlap", "class-averaged MLA counting collapsed mappings as correct"),
    "mla_group_minor_error": ("mla_minor", "… also fine-grained and OOV errors"),
    "mla_group_explainable_error": ("mla_explainable", "… also spurious and non-prototypical"),
    "num_imagenet-m_errors": ("imagenet_m_errors", "ImageNet-M images (of 68) predicted wrongly"),
    "top1_val_acc_subset_200": (
        "top1_200",
        "ImageNet-A: top-1 with the prediction restricted to its 200 classes",
    ),
}
NOT_ONE_TO_ONE = {
    "n_overlapping_classes": "the published pipeline checks collapsed mappings before the "
    "multi-labels, errata after them: a prediction that is both is overlapping there and "
    "correct multi-label in errata (MLA with overlaps, and every share of multi-label errors "
    "below, are unaffected)",
    "mla_overlap": "the published 'MLA' forgives collapsed mappings; errata's plain `mla` does "
    "not, so the published MLA corresponds to errata's `mla_overlap`",
    "errors": "errata's multi-label errors include overlapping classes; the paper's (`mle`) "
    "exclude them",
    "groups": "a published group holds every image with *any* multi-label in it (an image can be "
    "in two groups); errata groups an image by its original class. The per-group columns are "
    "therefore named `group_<g>_…`, not errata's `wordnet_<g>_…`",
    "n_non_prototypical": "errata's ImageNet-X sub-category has no published counterpart",
}
_NUMBERS = {"K": 1e3, "M": 1e6, "B": 1e9}
# the paper's training-data groups (utils_plot.DATA_TO_DATA_GROUP), by size
DATA_GROUPS = ((5e6, "small (< 5M)"), (50e6, "medium (< 50M)"), (500e6, "large (< 500M)"))
DATA_GROUP_LAST = "xlarge (> 500M)"


def _size(text: str) -> float:
    """``'ImageNet-21k (14M)'`` → 14e6 (NaN when the text gives no size)."""
    inner = text.rsplit("(", 1)[-1].rstrip(")").strip()
    if inner and inner[-1] in _NUMBERS:
        try:
            return float(inner[:-1]) * _NUMBERS[inner[-1]]
        except ValueError:
            return float("nan")
    return float("nan")


def data_group(size: float) -> str:
    """The paper's training-data group of a size in images."""
    if not np.isfinite(size):
        return "unknown"
    for limit, name in DATA_GROUPS:
        if size < limit:
            return name
    return DATA_GROUP_LAST


_REQUIRED = (
    "model_dir_id",
    "num_params",
    "training_data",
    "top1_val_acc",
    "num_group_samples",
    "num_group_correct",
    "num_group_top1_errors",
    "num_all_top1_errors",
    "mla_group",
    "mla_group_minor_error",
    "mla_group_explainable_error",
    "num_collapsed_mappings",
    "num_ambiguous",
    "num_same_superclass",
    "num_common_co_occ",
    "num_non_prototypical",
    "num_OOV_clip",
    "num_not_classified",
)
_COUNTS = (
    "num_collapsed_mappings",
    "num_ambiguous",
    "num_same_superclass",
    "num_common_co_occ",
    "num_non_prototypical",
    "num_OOV_clip",
    "num_not_classified",
)


def _read_csv(path: str | Path, where: str, required: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ErrataInputError(f"{where}: not a readable CSV ({exc})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ErrataInputError(
            f"{where}: no column {', '.join(repr(c) for c in missing)}; expected the published "
            "per-model statistics (Peychev et al. 2023)"
        )
    return frame


def _stats(frame: pd.DataFrame, where: str, dataset: str) -> pd.DataFrame:
    """One published statistics file in errata's vocabulary (values checked)."""
    import pandas as pd

    numeric = [c for c in _REQUIRED if c not in ("model_dir_id", "training_data")]
    for c in numeric:
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=np.float64))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ErrataInputError(
                f"{where}: line {row + 2}, column '{c}': {frame[c].iloc[row]!r} is not a number"
            )
        frame[c] = values
    dup = frame["model_dir_id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise ErrataInputError(
            f"{where}: line {row + 2}: model '{frame['model_dir_id'].iloc[row]}' is listed twice"
        )
    counts = frame[list(_COUNTS)].to_numpy(dtype=np.int64)
    total = frame["num_group_top1_errors"].to_numpy(dtype=np.int64)
    off = counts.sum(axis=1) != total
    if off.any():  # the published pipeline asserts this; a file that breaks it is not theirs
        row = int(np.flatnonzero(off)[0])
        raise ErrataInputError(
            f"{where}: line {row + 2}: the category counts add up to {int(counts[row].sum())}, "
            f"not to the {int(total[row])} top-1 errors (num_group_top1_errors)"
        )
    out = pd.DataFrame({"model_dir_id": frame["model_dir_id"].astype(str)})
    out["images"] = frame["num_group_samples"].astype(np.int64)
    out["top1_errors"] = total
    for published, (ours, _) in COLUMN_MAP.items():
        if published.startswith("num_") and published in frame.columns and ours.startswith("n_"):
            out[ours] = frame[published].astype(np.int64)
    out["errors"] = out["top1_errors"] - out["n_correct_multi_label"]
    out["mle"] = out["errors"] - out["n_overlapping_classes"]
    for published, ours in (
        ("mla_group", "mla_overlap"),
        ("mla_group_minor_error", "mla_minor"),
        ("mla_group_explainable_error", "mla_explainable"),
    ):
        out[ours] = frame[published].to_numpy(dtype=np.float64) / 100.0
    if dataset == "imagenet" and "num_imagenet-m_errors" in frame.columns:
        m_err = pd.to_numeric(frame["num_imagenet-m_errors"], errors="coerce")
        m_n = pd.to_numeric(frame.get("num_group_imagenet-m_samples", m_err * np.nan))
        out["imagenet_m"] = (m_n - m_err).to_numpy(dtype=np.float64)
        out["imagenet_m_images"] = m_n.to_numpy(dtype=np.float64)
    return out


def population(*, datasets: Sequence[str] = DATASETS) -> pd.DataFrame:
    """The published per-model results, one row per model (962), from the data directory.

    Columns: ``model`` (the model's name in timm / torchvision / Hugging Face, as published),
    ``model_dir_id``, ``source``, ``arch``, ``arch_group``, ``arch_family``, ``training_data``,
    ``training_data_size`` (images), ``training_data_group`` (the paper's four groups),
    ``extra_annotations``, ``num_params``; ImageNet: ``top1`` (all 50,000 images, a fraction),
    ``images``, ``top1_errors``, ``errors``, ``mle``, ``n_<category>`` in errata's names,
    ``mla_overlap`` / ``mla_minor`` / ``mla_explainable``, ``imagenet_m`` (correct of
    ``imagenet_m_images``), and per group ``group_<organism|artifact|other>_<same>``; ImageNet-A:
    the same with the prefix ``imagenet_a_`` (and ``imagenet_a_top1_200``). The meaning of each
    published column is :data:`COLUMN_MAP`; see the module docstring for how they were made.

    Raises
    ------
    ErrataInputError
        When a file is missing (the message says how to fetch it) or not in the published form.

    Examples
    --------
    >>> from errata.io.population import population
    >>> p = population()  # doctest: +SKIP
    >>> p.loc[p["model"] == "convnext-base-224", ["top1", "n_fine_grained"]]  # doctest: +SKIP
    """
    import pandas as pd

    from errata.io import data

    bad = [d for d in datasets if d not in DATASETS]
    if bad or not datasets:
        raise ErrataInputError(
            f"datasets: {', '.join(map(repr, bad)) or 'none'}; expected some of "
            f"{', '.join(DATASETS)}"
        )
    summary_path = data.path(SUMMARY)
    summary = _read_csv(
        summary_path,
        str(summary_path),
        ("model_id", "source", "arch", "arch_group", "arch_family", "dataset", "extra_annotations"),
    )
    out: pd.DataFrame | None = None
    for dataset in datasets:
        prefix = "" if dataset == "imagenet" else "imagenet_a_"
        parts = []
        for group in ("all", *GROUPS):  # the overall file, then one per WordNet group
            path = data.path(stats_name(dataset, group))
            raw = _read_csv(path, str(path), _REQUIRED)
            if out is None:
                out = _metadata(raw, summary, str(summary_path))
            if list(raw["model_dir_id"].astype(str)) != list(out["model_dir_id"]):
                raise ErrataInputError(
                    f"{path}: its models are not those of the other published files (in order)"
                )
            stats = _stats(raw, str(path), dataset).drop(columns="model_dir_id")
            if group != "all":
                parts.append(stats.add_prefix(f"{prefix}group_{group}_"))
                continue
            stats.insert(0, "top1", pd.to_numeric(raw["top1_val_acc"]).to_numpy() / 100.0)
            if "top1_val_acc_subset_200" in raw.columns:
                stats.insert(1, "top1_200", pd.to_numeric(raw["top1_val_acc_subset_200"]) / 100.0)
            parts.append(stats.add_prefix(prefix))
        out = pd.concat([out, *parts], axis=1)
    return out


def _metadata(stats: pd.DataFrame, summary: pd.DataFrame, where: str) -> pd.DataFrame:
    """Model metadata: the statistics file's, joined with models_summary.csv by model name."""
    import pandas as pd

    ids = stats["model_dir_id"].astype(str)
    model = ids.str.split("--", n=1).str[-1]
    meta = pd.DataFrame(
        {
            "model": model,
            "model_dir_id": ids,
            "training_data": stats["training_data"].astype(str),
            "num_params": stats["num_params"].astype(np.int64),
        }
    )
    info = summary.drop_duplicates("model_id").set_index("model_id")
    missing = ~model.isin(info.index)
    if missing.any():
        raise ErrataInputError(
            f"{where}: model '{model[missing].iloc[0]}' of the statistics files is not listed"
        )
    for col in ("source", "arch", "arch_group", "arch_family"):
        meta[col] = info.loc[model, col].to_numpy().astype(str)
    meta["extra_annotations"] = [
        ", ".join(_annotations(v)) for v in info.loc[model, "extra_annotations"].tolist()
    ]
    sizes = meta["training_data"].map(_size)
    meta.insert(3, "training_data_size", sizes.astype(np.float64))
    meta.insert(4, "training_data_group", sizes.map(data_group))
    return meta


def _annotations(value: object) -> list[str]:
    """``"['Distillation']"`` → ``['Distillation']`` (a literal, never evaluated as code)."""
    try:
        got = ast.literal_eval(str(value))
    except (ValueError, SyntaxError):
        return [str(value)] if str(value) else []
    return [str(v) for v in got] if isinstance(got, (list, tuple)) else [str(got)]


def is_present() -> bool:
    """Whether every published file is in the data directory."""
    from errata.io import data

    return all(data.is_present(n) for n in registry_names())


def registry_names() -> list[str]:
    """The registry names of the published files."""
    return [SUMMARY] + [stats_name(d, g) for d in DATASETS for g in ("all", *GROUPS)]


__all__ = [
    "COLUMN_MAP",
    "DATASETS",
    "GROUPS",
    "NOT_ONE_TO_ONE",
    "data_group",
    "is_present",
    "population",
    "registry_names",
    "stats_name",
]
