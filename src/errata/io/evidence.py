"""Evidence files (the edge): expert reviews, ImageNet-X factors, the open-world bundle, the
label set that co-occurrence counts come from, and the taxonomy — read here, once, and turned
into the arrays of :class:`errata.core.evidence.Context`.

:class:`Options` names what to read; :func:`context` reads it and returns the context that
:func:`errata.core.pipeline.classify` runs on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from errata.core.checks import INTERVALS, TAXONOMIES, choice
from errata.core.evidence import (
    DEFAULT_SPURIOUS,
    PUBLISHED_MIN_COUNT,
    REJECTION_ALPHA,
    SPURIOUS_RULES,
    Context,
    Cooccurrence,
    NonPrototypical,
    OovStage,
    Rejections,
    SpuriousRule,
    Taxonomy,
    cooccurrence_counts,
    make_context,
)
from errata.core.labelset import LabelSet
from errata.core.names import as_names
from errata.core.scoring import ScoreOptions
from errata.core.sparse import Csr
from errata.exceptions import ErrataInputError, arg, did_you_mean
from errata.io.checksums import sha256_of
from errata.io.files import cached_arrays, read_json
from errata.resources import N_CLASSES

MAX_RESAMPLES = 1_000_000  # bootstrap draws: 8 MB per figure and model; more is no better
EXPERT_CATEGORIES = (
    "Fine-grained error",
    "Fine-grained error with OOV",
    "Spurious Correlation",
    "Non-prototypical",
    "Fine-grained with Multilabel Options",
)  # the dough-bagel schema's failure categories (Vasudevan et al. 2022)
# ImageNet-X factors (Idrissi et al. 2022) that mark an image as non-prototypical for its class,
# most telling first. Calibrated on the ViT-3B expert rows (benchmarks/imagenet_x_calibration.py,
# in-sample): of the 16 factors, those whose presence raises the share of expert
# "Non-prototypical" rows at least 1.5-fold over the base rate, on at least 3 such rows.
# texture: 3 rows, lift 3.6; subcategory: 9 rows, lift 1.8; pattern: 15 rows, lift 1.7.
# (pose, the most common factor, is not: lift 0.95.)
IMAGENET_X_FACTORS = ("texture", "subcategory", "pattern")
IMAGENET_X_ALL_FACTORS = (
    "multiple_objects",
    "background",
    "color",
    "brighter",
    "darker",
    "style",
    "larger",
    "smaller",
    "object_blocking",
    "person_blocking",
    "partial_view",
    "pattern",
    "pose",
    "shape",
    "subcategory",
    "texture",
)  # the 16 factors of the annotation files


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


def preset_clash(preset: str | None, *, flags: dict[str, str] | None = None, **given: Any) -> str:
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
    defaults: dict[str, tuple[Any, ...]] = {
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

    def record(self) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------------------------
# readers


def resolve_path(value: str | Path) -> Path:
    """A path, or the data-directory path of a registry name (``vit3b-mistakes``)."""
    from errata.io import data

    if isinstance(value, str) and not Path(value).exists():
        name = data.registry_name(value)
        if name is not None:
            return data.path(name)
        close = did_you_mean(value, data.REGISTRY)
        if close:
            raise ErrataInputError(
                f"{value}: file not found, nor a registry name (errata data list){close}"
            )
    return Path(value)


def load_expert_file(path: str | Path) -> Any:
    """Read an expert file in the dough-bagel schema (Vasudevan et al. 2022); a registry name
    such as ``vit3b-mistakes`` is accepted too.

    Returns a DataFrame with columns ``file_name``, ``top_prediction``, ``category``,
    ``severity``. Schema: ``{file name: {"top_prediction": int, "failure category": str,
    "failure severity": "Minor"|"Borderline"|"Major"}}``.
    """
    import pandas as pd

    path = resolve_path(path)
    raw = read_json(path, what="an expert file in the dough-bagel schema")
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
        if isinstance(pred, bool) or not isinstance(pred, int) or not 0 <= pred < N_CLASSES:
            raise ErrataInputError(
                f"{path}: entry '{name}': top_prediction {pred!r} is not a class index 0-999"
            )
        rows.append(
            (name, pred, str(entry["failure category"]), str(entry.get("failure severity", "")))
        )
    return pd.DataFrame(rows, columns=["file_name", "top_prediction", "category", "severity"])


def load_imagenet_x(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(file_names (n,), factors (n, 16) bool)`` from an ImageNet-X annotation file
    (``imagenet_x_val_multi_factor.jsonl`` or ``…_top_factor.jsonl``): one JSON object per line
    with ``file_name`` and a 0/1 column per factor (:data:`IMAGENET_X_ALL_FACTORS`)."""
    import json

    path = Path(path)
    names: list[str] = []
    rows: list[list[bool]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ErrataInputError(f"{path}: cannot read ImageNet-X annotations ({exc})") from None
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise ErrataInputError(f"{path}: line {i + 1} is not JSON") from None
        if not isinstance(row, dict) or "file_name" not in row:
            raise ErrataInputError(f"{path}: line {i + 1} has no 'file_name'")
        names.append(str(row["file_name"]))
        rows.append([row.get(f) == 1 for f in IMAGENET_X_ALL_FACTORS])
    factors = np.array(rows, dtype=bool).reshape(len(rows), len(IMAGENET_X_ALL_FACTORS))
    return as_names(names), factors


def imagenet_x_path(value: bool | str | Path) -> Path:
    """The ImageNet-X annotations ``value`` names: a path as given; ``True``: the multi-factor
    file of the installed ``imagenet-x`` package (``imagenetx`` extra; its annotations are
    CC BY-NC 4.0), else the registry's top-factor file when it is in the data directory."""
    if value is not True:
        return Path(value)  # type: ignore[arg-type]
    from importlib import resources as ir
    from importlib.util import find_spec

    if find_spec("imagenet_x") is not None:
        return Path(
            str(ir.files("imagenet_x") / "annotations" / "imagenet_x_val_multi_factor.jsonl")
        )
    from errata.io import data

    if data.is_present("imagenet-x-val-top-factor"):
        return data.path("imagenet-x-val-top-factor")
    from errata.exceptions import MissingExtraError

    raise MissingExtraError("imagenetx", "imagenet_x")


def nonprototypical(
    labels: LabelSet,
    expert_files: tuple[str | Path, ...] = (),
    imagenet_x: bool | str | Path = False,
) -> NonPrototypical:
    """Non-prototypical evidence over ``labels``' images from expert files and ImageNet-X."""
    n = len(labels)
    source = np.full(n, -1, dtype=np.int16)
    from_x = np.zeros(n, dtype=bool)
    sources: list[str] = []
    for path in expert_files:
        experts = load_expert_file(path)
        names = experts.loc[experts["category"] == "Non-prototypical", "file_name"]
        rows = labels.positions(as_names(names.to_numpy(dtype=object)))
        rows = rows[rows >= 0]
        source[rows[source[rows] < 0]] = len(sources)
        sources.append(f"expert annotation ({resolve_path(path).name})")
    if imagenet_x:
        path = imagenet_x_path(imagenet_x)
        names, factors = load_imagenet_x(path)
        rows = labels.positions(names)
        factors = factors[rows >= 0]
        rows = rows[rows >= 0]
        free = source[rows] < 0
        for f in IMAGENET_X_FACTORS:  # most telling first: an image is named by its first
            has = factors[:, IMAGENET_X_ALL_FACTORS.index(f)]
            sel = rows[free & has]
            source[sel] = len(sources)
            from_x[sel] = True
            free &= ~has
            sources.append(f"ImageNet-X factor '{f}'")
    return NonPrototypical(source=source, sources=tuple(sources), imagenet_x=from_x)


def cooccurrence_source(value: str | Path | LabelSet | None, labels: LabelSet) -> Cooccurrence:
    """The co-occurrence counts: from ``value`` (a label set or its name/path), else ``labels``."""
    if value is None:
        return Cooccurrence.of(labels)
    from errata.io.labels import load_labels

    return Cooccurrence.of(value if isinstance(value, LabelSet) else load_labels(value))


PROPOSAL_SOURCES = ("real-raters", "shankar")  # registry names "auto" uses when present
DEFAULT_RATERS = "real-raters"  # of those, the one the default evidence is measured with


def load_rater_answers(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(file_names, label, rejected)`` per question of ReaL's raw rater data (``raters.npz``:
    ``tensor`` [raters, questions, 3] one-hot no/maybe/yes, ``info`` [questions, 2] file name
    and label). A question is rejected when most of the raters who answered it said no.

    The 85 × 184,962 × 3 tensor takes seconds to read; the three arrays derived from it are
    kept in errata's disk cache, keyed by the file's content.
    """
    import zipfile
    import zlib

    path = Path(path)
    try:
        key = bytes.fromhex(sha256_of(path))
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot read rater answers ({exc})") from None

    def build() -> dict[str, Any]:
        try:
            with np.load(path, allow_pickle=False) as z:
                if "tensor" not in z.files or "info" not in z.files:
                    raise ErrataInputError(
                        f"{path}: expected arrays 'tensor' (raters × questions × 3) and 'info' "
                        f"(questions × 2: file name, label); found {', '.join(z.files)}"
                    )
                tensor, info = z["tensor"], z["info"]
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise ErrataInputError(
                f"{path}: not a readable .npz file, truncated or corrupt ({exc})"
            ) from None
        if tensor.ndim != 3 or tensor.shape[2] != 3 or info.shape != (tensor.shape[1], 2):
            raise ErrataInputError(
                f"{path}: 'tensor' has shape {tensor.shape} and 'info' {info.shape}; expected "
                "(raters, questions, 3) and (questions, 2)"
            )
        votes = tensor.sum(axis=0)  # (questions, 3): no, maybe, yes
        try:
            label = info[:, 1].astype(np.int64)
        except ValueError:
            raise ErrataInputError(f"{path}: 'info' labels must be class indices") from None
        if label.size and (label.min() < 0 or label.max() >= N_CLASSES):
            raise ErrataInputError(f"{path}: 'info' labels must be class indices 0-999")
        return {
            "file_names": as_names(info[:, 0]),
            "label": label.astype(np.int16),
            "rejected": votes[:, 0] * 2 > votes.sum(axis=1),
        }

    a = cached_arrays("rater-answers", key, build)
    return a["file_names"], a["label"], a["rejected"]


def rejections(sources: tuple[str | Path, ...], *, alpha: float = REJECTION_ALPHA) -> Rejections:
    """Rejected proposals from ReaL rater files (``.npz``) and Shankar-schema files (``.json``,
    their ``wrong`` labels), merged per image by file name.

    Deriving the counts and thresholds takes most of a second; they are kept in errata's disk
    cache, keyed by the sources' content, ``alpha`` and errata's evidence code (and, as every
    cached derivation, its version and this module's code), so a study pays a few
    milliseconds."""
    import hashlib
    import inspect

    from errata.core import evidence as core_evidence

    paths = [resolve_path(v) for v in sources]
    digest = hashlib.sha256()
    for part in (repr(alpha), inspect.getsource(core_evidence)):
        digest.update(part.encode())
    for path in paths:
        try:
            digest.update(bytes.fromhex(sha256_of(path)))
        except OSError as exc:
            raise ErrataInputError(f"{path}: cannot read rater answers ({exc})") from None
        digest.update(path.suffix.encode())

    def build() -> dict[str, Any]:
        r = _rejections(tuple(paths), alpha)
        return {
            "name": np.array(r.name),
            "description": np.array(r.description),
            "file_names": r.file_names,
            "counts": r.counts,
            "expected": r.expected,
            "threshold": r.threshold,
            **{f"{k}_{f}": getattr(getattr(r, k), f) for k in _REJECTION_CSRS for f in _CSR},
        }

    a = cached_arrays("rejections", digest.digest(), build)
    return Rejections(
        name=str(a["name"]),
        file_names=a["file_names"],
        sets=Csr(a["sets_indptr"], a["sets_indices"]),
        rejected=Csr(a["rejected_indptr"], a["rejected_indices"]),
        unrejected=Csr(a["unrejected_indptr"], a["unrejected_indices"]),
        counts=a["counts"],
        expected=a["expected"],
        threshold=a["threshold"],
        alpha=alpha,
        description=str(a["description"]),
    )


_CSR = ("indptr", "indices")  # the arrays of a Csr, for the disk cache
_REJECTION_CSRS = ("sets", "rejected", "unrejected")  # the Csr fields of Rejections


def _rejections(sources: tuple[Path, ...], alpha: float) -> Rejections:
    from errata.core.names import NameIndex
    from errata.io.labels import real, shankar_wrong

    names_parts, set_parts, rej_parts, kept_parts, used = [], [], [], [], []
    for path in sources:
        if path.suffix == ".json":
            labels, names, wrong = shankar_wrong(path)
            rows = labels.positions(names)
            names_parts.append(names)
            set_parts.append(labels.evidence_sets.take(rows))
            rej_parts.append(wrong)
            kept_parts.append(Csr.empty(len(names)))  # its other answers are labels
            used.append(f"Shankar et al.'s wrong labels ({path.name})")
        else:
            q_names, q_label, q_rej = load_rater_answers(path)
            # ReaL ∪ original labels of the asked images; an empty ReaL set is no evidence
            asked = np.unique(q_names)
            rows = real().positions(asked)
            known = rows >= 0
            known[known] = real().evaluated[rows[known]]
            names, sets = asked[known], real().evidence_sets.take(rows[known])
            row = NameIndex.of(names).rows(q_names)
            keep = q_rej & (row >= 0)
            rejected = Csr.from_pairs(row[keep], q_label[keep], len(names))
            kept = ~q_rej & (row >= 0)
            names_parts.append(names)
            set_parts.append(sets)
            rej_parts.append(rejected)
            kept_parts.append(Csr.from_pairs(row[kept], q_label[kept], len(names)))
            used.append(f"ReaL raters' rejected proposals ({path.name})")
    all_names = np.concatenate(names_parts) if names_parts else np.array([], dtype=str)
    names = np.unique(all_names)
    index = NameIndex.of(names)

    def merged(parts: list[Csr]) -> Csr:
        rows = [index.rows(n)[p.row_ids] for n, p in zip(names_parts, parts)]
        cols = [p.indices.astype(np.int64) for p in parts]
        if not rows:
            return Csr.empty(len(names))
        return Csr.from_pairs(np.concatenate(rows), np.concatenate(cols), len(names))

    sets = merged(set_parts)
    rejected = merged(rej_parts)
    # a rejected proposal that is one of the image's labels is no evidence of another label
    other = ~sets.contains_at(rejected.row_ids, rejected.indices)
    rejected = Csr.from_pairs(rejected.row_ids[other], rejected.indices[other], len(names))
    # asked about and not rejected, and not a label: the image's own answer (SpuriousRule)
    unrejected = merged(kept_parts)
    other = ~sets.contains_at(unrejected.row_ids, unrejected.indices)
    other &= ~rejected.contains_at(unrejected.row_ids, unrejected.indices)
    unrejected = Csr.from_pairs(unrejected.row_ids[other], unrejected.indices[other], len(names))
    name = " + ".join("Shankar" if u.startswith("Shankar") else "ReaL raters" for u in used)
    return Rejections.of(
        name,
        names,
        sets,
        rejected,
        unrejected=unrejected,
        alpha=alpha,
        description=f"{'; '.join(used)}: pairs above chance at alpha {alpha}, leave-one-out",
    )


def proposal_sources(value: str | tuple[str | Path, ...] | None) -> tuple[str | Path, ...]:
    """The sources ``Options.proposals`` names (``"auto"``: those in the data directory)."""
    from errata.io import data

    if value == "auto":
        return tuple(n for n in PROPOSAL_SOURCES if data.is_present(n))
    return tuple(value or ())


def default_gaps(options: Options) -> list[str]:
    """What errata's default evidence lacks in this data directory, in words for the run's
    notes: the figures then differ from the defaults', and say so (never silently)."""
    from errata.io import data

    if not options.classify or options.proposals != "auto" or data.is_present(DEFAULT_RATERS):
        return []
    folder = data.data_dir()
    where = f"{folder} does not exist" if not folder.exists() else f"it is not in {folder}"
    return [
        f"rejected-proposal evidence not used: {DEFAULT_RATERS} ({data.entry(DEFAULT_RATERS).path})"
        f" is errata's default spurious-correlation evidence, and {where}; fewer errors are "
        f"spurious correlations than with the default (`errata data fetch {DEFAULT_RATERS}`, "
        "or --proposals none to make this the stated choice)"
    ]


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

    def build() -> dict[str, Any]:
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


def options_for(options: Options, dataset: Any) -> Options:
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
