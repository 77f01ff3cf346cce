"""Annotation files (the edge): expert reviews in the dough-bagel schema (Vasudevan et al. 2022)
and ImageNet-X factors (Idrissi et al. 2022), read and turned into the non-prototypical evidence
of :class:`errata.core.evidence.NonPrototypical`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.core.evidence import NonPrototypical
from errata.core.labelset import LabelSet
from errata.core.names import as_names
from errata.exceptions import ErrataInputError, did_you_mean
from errata.io.files import read_json
from errata.resources import N_CLASSES

if TYPE_CHECKING:
    import pandas as pd

EXPERT_CATEGORIES = (
    "Fine-grained error",
    "Fine-grained error with OOV",
    "Spurious Correlation",
    "Non-prototypical",
    "Fine-grained with Multilabel Options",
)  # the dough-bagel schema's failure categories (Vasudevan et al. 2022)
# ImageNet-X factors (Idrissi et al. 2022) that mark an image as non-prototypical for its class,
# most telling first. Calibrated on the ViT-3B expert rows (benchmarks/imagenet_x_calibration.py,
# in-sample): of the 16 factors, those whose presence raises the share of expert
# "Non-prototypical" rows at least 1.5-fold over the base rate, on at least 3 such rows.
# texture: 3 rows, lift 3.6; subcategory: 9 rows, lift 1.8; pattern: 15 rows, lift 1.7.
# (pose, the most common factor, is not: lift 0.95.)
IMAGENET_X_FACTORS = ("texture", "subcategory", "pattern")
IMAGENET_X_ALL_FACTORS = (
    "multiple_objects",
    "background",
    "color",
    "brighter",
    "darker",
    "style",
    "larger",
    "smaller",
    "object_blocking",
    "person_blocking",
    "partial_view",
    "pattern",
    "pose",
    "shape",
    "subcategory",
    "texture",
)  # the 16 factors of the annotation files


def resolve_path(value: str | Path) -> Path:
    """A path, or the data-directory path of a registry name (``vit3b-mistakes``)."""
    from errata.io import data

    if isinstance(value, str) and not Path(value).exists():
        name = data.registry_name(value)
        if name is not None:
            return data.path(name)
        close = did_you_mean(value, data.REGISTRY)
        if close:
            raise ErrataInputError(
                f"{value}: file not found, nor a registry name (errata data list){close}"
            )
    return Path(value)


def load_expert_file(path: str | Path) -> pd.DataFrame:
    """Read an expert file in the dough-bagel schema (Vasudevan et al. 2022); a registry name
    such as ``vit3b-mistakes`` is accepted too.

    Returns a DataFrame with columns ``file_name``, ``top_prediction``, ``category``,
    ``severity``. Schema: ``{file name: {"top_prediction": int, "failure category": str,
    "failure severity": "Minor"|"Borderline"|"Major"}}``.
    """
    import pandas as pd

    path = resolve_path(path)
    raw = read_json(path, what="an expert file in the dough-bagel schema")
    if not isinstance(raw, dict) or not raw:
        raise ErrataInputError(
            f"{path}: expected an object mapping file names to "
            "{top_prediction, failure category, failure severity}"
        )
    rows = []
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise ErrataInputError(f"{path}: entry '{name}' must be an object")
        for key in ("top_prediction", "failure category"):
            if key not in entry:
                raise ErrataInputError(f"{path}: entry '{name}' has no field '{key}'")
        pred = entry["top_prediction"]
        if isinstance(pred, bool) or not isinstance(pred, int) or not 0 <= pred < N_CLASSES:
            raise ErrataInputError(
                f"{path}: entry '{name}': top_prediction {pred!r} is not a class index 0-999"
            )
        rows.append(
            (name, pred, str(entry["failure category"]), str(entry.get("failure severity", "")))
        )
    return pd.DataFrame(rows, columns=["file_name", "top_prediction", "category", "severity"])


def load_imagenet_x(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(file_names (n,), factors (n, 16) bool)`` from an ImageNet-X annotation file
    (``imagenet_x_val_multi_factor.jsonl`` or ``…_top_factor.jsonl``): one JSON object per line
    with ``file_name`` and a 0/1 column per factor (:data:`IMAGENET_X_ALL_FACTORS`)."""
    import json

    path = Path(path)
    names: list[str] = []
    rows: list[list[bool]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ErrataInputError(f"{path}: cannot read ImageNet-X annotations ({exc})") from None
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise ErrataInputError(f"{path}: line {i + 1} is not JSON") from None
        if not isinstance(row, dict) or "file_name" not in row:
            raise ErrataInputError(f"{path}: line {i + 1} has no 'file_name'")
        names.append(str(row["file_name"]))
        rows.append([row.get(f) == 1 for f in IMAGENET_X_ALL_FACTORS])
    factors = np.array(rows, dtype=bool).reshape(len(rows), len(IMAGENET_X_ALL_FACTORS))
    return as_names(names), factors


def imagenet_x_path(value: bool | str | Path) -> Path:
    """The ImageNet-X annotations ``value`` names: a path as given; ``True``: the multi-factor
    file of the installed ``imagenet-x`` package (``imagenetx`` extra; its annotations are
    CC BY-NC 4.0), else the registry's top-factor file when it is in the data directory."""
    if value is not True:
        return Path(value)  # type: ignore[arg-type]
    from importlib import resources as ir
    from importlib.util import find_spec

    if find_spec("imagenet_x") is not None:
        return Path(
            str(ir.files("imagenet_x") / "annotations" / "imagenet_x_val_multi_factor.jsonl")
        )
    from errata.io import data

    if data.is_present("imagenet-x-val-top-factor"):
        return data.path("imagenet-x-val-top-factor")
    from errata.exceptions import MissingExtraError

    raise MissingExtraError("imagenetx", "imagenet_x")


def nonprototypical(
    labels: LabelSet,
    expert_files: tuple[str | Path, ...] = (),
    imagenet_x: bool | str | Path = False,
) -> NonPrototypical:
    """Non-prototypical evidence over ``labels``' images from expert files and ImageNet-X."""
    n = len(labels)
    source = np.full(n, -1, dtype=np.int16)
    from_x = np.zeros(n, dtype=bool)
    sources: list[str] = []
    for path in expert_files:
        experts = load_expert_file(path)
        names = experts.loc[experts["category"] == "Non-prototypical", "file_name"]
        rows = labels.positions(as_names(names.to_numpy(dtype=object)))
        rows = rows[rows >= 0]
        source[rows[source[rows] < 0]] = len(sources)
        sources.append(f"expert annotation ({resolve_path(path).name})")
    if imagenet_x:
        path = imagenet_x_path(imagenet_x)
        names, factors = load_imagenet_x(path)
        rows = labels.positions(names)
        factors = factors[rows >= 0]
        rows = rows[rows >= 0]
        free = source[rows] < 0
        for f in IMAGENET_X_FACTORS:  # most telling first: an image is named by its first
            has = factors[:, IMAGENET_X_ALL_FACTORS.index(f)]
            sel = rows[free & has]
            source[sel] = len(sources)
            from_x[sel] = True
            free &= ~has
            sources.append(f"ImageNet-X factor '{f}'")
    provides = {"experts"} if expert_files else set()
    if imagenet_x:
        provides.add("imagenet_x")
    return NonPrototypical(
        source=source, sources=tuple(sources), imagenet_x=from_x, provides=frozenset(provides)
    )
