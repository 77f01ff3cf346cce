"""One model (a shell over the core): read the predictions and the label set, align them, read
the evidence, and score the model as a stack of one with :func:`errata.core.scoring.score` —
the same code that scores a thousand models in :mod:`errata.study`. :func:`analyze` is the entry
point that the CLI, reports and web app call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import errata
from errata.core import categories as K
from errata.core import datasets as D
from errata.core.evidence import Context, SpuriousRule, Taxonomy
from errata.core.labelset import LabelSet
from errata.core.names import Alignment
from errata.core.pipeline import Classified
from errata.core.population import Comparability
from errata.core.scoring import ErrorSummary, Scores, make_scores, score
from errata.exceptions import ErrataInputError
from errata.io.evidence import Options, context, options_for, options_from
from errata.io.predictions import Predictions
from errata.io.rejections import default_gaps
from errata.io.run_folder import (
    OUTPUTS,
    AnalysisJSON,
    Coverage,
    Metric,
    errors_frame,
    keyed,
    write_run_folder,
)
from errata.io.zoo import read_zoo
from errata.resources import N_VAL

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from errata.core.checks import Order
    from errata.core.population import Comparability
    from errata.core.published_band import RunBands


@dataclass(eq=False)
class Analysis:
    """The result of :func:`analyze` for one model.

    Attributes
    ----------
    predictions : Predictions
        The validated predictions.
    labels : LabelSet
        The label set (all its images; those the model did not predict take no part).
    alignment : Alignment
        Which prediction row is which image of the label set.
    scores : Scores
        The model's figures (:attr:`metrics`, :attr:`summary` are views of it).
    classified : Classified
        The category of each image and the evidence of each error.
    context : Context or None
        The evidence the pipeline used (None for metrics only).
    options : Options
    order : str
        The row order used for a file without file names (``"file names"`` when it had them).
    """

    predictions: Predictions
    labels: LabelSet
    alignment: Alignment
    scores: Scores
    classified: Classified
    context: Context | None
    options: Options
    order: str = "auto"
    outside: str = "error"

    def __repr__(self) -> str:
        from errata.io import display

        return display.text(self.predictions.name, self.metrics, self.summary)

    def _repr_html_(self) -> str:
        from errata.io import display

        return display.html(self.predictions.name, self.metrics, self.summary, self.notes())

    @property
    def dataset(self) -> D.Dataset:
        """The test set (:mod:`errata.core.datasets`)."""
        return D.get(self.predictions.dataset)

    @property
    def metrics(self) -> dict[str, Metric]:
        """``{key: {"value", "ci95", "images"}}`` for the keys of
        :data:`errata.core.metrics.METRICS`."""
        return self.scores.metrics(0)

    @property
    def summary(self) -> ErrorSummary:
        """Category counts and shares, per group, MLA variants, severity ({} without errors)."""
        return self.scores.summary(0)

    @cached_property
    def top1(self) -> np.ndarray:
        """``(n_images,)`` the model's top-1 per label-set image (``-1``: no prediction)."""
        return self.alignment.scatter(self.predictions.top1)

    @cached_property
    def errors_table(self) -> pa.Table | None:
        """pyarrow Table of the multi-label errors with reasons (None without the pipeline)."""
        if self.context is None:
            return None
        from errata.io.tables import error_table

        return error_table(self.context, self.classified)

    @property
    def errors(self) -> pd.DataFrame | None:
        """:attr:`errors_table` as a pandas DataFrame, with the class names beside the class
        indices (``original_name``, ``top1_name``, ``evidence_label_name``: categoricals over
        the 1000 names, the two names two classes share told apart by WordNet id) and a
        proper null (``<NA>``) for an error without an evidence label or count (``-1`` in the
        Parquet file)."""
        t = self.errors_table
        return None if t is None else errors_frame(t)

    @cached_property
    def per_image_table(self) -> pa.Table:
        """pyarrow Table, one row per prediction row: file_name, original, labels, unclear, top1,
        correct_original, correct_multi, evaluated, problematic."""
        from errata.io.tables import per_image_table

        return per_image_table(
            file_names=self.predictions.file_names,
            top1=self.predictions.top1,
            original=self.alignment.original,
            rows=self.alignment.rows,
            images=self.alignment.images,
            labels=self.labels,
            category=self.classified.category[0],
            registry=self.classified.registry,
        )

    @property
    def per_image(self) -> pd.DataFrame:
        """:attr:`per_image_table` as a pandas DataFrame (list columns Arrow-backed)."""
        from errata.io.run_folder import arrow_types

        return self.per_image_table.to_pandas(types_mapper=arrow_types)

    @cached_property
    def per_class(self) -> pd.DataFrame:
        """pandas DataFrame, one row per class (by original label): class_index, wnid, name,
        images, top1 (accuracy against the original label), evaluated (images in the
        multi-label evaluation), multi_label (accuracy against correct ∪ unclear: the class's
        ReaL accuracy under ReaL, its term of MLA), the 95 % Wilson interval of both
        (``top1_lo``, ``top1_hi``, ``multi_label_lo``, ``multi_label_hi``) and, with the error
        pipeline, the images of every category (``n_fine_grained``, …)."""
        import pandas as pd

        from errata import resources

        c = resources.classes()
        pc = self.scores.per_class(0)
        return pd.DataFrame(
            {
                "class_index": np.arange(len(c.wnids)),
                "wnid": c.wnids,
                "name": c.names,
                **pc,
            }
        )

    @property
    def coverage(self) -> Coverage:
        """How the prediction rows cover the label set: rows, rows in the label set, the label
        set's images, and whether the model predicted only a subset of them."""
        n_rows, matched = self.alignment.n_rows, len(self.alignment.rows)
        n_images = len(self.labels)
        return {
            "prediction_rows": n_rows,
            "in_label_set": matched,
            "label_set_images": n_images,
            "subset": matched < n_images,
        }

    @cached_property
    def predicts_original(self) -> bool:
        """Whether the top-1 prediction is the original label on every row that has one (a
        prediction file made of the labels themselves, given by mistake or as a reference)."""
        known = self.alignment.original >= 0
        top1 = np.asarray(self.predictions.top1)
        return bool(known.any()) and bool((top1[known] == self.alignment.original[known]).all())

    def notes(self) -> list[str]:
        """What a reader should know about these figures, in words (printed under the table)."""
        out: list[str] = []
        cov = self.coverage
        if cov["subset"]:
            out.append(
                f"a subset: the predictions cover {cov['in_label_set']:,} of the "
                f"{cov['label_set_images']:,} images of label set '{self.labels.name}'; the "
                "figures are over those images only"
            )
        if cov["in_label_set"] < cov["prediction_rows"]:
            out.append(
                f"{cov['prediction_rows'] - cov['in_label_set']:,} prediction rows are validation "
                f"images outside label set '{self.labels.name}': they count for top-1/top-5 only"
            )
        p = self.predictions
        if self.predicts_original:
            out.append(
                "these predictions are the original labels themselves (top-1 equals the "
                f"original label on all {int((self.alignment.original >= 0).sum()):,} rows that "
                "have one): the figures score the label set against the original labels, not "
                "a model"
            )
        out.extend(p.notes)
        out.extend(default_gaps(self.options))
        if p.remapped:
            out.append(
                f"{p.remapped:,} rows predicted a class outside {D.get(p.dataset).class_list()}"
                " and were re-ranked to their best-ranked class inside it (--outside map)"
            )
        if p.left_outside:
            out.append(
                f"{p.left_outside:,} rows rank no class of {D.get(p.dataset).class_list()}: "
                "their prediction stays outside the subset and counts as an error"
            )
        unknown = self.labels.summary().get("unknown_original", 0)
        if unknown:
            out.append(
                f"{unknown:,} images of label set '{self.labels.name}' have no known class "
                "(their names carry no class folder): they count for the label accuracy, not "
                "for top-1, MLA or the per-class figures"
            )
        other = self.labels.summary()["non_validation"]
        if other and self.labels.dataset == D.DEFAULT:
            out.append(
                f"{other:,} images of label set '{self.labels.name}' are not ImageNet validation "
                "images (their original label comes from the label file, if it gives one)"
            )
        return out

    @property
    def settings(self) -> dict[str, object]:
        """What produced these figures (:func:`settings`): errata's version, the test set, the
        row order, the label set and the options (``outside`` on a subset test set)."""
        return settings(
            self.options,
            order=self.order,
            labels=self.labels,
            dataset=self.predictions.dataset,
            outside=self.outside,
        )

    def published(self) -> Comparability:
        """Whether these figures can stand beside the 962 published models of Peychev et al.
        (2023): :func:`errata.core.population.comparability` of this run's settings."""
        from errata.core.population import comparability

        top1 = self.metrics.get("top1")
        images = None if top1 is None else top1["images"]
        return comparability(self.settings, full_val=images == N_VAL)

    @property
    def band(self) -> RunBands | str:
        """Where each category's share stands among the published models of similar top-1
        (:func:`errata.io.published_band.bands_of`): a ``RunBands``, or why there is none."""
        from errata.io.published_band import bands_of

        top1 = self.metrics.get("top1")
        v = self.scores.values
        counts = {k: a[0] for k, a in v.items() if k.startswith("n_")}
        errors = v["errors"][0] if "errors" in v else 0
        full = top1 is not None and top1["images"] == N_VAL
        value = None if top1 is None else top1["value"]
        return bands_of(value, counts, errors, self.settings, full_val=full)

    def to_dict(self) -> AnalysisJSON:
        """JSON-ready: model, label set, settings, coverage, metrics, the error summary (each
        category with its ``published_band``; categories and groups keyed snake_case, as
        :func:`keyed` gives them), whether the run is comparable with the
        published population (``published``) and where its shares stand (``published_band``)."""
        from errata.core.published_band import band_json, with_band

        band = band_json(self.band) if self.summary else None
        out: AnalysisJSON = {
            "model": self.predictions.name,
            "predictions": self.predictions.source,
            "coverage": self.coverage,
            "notes": self.notes(),
            "labels": self.labels.summary() | {"source": self.labels.source},
            "settings": self.settings,
            "metrics": self.metrics,
        }
        if self.summary:
            out["errors"] = keyed(with_band(self.summary, band or {}))
        out["published"] = self.published()
        if band is not None:
            published_band = band.copy()
            published_band.pop("categories", None)
            out["published_band"] = published_band
        return out

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write ``metrics.json``, ``per_image.parquet``, ``per_class.csv`` (and
        ``errors.parquet``, ``summary.json`` when errors were classified) into ``out`` — as one
        unit (:func:`errata.io.run_folder.write_run_folder`): ``out`` holds either the previous
        run's files or all of this one's."""
        errors = self.errors_table
        return write_run_folder(
            out,
            metrics=self.to_dict(),
            per_image=self.per_image_table,
            per_class=self.per_class,
            errors=errors,
            summary=None if errors is None else keyed(self.summary),
        )


def settings(
    options: Options,
    *,
    order: str,
    labels: LabelSet,
    dataset: str = D.DEFAULT,
    outside: str = "error",
) -> dict[str, object]:
    """What produced a result: errata's version, the test set, the row order, the label set and
    the options (taxonomy, evidence, seed and resamples), for ``metrics.json`` and
    ``study.json``; ``outside`` on a subset test set."""
    ds = D.get(dataset)
    return {
        "errata_version": errata.__version__,
        "dataset": ds.name,
        **({"outside": outside} if ds.subset is not None else {}),
        "order": order,
        "labels": labels.name,
        **options.record(),
    }


def evidence(labels: LabelSet, options: Options) -> Context | None:
    """The context the pipeline runs on, with every evidence file ``options`` names read (and
    the open-world stage built from its bundle); ``None`` for metrics only."""
    if not options.classify:
        return None
    from errata.openworld.pipeline import stage_for

    oov = stage_for(options.openworld, labels)
    if oov is None:
        return context(labels, options)
    return context(labels, options, oov=oov[0], oov_name=oov[1])


def complete_original(labels: LabelSet, alignment: Alignment) -> LabelSet:
    """``labels`` with the original label of its images that it does not know (a label file
    whose keys carry no class folder) taken from the predictions' class paths; the same set
    when there is nothing to fill."""
    known = alignment.original[alignment.rows]
    need = (labels.original[alignment.images] < 0) & (known >= 0)
    if not need.any():
        return labels
    return labels.with_original(alignment.images[need], known[need])


def analyze(
    predictions: str | Path | np.ndarray | Predictions,
    *,
    labels: str | Path | LabelSet | None = None,
    order: Order = "auto",
    file_names: str | Path | np.ndarray | list[str] | None = None,
    name: str | None = None,
    options: Options | None = None,
    dataset: str = D.DEFAULT,
    outside: D.Outside = "error",
    classify: bool | None = None,
    taxonomy: str | Taxonomy | None = None,
    experts: str | Path | Sequence[str | Path] | None = None,
    proposals: str | Sequence[str | Path] | None = None,
    preset: str | None = None,
    spurious: str | SpuriousRule | None = None,
    imagenet_x: bool | str | Path | None = None,
    openworld: str | Path | None = None,
    cooccurrence: str | Path | LabelSet | None = None,
    interval: str | None = None,
    n_resamples: int | None = None,
    seed: int | None = None,
) -> Analysis:
    """Score one model's predictions and classify its errors.

    Parameters
    ----------
    predictions : path, registry name, array or Predictions
        See :func:`errata.io.predictions.load_predictions`.
    labels : {"real", "original", "shankar"}, path or LabelSet
        Ground truth; see :func:`errata.io.labels.load_labels` (default: ReaL on the
        validation set, the class folders elsewhere).
    order, file_names, name
        How rows map to images; see :func:`errata.io.predictions.load_predictions`.
    options : Options, optional
        Evidence and statistics (:class:`errata.Options`): ``classify=False`` for metrics only,
        expert files, ImageNet-X, the open-world bundle, bootstrap resamples and seed.
    classify, taxonomy, experts, proposals, preset, spurious, imagenet_x, openworld, cooccurrence
        With ``interval``, ``n_resamples`` and ``seed``, the settings of :class:`errata.Options`
        as keywords, the command line's flags (``--no-errors`` is ``classify=False``,
        ``--bootstrap N`` is ``n_resamples=N``, ``--proposals none`` is ``proposals="none"``);
        None: as ``options`` says, else the default. A keyword that contradicts a setting that
        ``options`` changed is an error naming both.
    dataset : {"imagenet-val", "imagenet-v2", "imagenet-a", "imagenet-r"}
        The test set (:mod:`errata.core.datasets`); the error pipeline runs with the same
        stages on every one, its co-occurrence evidence from ImageNet's label sets (ReaL).
    outside : {"error", "map"}
        On ImageNet-A/-R, what a top-1 class outside the 200 does (see
        :func:`errata.io.predictions.load_predictions`).

    Examples
    --------
    The original labels as predictions (a model that is always "right") still make errors
    against ReaL, whose raters rejected some original labels:

    >>> import numpy as np, errata
    >>> from errata import resources
    >>> top1 = resources.validation_labels().astype(np.int64)  # file-name order
    >>> a = errata.analyze(top1, n_resamples=10)
    >>> a.order, a.metrics["top1"]["value"], round(a.metrics["real"]["value"], 4)
    ('filename', 1.0, 0.9002)
    >>> a.summary["errors"], a.summary["categories"]["fine-grained"]["count"] > 0
    (4673, True)
    """
    registry = K.tables()  # the categories the model is classified and tallied over
    ds = D.get(dataset)
    options = options_from(options, locals())  # the keywords of OPTION_KEYWORDS
    options = options_for(options, ds)
    got = next(
        read_zoo(
            [predictions],
            dataset=ds,
            order=order,
            outside=outside,
            labels=labels,
            names=[name],
            file_names=file_names,
        )
    )
    if got.error is not None:
        raise got.error
    preds, alignment = got.predictions, got.alignment
    assert preds is not None and alignment is not None and got.labels is not None
    assert got.top1 is not None and got.hits is not None and got.n is not None
    label_set = complete_original(got.labels, alignment)
    ctx = evidence(label_set, options)
    tally_, result = score(
        label_set,
        got.top1[None],
        topk_hits=got.hits[None],
        topk_n=got.n[None],
        context=ctx,
        registry=registry,
    )
    scores = make_scores(label_set, [preds.name], tally_, context=ctx, options=options.scoring)
    if K.changed_since(registry):  # the figures are of the state before: refused, not wrong
        raise ErrataInputError(
            "analyze: the category registry changed while the model was scored (register "
            "categories before a run starts)"
        )
    return Analysis(
        predictions=preds,
        labels=label_set,
        alignment=alignment,
        scores=scores,
        classified=result,
        context=ctx,
        options=options,
        order=preds.order or "file names",
        outside=outside,
    )


__all__ = [
    "OUTPUTS",
    "Analysis",
    "AnalysisJSON",
    "Coverage",
    "Metric",
    "analyze",
    "evidence",
    "settings",
]
