"""Superclass-level evaluation of one model or a study (a shell over :mod:`errata.core.supersub`),
after "Superclassing ImageNet" (Wen et al. 2022).

For each model: superclass accuracy (the prediction shares a superclass with the true class)
and the share of its errors that stay **within** the true superclass or **cross** it, overall and
per superclass, under any taxonomy (``errata``, ``supersub10``, …). For a model with scores
(logits or probabilities), also **two-stage inference**: the superclass with the highest summed
probability, then the best class inside it — and what that does to top-1, ReaL / label accuracy,
MLA and every error category, by scoring the two-stage predictions with the same pipeline as
the flat ones. A top-1 file has no scores, so only the flat figures exist for it.

The true class of an image is its original label; on a taxonomy that covers part of ImageNet
(``supersub10``: 338 classes) only images of covered classes are in scope, for the flat and the
two-stage figures alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from errata.core import categories as K
from errata.core import datasets as D
from errata.core.evidence import Taxonomy
from errata.core.pipeline import Classifier
from errata.core.scoring import MODEL_BATCH, make_scores, score, topk_counts
from errata.core.supersub import superclass_scores, two_stage
from errata.exceptions import ErrataInputError, arg
from errata.io import files
from errata.io.evidence import Options, load_taxonomy, options_for
from errata.io.labels import LabelSet
from errata.io.predictions import Order, Predictions
from errata.io.zoo import read_zoo

Progress = Callable[[int, int, str], None]
VARIANTS = ("flat", "two_stage")  # column prefixes: the model as given, and two-stage
OUTPUTS = ("models.parquet", "superclasses.parquet", "supersub.json")
PIPELINE = ("top1", "top5", "real", "label_accuracy", "mla", "errors")  # pipeline columns kept


@dataclass
class SuperSub:
    """The result of :func:`supersub`.

    Attributes
    ----------
    taxonomy : str
    models : pandas.DataFrame
        One row per model: ``model``, ``dataset``, ``path``, ``scores`` (whether two-stage
        could run), then per variant (``flat_``, ``two_stage_``) the superclass figures
        (``images``, ``top1``, ``superclass_accuracy``, ``errors``, ``within``, ``across``,
        ``within_share``) and, with scores, the pipeline's (``pipeline_top1``, ``real`` or
        ``label_accuracy``, ``mla``, ``n_<category>``) — the flat ones on the same images.
    superclasses : pandas.DataFrame
        One row per (model, variant, superclass): ``images``, ``top1``,
        ``superclass_accuracy``, ``errors``, ``within``, ``across``, ``within_share``.
    summary : dict
        Settings, counts, the taxonomy's superclasses and sizes, failed files.
    """

    taxonomy: str
    models: Any
    superclasses: Any
    summary: dict[str, Any] = field(default_factory=dict)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the summary, each model's row and its superclass rows."""
        rows = self.models.to_dict(orient="records")
        per = {
            key: g.drop(columns=["model", "dataset"]).to_dict(orient="records")
            for key, g in self.superclasses.groupby(["model", "dataset"], sort=False)
        }
        for r in rows:
            r["superclasses"] = per.get((r["model"], r["dataset"]), [])
        return self.summary | {"models": rows, "failed": self.failed}

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write ``models.parquet``, ``superclasses.parquet`` and ``supersub.json`` (the
        summary and the models' rows; the superclass rows are in the Parquet file) into ``out``
        as one unit (:func:`errata.io.files.atomic_folder`)."""
        out = Path(out)
        with files.atomic_folder(out, managed=OUTPUTS) as tmp:
            files.write_parquet(tmp / "models.parquet", self.models)
            files.write_parquet(tmp / "superclasses.parquet", self.superclasses)
            records = self.models.to_dict(orient="records")
            files.write_json(
                tmp / "supersub.json",
                self.summary | {"models": records, "failed": self.failed},
            )
        return {k.split(".")[0]: out / k for k in OUTPUTS}


@dataclass
class _Group:
    """Files of one test set, with the settings they are read with."""

    dataset: str
    labels: Any
    order: Order
    outside: D.Outside
    files: list[Any]
    names: list[str | None]
    failed: list[dict[str, str]] = field(default_factory=list)  # paths no reader can take


def _groups(
    paths: Sequence[str | Path],
    *,
    labels: Any,
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
    if len(paths) == 1 and Path(paths[0]).is_dir() and (Path(paths[0]) / "study.json").exists():
        folder = Path(paths[0])
        meta = read_manifest(folder)
        if not isinstance(meta.get("settings"), dict):
            raise ErrataInputError(f"{folder}: not a study folder of this errata (study.json)")
        groups = []
        for ds in meta.get("datasets") or [D.DEFAULT]:
            s = meta["settings"].get(ds) or {}
            members = [m for m in meta.get("models", []) if m.get("dataset") == ds]
            if not members:
                continue
            group_labels = labels if labels is not None else s.get("labels")
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
                    order="auto" if s.get("order") in (None, "file names") else s["order"],
                    outside=s.get("outside", "error"),
                    files=[Path(m["path"]) for m in members],
                    names=[m["model"] for m in members],
                )
            )
        if not groups:
            raise ErrataInputError(f"{folder}: the study holds no models")
        return groups
    inputs = [Path(p) for p in paths]
    registry = [p for p in inputs if not p.exists()]
    found = find([p for p in inputs if p.exists()]) if len(registry) < len(inputs) else None
    files = [] if found is None else found.files
    return [
        _Group(
            dataset=dataset,
            labels=labels,
            order=order,
            outside=outside,
            files=files + registry,  # registry names (cleanlab-resnet50) load by name
            names=[None] * (len(files) + len(registry)),
            failed=[] if found is None else found.failed,
        )
    ]


def supersub(
    paths: Sequence[str | Path],
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

    from errata.analysis import complete_original, evidence

    options = options or Options()
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    members = np.asarray(tax.superclass_members, dtype=bool)
    covered = np.asarray(members.any(axis=1), dtype=bool)
    names_s = np.asarray(tax.superclass_names, dtype=object)
    tax_name = getattr(tax, "name", str(taxonomy))
    arrays = any(isinstance(p, np.ndarray) for p in paths)
    groups = _groups(paths, labels=labels, order=order, dataset=dataset, outside=outside)
    total = sum(len(g.files) for g in groups)
    rows: list[dict[str, Any]] = []
    per: list[Any] = []
    failed: list[dict[str, str]] = [f for g in groups for f in g.failed]
    done = 0
    settings: dict[str, Any] = {}
    for g in groups:
        ds = D.get(g.dataset)
        opts = options_for(options, ds)
        label_set = _group_labels(g, ds)
        ctx = evidence(label_set, opts)
        classifier = Classifier(ctx) if ctx is not None else None
        settings[ds.name] = _group_settings(g, ds, label_set, tax_name, opts)
        reading = read_zoo(  # one alignment per distinct name list of the group's files
            g.files,
            dataset=ds,
            order=g.order,
            outside=g.outside,
            labels=label_set,
            names=g.names,
            counts=False,
        )
        # files without scores: their flat figures, MODEL_BATCH models with one alignment at a time
        batch: list[tuple[int, Predictions, Any]] = []
        for f in g.files:
            done += 1
            where = "array" if isinstance(f, np.ndarray) else str(f)
            if progress:
                progress(done, total, Path(where).name)
            got = next(reading)
            if got.error is not None:
                if len(g.files) == 1 and len(groups) == 1:
                    raise got.error
                failed.append({"path": where, "error": str(got.error)})
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
    if not rows:
        raise ErrataInputError(
            "supersub: no model could be read: " + "; ".join(f["error"] for f in failed[:3])
        )
    models = pd.DataFrame(rows)
    study = _study_folder(paths) if not arrays else None
    from_study = study is not None and labels is None and bool(covered.all())
    if from_study:
        models = _from_study(models, study)  # type: ignore[arg-type]
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


def _summary(
    tax: Taxonomy,
    tax_name: str,
    settings: dict[str, Any],
    from_study: bool,
    n_models: int,
    models: Any,
    failed: list[dict[str, str]],
) -> dict[str, Any]:
    """``SuperSub.summary``: the taxonomy's superclasses and sizes, settings, counts."""
    members = np.asarray(tax.superclass_members, dtype=bool)
    names_s = np.asarray(tax.superclass_names, dtype=object)
    sizes = members.sum(axis=0)
    return {
        "taxonomy": tax_name,
        "superclasses": [
            {"name": str(n), "classes": int(k)} for n, k in zip(names_s.tolist(), sizes.tolist())
        ],
        "covered_classes": int(members.any(axis=1).sum()),
        "settings": settings,
        **(
            {
                "from_study": "ReaL / label accuracy and MLA of the files without scores: the "
                "study's own (models.parquet), the same label set over every image"
            }
            if from_study
            else {}
        ),
        "counts": {
            "models": n_models,
            "with_scores": int(models["scores"].sum()),
            "failed": len(failed),
        },
    }


STUDY_FIGURES = ("real", "label_accuracy", "mla")  # taken from a study for top-1/top-k files


def _study_folder(paths: Sequence[Any]) -> Path | None:
    """The study folder when ``paths`` is one (errata compare --out), else None."""
    if len(paths) == 1 and Path(str(paths[0])).is_dir():
        folder = Path(str(paths[0]))
        return folder if (folder / "study.json").exists() else None
    return None


def _from_study(models: Any, folder: Path) -> Any:
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


def _flat_batch(
    batch: list[tuple[int, Predictions, Any]],
    tax: Taxonomy,
    members: np.ndarray,
    names_s: np.ndarray,
    dataset: str,
    rows: list[dict[str, Any]],
    per: list[Any],
) -> None:
    """The flat superclass figures of a batch of top-1 files sharing one alignment, as one
    stack: each file's row (``rows[slot]``) and its superclass rows (appended to ``per``);
    ``members`` is the taxonomy's ``superclass_members`` as bool."""
    import pandas as pd

    if not batch:
        return
    al = batch[0][2]
    top1 = np.stack([b[1].top1 for b in batch])
    s = superclass_scores(top1, al.original, members, names_s, same=tax.same_superclass)
    vals = s.values()
    for j, (slot, _, _) in enumerate(batch):
        rows[slot] |= {"scores": False} | {f"flat_{k}": a[j] for k, a in vals.items()}
    per_model = [s.per_superclass(j) for j in range(len(batch))]
    frame = pd.DataFrame({k: np.concatenate([m[k] for m in per_model]) for k in per_model[0]})
    frame["variant"] = "flat"
    frame["model"] = np.repeat([b[1].name for b in batch], len(names_s))
    frame["dataset"] = dataset
    per.append(frame)
    batch.clear()


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
) -> dict[str, Any]:
    """What produced a group's figures (``summary['settings'][dataset]``)."""
    record = opts.record()
    return {
        "labels": label_set.name,
        "order": g.order,
        "taxonomy": tax_name,
        "pipeline_taxonomy": record["taxonomy"],
        "cooccurrence": record["cooccurrence"],
        **({"preset": record["preset"]} if "preset" in record else {}),
        **({"outside": g.outside} if ds.subset is not None else {}),
    }


def _labels_for_arrays(g: _Group, ds: D.Dataset) -> LabelSet:
    from errata.io.labels import default_labels, load_labels

    if not ds.validation:
        raise ErrataInputError(
            f"supersub: arrays carry no file names; give {ds.title} predictions as files"
        )
    return load_labels(g.labels or default_labels(ds), dataset=ds)


def _one(
    pred: Predictions,
    al: Any,
    label_set: LabelSet,
    tax: Taxonomy,
    members: np.ndarray,
    covered: np.ndarray,
    names_s: np.ndarray,
    classifier: Classifier | None,
    ctx: Any,
    opts: Options,
) -> tuple[dict[str, Any], Any]:
    """One model's row and superclass rows: flat figures always, two-stage ones with scores."""
    import pandas as pd

    truth = al.original.astype(np.int64)  # (n_rows,) the true class of each prediction row
    variants = {"flat": pred.topk}
    if pred.scores is not None:
        variants["two_stage"] = two_stage(pred.scores, members, k=pred.k)[0]
    row: dict[str, Any] = {"scores": pred.scores is not None}
    per = []
    for v, topk in variants.items():
        s = superclass_scores(topk[:, 0], truth, members, names_s, same=tax.same_superclass)
        row |= {f"{v}_{k}": a[0] for k, a in s.values().items()}
        per.append(pd.DataFrame(s.per_superclass(0)).assign(variant=v))
    if len(variants) > 1:  # the pipeline on both, over the images in scope
        in_scope = (truth >= 0) & covered[np.clip(truth, 0, None)]
        rows, images = al.rows, al.images
        keep = in_scope[rows]
        stack, hits, ns = [], [], []
        for topk in variants.values():
            top1 = np.full(al.n_images, -1, dtype=np.int64)
            top1[images[keep]] = topk[rows[keep], 0]
            stack.append(top1)
            h, n = topk_counts(topk[in_scope], al.original[in_scope], label_set.multi.n_classes)
            hits.append(h)
            ns.append(n)
        tally_, _ = score(
            label_set,
            np.stack(stack),
            topk_hits=np.stack(hits),
            topk_n=np.stack(ns),
            context=classifier,
        )
        sc = make_scores(label_set, list(variants), tally_, context=ctx, options=opts.scoring)
        vals = sc.values
        for j, v in enumerate(variants):
            for key in PIPELINE:
                if key in vals:
                    row[f"{v}_pipeline_{key}"] = vals[key][j]
            for c in K.ERRORS:
                if f"n_{c.key}" in vals:
                    row[f"{v}_n_{c.key}"] = vals[f"n_{c.key}"][j]
    return row, pd.concat(per, ignore_index=True)


__all__ = ["OUTPUTS", "SuperSub", "supersub"]
