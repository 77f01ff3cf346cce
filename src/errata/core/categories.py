"""The category registry: every category errata assigns, one record each, in precedence order.

The pipeline runs the records' stages in this order; the CLI tables, the reports' colours, the
MLA variants, the Parquet column names and the agreement with expert reviewers are all derived
from these records. Adding a category is one :class:`Category` here plus its stage (and reason)
in :mod:`errata.core.stages`.

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from errata.core import stages as S
from errata.core.evidence import Context

Tier = Literal["correct", "overlap", "minor", "explainable", "failure", "excluded"]
FORGIVABLE: tuple[Tier, ...] = ("overlap", "minor", "explainable")  # MLA variants, in order
TIER_TITLES = {"overlap": "overlapping classes", "minor": "minor", "explainable": "explainable"}


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
    missing : callable, optional
        ``missing(ctx)`` says why the stage cannot run on this context (``None``: it can).
    """

    name: str
    short: str
    color: str
    tier: Tier
    description: str
    stage: S.Stage | None = None
    reason: S.Reason | None = None
    expert: tuple[str, ...] = ()
    missing: Callable[[Context], str | None] | None = None

    @property
    def key(self) -> str:
        return slug(self.name)

    @property
    def is_error(self) -> bool:
        """A multi-label error (not correct, not excluded)."""
        return self.tier in (*FORGIVABLE, "failure")

    def status(self, ctx: Context) -> str | None:
        """``"not run (…)"`` when the stage had no evidence to work with, else ``None``."""
        why = self.missing(ctx) if self.missing else None
        return f"not run: {why}" if why else None


def _no_oov(ctx: Context) -> str | None:
    return None if ctx.oov is not None else "needs --openworld (openworld extra)"


def _no_experts(ctx: Context) -> str | None:
    has = any(not s.startswith("ImageNet-X") for s in ctx.nonprototypical.sources)
    return None if has else "needs --experts"


def _no_imagenet_x(ctx: Context) -> str | None:
    has = any(s.startswith("ImageNet-X") for s in ctx.nonprototypical.sources)
    return None if has else "needs --imagenet-x"


_FINE_EXPERTS = ("Fine-grained error", "Fine-grained with Multilabel Options")

CATEGORIES: tuple[Category, ...] = (
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
        _no_oov,
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
        _no_experts,
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
        _no_imagenet_x,
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
NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
CODE: dict[str, int] = {c.name: i for i, c in enumerate(CATEGORIES)}
BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}
CORRECT, CORRECT_MULTI, EXCLUDED = CODE["correct"], CODE["correct multi-label"], CODE["excluded"]
ERRORS: tuple[Category, ...] = tuple(c for c in CATEGORIES if c.is_error)
ERROR_CODES: tuple[int, ...] = tuple(CODE[c.name] for c in ERRORS)
CORRECT_CODES: tuple[int, ...] = tuple(i for i, c in enumerate(CATEGORIES) if c.tier == "correct")


def codes_of(tiers: tuple[str, ...]) -> tuple[int, ...]:
    """Codes of the categories in ``tiers``."""
    return tuple(i for i, c in enumerate(CATEGORIES) if c.tier in tiers)


def mla_variants() -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{key: (title, accepted codes)}``: MLA, then MLA also forgiving each tier in turn.

    >>> list(mla_variants())
    ['mla', 'mla_overlap', 'mla_minor', 'mla_explainable']
    """
    out = {"mla": ("MLA", codes_of(("correct",)))}
    accepted: tuple[str, ...] = ("correct",)
    for tier in FORGIVABLE:
        accepted = (*accepted, tier)
        # sub-categories ("non-prototypical (ImageNet-X)") are named by their main one
        members = list(dict.fromkeys(c.name.split(" (")[0] for c in CATEGORIES if c.tier == tier))
        title = (
            f"+ {members[0]}"
            if len(members) == 1
            else f"+ {TIER_TITLES[tier]} ({', '.join(members)})"
        )
        out[f"mla_{tier}"] = (title, codes_of(accepted))
    return out


def expert_agreement_map() -> dict[str, tuple[str, ...]]:
    """``{expert category: errata categories that agree with it}``, from the records."""
    out: dict[str, tuple[str, ...]] = {}
    for c in CATEGORIES:
        for e in c.expert:
            out[e] = (*out.get(e, ()), c.name)
    return out
