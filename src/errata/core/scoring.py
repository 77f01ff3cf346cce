"""The one scoring core: per-model sufficient statistics, and every figure derived from them.

A stack of ``m`` models is reduced to a :class:`Tally` — counts per (model, original class,
category), top-k hits per (model, class), the summed severity of the errors — and every figure
errata reports (top-1/top-5, ReaL or per-image label accuracy, MLA and its variants, counts and
shares per category and per group, mean severity, confidence intervals) is computed from it by
one function, :func:`values`, over all models at once. ``errata analyze`` is the view of one
model (:meth:`Scores.metrics`, :meth:`Scores.summary`), ``errata compare`` the table of all of
them (:attr:`Scores.values`, one column per figure); batches of a study concatenate
(:meth:`Tally.concat`). The tally itself is :mod:`errata.core.tally`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NotRequired, TypedDict

import numpy as np

from errata.core import categories as K
from errata.core import metrics as M
from errata.core.checks import Interval as Interval
from errata.core.evidence import Context, Source
from errata.core.labelset import LabelSet
from errata.core.pipeline import Classified, Classifier, classify, unclassified
from errata.core.tally import GROUP_ORDER as GROUP_ORDER
from errata.core.tally import Tally as Tally
from errata.core.tally import _group_order, any_label_groups, buckets, tally
from errata.core.tally import answer_tally as answer_tally
from errata.core.tally import topk_counts as topk_counts

if TYPE_CHECKING:
    from errata.core.published_band import BandCategory

MODEL_BATCH = 64  # models scored as one stack (compare, supersub): bounds peak memory


class Metric(TypedDict):
    """A headline metric (:meth:`Scores.metrics`): its value, the 95 % interval and the images
    it is over (ImageNet-M: the images right ``value`` of ``of``, no interval)."""

    value: float
    images: int
    ci95: NotRequired[list[float]]
    of: NotRequired[int]


class CategorySummary(TypedDict):
    """One category of :meth:`Scores.summary`: its images, share of the multi-label errors
    (None: not an error, or its stage did not run), why it did not run, and — in
    ``metrics.json`` — where the share stands among the published models."""

    count: int
    share: float | None
    status: NotRequired[str]
    published_band: NotRequired[BandCategory | None]


class GroupSummary(TypedDict):
    """One group of one split in :meth:`Scores.summary`."""

    errors: int
    categories: dict[str, int]
    images: int


class MLAVariant(TypedDict):
    """One MLA variant of :meth:`Scores.summary`: its title and value."""

    title: str
    value: float


class ErrorSummary(TypedDict, total=False):
    """:meth:`Scores.summary`: every key when errors were classified, none (``{}``) for
    metrics only. Categories are keyed by name, groups by split then name (the JSON form,
    keyed by key, is :func:`errata.io.run_folder.keyed`)."""

    errors: int
    top1_errors: int
    excluded: int
    categories: dict[str, CategorySummary]
    groups: dict[str, dict[str, GroupSummary]]
    mla_variants: dict[str, MLAVariant]
    mean_severity: float | None
    sources: dict[str, Source]


@dataclass(frozen=True, kw_only=True)
class ScoreOptions:
    """Statistics settings: the interval of per-image accuracies (``"wilson"``, the default,
    right for any number of images; or ``"bootstrap"``, percentile, with ``n_resamples`` and
    ``seed``), and the confidence level."""

    interval: Interval = "wilson"
    n_resamples: int = M.N_RESAMPLES
    seed: int = 0
    level: float = M.CI_LEVEL


@dataclass(frozen=True, eq=False)
class Scores:
    """The figures of ``m`` models on one label set (see the module docstring)."""

    models: tuple[str, ...]
    tally: Tally
    label_name: str
    groups: Mapping[str, np.ndarray]  # split -> (C,) group of each class
    status: Mapping[str, str] = field(default_factory=dict)  # category -> "not run (...)"
    sources: Mapping[str, Source] = field(default_factory=dict)
    imagenet_m_of: int | None = None
    classified: bool = True
    options: ScoreOptions = ScoreOptions()
    _cache: dict[str, dict[str, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.models)

    @property
    def registry(self) -> K.Tables:
        """The state of the category registry the models were classified and tallied over:
        every figure reads its codes, names and tiers from it."""
        return self.tally.registry

    @property
    def accuracy_key(self) -> str:
        """``"real"`` for ReaL, ``"label_accuracy"`` for other label sets."""
        return "real" if self.label_name == "real" else "label_accuracy"

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Every figure as an ``(m,)`` array, by column name (computed once)."""
        if "values" not in self._cache:
            self._cache["values"] = values(self)
        return self._cache["values"]

    def group_codes(self) -> dict[str, tuple[list[str], np.ndarray]]:
        """Per split: the groups in display order and the group of each class (``C + 1``
        entries; unknown classes get an ``unknown`` group when there are such images)."""
        out = {}
        # by image (the published counts), an image with no known label is in no group
        unknown = self.tally.group_counts is None and bool(
            self.tally.counts[:, -1, : buckets(self.registry).n_cats].any()
        )
        for split, names in self.groups.items():
            groups = sorted(set(np.asarray(names).tolist()), key=_group_order)
            code = {g: i for i, g in enumerate(groups)}
            per_class = np.array([code[g] for g in np.asarray(names).tolist()] + [len(groups)])
            out[split] = ([*groups, "unknown"] if unknown else groups, per_class)
        return out

    # --- one model --------------------------------------------------------------------------

    def metrics(self, j: int = 0) -> dict[str, Metric]:
        """Headline metrics of model ``j`` with 95 % intervals: ``{key: {value, ci95,
        images}}`` (ImageNet-M: ``{value, of, images}``)."""
        v, t = self.values, self.tally
        out: dict[str, Metric] = {}
        for key in ("top1", "top5", self.accuracy_key, "mla"):
            if f"{key}_images" not in v or not v[f"{key}_images"][j]:
                continue
            out[key] = {
                "value": float(v[key][j]),
                "ci95": [float(v[f"{key}_lo"][j]), float(v[f"{key}_hi"][j])],
                "images": int(v[f"{key}_images"][j]),
            }
        if t.imagenet_m is not None and self.imagenet_m_of:
            out["imagenet_m"] = {
                "value": int(t.imagenet_m[j]),
                "of": int(self.imagenet_m_of),
                "images": int(self.imagenet_m_of),
            }
        return out

    def summary(self, j: int = 0) -> ErrorSummary:
        """JSON-ready error summary of model ``j``: counts and shares per category, per group,
        MLA variants, mean severity, and the evidence used. A category whose stage did not run
        keeps its count (0) and says why in ``status``; its share is ``None`` (no figure), as
        in ``compare``, never a 0 that reads as measured."""
        if not self.classified:
            return {}
        v, r = self.values, self.registry
        n_errors = int(v["errors"][j])
        categories: dict[str, CategorySummary] = {}
        for c in r.CATEGORIES:
            cnt = int(v[f"n_{c.key}"][j])
            row: CategorySummary = {
                "count": cnt,
                "share": cnt / n_errors
                if c.is_error and n_errors and c.name not in self.status
                else None,
            }
            if c.name in self.status:
                row["status"] = self.status[c.name]
            categories[c.name] = row
        groups_out: dict[str, dict[str, GroupSummary]] = {}
        for split, (groups, _) in self.group_codes().items():
            groups_out[split] = {}
            for g in groups:
                prefix = f"{split}_{K.slug(g)}"
                groups_out[split][g] = {
                    "errors": int(v[f"{prefix}_errors"][j]),
                    "categories": {c.name: int(v[f"{prefix}_{c.key}"][j]) for c in r.CATEGORIES},
                    "images": int(v[f"{prefix}_images"][j]),
                }
        sev = v["mean_severity"][j]
        return {
            "errors": n_errors,
            "top1_errors": int(v["top1_errors"][j]),
            "excluded": int(v["excluded"][j]),
            "categories": categories,
            "groups": groups_out,
            "mla_variants": {
                key: {"title": title, "value": float(v[key][j])}
                for key, (title, _) in K.mla_variants(r).items()
            },
            "mean_severity": None if np.isnan(sev) else float(sev),
            "sources": dict(self.sources),
        }

    def per_class(self, j: int = 0) -> dict[str, np.ndarray]:
        """Per original class of model ``j``: images, top-1 accuracy, images evaluated against
        the label set, multi-label accuracy (the class's ReaL accuracy under ReaL, and its term
        of MLA), each accuracy's Wilson interval (``_lo``/``_hi``), and the images of each
        category (``n_<category key>``). NaN where a class has no image."""
        t, o, r = self.tally, self.options, self.registry
        c = t.topk_n.shape[2]
        counts = t.counts[j, :c]
        evaluated = _evaluated(counts, r)
        hits = counts[:, list(r.CORRECT_CODES)].sum(axis=-1)
        out = {
            "images": t.topk_n[j, 0],
            "top1": M.ratio(t.topk_hits[j, 0], t.topk_n[j, 0]),
            "evaluated": evaluated,
            "multi_label": M.ratio(hits, evaluated),
        }
        out["top1_lo"], out["top1_hi"] = M.wilson_interval(
            t.topk_hits[j, 0], t.topk_n[j, 0], level=o.level
        )
        out["multi_label_lo"], out["multi_label_hi"] = M.wilson_interval(
            hits, evaluated, level=o.level
        )
        if self.classified:
            for i, cat in enumerate(r.CATEGORIES):
                out[f"n_{cat.key}"] = counts[:, i]
        return out

    # --- all models -------------------------------------------------------------------------

    def take(self, rows: np.ndarray) -> Scores:
        """The scores of some models only."""
        import dataclasses

        rows = np.asarray(rows, dtype=np.int64)
        return dataclasses.replace(
            self,
            models=tuple(self.models[i] for i in rows.tolist()),
            tally=self.tally.take(rows),
            _cache={},
        )


def _evaluated(counts: np.ndarray, registry: K.Tables) -> np.ndarray:
    """Images predicted and evaluated, from counts (…, B) in the codes of ``registry``."""
    b = buckets(registry)
    evaluated: np.ndarray = (
        counts[..., : b.n_cats].sum(axis=-1)
        - counts[..., registry.EXCLUDED]
        + counts[..., b.unclassified]
    )
    return evaluated


def values(scores: Scores) -> dict[str, np.ndarray]:
    """Every figure of every model, from the tally: ``{column: (m,) array}``.

    The columns: ``top1``, ``top5``, the label accuracy (``real`` or ``label_accuracy``),
    ``mla`` (not for ReaL), each with ``_lo``/``_hi`` (95 % interval) and ``_images``;
    ``images`` (prediction rows with a known original label); ``imagenet_m`` and
    ``imagenet_m_of`` (correct of ImageNet-M's images) when the label set has it; the MLA
    variants; ``errors``, ``top1_errors``, ``excluded``, ``mean_severity``; ``n_<category>``
    for every category; and
    per group ``<split>_<group>_errors``, ``_images`` and ``_<category>``.
    """
    t, o, r = scores.tally, scores.options, scores.registry
    b = buckets(r)
    c = t.topk_n.shape[2]
    counts = t.counts
    known = counts[:, :c]
    evaluated_c = _evaluated(known, r)  # (m, C)
    correct = counts[..., list(r.CORRECT_CODES)].sum(axis=-1)  # (m, C + 1)
    if t.overlap_hits is not None:  # published order: a multi-label filed as overlapping
        correct = correct + t.overlap_hits
    evaluated = _evaluated(counts, r)  # (m, C + 1)
    out: dict[str, np.ndarray] = {}

    def per_image(key: str, hits: np.ndarray, n: np.ndarray) -> None:
        out[key] = M.ratio(hits, n)
        if o.interval == "bootstrap":
            lo, hi = M.bootstrap_interval(
                hits, n, n_resamples=o.n_resamples, seed=o.seed, level=o.level
            )
        else:
            lo, hi = M.wilson_interval(hits, n, level=o.level)
        out[f"{key}_lo"], out[f"{key}_hi"] = lo, hi
        out[f"{key}_images"] = n

    per_image("top1", t.topk_hits[:, 0].sum(axis=1), t.topk_n[:, 0].sum(axis=1))
    if t.topk_n[:, 1].any():
        per_image("top5", t.topk_hits[:, 1].sum(axis=1), t.topk_n[:, 1].sum(axis=1))
    out["images"] = t.topk_n[:, 0].sum(axis=1)
    if t.imagenet_m is not None and scores.imagenet_m_of:  # correct of ImageNet-M's images
        out["imagenet_m"] = np.asarray(t.imagenet_m, dtype=np.int64)
        out["imagenet_m_of"] = np.full(len(t.imagenet_m), scores.imagenet_m_of, dtype=np.int64)
    per_image(scores.accuracy_key, correct.sum(axis=1), evaluated.sum(axis=1))
    if scores.accuracy_key != "real":
        hits_c = correct[:, :c]
        out["mla"] = M.class_average(hits_c, evaluated_c)
        out["mla_lo"], out["mla_hi"] = M.stratified_interval(hits_c, evaluated_c, level=o.level)
        out["mla_images"] = evaluated_c.sum(axis=1)
    if not scores.classified:
        out["errors"] = counts[..., b.unclassified].sum(axis=1)
        return out
    for key, (_, codes) in K.mla_variants(r).items():
        if key == "mla" and "mla" in out:
            continue
        accepted = known[..., list(codes)].sum(axis=-1)
        if key == "mla" and t.overlap_hits is not None:
            accepted = accepted + t.overlap_hits[:, :c]
        out[key] = M.class_average(accepted, evaluated_c)
    per_cat = counts.sum(axis=1)  # (m, B)
    out["errors"] = per_cat[:, list(r.ERROR_CODES)].sum(axis=1)
    out["top1_errors"] = out["errors"] + per_cat[:, r.CORRECT_MULTI]
    out["excluded"] = per_cat[:, r.EXCLUDED]
    out["mean_severity"] = M.ratio(t.severity_sum, t.severity_n)
    for i, cat in enumerate(r.CATEGORIES):
        out[f"n_{cat.key}"] = per_cat[:, i]
    by_image = t.group_counts or {}
    for split, (groups, per_class) in scores.group_codes().items():
        if split in by_image:  # every group one of the image's labels is in (published)
            g_counts = by_image[split]
        else:  # the group of the image's original class
            onehot = np.zeros((c + 1, len(groups)), dtype=np.int64)
            onehot[np.arange(c + 1), np.minimum(per_class, len(groups) - 1)] = 1
            g_counts = np.einsum("mcb,cg->mgb", counts, onehot)  # (m, G, B)
        for gi, g in enumerate(groups):
            prefix = f"{split}_{K.slug(g)}"
            gc = g_counts[:, gi]
            out[f"{prefix}_errors"] = gc[:, list(r.ERROR_CODES)].sum(axis=1)
            out[f"{prefix}_images"] = gc[:, : b.n_cats].sum(axis=1)
            for i, cat in enumerate(r.CATEGORIES):
                out[f"{prefix}_{cat.key}"] = gc[:, i]
    return out


def score(
    labels: LabelSet,
    top1: np.ndarray,
    *,
    topk_hits: np.ndarray,
    topk_n: np.ndarray,
    context: Context | Classifier | None = None,
    registry: K.Tables | None = None,
) -> tuple[Tally, Classified]:
    """Classify a stack of predictions ``top1`` (m, n) and reduce it to its tally; without a
    context the errors are counted but not classified (metrics only). A :class:`Classifier`
    shares its verdicts across the batches of a study. Both halves run over one snapshot of
    the category registry: ``registry`` (a caller's, taken at its entry), the classifier's, or
    the registry when the call starts. The two halves, for a caller that runs them apart:
    :func:`classify_stack`, :func:`tally_stack`."""
    result = classify_stack(labels, top1, context, registry)
    return tally_stack(labels, result, topk_hits=topk_hits, topk_n=topk_n, context=context), result


def classify_stack(
    labels: LabelSet,
    top1: np.ndarray,
    context: Context | Classifier | None = None,
    registry: K.Tables | None = None,
) -> Classified:
    """The first half of :func:`score`: the category of every prediction of ``top1`` (m, n),
    over ``registry`` (default: a classifier's own, else the registry now), recorded on the
    result for the tally."""
    if isinstance(context, Classifier):
        if registry is not None and registry.version != context.registry.version:
            raise ValueError("the classifier runs over another state of the category registry")
        return context(top1)
    t = K.tables() if registry is None else registry
    if context is None:
        return unclassified(labels, top1, t)
    return classify(context, top1, registry=t)


def tally_stack(
    labels: LabelSet,
    result: Classified,
    *,
    topk_hits: np.ndarray,
    topk_n: np.ndarray,
    context: Context | Classifier | None = None,
) -> Tally:
    """The second half of :func:`score`: the tally of a classified stack (per-group counts by
    image under the published preset), in the codes it was classified in (its registry)."""
    ctx = context.ctx if isinstance(context, Classifier) else context
    groups = None
    if ctx is not None and ctx.preset is not None:
        groups = any_label_groups(ctx)  # a few milliseconds: the labels' group memberships
    return tally(labels, result, topk_hits=topk_hits, topk_n=topk_n, image_groups=groups)


def make_scores(
    labels: LabelSet,
    models: Sequence[str],
    tally_: Tally,
    *,
    context: Context | None = None,
    options: ScoreOptions = ScoreOptions(),
) -> Scores:
    """Wrap a tally with what its figures need to know about the label set and the evidence
    (the stage status of the categories the tally is over)."""
    status = {}
    if context is not None:
        for c in tally_.registry.ERRORS:
            s = c.status(context)
            if s:
                status[c.name] = s
    m = labels.imagenet_m
    return Scores(
        models=tuple(models),
        tally=tally_,
        label_name=labels.name,
        groups={} if context is None else dict(context.taxonomy.groups),
        status=status,
        sources={} if context is None else dict(context.sources),
        imagenet_m_of=None if m is None else int(m.sum()),
        classified=context is not None,
        options=options,
    )
