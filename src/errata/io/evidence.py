"""Evidence (the edge): what to read as evidence (:class:`Options`, its presets), the label set
that co-occurrence counts come from and the taxonomy — read here, once, with the annotation files
(:mod:`errata.io.annotations`) and the rejected proposals (:mod:`errata.io.rejections`), and
turned into the arrays of :class:`errata.core.evidence.Context`.

:class:`Options` names what to read; :func:`context` reads it and returns the context that
:func:`errata.core.pipeline.classify` runs on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from errata.core.checks import INTERVALS, TAXONOMIES, choice
from errata.core.evidence import (
    DEFAULT_SPURIOUS,
    PUBLISHED_MIN_COUNT,
    REJECTION_ALPHA,
    SPURIOUS_RULES,
    Context,
    Cooccurrence,
    OovStage,
    SpuriousRule,
    Taxonomy,
    cooccurrence_counts,
    make_context,
)
from errata.core.labelset import LabelSet
from errata.core.scoring import ScoreOptions
from errata.exceptions import ErrataInputError, arg, did_you_mean
from errata.io.annotations import nonprototypical, resolve_path
from errata.io.files import cached_arrays
from errata.io.rejections import proposal_sources, rejections

if TYPE_CHECKING:
    import numpy as np

    from errata.core import datasets as D

MAX_RESAMPLES = 1_000_000  # bootstrap draws: 8 MB per figure and model; more is no better
# the published pipelines Options(preset=...) runs, and what each fixes
PRESETS: dict[str, dict[str, str]] = {"peychev2023": {"taxonomy": "peychev2023"}}
PRESET_EXPERTS = ("vit3b-mistakes", "greedysoups-mistakes")  # Vasudevan et al.'s two files
PUBLISHED_COOCCURRENCE = "published"  # Options.record()'s name of published_cooccurrence()
PRESET_FIXES = {
    "taxonomy": "the published superclasses, peychev2023",
    "proposals": "no rejected-proposal evidence",
    "experts": "the non-prototypical rows of vit3b-mistakes and greedysoups-mistakes when they "
    "are in the data directory",
    "imagenet_x": "no ImageNet-X: the published pipeline has no such stage",
    "cooccurrence": "ReaL's label sets outside Shankar et al.'s images",
    "spurious": "the published rule: co-occurrence in >= 2 other label sets, nothing else",
}


def preset_clash(
    preset: str | None, *, flags: dict[str, str] | None = None, **given: object
) -> str:
    """The one-line error for the first setting of ``given`` (name: value) that contradicts
    ``preset`` ("" when none does, or no preset): a setting the preset fixes may only keep its
    default (or the preset's own value). ``flags`` names the settings as the command line does
    (``{"taxonomy": "--taxonomy"}``)."""
    if preset is None:
        return ""
    if preset not in PRESETS:
        name = (flags or {}).get("preset", "preset")
        return f"{name}: '{preset}' is not one of {', '.join(PRESETS)}" + did_you_mean(
            preset, PRESETS
        )
    fixed = PRESETS[preset]
    defaults: dict[str, tuple[object, ...]] = {
        "taxonomy": ("errata", fixed["taxonomy"]),
        "proposals": ("auto", (), None, ("none",), ["auto"], ["none"]),
        "experts": ((), None, []),
        "imagenet_x": (False, None),
        "cooccurrence": (None,),
        "spurious": (DEFAULT_SPURIOUS.name, "published"),
    }
    for name, value in given.items():
        if any(value is d or (type(value) is type(d) and value == d) for d in defaults[name]):
            continue
        shown = getattr(value, "name", value)
        if isinstance(shown, (tuple, list)):
            shown = ", ".join(str(v) for v in shown)
        flag = (flags or {}).get(name, name)
        if shown is True:  # a switch: its name says it
            return (
                f"{flag}: cannot be combined with {'--preset ' if flags else 'preset '}{preset}, "
                f"which fixes it ({PRESET_FIXES[name]}); drop one of the two"
            )
        return (
            f"{flag} {shown}: cannot be combined with --preset {preset}, which fixes it "
            f"({PRESET_FIXES[name]}); drop one of the two"
            if flags
            else f"{flag}: '{shown}' cannot be combined with preset '{preset}', which fixes it "
            f"({PRESET_FIXES[name]}); drop one of the two"
        )
    return ""


@dataclass(frozen=True, kw_only=True)
class Options:
    """What errata reads as evidence and how it does the statistics.

    Attributes
    ----------
    classify : bool
        Run the error pipeline (``False``: metrics only).
    experts : tuple of paths or registry names
        Expert files (dough-bagel schema) whose "Non-prototypical" rows mark images as such.
    imagenet_x : bool or path
        Also use ImageNet-X factors (:data:`IMAGENET_X_FACTORS`; ``True``: the ``imagenetx``
        extra's annotations, else the registry file; a path: that file).
    openworld : path, optional
        A bundle of cached CLIP arrays for the fine-grained OOV stage (``openworld`` extra).
    cooccurrence : str or path, optional
        The label set that co-occurrence counts come from (default: the one being scored).
    proposals : "auto", tuple of str or path, or None
        Rater answers to labels that models proposed, whose rejected proposals are spurious-
        correlation evidence (:class:`~errata.core.evidence.Rejections`): ReaL's raw rater
        data (``real-raters``, ``raters.npz``) and/or a Shankar-schema file's ``wrong``
        labels (``shankar``, ``*.json``). ``"auto"`` (default): those of the two that are in
        the data directory; ``None`` or ``()``: none.
    spurious : str or SpuriousRule
        When an error is a spurious correlation (:class:`~errata.core.evidence.SpuriousRule`):
        ``"errata"`` (default, chosen on the expert review within the published band:
        ``benchmarks/spurious_rules.py``), ``"above-chance"`` (the default before the band
        floor: rejected above chance; more spurious calls), ``"published"`` (Peychev et al.:
        co-occurrence in ≥ 2 other label sets, nothing else), or a rule of one's own.
    taxonomy : str or Taxonomy
        Which taxonomy names the superclasses (``errata``), or the arrays of one (tests and
        experiments plant their own).
    interval : {"wilson", "bootstrap"}
        The 95 % interval of per-image accuracies: Wilson score (right for any number of
        images) or the percentile bootstrap (``n_resamples`` draws, ``seed``). Class-averaged
        accuracies always use the closed form of :func:`errata.core.metrics.stratified_interval`.
    n_resamples, seed : int
        Bootstrap settings.
    preset : "peychev2023" or None
        Run the published pipeline step for step (Peychev et al. 2023; :data:`PRESETS`): its
        decision order (collapsed mappings before the multi-labels), its superclasses
        (``taxonomy="peychev2023"``), its co-occurrence evidence (:func:`published_cooccurrence`),
        no rejected proposals, the expert non-prototypical lists of both of Vasudevan et al.'s
        files that are in the data directory (:data:`PRESET_EXPERTS`), and per-group counts by
        any of an image's labels. A setting the preset fixes, given with another value than its
        default, is refused (one line naming it): the preset is the whole recipe or nothing.
    exclude_experts : tuple of paths or registry names
        Expert files never taken as evidence (``errata experts``: the file under evaluation).
    """

    classify: bool = True
    experts: tuple[str | Path, ...] = ()
    imagenet_x: bool | str | Path = False
    openworld: str | Path | None = None
    cooccurrence: str | Path | LabelSet | None = None
    proposals: str | tuple[str | Path, ...] | None = "auto"
    proposal_alpha: float = REJECTION_ALPHA
    spurious: str | SpuriousRule = DEFAULT_SPURIOUS.name
    taxonomy: str | Taxonomy = "errata"
    interval: str = "wilson"
    n_resamples: int = 1000
    seed: int = 0
    preset: str | None = None
    exclude_experts: tuple[str | Path, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.experts, (str, Path)):
            object.__setattr__(self, "experts", (self.experts,))
        else:
            object.__setattr__(self, "experts", tuple(self.experts))
        if self.proposals is None:
            object.__setattr__(self, "proposals", ())
        elif isinstance(self.proposals, Path) or (
            isinstance(self.proposals, str) and self.proposals != "auto"
        ):
            object.__setattr__(self, "proposals", (self.proposals,))
        elif not isinstance(self.proposals, str):
            object.__setattr__(self, "proposals", tuple(self.proposals))
        if not isinstance(self.proposal_alpha, float) or not 0 < self.proposal_alpha < 1:
            raise ErrataInputError(
                f"proposal_alpha: {self.proposal_alpha!r}; expected a probability between 0 and 1"
            )
        if not isinstance(self.spurious, SpuriousRule):
            object.__setattr__(
                self, "spurious", choice(self.spurious, SPURIOUS_RULES, keyword="spurious")
            )
        if not isinstance(self.n_resamples, int) or not 10 <= self.n_resamples <= MAX_RESAMPLES:
            raise ErrataInputError(
                f"n_resamples: {self.n_resamples!r}; expected a whole number from 10 to "
                f"{MAX_RESAMPLES:,}"
            )
        object.__setattr__(self, "interval", choice(self.interval, INTERVALS, keyword="interval"))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ErrataInputError(f"seed: {self.seed!r}; expected a whole number, 0 or more")
        if not isinstance(self.taxonomy, Taxonomy):
            object.__setattr__(
                self, "taxonomy", choice(self.taxonomy, TAXONOMIES, keyword="taxonomy")
            )
        object.__setattr__(self, "exclude_experts", tuple(self.exclude_experts))
        if self.preset is not None:
            object.__setattr__(self, "preset", choice(self.preset, PRESETS, keyword="preset"))
            self._apply_preset()

    def _apply_preset(self) -> None:
        """Check that no setting contradicts the preset, then set what it fixes."""
        bad = preset_clash(
            self.preset,
            taxonomy=self.taxonomy,
            proposals=self.proposals,
            experts=self.experts,
            imagenet_x=self.imagenet_x,
            cooccurrence=self.cooccurrence,
            spurious=self.spurious,
        )
        if bad:
            raise ErrataInputError(bad)
        object.__setattr__(self, "taxonomy", PRESETS[str(self.preset)]["taxonomy"])
        object.__setattr__(self, "proposals", ())
        object.__setattr__(self, "spurious", "published")  # co-occurrence alone, counts >= 2

    @property
    def expert_evidence(self) -> tuple[str | Path, ...]:
        """The expert files whose non-prototypical rows are evidence: those given, or under a
        preset the published ones in the data directory, never one of ``exclude_experts``."""
        files = self.experts if self.preset is None else preset_experts()
        if not self.exclude_experts:
            return files
        skip = {resolve_path(p).resolve() for p in self.exclude_experts}
        return tuple(f for f in files if resolve_path(f).resolve() not in skip)

    @property
    def spurious_rule(self) -> SpuriousRule:
        """The :class:`~errata.core.evidence.SpuriousRule` that ``spurious`` names."""
        if isinstance(self.spurious, SpuriousRule):
            return self.spurious
        return SPURIOUS_RULES[self.spurious]

    @property
    def scoring(self) -> ScoreOptions:
        return ScoreOptions(
            interval=self.interval,  # type: ignore[arg-type]
            n_resamples=self.n_resamples,
            seed=self.seed,
        )

    def record(self) -> dict[str, object]:
        """JSON-ready settings, for ``metrics.json`` / ``study.json``."""
        return {
            **({"preset": self.preset} if self.preset is not None else {}),
            "classify": self.classify,
            "experts": [str(p) for p in self.expert_evidence],
            "imagenet_x": str(self.imagenet_x) if self.imagenet_x else False,
            "openworld": None if self.openworld is None else str(self.openworld),
            "cooccurrence": PUBLISHED_COOCCURRENCE
            if self.preset is not None
            else None
            if self.cooccurrence is None
            else getattr(self.cooccurrence, "name", str(self.cooccurrence)),
            # resolved: "auto" records the files it found, so a study notices when they change
            "proposals": [str(p) for p in proposal_sources(self.proposals)],
            "proposal_alpha": self.proposal_alpha,
            "spurious": self.spurious_rule.name or "custom",
            "taxonomy": getattr(self.taxonomy, "name", self.taxonomy),
            "interval": self.interval,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
        }


def load_taxonomy(name: str = "errata") -> Taxonomy:
    """:func:`errata.taxonomy.load`, through a disk cache (:func:`errata.io.files.cached_arrays`)
    keyed by the package resources it is built from: parsing WordNet and the superclass file and
    computing the LCA table take a quarter of a second, loading the arrays a few milliseconds.
    The key holds the resources and the taxonomy package's code (errata's version is added by
    the cache itself), so a change to either builds the arrays again."""
    from importlib import resources as ir

    from errata import resources, taxonomy

    code = sorted(
        (f.name, f.read_bytes()) for f in ir.files(taxonomy).iterdir() if f.name.endswith(".py")
    )
    key = b"\0".join(
        [name.encode()] + [resources.read_bytes(r) for r in taxonomy.SOURCES] + [b for _, b in code]
    )

    def build() -> dict[str, np.ndarray]:
        t = taxonomy.load(name)
        return {
            "class_names": t.class_names,
            "overlap": t.overlap,
            "superclass_members": t.superclass_members,
            "superclass_names": t.superclass_names,
            "lca_height": t.lca_height,
            **{f"group:{k}": v for k, v in t.groups.items()},
        }

    a = cached_arrays(f"taxonomy-{name}", key, build)
    return Taxonomy(
        name=name,
        class_names=a["class_names"],
        overlap=a["overlap"],
        superclass_members=a["superclass_members"],
        superclass_names=a["superclass_names"],
        lca_height=a["lca_height"],
        groups={k.split(":", 1)[1]: v for k, v in a.items() if k.startswith("group:")},
    )


OPTION_KEYWORDS = (
    "classify",
    "experts",
    "imagenet_x",
    "openworld",
    "cooccurrence",
    "proposals",
    "spurious",
    "taxonomy",
    "interval",
    "n_resamples",
    "seed",
    "preset",
)  # the Options fields errata.analyze and errata.compare take as keywords (the CLI's flags)


def options_from(options: Options | None, given: dict[str, Any]) -> Options:
    """The :class:`Options` of a call that may give ``options`` and keywords of
    :data:`OPTION_KEYWORDS` (``given``: the call's arguments, e.g. its ``locals()``; only those
    keywords, and only those not None, count): the keywords on top of ``options``
    (or of the defaults). ``proposals="none"`` is no proposals. A keyword that contradicts a
    setting ``options`` changed from its default is an error naming both."""
    import dataclasses

    given = {k: v for k, v in given.items() if k in OPTION_KEYWORDS and v is not None}
    if given.get("proposals") in ("none", ["none"], ("none",)):
        given["proposals"] = ()
    if not given:
        return options or Options()
    if options is None:
        return Options(**given)
    default = Options()
    for key, value in given.items():
        mine = getattr(Options(**{key: value}), key)
        theirs = getattr(options, key)
        if key == "taxonomy" and options.preset is not None:
            theirs = "errata"  # the preset set it; the preset's own check judges the keyword
        if theirs != getattr(default, key) and theirs != mine:
            raise ErrataInputError(
                f"{key}={value!r} and options={type(options).__name__}({key}={theirs!r}) "
                f"disagree; give {key} one way"
            )
    fields = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    if options.preset is not None and "taxonomy" not in given:
        fields["taxonomy"] = default.taxonomy  # the preset sets it again
    return Options(**(fields | given))


def options_for(options: Options, dataset: str | D.Dataset | None) -> Options:
    """``options`` as they apply to a test set (:mod:`errata.core.datasets`): outside the
    validation set the co-occurrence counts come from ImageNet's own label sets (ReaL) unless
    another source is named — a test set's single labels hold no pairs —, and the evidence that
    exists for validation images only (the open-world bundle, ImageNet-X) is refused."""
    import dataclasses

    from errata.core import datasets as D

    ds = D.get(dataset)
    if ds.validation:
        return options
    if options.openworld is not None:
        raise ErrataInputError(
            f"{arg('openworld')}: the open-world bundle holds embeddings of ImageNet validation "
            f"images; it cannot judge {ds.title} images"
        )
    if options.imagenet_x:
        raise ErrataInputError(
            f"{arg('imagenet_x')}: ImageNet-X annotates ImageNet validation images only, not "
            f"{ds.title}"
        )
    if options.cooccurrence is None:
        return dataclasses.replace(options, cooccurrence="real")
    return options


def context(
    labels: LabelSet,
    options: Options = Options(),
    *,
    oov: OovStage | None = None,
    oov_name: str = "open-world model",
) -> Context:
    """Read the evidence ``options`` names and build the pipeline's context for ``labels``.

    The open-world stage is built by its own package from the bundle ``options.openworld``
    names (:func:`errata.openworld.pipeline.stage_for`) and passed in as ``oov``.
    """
    tax = (
        options.taxonomy
        if isinstance(options.taxonomy, Taxonomy)
        else load_taxonomy(options.taxonomy)
    )
    sources = proposal_sources(options.proposals)
    cooc = (
        published_cooccurrence(labels)
        if options.preset is not None
        else cooccurrence_source(options.cooccurrence, labels)
    )
    return make_context(
        labels,
        tax,
        cooccurrence=cooc,
        nonprototypical=nonprototypical(labels, options.expert_evidence, options.imagenet_x),
        oov=oov,
        oov_name=oov_name,
        rejections=rejections(sources, alpha=options.proposal_alpha) if sources else None,
        preset=options.preset,
        spurious=options.spurious_rule,
    )


def preset_experts() -> tuple[str, ...]:
    """The registry names of :data:`PRESET_EXPERTS` that are in the data directory."""
    from errata.io import data

    return tuple(n for n in PRESET_EXPERTS if data.is_present(n))


def published_cooccurrence(labels: LabelSet) -> Cooccurrence:
    """Co-occurrence evidence as the published pipeline counts it: pairs of labels in ReaL's
    label sets (as ReaL gives them: no original label added; empty sets carry none) of the
    validation images *outside* Shankar et al.'s set when that file is in the data directory,
    so that no evaluated image counts for itself; without it, ReaL's sets of all images, the
    image's own set left out (leave-one-out, by file name). Pairs count from 2 images, and the
    spurious stage only takes pairs that share no superclass."""
    from errata.io import data
    from errata.io.labels import load_labels, real

    r = real()
    keep = r.evaluated.copy()
    where = "all validation images, leave-one-out"
    if data.is_present("shankar"):
        shankar = load_labels("shankar")
        inside = r.positions(shankar.file_names)
        keep[inside[inside >= 0]] = False
        where = f"the {int(keep.sum()):,} validation images outside Shankar et al.'s set"
    sets = r.correct.keep_rows(keep)
    return Cooccurrence(
        name="ReaL (published)",
        counts=cooccurrence_counts(sets),
        sets=sets,
        file_names=r.file_names,
        min_count=PUBLISHED_MIN_COUNT,
        description=f"ReaL label sets of {where} (as published: Peychev et al. 2023)",
    )


def cooccurrence_source(value: str | Path | LabelSet | None, labels: LabelSet) -> Cooccurrence:
    """The co-occurrence counts: from ``value`` (a label set or its name/path), else ``labels``."""
    if value is None:
        return Cooccurrence.of(labels)
    from errata.io.labels import load_labels

    return Cooccurrence.of(value if isinstance(value, LabelSet) else load_labels(value))
