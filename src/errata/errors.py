"""Layer 6 — the error pipeline: every top-1 error of every model gets one category and the
evidence for it (Peychev et al. 2023; categories of Vasudevan et al. 2022).

Each image with a prediction is assigned the first category that applies (least severe first):

1. ``correct``              prediction in the image's labels (correct ∪ unclear)
2. ``overlapping classes``  prediction overlaps a label (duplicate classes, DESIGN.md list)
3. ``fine-grained``         prediction shares a superclass with a label
4. ``fine-grained OOV``     open-world stage (CLIP); "not run" without the ``openworld`` extra
5. ``spurious correlation`` prediction and a label co-occur in ≥ 2 *other* images' label sets
6. ``non-prototypical``     the image is a known non-prototypical instance (expert files;
                            optionally ImageNet-X factors, as its own sub-category)
7. ``model failure``        none of the above

"The image's labels" for stages 2–6 are ``S_i`` = correct ∪ unclear ∪ {original label}, minus
the prediction itself (the anchor's L). Images that are problematic or have no acceptable label
are ``excluded`` and counted apart.

The stages are small functions registered in :data:`STAGES` in precedence order, all with one
output shape (:class:`StageResult`): a mask of the pending (model, image) pairs they claim and
integer evidence. They run on whole arrays for a stack of models at once; reasons in words are
only built for the rows of a per-model error table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from errata import metrics as M
from errata.exceptions import ErrataInputError
from errata.labels import csr_of
from errata.resources import N_CLASSES

# Category codes: the order is the precedence and the severity rank.
CORRECT = "correct"
CORRECT_MULTI = "correct multi-label"  # display split of `correct`: prediction ≠ original label
OVERLAP = "overlapping classes"
FINE = "fine-grained"
OOV = "fine-grained OOV"
SPURIOUS = "spurious correlation"
NONPROTO = "non-prototypical"
NONPROTO_X = "non-prototypical (ImageNet-X)"
FAILURE = "model failure"
EXCLUDED = "excluded"
CATEGORIES: tuple[str, ...] = (
    CORRECT,
    CORRECT_MULTI,
    OVERLAP,
    FINE,
    OOV,
    SPURIOUS,
    NONPROTO,
    NONPROTO_X,
    FAILURE,
    EXCLUDED,
)
CODE = {c: i for i, c in enumerate(CATEGORIES)}


def slug(name: str) -> str:
    """Column-safe form of a category or group name: ``fine-grained OOV`` → ``fine_grained_oov``."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_").replace("__", "_")


ERROR_CATEGORIES = CATEGORIES[2:-1]  # what a multi-label error can be
MINOR = (FINE, OOV)  # "minor" errors in MLA variants
EXPLAINABLE = (SPURIOUS, NONPROTO, NONPROTO_X)
SPURIOUS_MIN_COUNT = 2  # co-occurrence in at least this many other images (Peychev et al.)
MODEL_BATCH = 64  # models classified together; bounds peak memory for 1,000-model studies
# ImageNet-X top factors that make an image non-prototypical for its class
IMAGENET_X_FACTORS = ("pose", "partial_view", "style", "pattern", "texture", "subcategory")


# ---------------------------------------------------------------------------------------------
# inputs prepared once per label set


@dataclass(frozen=True, eq=False)
class TaxonomyArrays:
    """The taxonomy facts the stages read, as arrays over the 1000 classes.

    Tests build tiny planted versions; :func:`default_taxonomy` builds the real one.
    """

    overlap: np.ndarray  # (1000, 1000) bool, overlap[label, prediction]
    superclass_members: np.ndarray  # (1000, S) bool
    superclass_names: Sequence[str]
    lca_height: np.ndarray  # (1000, 1000) mistake severity
    groups: dict[str, np.ndarray]  # split name -> (1000,) object array of group names

    @property
    def same_superclass(self) -> np.ndarray:
        return _same_superclass(self)

    @property
    def first_shared(self) -> np.ndarray:
        return _first_shared(self)


@cache
def _same_superclass(tax: TaxonomyArrays) -> np.ndarray:
    from errata.taxonomy.superclasses import same_superclass_of

    return same_superclass_of(tax.superclass_members)


@cache
def _first_shared(tax: TaxonomyArrays) -> np.ndarray:
    from errata.taxonomy.superclasses import first_shared_of

    return first_shared_of(tax.superclass_members)


@cache
def default_taxonomy() -> TaxonomyArrays:
    """The real taxonomy of :mod:`errata.taxonomy` as arrays."""
    from errata import taxonomy

    sc = taxonomy.superclasses()
    return TaxonomyArrays(
        overlap=np.asarray(taxonomy.overlaps(), dtype=bool),
        superclass_members=np.asarray(sc.members, dtype=bool),
        superclass_names=list(sc.names),
        lca_height=np.asarray(taxonomy.lca_height(), dtype=np.float32),
        groups={k: np.asarray(v, dtype=object) for k, v in taxonomy.groups().items()},
    )


@dataclass(frozen=True, eq=False)
class CooccurrenceSource:
    """Co-occurrence counts of label pairs and, for leave-one-out, the rows they came from.

    ``counts[a, b]`` is the number of images whose set (multi-labels ∪ original) holds both.
    ``sets`` and ``file_names`` let the pipeline subtract an image's own contribution.
    """

    name: str
    counts: np.ndarray  # (1000, 1000) int32
    sets: np.ndarray  # (n_src, 1000) bool
    file_names: np.ndarray  # (n_src,)


def label_sets(labels: Any) -> np.ndarray:
    """``(n, 1000)`` bool: each evaluated image's multi-labels with its original label added
    (rows of excluded images are empty: they carry no evidence)."""
    sets = labels.multi_labels.copy()
    has = labels.original >= 0
    sets[np.flatnonzero(has), labels.original[has].astype(np.int64)] = True
    sets[~labels.evaluated] = False
    return sets


def cooccurrence_source(labels: Any, sets: np.ndarray | None = None) -> CooccurrenceSource:
    """Counts from a label set's multi-labels with each image's original label added."""
    from errata import taxonomy

    sets = label_sets(labels) if sets is None else sets
    return CooccurrenceSource(
        name=labels.name,
        counts=np.asarray(taxonomy.cooccurrence_counts(sets), dtype=np.int32),
        sets=sets,
        file_names=labels.file_names,
    )


@dataclass(frozen=True, eq=False)
class NonPrototypical:
    """Image-level non-prototypical evidence: per image of the label set, the source index
    (``-1`` none) into ``sources``, and whether it comes from ImageNet-X."""

    source: np.ndarray  # (n,) int16
    sources: list[str]
    imagenet_x: np.ndarray  # (n,) bool


@dataclass(frozen=True, eq=False)
class Context:
    """Everything the stages need about one label set, prepared once for any number of models."""

    labels: Any  # LabelSet (aligned to the images being evaluated)
    tax: TaxonomyArrays
    cooc: CooccurrenceSource
    cooc_rows: np.ndarray  # (n,) row of each image in cooc.sets, -1 if not there
    nonproto: NonPrototypical
    s_indptr: np.ndarray  # CSR of S_i = multi ∪ {original}
    s_indices: np.ndarray
    oov: Callable[..., StageResult] | None = None
    sources_used: dict[str, Any] = field(default_factory=dict)

    def take(self, rows: np.ndarray) -> Context:
        """The same context on a subset of its images (``rows``, integer positions); the
        co-occurrence counts and evidence still come from the whole set."""
        from errata.analysis import _reorder_csr

        oov = None
        if self.oov is not None:
            full, stage = self, self.oov

            def oov(_: Context, p: Pending) -> StageResult:  # the stage knows the full rows
                return stage(full, dataclasses.replace(p, image=rows[p.image]))

        return Context(
            labels=self.labels.take(rows),
            tax=self.tax,
            cooc=self.cooc,
            cooc_rows=self.cooc_rows[rows],
            nonproto=NonPrototypical(
                source=self.nonproto.source[rows],
                sources=self.nonproto.sources,
                imagenet_x=self.nonproto.imagenet_x[rows],
            ),
            s_indptr=np.concatenate([[0], np.cumsum(np.diff(self.s_indptr)[rows])]),
            s_indices=_reorder_csr(self.s_indptr, self.s_indices, rows),
            oov=oov,
            sources_used=self.sources_used,
        )


def build_context(
    labels: Any,
    *,
    taxonomy: TaxonomyArrays | None = None,
    cooccurrence: Any = None,
    expert_files: Sequence[str | Path] = (),
    imagenet_x: bool | str | Path = False,
    oov: Callable[..., StageResult] | None = None,
    openworld: str | Path | None = None,
) -> Context:
    """Prepare a label set for the pipeline.

    Parameters
    ----------
    labels : LabelSet
    taxonomy : TaxonomyArrays, optional
        Defaults to the real taxonomy.
    cooccurrence : LabelSet or CooccurrenceSource, optional
        Where co-occurrence counts come from; defaults to ``labels`` itself. An image's own set
        is always left out of its counts (leave-one-out).
    expert_files : paths
        Expert files in the dough-bagel schema; their "Non-prototypical" images count as such.
    imagenet_x : bool or path
        Also use ImageNet-X top factors (True: the registry file; a path: that JSONL file).
    oov : callable, optional
        The open-world stage; without it the stage is reported as "not run".
    openworld : folder, optional
        A bundle of cached CLIP arrays (:mod:`errata.openworld.pipeline`); builds ``oov``.
    """
    tax = taxonomy or default_taxonomy()
    sets = label_sets(labels)
    if cooccurrence is None:
        cooc = cooccurrence_source(labels, sets)
    elif isinstance(cooccurrence, CooccurrenceSource):
        cooc = cooccurrence
    else:
        cooc = cooccurrence_source(cooccurrence)
    if cooc.file_names is labels.file_names:
        cooc_rows = np.arange(len(labels))
    else:
        pos = {n: i for i, n in enumerate(cooc.file_names.tolist())}
        cooc_rows = np.fromiter(
            (pos.get(n, -1) for n in labels.file_names.tolist()), np.int64, count=len(labels)
        )
    indptr, cols = csr_of(sets)
    nonproto = _nonprototypical(labels, expert_files, imagenet_x)
    if openworld is not None and oov is None:
        from errata.exceptions import require

        require("faiss", "openworld")
        from errata.openworld.pipeline import load_bundle, make_stage

        oov = make_stage(load_bundle(openworld), labels)
    used = {
        "cooccurrence": f"label set '{cooc.name}' (with original labels), leave-one-out",
        "non_prototypical": nonproto.sources or ["none"],
        "fine_grained_oov": (f"open-world model ({openworld})" if openworld else "open-world model")
        if oov
        else "not run (needs the openworld extra and --openworld)",
    }
    return Context(
        labels=labels,
        tax=tax,
        cooc=cooc,
        cooc_rows=cooc_rows,
        nonproto=nonproto,
        s_indptr=indptr,
        s_indices=cols.astype(np.int16),
        oov=oov,
        sources_used=used,
    )


def _nonprototypical(
    labels: Any, expert_files: Sequence[str | Path], imagenet_x: bool | str | Path
) -> NonPrototypical:
    n = len(labels)
    source = np.full(n, -1, dtype=np.int16)
    from_x = np.zeros(n, dtype=bool)
    sources: list[str] = []
    for path in expert_files:
        experts = load_expert_file(path)
        names = experts.loc[experts["category"] == "Non-prototypical", "file_name"]
        rows = labels.positions(names.to_numpy(dtype=object))
        rows = rows[rows >= 0]
        source[rows[source[rows] < 0]] = len(sources)
        sources.append(f"expert annotation ({Path(path).name})")
    if imagenet_x:
        path = _imagenet_x_path(imagenet_x)
        names, factors = load_imagenet_x(path)
        keep = np.isin(factors, IMAGENET_X_FACTORS)
        rows = labels.positions(names[keep])
        fac = factors[keep][rows >= 0]
        rows = rows[rows >= 0]
        fresh = source[rows] < 0
        for f in IMAGENET_X_FACTORS:
            sel = rows[fresh & (fac == f)]
            source[sel] = len(sources)
            from_x[sel] = True
            sources.append(f"ImageNet-X top factor '{f}'")
    return NonPrototypical(source=source, sources=sources, imagenet_x=from_x)


def _imagenet_x_path(value: bool | str | Path) -> Path:
    if value is True:
        from errata import data

        return data.path("imagenet-x-val-top-factor")
    return Path(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# loaders of the evidence files


EXPERT_CATEGORIES = (
    "Fine-grained error",
    "Fine-grained error with OOV",
    "Spurious Correlation",
    "Non-prototypical",
    "Fine-grained with Multilabel Options",
)


def load_expert_file(path: str | Path) -> Any:
    """Read an expert file in the dough-bagel schema (Vasudevan et al. 2022).

    Returns a DataFrame with columns ``file_name``, ``top_prediction``, ``category``,
    ``severity``. Schema: ``{file name: {"top_prediction": int, "failure category": str,
    "failure severity": "Minor"|"Borderline"|"Major"}}``.
    """
    import json

    import pandas as pd

    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ErrataInputError(f"{path}: file not found") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ErrataInputError(f"{path}: not valid JSON ({exc})") from None
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
        if not isinstance(pred, int) or not 0 <= pred < N_CLASSES:
            raise ErrataInputError(
                f"{path}: entry '{name}': top_prediction {pred!r} is not a class index 0-999"
            )
        rows.append(
            (name, pred, str(entry["failure category"]), str(entry.get("failure severity", "")))
        )
    return pd.DataFrame(rows, columns=["file_name", "top_prediction", "category", "severity"])


def load_imagenet_x(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(file names, top factor) from ImageNet-X's ``imagenet_x_val_top_factor.jsonl``.

    Each line holds ``file_name`` and one 0/1 column per factor; the factor set to 1 is the
    image's top factor (the first one when several are set).
    """
    import json

    path = Path(path)
    names, factors = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot read ImageNet-X annotations ({exc})") from None
    skip = {"file_name", "class", "justification", "one_word"}
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ErrataInputError(f"{path}: line {i + 1} is not JSON") from None
        if not isinstance(row, dict) or "file_name" not in row:
            raise ErrataInputError(f"{path}: line {i + 1} has no 'file_name'")
        top = next((k for k, v in row.items() if k not in skip and v == 1), "")
        names.append(row["file_name"])
        factors.append(top)
    return np.array(names, dtype=object), np.array(factors, dtype=object)


# ---------------------------------------------------------------------------------------------
# the stages


@dataclass(frozen=True, eq=False)
class Pending:
    """The (model, image) pairs not yet claimed, and their expansion over the image's labels.

    ``pair`` arrays have one entry per pending pair; ``rep``/``lab`` one per (pair, label in
    S_i other than the prediction), grouped by pair in order.
    """

    model: np.ndarray  # (k,)
    image: np.ndarray  # (k,) row in the label set
    pred: np.ndarray  # (k,)
    rep: np.ndarray  # (K,) index into the pairs
    lab: np.ndarray  # (K,) label of S_i


@dataclass(frozen=True, eq=False)
class StageResult:
    """What a stage claims: ``claimed`` (k,) over the pending pairs, evidence per claimed pair."""

    claimed: np.ndarray
    label: np.ndarray | None = None  # (k,) evidence label, -1 none
    count: np.ndarray | None = None  # (k,) evidence count (co-occurrence), -1 none
    source: np.ndarray | None = None  # (k,) evidence source index, -1 none
    text: np.ndarray | None = None  # (k,) object: evidence in words (open-world stage)


Stage = Callable[[Context, Pending], StageResult]


def _relation_stage(ctx: Context, p: Pending, relation: np.ndarray) -> StageResult:
    """Claim the pairs where ``relation[label, prediction]`` holds for some label of S_i."""
    hit = relation[p.lab, p.pred[p.rep]]
    return _first_hit(p, hit)


def _first_hit(p: Pending, hit: np.ndarray, count: np.ndarray | None = None) -> StageResult:
    k = len(p.pred)
    idx = np.flatnonzero(hit)
    pairs, first = np.unique(p.rep[idx], return_index=True)
    claimed = np.zeros(k, dtype=bool)
    claimed[pairs] = True
    label = np.full(k, -1, dtype=np.int16)
    label[pairs] = p.lab[idx[first]]
    cnt = None
    if count is not None:
        cnt = np.full(k, -1, dtype=np.int32)
        cnt[pairs] = count[idx[first]]
    return StageResult(claimed=claimed, label=label, count=cnt)


def overlapping_stage(ctx: Context, p: Pending) -> StageResult:
    return _relation_stage(ctx, p, ctx.tax.overlap)


def fine_grained_stage(ctx: Context, p: Pending) -> StageResult:
    return _relation_stage(ctx, p, ctx.tax.same_superclass)


def oov_stage(ctx: Context, p: Pending) -> StageResult:
    if ctx.oov is None:
        return StageResult(claimed=np.zeros(len(p.pred), dtype=bool))
    return ctx.oov(ctx, p)


def spurious_stage(ctx: Context, p: Pending) -> StageResult:
    """Co-occurrence of (label, prediction) in ≥ 2 other images, not within a superclass."""
    pred = p.pred[p.rep].astype(np.int64)
    lab = p.lab.astype(np.int64)
    counts = ctx.cooc.counts[lab, pred].astype(np.int32)
    src = ctx.cooc_rows[p.image[p.rep]]
    own = np.zeros(len(lab), dtype=bool)
    inside = src >= 0
    own[inside] = ctx.cooc.sets[src[inside], lab[inside]] & ctx.cooc.sets[src[inside], pred[inside]]
    counts = counts - own
    hit = (counts >= SPURIOUS_MIN_COUNT) & ~ctx.tax.same_superclass[lab, pred]
    return _first_hit(p, hit, counts)


def nonprototypical_stage(ctx: Context, p: Pending) -> StageResult:
    src = ctx.nonproto.source[p.image]
    claimed = (src >= 0) & ~ctx.nonproto.imagenet_x[p.image]
    return StageResult(claimed=claimed, source=np.where(claimed, src, -1).astype(np.int16))


def nonprototypical_x_stage(ctx: Context, p: Pending) -> StageResult:
    src = ctx.nonproto.source[p.image]
    claimed = (src >= 0) & ctx.nonproto.imagenet_x[p.image]
    return StageResult(claimed=claimed, source=np.where(claimed, src, -1).astype(np.int16))


def failure_stage(ctx: Context, p: Pending) -> StageResult:
    return StageResult(claimed=np.ones(len(p.pred), dtype=bool))


# precedence order; adding a category = one function + one entry here (and in CATEGORIES)
STAGES: dict[str, Stage] = {
    OVERLAP: overlapping_stage,
    FINE: fine_grained_stage,
    OOV: oov_stage,
    SPURIOUS: spurious_stage,
    NONPROTO: nonprototypical_stage,
    NONPROTO_X: nonprototypical_x_stage,
    FAILURE: failure_stage,
}


# ---------------------------------------------------------------------------------------------
# running the pipeline


@dataclass(frozen=True, eq=False)
class Classified:
    """Pipeline output for a stack of ``m`` models on ``n`` images.

    ``category`` (m, n) int8 codes into :data:`CATEGORIES`; ``label``/``count``/``source``
    (m, n) evidence (-1 where none); ``severity`` (m, n) float32 LCA height (NaN for correct or
    excluded images).
    """

    category: np.ndarray
    label: np.ndarray
    count: np.ndarray
    source: np.ndarray
    severity: np.ndarray
    notes: dict[tuple[int, int], str] = field(default_factory=dict)  # (model, image) -> words


def _expand(ctx: Context, model: np.ndarray, image: np.ndarray, pred: np.ndarray) -> Pending:
    starts = ctx.s_indptr[image]
    sizes = ctx.s_indptr[image + 1] - starts
    rep = np.repeat(np.arange(len(image)), sizes)
    offs = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    lab = ctx.s_indices[np.repeat(starts, sizes) + offs]
    keep = lab != pred[rep]
    return Pending(model=model, image=image, pred=pred, rep=rep[keep], lab=lab[keep])


def _subset(p: Pending, mask: np.ndarray) -> Pending:
    new_index = np.cumsum(mask) - 1
    keep = mask[p.rep]
    return Pending(
        model=p.model[mask],
        image=p.image[mask],
        pred=p.pred[mask],
        rep=new_index[p.rep[keep]],
        lab=p.lab[keep],
    )


def classify(ctx: Context, top1: np.ndarray) -> Classified:
    """Run the pipeline for ``top1`` of shape (n,) or (m, n) (rows aligned to ``ctx.labels``).

    A negative prediction means "no prediction for this image" (a model that predicted only a
    subset); such images are ``excluded`` for that model.
    """
    top1 = np.atleast_2d(np.asarray(top1)).astype(np.int64)
    m, n = top1.shape
    labels = ctx.labels
    present = top1 >= 0
    evaluated = labels.evaluated[None, :] & present
    top1 = np.where(present, top1, 0)
    category = np.full((m, n), CODE[EXCLUDED], dtype=np.int8)
    label = np.full((m, n), -1, dtype=np.int16)
    count = np.full((m, n), -1, dtype=np.int32)
    source = np.full((m, n), -1, dtype=np.int16)
    severity = np.full((m, n), np.nan, dtype=np.float32)
    notes: dict[tuple[int, int], str] = {}

    hits = M.label_hits(top1, labels.multi_labels)
    is_orig = top1 == labels.original.astype(np.int64)[None, :]
    ok = hits & evaluated
    category[ok & is_orig] = CODE[CORRECT]
    category[ok & ~is_orig] = CODE[CORRECT_MULTI]

    model, image = np.nonzero(~hits & evaluated)
    pending = _expand(ctx, model, image, top1[model, image])
    # severity: the closest label of S_i in the WordNet hierarchy
    if len(pending.rep):
        sev = ctx.tax.lca_height[pending.lab.astype(np.int64), pending.pred[pending.rep]]
        starts = np.flatnonzero(np.r_[True, pending.rep[1:] != pending.rep[:-1]])
        best = np.minimum.reduceat(sev, starts)
        pair_sev = np.full(len(pending.pred), np.nan, dtype=np.float32)
        pair_sev[pending.rep[starts]] = best
        severity[model, image] = pair_sev
    for name, stage in STAGES.items():
        if len(pending.pred) == 0:
            break
        res = stage(ctx, pending)
        c = res.claimed
        mi, ii = pending.model[c], pending.image[c]
        category[mi, ii] = CODE[name]
        if res.label is not None:
            label[mi, ii] = res.label[c]
        if res.count is not None:
            count[mi, ii] = res.count[c]
        if res.source is not None:
            source[mi, ii] = res.source[c]
        if res.text is not None:
            notes.update(zip(zip(mi.tolist(), ii.tolist()), res.text[c].tolist()))
        pending = _subset(pending, ~c)
    return Classified(
        category=category, label=label, count=count, source=source, severity=severity, notes=notes
    )


# ---------------------------------------------------------------------------------------------
# summaries


MLA_VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mla": ("MLA", ()),
    "mla_overlap": ("+ overlapping classes", (OVERLAP,)),
    "mla_minor": ("+ minor (fine-grained, FG OOV)", (OVERLAP, *MINOR)),
    "mla_explainable": (
        "+ explainable (spurious, non-prototypical)",
        (OVERLAP, *MINOR, *EXPLAINABLE),
    ),
}


def category_counts(
    category: np.ndarray, *, groups: np.ndarray | None = None, n_groups: int = 1
) -> np.ndarray:
    """Counts per (model, [group,] category): shape (m, n_groups, len(CATEGORIES))."""
    category = np.atleast_2d(category).astype(np.int64)
    m, n = category.shape
    g = np.zeros(n, dtype=np.int64) if groups is None else groups.astype(np.int64)
    k = len(CATEGORIES)
    flat = (np.arange(m)[:, None] * n_groups + g[None, :]) * k + category
    return np.bincount(flat.ravel(), minlength=m * n_groups * k).reshape(m, n_groups, k)


def mla_variants(category: np.ndarray, labels: Any) -> dict[str, np.ndarray]:
    """Class-averaged accuracy counting more categories as correct, per model: {key: (m,)}.

    Images a model did not predict (category ``excluded`` on an evaluated image) are left out of
    that model's figure, like problematic images.
    """
    category = np.atleast_2d(category)
    ok = labels.evaluated & (labels.original >= 0)
    classes = labels.original.astype(np.int64)[ok]
    cat = category[:, ok]
    counted = cat != CODE[EXCLUDED]
    out = {}
    accepted = [CODE[CORRECT], CODE[CORRECT_MULTI]]
    for key, (_, extra) in MLA_VARIANTS.items():
        codes = accepted + [CODE[c] for c in extra]
        hits = np.isin(cat, codes)
        if counted.all():
            value = M.class_averaged_accuracy(hits, classes)
        else:  # per model, its own images
            value = np.array(
                [M.class_averaged_accuracy(h[c], classes[c]) for h, c in zip(hits, counted)]
            )
        out[key] = np.atleast_1d(value)
    return out


def summarize(ctx: Context, result: Classified, model: int = 0) -> dict[str, Any]:
    """JSON-ready summary of one model: counts and shares per category, per group, MLA variants,
    mean severity, and which evidence sources were used."""
    cat = result.category[model]
    total = category_counts(cat)[0, 0]
    n_errors = int(sum(total[CODE[c]] for c in ERROR_CATEGORIES))
    top1_errors = int(sum(total[CODE[c]] for c in (CORRECT_MULTI, *ERROR_CATEGORIES)))

    def block(counts: np.ndarray) -> dict[str, Any]:
        errs = sum(int(counts[CODE[c]]) for c in ERROR_CATEGORIES)
        return {c: int(counts[CODE[c]]) for c in CATEGORIES} | {"errors": errs}

    categories = {}
    for c in CATEGORIES:
        cnt = int(total[CODE[c]])
        share = cnt / n_errors if c in ERROR_CATEGORIES and n_errors else None
        categories[c] = {
            "count": cnt,
            "share": share,
            **({"status": "not run"} if c == OOV and ctx.oov is None else {}),
        }
    groups_out: dict[str, Any] = {}
    for split, names in ctx.tax.groups.items():
        values, g = group_codes(names, ctx.labels)
        counts = category_counts(cat, groups=g, n_groups=len(values))[0]
        groups_out[split] = {}
        for i, v in enumerate(values):
            b = block(counts[i])
            groups_out[split][v] = {
                "errors": b.pop("errors"),
                "categories": b,
                "images": int(counts[i].sum()),
            }
    variants = mla_variants(cat, ctx.labels)
    sev = result.severity[model]
    err_mask = np.isin(cat, [CODE[c] for c in ERROR_CATEGORIES])
    return {
        "errors": n_errors,
        "top1_errors": top1_errors,
        "excluded": int(total[CODE[EXCLUDED]]),
        "categories": categories,
        "groups": groups_out,
        "mla_variants": {
            k: {"title": MLA_VARIANTS[k][0], "value": float(v[0])} for k, v in variants.items()
        },
        "mean_severity": float(np.nanmean(sev[err_mask])) if err_mask.any() else None,
        "sources": ctx.sources_used,
    }


def group_codes(names: np.ndarray, labels: Any) -> tuple[list[str], np.ndarray]:
    """The groups of a split (``names``: (1000,) group of each class) in display order, and each
    image's group code by its original label (images without one get group 0)."""
    values = sorted(set(names.tolist()), key=_group_order)
    code = {v: i for i, v in enumerate(values)}
    per_class = np.array([code[v] for v in names.tolist()])
    orig = labels.original.astype(np.int64)
    return values, np.where(orig >= 0, per_class[np.clip(orig, 0, None)], 0)


def _group_order(name: str) -> tuple[int, str]:
    order = ["organism", "artifact", "other", "dogs", "other organisms", "objects"]
    return (order.index(name) if name in order else len(order), name)


# ---------------------------------------------------------------------------------------------
# one model's error table with reasons in words


def reasons(
    ctx: Context, result: Classified, top1: np.ndarray, rows: np.ndarray, model: int = 0
) -> list[str]:
    """The reason, in plain words, for each error row ``rows`` of one model."""
    from errata import resources

    names = resources.classes().names
    tax = ctx.tax
    cat = result.category[model, rows]
    lab = result.label[model, rows].astype(np.int64)
    cnt = result.count[model, rows]
    src = result.source[model, rows]
    pred = np.asarray(top1)[rows].astype(np.int64)
    shared = tax.first_shared[np.clip(lab, 0, None), pred]
    out = []
    for r, c, p, l_, k, s, sc in zip(
        rows.tolist(),
        cat.tolist(),
        pred.tolist(),
        lab.tolist(),
        cnt.tolist(),
        src.tolist(),
        shared.tolist(),
    ):
        name = CATEGORIES[c]
        if name == OVERLAP:
            out.append(f"'{names[p]}' overlaps the label '{names[l_]}' (duplicate classes)")
        elif name == FINE:
            out.append(
                f"'{names[p]}' and the label '{names[l_]}' are both in superclass "
                f"'{tax.superclass_names[sc]}'"
            )
        elif name == SPURIOUS:
            out.append(
                f"'{names[p]}' co-occurs with the label '{names[l_]}' in {k} other "
                f"images' label sets ({ctx.cooc.name})"
            )
        elif name in (NONPROTO, NONPROTO_X):
            out.append(f"non-prototypical image: {ctx.nonproto.sources[s]}")
        elif name == OOV:
            out.append(
                result.notes.get((model, r))
                or "open-world model: the image shows an "
                "out-of-vocabulary object of the prediction's superclass"
            )
        else:
            out.append(
                f"'{names[p]}' shares no superclass, overlap or frequent co-occurrence "
                "with any label"
            )
    return out


def error_table(
    ctx: Context, result: Classified, top1: np.ndarray, file_names: np.ndarray, model: int = 0
) -> Any:
    """pyarrow Table of one model's multi-label errors: file_name, original, labels, top1,
    category, reason, severity, evidence columns and groups."""
    import pyarrow as pa

    from errata.analysis import _reorder_csr, list_column

    cat = result.category[model]
    rows = np.flatnonzero(np.isin(cat, [CODE[c] for c in ERROR_CATEGORIES]))
    labels = ctx.labels
    indptr, indices = labels.csr("multi")
    sub_indptr = np.concatenate([[0], np.cumsum(np.diff(indptr)[rows])])
    sub_idx = _reorder_csr(indptr, indices, rows)
    orig = labels.original[rows]
    table = {
        "file_name": pa.array(file_names[rows].tolist(), type=pa.string()),
        "original": orig,
        "labels": list_column(sub_indptr, sub_idx, np.arange(len(rows)), len(rows)),
        "top1": np.asarray(top1)[rows].astype(np.int16),
        "category": pa.array([CATEGORIES[c] for c in cat[rows].tolist()]).dictionary_encode(),
        "reason": pa.array(reasons(ctx, result, top1, rows, model), type=pa.string()),
        "severity": result.severity[model, rows],
        "evidence_label": result.label[model, rows],
        "evidence_count": result.count[model, rows],
    }
    for split, names in ctx.tax.groups.items():
        table[f"group_{split}"] = pa.array(
            names[np.clip(orig.astype(np.int64), 0, None)].tolist()
        ).dictionary_encode()
    return pa.table(table)


def attach(analysis: Any, **options: Any) -> None:
    """Classify an :class:`~errata.analysis.Analysis`'s errors in place (errors table, summary)."""
    ctx = build_context(analysis.labels, **options)
    top1 = analysis.aligned.top1
    result = classify(ctx, top1)
    analysis.errors_table = error_table(ctx, result, top1, analysis.labels.file_names)
    analysis.summary = summarize(ctx, result)
    analysis.context = ctx
    analysis.classified = result
