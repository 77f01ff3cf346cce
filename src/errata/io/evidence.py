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

from errata.core.evidence import (
    Context,
    Cooccurrence,
    NonPrototypical,
    OovStage,
    Taxonomy,
    make_context,
)
from errata.core.labelset import LabelSet
from errata.core.names import as_names
from errata.core.scoring import ScoreOptions
from errata.exceptions import ErrataInputError
from errata.io.files import cached_arrays, read_json
from errata.resources import N_CLASSES

EXPERT_CATEGORIES = (
    "Fine-grained error",
    "Fine-grained error with OOV",
    "Spurious Correlation",
    "Non-prototypical",
    "Fine-grained with Multilabel Options",
)  # the dough-bagel schema's failure categories (Vasudevan et al. 2022)
EXPERT_SEVERITIES = ("Minor", "Borderline", "Major")
# ImageNet-X top factors that make an image non-prototypical for its class
IMAGENET_X_FACTORS = ("pose", "partial_view", "style", "pattern", "texture", "subcategory")


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
        Also use ImageNet-X top factors (``True``: the registry file; a path: that file).
    openworld : path, optional
        A bundle of cached CLIP arrays for the fine-grained OOV stage (``openworld`` extra).
    cooccurrence : str or path, optional
        The label set that co-occurrence counts come from (default: the one being scored).
    taxonomy : str or Taxonomy
        Which taxonomy names the superclasses (``errata``), or the arrays of one (tests and
        experiments plant their own).
    interval : {"wilson", "bootstrap"}
        The 95 % interval of per-image accuracies: Wilson score (right for any number of
        images) or the percentile bootstrap (``n_resamples`` draws, ``seed``). Class-averaged
        accuracies always use the closed form of :func:`errata.core.metrics.stratified_interval`.
    n_resamples, seed : int
        Bootstrap settings.
    """

    classify: bool = True
    experts: tuple[str | Path, ...] = ()
    imagenet_x: bool | str | Path = False
    openworld: str | Path | None = None
    cooccurrence: str | Path | LabelSet | None = None
    taxonomy: str | Taxonomy = "errata"
    interval: str = "wilson"
    n_resamples: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.experts, (str, Path)):
            object.__setattr__(self, "experts", (self.experts,))
        else:
            object.__setattr__(self, "experts", tuple(self.experts))
        if not isinstance(self.n_resamples, int) or self.n_resamples < 10:
            raise ErrataInputError(
                f"n_resamples: {self.n_resamples!r}; expected a whole number of at least 10"
            )
        if self.interval not in ("wilson", "bootstrap"):
            raise ErrataInputError(f"interval: '{self.interval}' is not one of wilson, bootstrap")
        if not isinstance(self.seed, int):
            raise ErrataInputError(f"seed: {self.seed!r}; expected a whole number")
        from errata import taxonomy

        if not isinstance(self.taxonomy, Taxonomy) and self.taxonomy not in taxonomy.TAXONOMIES:
            raise ErrataInputError(
                f"taxonomy: '{self.taxonomy}' is not one of {', '.join(taxonomy.TAXONOMIES)}"
            )

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
            "classify": self.classify,
            "experts": [str(p) for p in self.experts],
            "imagenet_x": str(self.imagenet_x) if self.imagenet_x else False,
            "openworld": None if self.openworld is None else str(self.openworld),
            "cooccurrence": None
            if self.cooccurrence is None
            else getattr(self.cooccurrence, "name", str(self.cooccurrence)),
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

    if isinstance(value, str) and value in data.REGISTRY and not Path(value).exists():
        return data.path(value)
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
    """(file names, top factor) from ImageNet-X's ``imagenet_x_val_top_factor.jsonl``.

    Each line holds ``file_name`` and one 0/1 column per factor; the factor set to 1 is the
    image's top factor (the first one when several are set).
    """
    import json

    path = Path(path)
    names, factors = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
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
        names.append(str(row["file_name"]))
        factors.append(top)
    return as_names(names), np.array(factors, dtype=object)


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
        from errata.io import data

        path = data.path("imagenet-x-val-top-factor") if imagenet_x is True else Path(imagenet_x)
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
    return NonPrototypical(source=source, sources=tuple(sources), imagenet_x=from_x)


def cooccurrence_source(value: str | Path | LabelSet | None, labels: LabelSet) -> Cooccurrence:
    """The co-occurrence counts: from ``value`` (a label set or its name/path), else ``labels``."""
    if value is None:
        return Cooccurrence.of(labels)
    from errata.io.labels import load_labels

    return Cooccurrence.of(value if isinstance(value, LabelSet) else load_labels(value))


def load_taxonomy(name: str = "errata") -> Taxonomy:
    """:func:`errata.taxonomy.load`, through a disk cache (:func:`errata.io.files.cached_arrays`)
    keyed by the package resources it is built from: parsing WordNet and the superclass file and
    computing the LCA table take a quarter of a second, loading the arrays a few milliseconds.
    The key holds the resources and the taxonomy package's code, so a change to either builds
    the arrays again."""
    from importlib import resources as ir

    from errata import __version__, resources, taxonomy

    code = sorted(
        (f.name, f.read_bytes()) for f in ir.files(taxonomy).iterdir() if f.name.endswith(".py")
    )
    key = b"\0".join(
        [name.encode(), __version__.encode()]
        + [resources.read_bytes(r) for r in taxonomy.SOURCES]
        + [b for _, b in code]
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
            f"--openworld: the open-world bundle holds embeddings of ImageNet validation images; "
            f"it cannot judge {ds.title} images"
        )
    if options.imagenet_x:
        raise ErrataInputError(
            f"--imagenet-x: ImageNet-X annotates ImageNet validation images only, not {ds.title}"
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
    return make_context(
        labels,
        tax,
        cooccurrence=cooccurrence_source(options.cooccurrence, labels),
        nonprototypical=nonprototypical(labels, options.experts, options.imagenet_x),
        oov=oov,
        oov_name=oov_name,
    )
