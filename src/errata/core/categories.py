"""The category registry: every category errata assigns, one record each, in precedence order.

The pipeline runs the records' stages in this order; the CLI tables, the reports' colours, the
MLA variants, the Parquet column names and the agreement with expert reviewers are all derived
from these records, at the time they are asked for: the module's tables (:data:`CATEGORIES`,
:data:`NAMES`, :data:`CODE`, :data:`ERRORS` …) are built from the registry when read, so a
category added with :func:`register` (a test's, an experiment's) is in every one of them. Adding a
category to errata is one :class:`Category` here plus its stage (and reason) in
:mod:`errata.core.stages`.

The registry's state is one immutable snapshot (a version and the categories, in order):
:func:`register` and :func:`unregister` take a lock and replace it whole, and every derived
table (:func:`tables`, and what :func:`per_state` memoises) is built from one snapshot, never
from a registry half changed. A run takes one snapshot at its entry and passes it on: the
pipeline classifies over it and records it on its result (``Classified.registry``), and the
tally and every figure of the scores read the codes from that record, never from the registry
as it is by then. ``analyze`` and ``compare`` refuse, in one line, a run during which the
registry changed (:func:`changed_since`): register categories before a run starts.

What a stage needs to run is the category's ``needs`` (:class:`Need`): the stage status
(:meth:`Category.status`, read against the evidence context), the columns of a run that did not
run (:func:`errata.core.population.not_run`, read against the run's settings) and the published-
comparability note (:func:`errata.core.population.comparability`) all read it.

Tiers say how bad an error is and which MLA variant forgives it:

=============  ==========================================================================
correct        the prediction is one of the image's labels
overlap        forgiven by ``mla_overlap`` and up (duplicate classes)
minor          forgiven by ``mla_minor`` and up (fine-grained, fine-grained OOV)
explainable    forgiven by ``mla_explainable`` (spurious correlation, non-prototypical)
failure        never forgiven
excluded       not evaluated (problematic image or no acceptable label)
=============  ==========================================================================
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from errata.core import stages as S
from errata.core.evidence import Context

if TYPE_CHECKING:
    from collections.abc import Mapping

Tier = Literal["correct", "overlap", "minor", "explainable", "failure", "excluded"]
FORGIVABLE: tuple[Tier, ...] = ("overlap", "minor", "explainable")  # MLA variants, in order
TIER_TITLES = {"overlap": "overlapping classes", "minor": "minor", "explainable": "explainable"}
# the evidence columns a stage may fill (errata.core.pipeline.ErrorRows); "note": words of its own
Column = Literal["label", "count", "source", "note"]
COLUMNS: tuple[Column, ...] = ("label", "count", "source", "note")


@functools.lru_cache(maxsize=4096)  # a category's key is asked for per model in a JSON output
def slug(name: str) -> str:
    """Column-safe form of a name: ``fine-grained OOV`` → ``fine_grained_oov``.

    >>> slug("non-prototypical (ImageNet-X)")
    'non_prototypical_imagenet_x'
    """
    out = "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")
    while "__" in out:
        out = out.replace("__", "_")
    return out


@dataclass(frozen=True)
class Need:
    """Evidence a stage cannot run without, and how a run shows that it had it.

    Attributes
    ----------
    key : str
        What the evidence context provides when it has it (``Context.provides``:
        ``"openworld"``), and the run setting (``metrics.json`` / ``study.json``:
        :meth:`errata.io.evidence.Options.record`) that is set when the run had it.
    missing : str
        The stage status's words when it is missing (``"needs --openworld (openworld extra)"``).
    published : str
        What the published pipeline (Peychev et al. 2023) had in its place; ``""``: it had none,
        so a run without it is no less comparable.
    this_run, to_match, flag : str
        The comparability note's words for a run without it, what would match, and the flag.
    by_preset : bool
        The published preset (``--preset peychev2023``) provides it, and judges it itself.
    """

    key: str
    missing: str
    published: str = ""
    this_run: str = ""
    to_match: str = ""
    flag: str = ""
    by_preset: bool = False

    def met_by(self, settings: Mapping[str, object]) -> bool:
        """Whether a run with these settings had this evidence."""
        return bool(settings.get(self.key))


OPENWORLD = Need(
    "openworld",
    "needs --openworld (openworld extra)",
    published="CLIP fine-grained OOV stage",
    this_run="fine-grained OOV stage not run",
    to_match="--openworld BUNDLE (the openworld extra and CLIP embeddings)",
    flag="--openworld BUNDLE",
)
EXPERTS = Need(
    "experts",
    "needs --experts",
    published="non-prototypical images of both expert files of Vasudevan et al.",
    by_preset=True,
)
IMAGENET_X = Need("imagenet_x", "needs --imagenet-x")


@dataclass(frozen=True)
class Category:
    """One category: how it is shown, how bad it is, and (for errors) the stage that claims it.

    Attributes
    ----------
    name : str
        As shown and stored (``"fine-grained"``).
    short : str
        For narrow table columns (``"fine"``).
    color : str
        Colour in every plot (Okabe-Ito, colour-blind friendly).
    tier : Tier
    description : str
        When it applies, in one line (``errata --help``, the report's legend).
    stage, reason : callables, optional
        For error categories: the stage (:data:`errata.core.stages.Stage`) and the words of
        its evidence (:data:`errata.core.stages.Reason`).
    expert : tuple of str
        The expert categories (Vasudevan et al. 2022) that this category agrees with.
    needs : tuple of Need
        The evidence its stage cannot run without (none: it always runs).
    evidence : tuple of Column
        The evidence columns its stage fills (:data:`COLUMNS`); the pipeline copies these and
        refuses a stage that fills another.
    counts_as : str
        The category whose published share this one is counted in (``""``: its own); its stage
        running means that category's share is known.
    """

    name: str
    short: str
    color: str
    tier: Tier
    description: str
    stage: S.Stage | None = None
    reason: S.Reason | None = None
    expert: tuple[str, ...] = ()
    needs: tuple[Need, ...] = ()
    evidence: tuple[Column, ...] = ()
    counts_as: str = ""

    @property
    def key(self) -> str:
        return slug(self.name)

    @property
    def is_error(self) -> bool:
        """A multi-label error (not correct, not excluded)."""
        return self.tier in (*FORGIVABLE, "failure")

    def unmet(self, ctx: Context) -> tuple[Need, ...]:
        """The needs that ``ctx`` does not provide."""
        return tuple(n for n in self.needs if n.key not in ctx.provides)

    def runs(self, ctx: Context) -> bool:
        """Whether its stage can run on ``ctx`` (every need provided)."""
        return not self.unmet(ctx)

    def status(self, ctx: Context) -> str | None:
        """``"not run: needs …"`` when the stage had no evidence to work with, else ``None``."""
        unmet = self.unmet(ctx)
        return f"not run: {'; '.join(n.missing for n in unmet)}" if unmet else None


_FINE_EXPERTS = ("Fine-grained error", "Fine-grained with Multilabel Options")

_BUILT_IN: tuple[Category, ...] = (
    Category(
        "correct",
        "correct",
        "#009E73",
        "correct",
        "the prediction is the original label, and the label set accepts it",
    ),
    Category(
        "correct multi-label",
        "correct ML",
        "#8fd3b8",
        "correct",
        "the prediction is another of the image's labels (not the original one)",
    ),
    Category(
        "overlapping classes",
        "overlap",
        "#56B4E9",
        "overlap",
        "the prediction duplicates a label's class (overlaps.toml)",
        S.overlapping,
        S.overlapping_reason,
        _FINE_EXPERTS,
        evidence=("label",),
    ),
    Category(
        "fine-grained",
        "fine",
        "#0072B2",
        "minor",
        "the prediction shares a superclass with a label",
        S.fine_grained,
        S.fine_grained_reason,
        _FINE_EXPERTS,
        evidence=("label",),
    ),
    Category(
        "fine-grained OOV",
        "FG OOV",
        "#CC79A7",
        "minor",
        "an open-world model sees an out-of-vocabulary object of the prediction's superclass",
        S.fine_grained_oov,
        S.fine_grained_oov_reason,
        ("Fine-grained error with OOV",),
        needs=(OPENWORLD,),
        evidence=("note",),
    ),
    Category(
        "spurious correlation",
        "spurious",
        "#E69F00",
        "explainable",
        "prediction and a label co-occur in other images' label sets",
        S.spurious,
        S.spurious_reason,
        ("Spurious Correlation",),
        evidence=("label", "count", "source"),
    ),
    Category(
        "non-prototypical",
        "non-proto",
        "#F0E442",
        "explainable",
        "the image is a known non-prototypical instance (expert annotations)",
        S.nonprototypical,
        S.nonprototypical_reason,
        ("Non-prototypical",),
        needs=(EXPERTS,),
        evidence=("source",),
    ),
    Category(
        "non-prototypical (ImageNet-X)",
        "non-proto X",
        "#c8bd2a",
        "explainable",
        "ImageNet-X annotates the image as atypical (texture, subcategory, pattern)",
        S.nonprototypical_x,
        S.nonprototypical_reason,
        ("Non-prototypical",),
        needs=(IMAGENET_X,),
        evidence=("source",),
        counts_as="non-prototypical",
    ),
    Category(
        "model failure",
        "failure",
        "#D55E00",
        "failure",
        "none of the above",
        S.model_failure,
        S.model_failure_reason,
    ),
    Category(
        "excluded",
        "excluded",
        "#bbbbbb",
        "excluded",
        "not evaluated: a problematic image or one without an acceptable label",
    ),
)
# the registry: (version, categories in precedence order), replaced whole under _LOCK by
# register/unregister (the version bumped), read with one load by tables()
_STATE: tuple[int, tuple[Category, ...]] = (0, _BUILT_IN)
_LOCK = threading.Lock()


def register(category: Category, *, before: str) -> None:
    """Add ``category`` to the registry, just before the category named ``before`` in the
    precedence order (an error category before ``"model failure"``, which takes every error
    left). Every derived table — the pipeline's order, the codes, the tallies, the tables, the
    reports, the Parquet columns — has it from then on.

    Raises
    ------
    ValueError
        When its name or key is taken, or ``before`` is not a registered category.
    """
    global _STATE
    with _LOCK:
        version, cats = _STATE
        taken = {c.name for c in cats} | {c.key for c in cats}
        if category.name in taken or category.key in taken:
            raise ValueError(f"category '{category.name}' is registered already")
        names = [c.name for c in cats]
        if before not in names:
            raise ValueError(f"before: '{before}' is not one of {', '.join(names)}")
        i = names.index(before)
        _STATE = (version + 1, (*cats[:i], category, *cats[i:]))


def unregister(name: str) -> Category:
    """Remove the category named ``name`` from the registry and return it."""
    global _STATE
    with _LOCK:
        version, cats = _STATE
        names = [c.name for c in cats]
        if name not in names:
            raise ValueError(f"'{name}' is not one of {', '.join(names)}")
        i = names.index(name)
        _STATE = (version + 1, cats[:i] + cats[i + 1 :])
        return cats[i]


@dataclass(frozen=True, eq=False)
class Tables:
    """The tables derived from one state of the registry (``version``)."""

    version: int
    CATEGORIES: tuple[Category, ...]
    NAMES: tuple[str, ...]
    CODE: dict[str, int]
    BY_NAME: dict[str, Category]
    CORRECT: int
    CORRECT_MULTI: int
    EXCLUDED: int
    ERRORS: tuple[Category, ...]
    ERROR_CODES: tuple[int, ...]
    CORRECT_CODES: tuple[int, ...]
    AGREES: dict[str, tuple[str, ...]]  # expert category -> the categories agreeing with it

    @classmethod
    def of(cls, version: int, cats: tuple[Category, ...]) -> Tables:
        code = {c.name: i for i, c in enumerate(cats)}
        errors = tuple(c for c in cats if c.is_error)
        agrees: dict[str, tuple[str, ...]] = {}
        for c in cats:
            for e in c.expert:
                agrees[e] = (*agrees.get(e, ()), c.name)
        return cls(
            version=version,
            CATEGORIES=cats,
            NAMES=tuple(c.name for c in cats),
            CODE=code,
            BY_NAME={c.name: c for c in cats},
            CORRECT=code["correct"],
            CORRECT_MULTI=code["correct multi-label"],
            EXCLUDED=code["excluded"],
            ERRORS=errors,
            ERROR_CODES=tuple(code[c.name] for c in errors),
            CORRECT_CODES=tuple(i for i, c in enumerate(cats) if c.tier == "correct"),
            AGREES=agrees,
        )


_LAST: list[Tables] = [Tables.of(*_STATE)]  # the tables of the latest state read


def tables() -> Tables:
    """The derived tables of the registry as it is now (built once per state, from one
    snapshot of it: a concurrent :func:`register` gives the tables of the state before or
    after it, never a mix)."""
    version, cats = _STATE  # one read: a version and the categories it names
    last = _LAST[0]
    if last.version == version:
        return last
    got = Tables.of(version, cats)
    _LAST[0] = got
    return got


T = TypeVar("T")


def per_state(build: Callable[[Tables], T]) -> Callable[[], T]:
    """``build`` of the registry's tables, memoised per registry state: a table derived from
    the categories (the experts' vocabulary …) built when asked for, rebuilt after a
    :func:`register`, and read from the same snapshot as the tables it is built from."""
    memo: list[tuple[int, T] | None] = [None]  # (version, value), replaced whole

    def get() -> T:
        t = tables()
        got = memo[0]
        if got is not None and got[0] == t.version:
            return got[1]
        value = build(t)
        memo[0] = (t.version, value)
        return value

    get.__doc__ = build.__doc__
    get.__name__ = build.__name__
    return get


if TYPE_CHECKING:  # read through __getattr__, from the registry as it is when read
    CATEGORIES: tuple[Category, ...]  # every category, in precedence order
    NAMES: tuple[str, ...]
    CODE: dict[str, int]
    BY_NAME: dict[str, Category]
    CORRECT: int
    CORRECT_MULTI: int
    EXCLUDED: int
    ERRORS: tuple[Category, ...]  # the multi-label error categories, in precedence order
    ERROR_CODES: tuple[int, ...]
    CORRECT_CODES: tuple[int, ...]
    AGREES: dict[str, tuple[str, ...]]  # use expert_agreement_map() for a copy


def __getattr__(name: str) -> object:
    """The derived tables (:data:`CATEGORIES`, :data:`CODE` …) as module attributes, built from
    the registry when read, never frozen at import."""
    if name in Tables.__dataclass_fields__ and name != "version":
        return getattr(tables(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def changed_since(registry: Tables) -> bool:
    """Whether the registry is no longer in the state ``registry`` was built from (a
    :func:`register` or :func:`unregister` since)."""
    return _STATE[0] != registry.version


def codes_of(tiers: tuple[str, ...], registry: Tables | None = None) -> tuple[int, ...]:
    """Codes of the categories in ``tiers`` (in ``registry``; default: the registry now)."""
    t = tables() if registry is None else registry
    return tuple(i for i, c in enumerate(t.CATEGORIES) if c.tier in tiers)


def mla_variants(registry: Tables | None = None) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{key: (title, accepted codes)}``: MLA, then MLA also forgiving each tier in turn (the
    codes of ``registry``; default: the registry now).

    >>> list(mla_variants())
    ['mla', 'mla_overlap', 'mla_minor', 'mla_explainable']
    """
    t = tables() if registry is None else registry
    out = {"mla": ("MLA", codes_of(("correct",), t))}
    accepted: tuple[str, ...] = ("correct",)
    for tier in FORGIVABLE:
        accepted = (*accepted, tier)
        # a sub-category ("non-prototypical (ImageNet-X)") is named by the one it counts as
        members = list(dict.fromkeys(c.counts_as or c.name for c in t.CATEGORIES if c.tier == tier))
        title = (
            f"+ {members[0]}"
            if len(members) == 1
            else f"+ {TIER_TITLES[tier]} ({', '.join(members)})"
        )
        out[f"mla_{tier}"] = (title, codes_of(accepted, t))
    return out


def expert_agreement_map() -> dict[str, tuple[str, ...]]:
    """``{expert category: errata categories that agree with it}``, from the records as they
    are now (a new dict on every call)."""
    return dict(tables().AGREES)
