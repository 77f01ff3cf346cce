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
  top-1 errors minus collapsed mappings minus ambiguous ones (:data:`MLE_CATEGORIES`), against
  top-1 accuracy on all 50,000 images and against MLA, coloured by the training-data size.

:func:`comparability` says, from a run's settings, whether its figures can stand beside these
ones, which settings differ, and what would make them match; :func:`placement` ranks a run's
figures among the population's.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from errata.core.band import MIN_MODELS, QUANTILES, WINDOW
from errata.core.pipeline import PUBLISHED_ORDER
from errata.exceptions import ErrataInputError

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
# the error categories of the paper's plots, and their share's denominator (MLE)
MLE_CATEGORIES = (
    "n_fine_grained",
    "n_fine_grained_oov",
    "n_spurious_correlation",
    "n_non_prototypical",
    "n_model_failure",
)
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

# the published run's settings (comparability checks a run against them; the OOV stage: CLIP)
PUBLISHED_LABELS = "shankar"
PUBLISHED_TAXONOMY = "peychev2023"
PUBLISHED_PRESET = "peychev2023"  # --preset: the published pipeline step for step
PUBLISHED_EXPERTS = {  # registry name: file name, both accepted
    "vit3b-mistakes": "vit3b_mistakes.json",
    "greedysoups-mistakes": "greedy_soups_mistakes.json",
}


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


def _read_csv(path: Any, where: str, required: Sequence[str]) -> Any:
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


def _stats(frame: Any, where: str, dataset: str) -> Any:
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


def population(*, datasets: Sequence[str] = DATASETS) -> Any:
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
    out: Any = None
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


def _metadata(stats: Any, summary: Any, where: str) -> Any:
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


def _annotations(value: Any) -> list[str]:
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


# ---------------------------------------------------------------------------------------------
# comparability


def comparability(settings: Mapping[str, Any], *, full_val: bool | None = None) -> dict[str, Any]:
    """Whether a run's figures can stand beside the published ones.

    Parameters
    ----------
    settings : mapping
        The run's settings as in ``metrics.json`` / ``study.json`` (``labels``, ``preset``,
        ``taxonomy``, ``openworld``, ``experts``, ``classify``). Without ``--preset
        peychev2023`` a run's shares are never comparable: errata's decision order, evidence
        and per-group counts differ from the published ones whatever its taxonomy.
    full_val : bool, optional
        Whether the predictions cover all 50,000 validation images (the published top-1 does).

    Returns
    -------
    dict
        ``comparable`` (every figure), ``figures`` ({``top1``, ``mla``, ``shares``: bool}),
        ``differences`` (one ``{setting, this_run, published, to_match, flag}`` per setting
        that differs) and ``note`` (one sentence naming the flags that would match).

    Examples
    --------
    >>> c = comparability({"labels": "real", "taxonomy": "errata", "openworld": None,
    ...                    "experts": []}, full_val=True)
    >>> c["comparable"], c["figures"]
    (False, {'top1': True, 'mla': False, 'shares': False})
    >>> [d["setting"] for d in c["differences"]]
    ['labels', 'preset', 'openworld']
    >>> c["note"].split("(")[1].split(")")[0]
    'to match, run with --labels shankar --preset peychev2023 --openworld BUNDLE'
    """
    diffs: list[dict[str, str]] = []
    labels = str(settings.get("labels", ""))
    if labels != PUBLISHED_LABELS:
        diffs.append(
            {
                "setting": "labels",
                "this_run": labels or "unknown",
                "published": "Shankar et al.'s multi-label set (18,692 non-problematic images)",
                "to_match": "--labels shankar (place human_accuracy_v3.0.0.json where "
                "`errata data path shankar` says)",
                "flag": "--labels shankar",
            }
        )
    preset = settings.get("preset")
    if preset != PUBLISHED_PRESET:
        taxonomy = str(settings.get("taxonomy", "")) or "unknown"
        diffs.append(
            {
                "setting": "preset",
                "this_run": f"errata's pipeline (taxonomy {taxonomy}; its decision order, "
                "evidence and per-group counts)",
                "published": "the published pipeline step for step (decision order, "
                "superclasses, co-occurrence evidence, expert lists, per-group counts)",
                "to_match": f"--preset {PUBLISHED_PRESET} (Options(preset='{PUBLISHED_PRESET}'))",
                "flag": f"--preset {PUBLISHED_PRESET}",
            }
        )
    if not settings.get("openworld"):
        diffs.append(
            {
                "setting": "openworld",
                "this_run": "fine-grained OOV stage not run",
                "published": "CLIP fine-grained OOV stage",
                "to_match": "--openworld BUNDLE (the openworld extra and CLIP embeddings)",
                "flag": "--openworld BUNDLE",
            }
        )
    if preset == PUBLISHED_PRESET:  # the preset takes the expert files in the data directory
        experts = {str(e).rsplit("/", 1)[-1] for e in settings.get("experts") or ()}
        missing = [n for n, f in PUBLISHED_EXPERTS.items() if not experts & {n, f}]
        if missing:
            diffs.append(
                {
                    "setting": "experts",
                    "this_run": ", ".join(sorted(experts)) or "no expert files",
                    "published": "non-prototypical images of both expert files of Vasudevan et al.",
                    "to_match": " and ".join(f"errata data fetch {n}" for n in missing),
                    "flag": " and ".join(f"errata data fetch {n}" for n in missing),
                }
            )
    if settings.get("classify") is False:
        diffs.append(
            {
                "setting": "classify",
                "this_run": "metrics only (--no-errors)",
                "published": "every error classified",
                "to_match": "run the error pipeline (drop --no-errors)",
                "flag": "no --no-errors",
            }
        )
    top1_ok = full_val is not False
    shares_ok = not diffs
    mla_ok = labels == PUBLISHED_LABELS
    figures = {"top1": top1_ok, "mla": mla_ok, "shares": shares_ok}
    if shares_ok and top1_ok:
        note = "comparable: the run's settings are those of the published figures"
    else:
        flags = " ".join(d["flag"] for d in diffs)
        why = f"to match, run with {flags}" if flags else ""
        if not top1_ok:
            why = "; ".join(filter(None, [why, "predictions cover a subset of the 50,000 images"]))
        note = (
            "not comparable with the published figures ("
            + why
            + "): top-1 "
            + ("is" if top1_ok else "is not")
            + " comparable, MLA "
            + ("is" if mla_ok else "is not")
            + ", the category shares are not"
        )
    return {
        "comparable": shares_ok and top1_ok,
        "figures": figures,
        "differences": diffs,
        "note": note,
    }


def placement(
    values: Mapping[str, float], pop: Any, *, figures: Mapping[str, bool]
) -> dict[str, Any]:
    """Where a run's figures fall among the population: per figure, the value, whether it is
    comparable, and (only when it is) the share of published models below it.

    ``values`` holds ``top1``, ``mla_overlap`` and the shares ``share_<category>`` (of the
    multi-label errors as the paper counts them), as fractions.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        ok = figures.get({"top1": "top1", "mla_overlap": "mla"}.get(key, "shares"), False)
        known = value is not None and bool(np.isfinite(value))
        row: dict[str, Any] = {"value": float(value) if known else None, "comparable": ok}
        series = population_values(pop, key) if ok and known else None
        if series is not None:
            row["below"] = float(np.mean(series < value))
            row["population_median"] = float(np.median(series))
        out[key] = row
    return out


def population_values(pop: Any, key: str) -> np.ndarray | None:
    """A figure of every published model: ``top1``, ``mla_overlap`` or ``share_<n_category>``
    (that category's share of the multi-label errors as the paper counts them)."""
    if key.startswith("share_"):
        col = key[len("share_") :]
        if col not in pop.columns:
            return None
        mle = pop["mle"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(pop[col].to_numpy(dtype=np.float64) / mle)
    return None if key not in pop.columns else pop[key].to_numpy(dtype=np.float64)


def run_shares(counts: Mapping[str, float], *, not_run: Sequence[str] = ()) -> dict[str, float]:
    """A run's ``share_<category>`` of the multi-label errors as the paper counts them (errata's
    errors minus overlapping classes), from its ``n_<category>`` counts; errata's ImageNet-X
    sub-category is added to non-prototypical. A category in ``not_run`` (its stage had no
    evidence) has a NaN share, not 0.

    >>> run_shares({"n_fine_grained": 3, "n_model_failure": 1}, not_run=["n_fine_grained_oov"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'share_n_fine_grained': 0.75, 'share_n_fine_grained_oov': nan,
     'share_n_spurious_correlation': 0.0, 'share_n_non_prototypical': 0.0,
     'share_n_model_failure': 0.25}
    """

    def count(key: str) -> float:  # absent or NaN (a column the table lacks): none
        v = float(counts.get(key, 0) or 0)
        return v if np.isfinite(v) else 0.0

    n = {k: count(k) for k in MLE_CATEGORIES}
    n["n_non_prototypical"] += count("n_non_prototypical_imagenet_x")
    total = sum(n.values())
    return {
        f"share_{k}": (float("nan") if k in not_run or not total else v / total)
        for k, v in n.items()
    }


def not_run(settings: Mapping[str, Any]) -> list[str]:
    """The ``n_<category>`` columns whose stage had no evidence in a run with ``settings``.

    >>> not_run({"openworld": None, "experts": [], "imagenet_x": False})
    ['n_fine_grained_oov', 'n_non_prototypical']
    """
    out = []
    if not settings.get("openworld"):
        out.append("n_fine_grained_oov")
    if not settings.get("experts") and not settings.get("imagenet_x"):
        out.append("n_non_prototypical")
    return out


# ---------------------------------------------------------------------------------------------
# the published band: each share beside the published models of similar top-1

BAND_FILE = stats_name("imagenet", "all")  # registry name of the file the band is read from
# the categories with a published counterpart, in the published decision order (errata names)
BAND_CATEGORIES = PUBLISHED_ORDER
_BAND_NOT_RUN = {  # a stage that did not run: its key, and the reason the status gives
    "fine_grained_oov": "fine-grained OOV",
    "non_prototypical": "non-prototypical",
}


def _key(name: str) -> str:
    from errata.core.categories import slug

    return slug(name)


BAND_KEYS = tuple(_key(n) for n in BAND_CATEGORIES)  # overlapping_classes, fine_grained, …


@functools.lru_cache(maxsize=4)
def _band_population_at(path: str, _stamp: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    raw = _read_csv(path, path, _REQUIRED)
    frame = _stats(raw, path, "imagenet")  # checks the values (and makes them numbers)
    errors = frame["errors"].to_numpy(dtype=np.float64)
    if (errors <= 0).any():
        row = int(np.flatnonzero(errors <= 0)[0])
        raise ErrataInputError(
            f"{path}: line {row + 2}: no multi-label errors (num_all_top1_errors − num_ambiguous "
            "≤ 0): its shares are undefined"
        )
    top1 = raw["top1_val_acc"].to_numpy(dtype=np.float64) / 100.0
    shares = np.stack([frame[f"n_{k}"].to_numpy(np.float64) / errors for k in BAND_KEYS], axis=1)
    top1.setflags(write=False)
    shares.setflags(write=False)
    return top1, shares


def band_population(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The published models' top-1 ``(n,)`` and shares ``(n, 6)`` in the order of
    :data:`BAND_CATEGORIES`, from the ImageNet file of all images (``BAND_FILE``; read once per
    process while the file is unchanged).

    A share is a category's count over the model's **multi-label errors**: its top-1 errors
    minus the correct multi-label ones ("ambiguous"), i.e. errata's own share (overlapping
    classes included in the denominator) — not the paper's plots' share of MLE, which also
    leaves out the collapsed mappings.

    Raises
    ------
    ErrataInputError
        When the file is missing (the message says how to fetch it) or not in the published form.
    """
    from errata.io import data

    where = Path(data.path(BAND_FILE) if path is None else path)
    try:
        st = where.stat()
    except OSError as exc:
        raise ErrataInputError(f"{where}: cannot read the published statistics ({exc})") from None
    return _band_population_at(str(where), (st.st_size, st.st_mtime_ns))


def band_settings_reasons(
    settings: Mapping[str, Any], *, full_val: bool | None
) -> dict[str, list[str]]:
    """Per band category (key), why a run with ``settings`` may stand apart from the published
    models: the settings of :func:`comparability` that differ, read per category, plus what it
    does not list (errata's order of overlapping classes, rejected-proposal evidence)."""
    out: dict[str, list[str]] = {k: [] for k in BAND_KEYS}
    later = BAND_KEYS[BAND_KEYS.index("fine_grained_oov") :]
    diffs = {d["setting"]: d for d in comparability(settings, full_val=full_val)["differences"]}
    if "labels" in diffs:
        for k in BAND_KEYS:
            out[k].append(
                f"label set '{diffs['labels']['this_run']}', not Shankar et al.'s: other images "
                "are evaluated and other predictions count as correct multi-label"
            )
    if full_val is False:
        for k in BAND_KEYS:
            out[k].append("top-1 over a subset of the 50,000 images places the window roughly")
    if settings.get("preset") != PUBLISHED_TAXONOMY:
        out["overlapping_classes"].append(
            "errata checks overlapping classes after the multi-labels, the published pipeline "
            "before them: a prediction that is both is correct multi-label here (a lower share)"
        )
    if "taxonomy" in diffs:
        tax = diffs["taxonomy"]["this_run"]
        out["fine_grained"].append(
            f"superclasses '{tax}', not the published ones: other pairs count as fine-grained"
        )
        for k in later:
            out[k].append(f"superclasses '{tax}': fine-grained leaves this stage other errors")
    for key, name in _BAND_NOT_RUN.items():
        if key not in {k[len("n_") :] for k in not_run(settings)}:
            continue
        out[key].append(f"{name} did not run: its share here is 0")
        for k in BAND_KEYS[BAND_KEYS.index(key) + 1 :]:
            if k not in {kk[len("n_") :] for kk in not_run(settings)}:
                out[k].append(f"{name} did not run: the errors it would take may fall here")
    proposals = [str(p) for p in settings.get("proposals") or ()]
    if proposals:
        what = ", ".join(p.rsplit("/", 1)[-1] for p in proposals)
        out["spurious_correlation"].append(
            f"rejected-proposal evidence ({what}) calls errors spurious that the published "
            "pipeline (co-occurrence only) leaves to model failure"
        )
        out["model_failure"].append(
            f"rejected-proposal evidence ({what}) moves errors to spurious correlation"
        )
    if settings.get("imagenet_x"):
        out["model_failure"].append(
            "ImageNet-X's non-prototypical errors (no published counterpart) are taken first"
        )
    if "experts" in diffs and "non_prototypical" not in {k[2:] for k in not_run(settings)}:
        out["non_prototypical"].append(
            f"expert files {diffs['experts']['this_run']}, not both of Vasudevan et al.'s"
        )
    return out


@dataclass(frozen=True)
class RunBands:
    """Where the category shares of ``m`` runs stand among the published models: arrays of
    shape ``(m, 6)`` in the order of :data:`BAND_KEYS` (fractions; NaN where unknown).

    ``upper`` is the band's upper end once the share of the stages that did not run is added
    (their errors fall to a later category): the p90 of the published share plus those stages'
    shares, model by model; where every earlier stage ran it is ``high``. A share is
    **outside** when it is below ``low`` or above ``upper``; ``position`` is −1 (below), 0
    (inside), +1 (above) or NaN (no share: the stage did not run, or no band).
    """

    top1: np.ndarray  # (m,)
    n_models: np.ndarray  # (m,)
    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    upper: np.ndarray
    reasons: dict[str, list[str]]
    population: int  # published models in all

    @property
    def position(self) -> np.ndarray:
        """``(m, 6)``: −1 below the band, 0 inside, +1 above, NaN unknown."""
        out = np.where(self.share < self.low, -1.0, np.where(self.share > self.upper, 1.0, 0.0))
        known = np.isfinite(self.share) & np.isfinite(self.low) & np.isfinite(self.upper)
        return np.where(known, out, np.nan)

    def outside(self) -> np.ndarray:
        """``(m, 6)`` bool: the share is outside its band."""
        return np.abs(np.nan_to_num(self.position)) > 0

    def category(self, j: int, c: int, *, position: np.ndarray | None = None) -> dict[str, Any]:
        """JSON of model ``j``, category ``c`` (snake_case keys); ``position`` is
        :attr:`position` when the caller has it (a study's thousand models)."""
        pos = (self.position if position is None else position)[j, c]

        def num(a: np.ndarray) -> float | None:
            v = float(a[j, c])
            return v if np.isfinite(v) else None

        return {
            "share": num(self.share),
            "low": num(self.low),
            "high": num(self.high),
            "high_with_not_run": num(self.upper) if self.upper[j, c] != self.high[j, c] else None,
            "n_models": int(self.n_models[j]),
            "outside": None if np.isnan(pos) else bool(pos != 0),
            # inside only because the stages that did not run may have sent their errors here
            "inside_with_not_run": None
            if np.isnan(pos)
            else bool(pos == 0 and self.share[j, c] > self.high[j, c]),
            "direction": None if np.isnan(pos) or pos == 0 else ("above" if pos > 0 else "below"),
        }

    def model(
        self, j: int = 0, *, reasons: bool = True, position: np.ndarray | None = None
    ) -> dict[str, Any]:
        """JSON of model ``j``: its top-1, the window, the models in it and per category
        (snake_case key) :meth:`category` (with ``reasons`` unless told otherwise)."""
        pos = self.position if position is None else position
        cats = {}
        for c, k in enumerate(BAND_KEYS):
            one = self.category(j, c, position=pos)
            cats[k] = one | ({"reasons": self.reasons[k]} if reasons else {})
        off = np.abs(np.nan_to_num(pos[j])) > 0
        outside = [BAND_CATEGORIES[c] for c in np.flatnonzero(off).tolist()]
        return {
            "top1": float(self.top1[j]),
            "window": WINDOW,
            "quantiles": list(QUANTILES),
            "n_models": int(self.n_models[j]),
            "source": BAND_SOURCE,
            "categories": cats,
            "outside": outside,
            "note": self.note(j, position=pos),
        }

    def note(self, j: int = 0, *, position: np.ndarray | None = None) -> str:
        """One sentence: how many published models are in the window, and what is outside."""
        n = int(self.n_models[j])
        if not np.isfinite(self.low[j]).any():
            return (
                f"no published band: {n} of the {self.population} published models lie within "
                f"±{100 * WINDOW:.0f} points of top-1 {100 * self.top1[j]:.2f} % (fewer than "
                f"{MIN_MODELS})"
            )
        pos = (self.position if position is None else position)[j]
        off = [
            f"{BAND_CATEGORIES[c]} {100 * self.share[j, c]:.1f} % "
            f"{'above' if pos[c] > 0 else 'below'} {_band_text(self, j, c)}"
            for c in np.flatnonzero(np.nan_to_num(pos) != 0).tolist()
        ]
        head = (
            f"published band: p10–p90 of the {n} published models within ±{100 * WINDOW:.0f} "
            f"points of top-1 {100 * self.top1[j]:.2f} %"
        )
        return head + (": outside — " + "; ".join(off) if off else ": every share inside")


BAND_SOURCE = (
    "Peychev et al. 2023, imagenet_non_problematic_stats_all.csv; share = count / (top-1 "
    "errors − correct multi-label)"
)


def _band_text(b: RunBands, j: int, c: int) -> str:
    """``'4.7–5.7 %'`` or, with the stages that did not run, ``'4.7–5.7 % (≤ 12.3 % with …)'``."""
    text = f"{100 * b.low[j, c]:.1f}–{100 * b.high[j, c]:.1f} %"
    if b.upper[j, c] != b.high[j, c]:
        text += f" (≤ {100 * b.upper[j, c]:.1f} % with the stages not run)"
    return text


def run_bands(
    top1: np.ndarray | float,
    counts: Mapping[str, np.ndarray | float],
    errors: np.ndarray | float,
    settings: Mapping[str, Any],
    *,
    full_val: bool | None = True,
    path: str | Path | None = None,
) -> RunBands:
    """Where each run's category shares stand among the published models of similar top-1.

    Parameters
    ----------
    top1 : float or ndarray, shape (m,)
        Each run's top-1 accuracy on the 50,000 validation images (fractions).
    counts : mapping
        ``n_<category>`` (errata's keys: ``n_fine_grained`` …) → count, ``(m,)`` each.
    errors : float or ndarray, shape (m,)
        Each run's multi-label errors (top-1 errors − correct multi-label), the shares'
        denominator.
    settings : mapping
        The runs' settings (``metrics.json``): which stages ran, label set, taxonomy, evidence.
    full_val : bool, optional
        Whether the top-1s are over all 50,000 images.

    Returns
    -------
    RunBands
    """
    from errata.core.band import band

    pop_top1, pop_shares = band_population(path)
    t = np.atleast_1d(np.asarray(top1, dtype=np.float64))
    n_err = np.broadcast_to(np.asarray(errors, dtype=np.float64), t.shape)
    skipped = {k[len("n_") :] for k in not_run(settings)}
    share = np.full((len(t), len(BAND_KEYS)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for c, k in enumerate(BAND_KEYS):
            if k in skipped:
                continue
            v = np.broadcast_to(np.asarray(counts.get(f"n_{k}", 0), dtype=np.float64), t.shape)
            share[:, c] = np.where(n_err > 0, v / n_err, np.nan)
    # the band of each category, then of it plus the earlier stages that did not run
    columns = [pop_shares]
    extra: list[int] = []
    for c, k in enumerate(BAND_KEYS):
        earlier = [i for i, e in enumerate(BAND_KEYS[:c]) if e in skipped]
        if earlier and k not in skipped:
            columns.append(pop_shares[:, [c, *earlier]].sum(axis=1, keepdims=True))
            extra.append(c)
    b = band(pop_top1, np.concatenate(columns, axis=1), t)
    k6 = len(BAND_KEYS)
    upper = b.high[:, :k6].copy()
    for i, c in enumerate(extra):
        upper[:, c] = b.high[:, k6 + i]
    return RunBands(
        top1=t,
        n_models=b.n_models,
        share=share,
        low=b.low[:, :k6],
        high=b.high[:, :k6],
        upper=upper,
        reasons=band_settings_reasons(settings, full_val=full_val),
        population=len(pop_top1),
    )


def bands_of(
    top1: np.ndarray | float | None,
    counts: Mapping[str, np.ndarray | float],
    errors: np.ndarray | float,
    settings: Mapping[str, Any],
    *,
    full_val: bool | None = True,
) -> RunBands | str:
    """:func:`run_bands`, or one sentence saying why there is no band: a test set other than
    the validation set (the published shares are of Shankar et al.'s validation images), a run
    without the error pipeline or without top-1, or the published file not in the data
    directory (how to fetch it)."""
    from errata.core.datasets import DEFAULT
    from errata.io import data

    if settings.get("dataset", DEFAULT) != DEFAULT:
        return (
            "no published band: the published shares are of ImageNet validation images, not "
            f"{settings['dataset']}"
        )
    if settings.get("classify") is False:
        return "no published band: the errors were not classified (--no-errors)"
    if top1 is None:
        return "no published band: no top-1 accuracy to place the run by"
    if not data.is_present(BAND_FILE):
        return (
            "no published band: the published statistics are not in the data directory "
            f"(errata data fetch {BAND_FILE})"
        )
    return run_bands(top1, counts, errors, settings, full_val=full_val)


def models_bands(models: Any, settings: Mapping[str, Any] | None) -> RunBands | str:
    """The bands of every model of a study's models table (one vectorised call; a model of
    another test set has no band), or why there are none."""
    from errata.core.datasets import DEFAULT
    from errata.resources import N_VAL

    if settings is None or not len(models) or not {"top1", "errors"} <= set(models.columns):
        return "no published band: the study has no classified validation models"
    counts = {
        f"n_{k}": models[f"n_{k}"].to_numpy(np.float64)
        for k in BAND_KEYS
        if f"n_{k}" in models.columns
    }
    val = (
        models["dataset"].to_numpy() == DEFAULT
        if "dataset" in models.columns
        else np.ones(len(models), dtype=bool)
    )
    full = bool((models["images"][val] == N_VAL).all()) if "images" in models.columns else None
    top1 = np.where(val, models["top1"].to_numpy(np.float64), np.nan)
    errors = models["errors"].to_numpy(np.float64)
    return bands_of(top1, counts, errors, dict(settings) | {"dataset": DEFAULT}, full_val=full)


def band_json(
    bands: RunBands | str, j: int = 0, *, reasons: bool = True, position: np.ndarray | None = None
) -> dict[str, Any]:
    """JSON of one run's band (:meth:`RunBands.model`), or ``{"available": false, "note"}``."""
    if isinstance(bands, str):
        return {"available": False, "note": bands}
    one = bands.model(j, reasons=reasons, position=position)
    return {"available": bool(np.isfinite(bands.low[j]).any())} | one


def with_band(summary: Mapping[str, Any], band: Mapping[str, Any]) -> dict[str, Any]:
    """An error summary (``{"categories": {name: {count, share, …}}, …}``) with each band
    category's ``published_band`` (its ``band_json`` entry; None without a band)."""
    cats = dict(summary.get("categories", {}))
    per = band.get("categories", {})
    for name, key in zip(BAND_CATEGORIES, BAND_KEYS, strict=True):
        if name in cats:
            cats[name] = dict(cats[name]) | {"published_band": per.get(key)}
    return dict(summary) | {"categories": cats}


__all__ = [
    "BAND_CATEGORIES",
    "BAND_KEYS",
    "COLUMN_MAP",
    "MLE_CATEGORIES",
    "RunBands",
    "band_json",
    "band_population",
    "bands_of",
    "models_bands",
    "run_bands",
    "NOT_ONE_TO_ONE",
    "comparability",
    "not_run",
    "placement",
    "population",
    "population_values",
    "run_shares",
    "with_band",
]
