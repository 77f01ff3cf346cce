"""The entry point of superclass evaluation (:func:`supersub`, ``errata supersub``): each group of
files read through :func:`errata.io.zoo.read_zoo` and scored (see :mod:`errata.supersub`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.core import datasets as D
from errata.core.checks import Order
from errata.core.evidence import Taxonomy
from errata.core.names import Alignment
from errata.core.pipeline import Classifier
from errata.core.scoring import MODEL_BATCH
from errata.exceptions import ErrataInputError
from errata.io.evidence import Options, load_taxonomy, options_for
from errata.io.labels import LabelSet
from errata.io.predictions import Predictions
from errata.io.zoo import read_zoo
from errata.supersub.figures import Row, _flat_batch, _one
from errata.supersub.groups import (
    Source,
    _from_study,
    _Group,
    _group_labels,
    _group_settings,
    _groups,
    _study_folder,
)
from errata.supersub.result import Failed, GroupSettings, SuperSub, _summary

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[int, int, str], None]


@dataclass
class _Collected:
    """What the groups of one run add up to: each model's row and superclass rows, the files
    that failed, and the progress over all groups."""

    total: int  # files over every group
    progress: Progress | None
    failed: list[Failed]
    rows: list[Row] = field(default_factory=list)
    per: list[pd.DataFrame] = field(default_factory=list)
    done: int = 0


def supersub(
    paths: Sequence[Source],
    *,
    taxonomy: str | Taxonomy = "errata",
    labels: str | Path | LabelSet | None = None,
    order: Order = "auto",
    dataset: str = D.DEFAULT,
    outside: D.Outside = "error",
    options: Options | None = None,
    progress: Progress | None = None,
) -> SuperSub:
    """Superclass figures and two-stage inference for one model, many, or a study.

    Parameters
    ----------
    paths : files, folders, registry names, or one study folder
        Prediction files (any format errata reads); a study folder (``errata compare --out``)
        contributes its models with its own settings, test set by test set.
    taxonomy : str or Taxonomy
        The superclasses (``errata``: errata's 202 overlapping ones; ``supersub10``: the 10 of
        Superclassing ImageNet; or arrays of your own).
    labels, order, dataset, outside, options
        As in :func:`errata.analyze` (the labels, evidence and categories of the pipeline that
        scores the flat and the two-stage predictions).

    Examples
    --------
    A model that is always right stays right, and two-stage inference needs scores:

    >>> import numpy as np, errata
    >>> from errata import resources
    >>> r = supersub([resources.validation_labels()], taxonomy="supersub10")
    >>> row = r.models.iloc[0]
    >>> int(row["flat_images"]), float(row["flat_superclass_accuracy"]), bool(row["scores"])
    (16900, 1.0, False)
    """
    import pandas as pd

    options = options or Options()
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    covered = np.asarray(np.asarray(tax.superclass_members, dtype=bool).any(axis=1), dtype=bool)
    tax_name = getattr(tax, "name", str(taxonomy))
    arrays = any(isinstance(p, np.ndarray) for p in paths)
    groups = _groups(paths, labels=labels, order=order, dataset=dataset, outside=outside)
    total = sum(len(g.files) for g in groups)
    run = _Collected(total, progress, failed=[f for g in groups for f in g.failed])
    settings: dict[str, GroupSettings] = {}
    for g in groups:
        name, group_settings = _read_group(g, tax, tax_name, options, run, alone=len(groups) == 1)
        settings[name] = group_settings
    rows, per, failed = run.rows, run.per, run.failed
    if not rows:
        raise ErrataInputError(
            "supersub: no model could be read: " + "; ".join(f["error"] for f in failed[:3])
        )
    models = pd.DataFrame(rows)
    study = _study_folder(paths) if not arrays else None
    from_study = study is not None and labels is None and bool(covered.all())
    if study is not None and from_study:
        models = _from_study(models, study)
    superclasses = pd.concat(per, ignore_index=True)
    lead = ["model", "dataset", "variant", "superclass"]
    superclasses = superclasses[lead + [c for c in superclasses.columns if c not in lead]]
    summary = _summary(tax, tax_name, settings, from_study, len(rows), models, failed)
    return SuperSub(
        taxonomy=str(summary["taxonomy"]),
        models=models,
        superclasses=superclasses,
        summary=summary,
        failed=failed,
    )


def _read_group(
    g: _Group, tax: Taxonomy, tax_name: str, options: Options, run: _Collected, *, alone: bool
) -> tuple[str, GroupSettings]:
    """Read and score one group's files into ``run`` (a file that cannot be read stops the run
    when it is the only one, else is listed as failed); the group's test set and settings."""
    from errata.analysis import complete_original, evidence

    members = np.asarray(tax.superclass_members, dtype=bool)
    covered = np.asarray(members.any(axis=1), dtype=bool)
    names_s = np.asarray(tax.superclass_names, dtype=object)
    ds = D.get(g.dataset)
    opts = options_for(options, ds)
    label_set = _group_labels(g, ds)
    ctx = evidence(label_set, opts)
    classifier = Classifier(ctx) if ctx is not None else None
    settings = _group_settings(g, ds, label_set, tax_name, opts)
    reading = read_zoo(  # one alignment per distinct name list of the group's files
        g.files,
        dataset=ds,
        order=g.order,
        outside=g.outside,
        labels=label_set,
        names=g.names,
        counts=False,
    )
    rows, per = run.rows, run.per
    # files without scores: their flat figures, MODEL_BATCH models with one alignment at a time
    batch: list[tuple[int, Predictions, Alignment]] = []
    for f in g.files:
        run.done += 1
        where = "array" if isinstance(f, np.ndarray) else str(f)
        if run.progress:
            run.progress(run.done, run.total, Path(where).name)
        got = next(reading)
        if got.error is not None:
            if len(g.files) == 1 and alone:
                raise got.error
            run.failed.append({"path": where, "error": str(got.error)})
            continue
        pred, al = got.predictions, got.alignment
        assert pred is not None and al is not None
        rows.append({"model": pred.name, "dataset": ds.name, "path": where})
        if pred.scores is None:
            if batch and (batch[0][2] is not al or len(batch) >= MODEL_BATCH):
                _flat_batch(batch, tax, members, names_s, ds.name, rows, per)
            batch.append((len(rows) - 1, pred, al))
            continue
        row, sc_rows = _one(
            pred,
            al,
            complete_original(label_set, al),
            tax,
            members,
            covered,
            names_s,
            classifier,
            ctx,
            opts,
        )
        rows[-1] |= row
        per.append(sc_rows.assign(model=pred.name, dataset=ds.name))
    _flat_batch(batch, tax, members, names_s, ds.name, rows, per)
    return ds.name, settings
