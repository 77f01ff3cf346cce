"""The files :func:`errata.supersub.supersub` evaluates, by test set, with the settings and
label set each group is read with (a study folder brings its own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.core import datasets as D
from errata.core.checks import ORDERS, OUTSIDE, Order, choice
from errata.exceptions import ErrataInputError, arg
from errata.io.evidence import Options
from errata.io.labels import LabelSet
from errata.supersub.result import Failed, GroupSettings

if TYPE_CHECKING:
    import pandas as pd

Labels = str | Path | LabelSet | None  # a label set as the caller names it
Source = str | Path | np.ndarray  # a file, folder or registry name, or a top-1 array
STUDY_FIGURES = ("real", "label_accuracy", "mla")  # taken from a study for top-1/top-k files


@dataclass
class _Group:
    """Files of one test set, with the settings they are read with."""

    dataset: str
    labels: Labels
    order: Order
    outside: D.Outside
    files: list[Source]
    names: list[str | None]
    failed: list[Failed] = field(default_factory=list)  # paths no reader can take


def _groups(
    paths: Sequence[Source],
    *,
    labels: Labels,
    order: Order,
    dataset: str,
    outside: D.Outside,
) -> list[_Group]:
    """The files to evaluate, by test set: given files and folders (one group), or a study
    folder (each of its test sets with that study's settings and model names)."""
    from errata.io.discover import find
    from errata.study import read_manifest

    if any(isinstance(p, np.ndarray) for p in paths):  # arrays (and paths beside them), one group
        return [
            _Group(
                dataset=dataset,
                labels=labels,
                order=order,
                outside=outside,
                files=list(paths),
                names=[f"model{i}" if len(paths) > 1 else "model" for i in range(len(paths))],
            )
        ]
    given = [Path(p) for p in paths if not isinstance(p, np.ndarray)]  # all of them by now
    if len(given) == 1 and given[0].is_dir() and (given[0] / "study.json").exists():
        folder = given[0]
        meta = read_manifest(folder)
        if not isinstance(meta.get("settings"), dict):
            raise ErrataInputError(f"{folder}: not a study folder of this errata (study.json)")
        groups = []
        for ds in meta.get("datasets") or [D.DEFAULT]:
            s = meta["settings"].get(ds) or {}
            members = [m for m in meta.get("models", []) if m.get("dataset") == ds]
            if not members:
                continue
            group_labels = labels if labels is not None else str(s.get("labels"))
            from errata.io.labels import BUILTIN

            if group_labels not in BUILTIN and not Path(str(group_labels)).exists():
                raise ErrataInputError(
                    f"{folder}: its {ds} models were scored against the label file "
                    f"'{group_labels}'; give it with {arg('labels')}"
                )
            groups.append(
                _Group(
                    dataset=ds,
                    labels=group_labels,
                    order="auto"
                    if s.get("order") in (None, "file names")
                    else choice(s["order"], ORDERS, keyword="order"),
                    outside=choice(s.get("outside", "error"), OUTSIDE, keyword="outside"),
                    files=[Path(m["path"]) for m in members],
                    names=[m["model"] for m in members],
                )
            )
        if not groups:
            raise ErrataInputError(f"{folder}: the study holds no models")
        return groups
    inputs = given
    registry = [p for p in inputs if not p.exists()]
    found = find([p for p in inputs if p.exists()]) if len(registry) < len(inputs) else None
    files: list[Source] = [] if found is None else list(found.files)
    return [
        _Group(
            dataset=dataset,
            labels=labels,
            order=order,
            outside=outside,
            files=[*files, *registry],  # registry names (cleanlab-resnet50) load by name
            names=[None] * (len(files) + len(registry)),
            failed=[] if found is None else found.failed,
        )
    ]


def _study_folder(paths: Sequence[Source]) -> Path | None:
    """The study folder when ``paths`` is one (errata compare --out), else None."""
    if len(paths) == 1 and Path(str(paths[0])).is_dir():
        folder = Path(str(paths[0]))
        return folder if (folder / "study.json").exists() else None
    return None


def _from_study(models: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """The rows without scores (no two-stage pipeline) with the study's ReaL / label accuracy
    and MLA as ``flat_pipeline_*``: the same label set over the same images (the caller checks
    that the taxonomy covers every class and that no other label set was given)."""
    from errata.study import query

    study = query(folder, "SELECT * FROM models")
    keys = [k for k in STUDY_FIGURES if k in study.columns]
    if not keys:
        return models
    merged = models[["model", "dataset"]].merge(
        study[["model", "dataset", *keys]].drop_duplicates(["model", "dataset"]),
        on=["model", "dataset"],
        how="left",
    )
    flat = ~models["scores"].astype(bool).to_numpy()
    models = models.copy()
    for k in keys:
        col = f"flat_pipeline_{k}"
        values = np.full(len(models), np.nan)
        if col in models:
            values[:] = models[col].to_numpy(dtype=float)
        values[flat] = merged[k].to_numpy(dtype=float)[flat]
        models[col] = values
    return models


def _group_labels(g: _Group, ds: D.Dataset) -> LabelSet:
    """The label set a group's files are scored against (:func:`errata.study.label_set_for`;
    arrays alone: the validation set's)."""
    from errata.study import label_set_for

    if isinstance(g.labels, LabelSet):
        return g.labels
    files_ = [f for f in g.files if not isinstance(f, np.ndarray)]
    if not files_:
        return _labels_for_arrays(g, ds)
    return label_set_for(g.labels, ds, [Path(f) for f in files_ if Path(str(f)).exists()])


def _group_settings(
    g: _Group, ds: D.Dataset, label_set: LabelSet, tax_name: str, opts: Options
) -> GroupSettings:
    """What produced a group's figures (``summary['settings'][dataset]``)."""
    record = opts.record()
    settings: GroupSettings = {
        "labels": label_set.name,
        "order": g.order,
        "taxonomy": tax_name,
        "pipeline_taxonomy": record["taxonomy"],
        "cooccurrence": record["cooccurrence"],
    }
    if "preset" in record:
        settings["preset"] = record["preset"]
    if ds.subset is not None:
        settings["outside"] = g.outside
    return settings


def _labels_for_arrays(g: _Group, ds: D.Dataset) -> LabelSet:
    from errata.io.labels import default_labels, load_labels

    if not ds.validation:
        raise ErrataInputError(
            f"supersub: arrays carry no file names; give {ds.title} predictions as files"
        )
    return load_labels(g.labels or default_labels(ds), dataset=ds)
