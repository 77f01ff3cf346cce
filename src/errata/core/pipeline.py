"""Run the error pipeline: every top-1 prediction of a stack of models gets one category, and
every multi-label error its evidence (Peychev et al. 2023; categories of Vasudevan et al. 2022).

Each image with a prediction is assigned the first category that applies, in the order of
:data:`errata.core.categories.CATEGORIES`: correct (the prediction is in correct ∪ unclear),
then the stages — overlapping classes, fine-grained, fine-grained OOV, spurious correlation,
non-prototypical (experts, then ImageNet-X), model failure. The labels the stages compare a
prediction with are ``S_i`` = correct ∪ unclear ∪ {original label}, minus the prediction.
Problematic images and images without an acceptable label are ``excluded``.

A context with ``preset="peychev2023"`` runs the published decision order (Peychev et al.
2023) instead: correct (the original label, accepted by the label set), then **overlapping
classes** (a collapsed mapping: the prediction duplicates the class of one of the image's other
labels), then correct multi-label, then the stages in :data:`PUBLISHED_ORDER` (fine-grained OOV
before spurious correlation; the expert non-prototypical lists, no ImageNet-X). Where errata
counts a prediction that is both a multi-label and a collapsed mapping as correct multi-label,
the preset counts it as overlapping classes, as the published counts do; the accuracies
(ReaL, MLA) still count it correct (:class:`errata.core.scoring.Tally`).

The work is proportional to the number of errors, all of it on whole arrays.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from errata.core import categories as K
from errata.core.arrays import distinct
from errata.core.checks import PRESETS as PRESETS  # the published pipelines a context can follow
from errata.core.evidence import Context
from errata.core.labelset import LabelSet
from errata.core.stages import Evidence, Pending, StageResult

NOT_PREDICTED = -1  # category code of an image the model has no prediction for
UNCLASSIFIED = -2  # category code of an error when the stages were not run
# the published pipeline's error stages, in its order (after correct, collapsed mappings and
# correct multi-label); ImageNet-X has no published counterpart
PUBLISHED_ORDER = (
    "overlapping classes",
    "fine-grained",
    "fine-grained OOV",
    "spurious correlation",
    "non-prototypical",
    "model failure",
)


def stage_order(ctx: Context, registry: K.Tables | None = None) -> tuple[K.Category, ...]:
    """The error categories whose stages run on ``ctx``, in its decision order (those of
    ``registry``; default: the registry now)."""
    t = K.tables() if registry is None else registry
    if ctx.preset is None:
        return t.ERRORS
    return tuple(t.BY_NAME[name] for name in PUBLISHED_ORDER)


@dataclass(frozen=True, eq=False)
class ErrorRows:
    """One row per (model, image) multi-label error, sorted by image then model.

    ``label``/``count``/``source`` are the claiming stage's evidence (``-1`` none), ``note`` an
    index into :attr:`Classified.notes` (``-1`` none) and ``severity`` the WordNet LCA height
    between the prediction and the closest label of ``S_i``.
    """

    model: np.ndarray  # int32
    image: np.ndarray  # int64
    pred: np.ndarray  # int16
    code: np.ndarray  # int8
    label: np.ndarray  # int16
    count: np.ndarray  # int32
    source: np.ndarray  # int16
    note: np.ndarray  # int32
    severity: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.model)

    def take(self, sel: np.ndarray) -> ErrorRows:
        return ErrorRows(**{k: getattr(self, k)[sel] for k in self.__dataclass_fields__})

    @classmethod
    def empty(cls) -> ErrorRows:
        z = np.zeros(0, dtype=np.int64)
        return cls(
            model=z.astype(np.int32),
            image=z,
            pred=z.astype(np.int16),
            code=z.astype(np.int8),
            label=z.astype(np.int16),
            count=z.astype(np.int32),
            source=z.astype(np.int16),
            note=z.astype(np.int32),
            severity=z.astype(np.float32),
        )


@dataclass(frozen=True, eq=False)
class Classified:
    """The pipeline's output for ``m`` models on the ``n`` images of a context.

    ``category`` (m, n) int8 holds codes into the categories of ``registry`` (the snapshot of
    the registry the pipeline ran over: :class:`errata.core.categories.Tables`), or
    :data:`NOT_PREDICTED` / :data:`UNCLASSIFIED`; ``errors`` the multi-label errors with their
    evidence; ``notes`` the texts that ``errors.note`` points at (open-world reasons). The
    tally, the scores and the tables read the codes through ``registry``, never through the
    registry as it is when they run.
    """

    category: np.ndarray
    errors: ErrorRows
    notes: tuple[str, ...] = ()
    registry: K.Tables = field(default_factory=K.tables)

    @property
    def stages_run(self) -> bool:
        return not bool((self.category == UNCLASSIFIED).any())

    def evidence(self, rows: np.ndarray | None = None) -> Evidence:
        """The evidence of error rows ``rows`` (all by default), for the reason functions."""
        e = self.errors if rows is None else self.errors.take(rows)
        notes = np.asarray((*self.notes, None), dtype=object)  # note -1 -> None
        return Evidence(
            pred=e.pred.astype(np.int64),
            label=e.label.astype(np.int64),
            count=e.count,
            source=e.source.astype(np.int64),
            text=notes[e.note],
        )


def reasons(ctx: Context, result: Classified, rows: np.ndarray | None = None) -> np.ndarray:
    """The reason, in words, of each error row (all rows, or ``rows``): each category's reason
    function over all its rows at once."""
    e = result.errors if rows is None else result.errors.take(rows)
    ev = result.evidence(rows)
    out = np.full(len(e), "", dtype=object)
    for code in np.unique(e.code).tolist():
        cat = result.registry.CATEGORIES[code]
        sel = np.flatnonzero(e.code == code)
        if cat.reason is not None:
            sub = Evidence(**{k: getattr(ev, k)[sel] for k in ev.__dataclass_fields__})
            out[sel] = cat.reason(ctx, sub)
    return out


def outcomes(
    labels: LabelSet,
    top1: np.ndarray,
    *,
    overlap_first: np.ndarray | None = None,
    registry: K.Tables | None = None,
) -> np.ndarray:
    """Correct / correct multi-label / excluded for each prediction of ``top1`` ((n,) or (m, n),
    aligned with ``labels``; ``-1``: no prediction); errors are :data:`UNCLASSIFIED`.

    ``overlap_first`` (the ``(C, C)`` overlap table) checks collapsed mappings before the
    multi-labels, as the published pipeline does: a prediction that is another of the image's
    labels but duplicates the class of one of its labels is left to the stages
    (:data:`UNCLASSIFIED`), whose first, overlapping classes, claims it. The codes are those
    of ``registry`` (default: the registry now)."""
    t = K.tables() if registry is None else registry
    top1 = np.atleast_2d(np.asarray(top1))
    # one table look-up per prediction: the four facts that decide the outcome, as 4 bits
    key = (top1 >= 0).view(np.uint8)
    key |= labels.hits(top1).view(np.uint8) << 1
    key |= labels.evaluated.view(np.uint8) << 2
    key |= (top1 == labels.original).view(np.uint8) << 3
    category = _outcome_table(t.EXCLUDED, t.CORRECT, t.CORRECT_MULTI)[key]
    if overlap_first is not None:
        model, image = np.nonzero(category == t.CORRECT_MULTI)
        if len(image):
            pred = top1[model, image].astype(np.int64)
            p = Pending.of(labels.evidence_sets, model, image, pred)
            dup = np.zeros(len(image), dtype=bool)
            for rows, lab in p.ranks():
                dup[rows] |= overlap_first[lab, pred[rows]]
            category[model[dup], image[dup]] = UNCLASSIFIED
    return category


@functools.lru_cache(maxsize=8)
def _outcome_table(excluded: int, correct: int, correct_multi: int) -> np.ndarray:
    """The outcome of each of the 16 combinations of (present, hit, evaluated, is the original
    label), indexed by ``present | hit << 1 | evaluated << 2 | original << 3``: not predicted;
    excluded (not evaluated); correct or correct multi-label (a hit); else an error."""
    key = np.arange(16)
    present, hit, evaluated, orig = key & 1, key >> 1 & 1, key >> 2 & 1, key >> 3 & 1
    out = np.full(16, NOT_PREDICTED, dtype=np.int8)
    out[(present == 1) & (evaluated == 0)] = excluded
    ok = (present == 1) & (evaluated == 1)
    out[ok & (hit == 1) & (orig == 1)] = correct
    out[ok & (hit == 1) & (orig == 0)] = correct_multi
    out[ok & (hit == 0)] = UNCLASSIFIED
    out.setflags(write=False)
    return out


def unclassified(
    labels: LabelSet, top1: np.ndarray, registry: K.Tables | None = None
) -> Classified:
    """The outcome of ``top1`` without the error stages (metrics only), in the codes of
    ``registry`` (default: the registry now)."""
    t = K.tables() if registry is None else registry
    return Classified(
        category=outcomes(labels, top1, registry=t), errors=ErrorRows.empty(), registry=t
    )


@dataclass(frozen=True, eq=False)
class PairVerdicts:
    """The stages' verdict on distinct (image, prediction) errors, all shape (p,): a verdict
    depends on the pair only, never on the model that makes the error."""

    code: np.ndarray  # int8
    label: np.ndarray  # int16
    count: np.ndarray  # int32
    source: np.ndarray  # int16
    note: np.ndarray  # int32, into the notes
    severity: np.ndarray  # float32


def judge(
    ctx: Context,
    image: np.ndarray,
    pred: np.ndarray,
    notes: list[str],
    registry: K.Tables | None = None,
) -> PairVerdicts:
    """Run the stages of ``registry`` (default: the registry now), in precedence order, on
    errors ``(image, pred)`` (shape (p,)); texts of the open-world stage are appended to
    ``notes``. A stage that registers a category meanwhile changes neither the stages run
    nor their codes."""
    t = K.tables() if registry is None else registry
    k = len(image)
    code = np.full(k, -1, dtype=np.int8)
    label = np.full(k, -1, dtype=np.int16)
    count = np.full(k, -1, dtype=np.int32)
    source = np.full(k, -1, dtype=np.int16)
    note = np.full(k, -1, dtype=np.int32)
    pending = Pending.of(ctx.labels.evidence_sets, np.zeros(k, np.int32), image, pred)

    # severity: the closest label of S_i (every error has one: its multi-labels are not empty)
    severity = np.full(k, np.inf, dtype=np.float32)
    lca = ctx.taxonomy.lca_height
    for rows, lab in pending.ranks(all_errors=True):
        severity[rows] = np.minimum(severity[rows], lca[lab, pred[rows]])
    severity[np.isinf(severity)] = np.nan

    codes = t.CODE
    for cat in stage_order(ctx, t):
        if not pending.alive.any():
            break
        if not cat.runs(ctx):  # a need missing: the category's status says which
            continue
        assert cat.stage is not None
        res = cat.stage(ctx, pending)
        _check_evidence(cat, res)
        c = res.claimed
        code[c] = codes[cat.name]
        if res.label is not None:
            label[c] = res.label[c]
        if res.count is not None:
            count[c] = res.count[c]
        if res.source is not None:
            source[c] = res.source[c]
        if res.text is not None and c.any():
            texts, inverse = np.unique(res.text[c].astype(str), return_inverse=True)
            note[c] = len(notes) + inverse
            notes.extend(texts.tolist())
        pending.alive[c] = False
    return PairVerdicts(code, label, count, source, note, severity)


def _check_evidence(cat: K.Category, res: StageResult) -> None:
    """A stage fills only the evidence columns its category declares (``Category.evidence``)."""
    filled = {"label": res.label, "count": res.count, "source": res.source, "note": res.text}
    extra = [k for k, v in filled.items() if v is not None and k not in cat.evidence]
    if extra:
        raise ValueError(
            f"the stage of '{cat.name}' fills {', '.join(extra)}, which its category's "
            f"evidence ({', '.join(cat.evidence) or 'none'}) does not name"
        )


# a memoised verdict as one record, so that a look-up is one gather of 16 bytes per error; the
# narrow layout holds the severity as float16 (exact for LCA heights that are integers < 2048,
# and NaN), the wide one as float32 (a taxonomy with other heights)
_NARROW = np.dtype(
    {
        "names": ["code", "label", "count", "source", "severity", "note"],
        "formats": ["i1", "<i2", "<i4", "<i2", "<f2", "<i4"],
        "offsets": [0, 2, 4, 8, 10, 12],
        "itemsize": 16,
    }
)
_WIDE = np.dtype(
    {
        "names": ["code", "label", "count", "source", "note", "severity"],
        "formats": ["i1", "<i2", "<i4", "<i2", "<i4", "<f4"],
        "offsets": [0, 2, 4, 8, 12, 16],
        "itemsize": 24,
    }
)


def _record_layout(lca_height: np.ndarray) -> np.dtype:
    """The narrow record when float16 holds every LCA height exactly, else the wide one."""
    h = np.asarray(lca_height)
    if h.dtype.kind in "iub" and h.size and int(h.max()) < 2048 and int(h.min()) > -2048:
        return _NARROW
    return _WIDE


class Classifier:
    """The pipeline over one context, for stack after stack of models (a study's batches).

    Verdicts are memoised per distinct (image, prediction) pair: a table of ``n_images ×
    n_classes`` slots (200 MB for ImageNet's 50,000 × 1,000, its pages touched only where
    pairs occur) points into a store of one record per judged pair (16 bytes; 24 when the LCA
    heights are not small integers), so an error that many models make — the usual case in a
    zoo — is judged once, and looked up by two gathers.
    ``memo=False`` judges every error of every call afresh (one model needs no memo).
    Every call classifies over one snapshot of the category registry, ``registry`` (default:
    the registry when it is made), as the memoised verdicts' codes are.
    """

    def __init__(
        self, ctx: Context, *, memo: bool = True, registry: K.Tables | None = None
    ) -> None:
        self.ctx = ctx
        self.registry = K.tables() if registry is None else registry
        self.notes: list[str] = []
        self._memo = memo
        self._slot: np.ndarray | None = None  # 1 + the pair's row in _store; 0: not judged yet
        self._layout = _record_layout(ctx.taxonomy.lca_height)
        self._store = np.zeros(0, dtype=self._layout)
        self._size = 0

    def _lookup(self, key: np.ndarray) -> PairVerdicts:
        n_cls = self.ctx.taxonomy.n_classes
        if not len(key):  # no error in this batch (a perfect model): nothing to look up
            return judge(self.ctx, key // n_cls, key % n_cls, self.notes, self.registry)
        if self._slot is None:  # zeros: the pages are only touched where pairs occur
            self._slot = np.zeros(self.ctx.n_images * n_cls, dtype=np.int32)
        slot = self._slot[key]
        new = np.flatnonzero(slot == 0)
        if len(new):
            fresh = distinct(key[new])
            v = judge(self.ctx, fresh // n_cls, fresh % n_cls, self.notes, self.registry)
            end = self._size + len(fresh)
            if len(self._store) < end:  # grow by half again: amortised O(1), in place
                self._store.resize(max(end + end // 2, 1024), refcheck=False)
            rec = self._store[self._size : end]
            for f in PairVerdicts.__dataclass_fields__:
                rec[f] = getattr(v, f)
            ids = np.arange(self._size + 1, end + 1, dtype=np.int32)
            self._slot[fresh] = ids
            slot[new] = self._slot[key[new]]  # image-major keys: the gather walks the table forward
            self._size = end
        slot -= 1
        got = np.take(self._store.view(f"V{self._layout.itemsize}"), slot).view(self._layout)
        return PairVerdicts(
            code=got["code"],
            label=got["label"],
            count=got["count"],
            source=got["source"],
            note=got["note"],
            severity=got["severity"].astype(np.float32),
        )

    def __call__(self, top1: np.ndarray) -> Classified:
        """Assign a category to each prediction of ``top1`` (shape (n,) or (m, n), aligned
        with the context's label set; ``-1`` means no prediction for that image), and to each
        error its evidence."""
        top1 = np.atleast_2d(np.asarray(top1))
        first = self.ctx.taxonomy.overlap if self.ctx.preset is not None else None
        category = outcomes(self.ctx.labels, top1, overlap_first=first, registry=self.registry)
        # image-major: the errors of one image sit together, and so do their memo slots; flat
        # positions (image * m + model, then model * n + image) index whole rows at once
        category = np.ascontiguousarray(category)  # (a view of it is written below)
        m, n = category.shape
        at = np.flatnonzero((category == UNCLASSIFIED).T)
        image, model = np.divmod(at, m)
        flat = model * n + image
        pred = top1.ravel()[flat].astype(np.int64)
        if self._memo:
            v = self._lookup(image * self.ctx.taxonomy.n_classes + pred)
        else:
            v = judge(self.ctx, image, pred, self.notes, self.registry)
        category.ravel()[flat] = v.code
        errors = ErrorRows(
            model=model.astype(np.int32),
            image=image,
            pred=pred.astype(np.int16),
            code=v.code,
            label=v.label,
            count=v.count,
            source=v.source,
            note=v.note,
            severity=v.severity,
        )
        return Classified(
            category=category, errors=errors, notes=tuple(self.notes), registry=self.registry
        )


def classify(ctx: Context, top1: np.ndarray, *, registry: K.Tables | None = None) -> Classified:
    """Assign a category to each prediction of ``top1`` (shape (n,) or (m, n), aligned with
    ``ctx.labels``; ``-1`` means no prediction for that image), and to each error its evidence
    (see :class:`Classifier` for a study's many batches), over the categories of ``registry``
    (default: the registry now).

    Examples
    --------
    >>> import numpy as np
    >>> from errata.core.evidence import Taxonomy, make_context
    >>> from errata.core.labelset import LabelSet
    >>> from errata.core.sparse import Csr
    >>> labels = LabelSet("toy", np.array(["a.jpg", "b.jpg"]), Csr.from_lists([[1], [2]]),
    ...                   Csr.empty(2), np.zeros(2, bool), np.array([1, 2], np.int16))
    >>> members = np.zeros((1000, 2), bool); members[[1, 3], 0] = members[[2], 1] = True
    >>> members[4:, 1] = True
    >>> tax = Taxonomy(name="toy", class_names=np.arange(1000).astype(str),
    ...                overlap=np.zeros((1000, 1000), bool), superclass_members=members,
    ...                superclass_names=np.array(["odd", "rest"]),
    ...                lca_height=np.ones((1000, 1000), np.int16), groups={})
    >>> result = classify(make_context(labels, tax), np.array([3, 2]))
    >>> [K.NAMES[c] for c in result.category[0]]
    ['fine-grained', 'correct']
    """
    return Classifier(ctx, memo=False, registry=registry)(top1)
