"""Metrics as pure numpy functions over whole arrays.

Every function takes *hits* (bool, shape ``(n,)`` for one model or ``(m, n)`` for a stack of
``m`` models) or counts made from them, and reduces over the last axis, so one call scores a
thousand models. Inputs are assumed valid: the public entry points validate once.

Names carry direction: every ``*_accuracy`` is higher-is-better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from errata.resources import N_CLASSES

CI_LEVEL = 0.95  # confidence level of the intervals
N_RESAMPLES = 1000  # bootstrap resamples


def topk_hits(topk: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """Whether ``targets`` (shape (n,)) is among the first ``k`` columns of ``topk`` ((…, n, K)).

    >>> topk_hits(np.array([[3, 1], [2, 5]]), np.array([1, 4]), 2).tolist()
    [True, False]
    """
    hits: np.ndarray = (topk[..., :k] == targets[:, None]).any(axis=-1)
    return hits


def accuracy(hits: np.ndarray, *, mask: np.ndarray | None = None) -> np.ndarray | float:
    """Mean of ``hits`` over the images in ``mask`` (all when None)."""
    if mask is not None:
        hits = hits[..., mask]
    out = hits.mean(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def per_class_accuracy(
    hits: np.ndarray, classes: np.ndarray, *, mask: np.ndarray | None = None
) -> np.ndarray:
    """Accuracy per class, ``(1000,)`` or ``(m, 1000)``; NaN for classes with no image.

    ``classes`` (n,) is each image's class for grouping (the original label).
    """
    if mask is not None:
        hits, classes = hits[..., mask], classes[mask]
    order = np.argsort(classes, kind="stable")
    sorted_classes = classes[order]
    present, starts, sizes = np.unique(sorted_classes, return_index=True, return_counts=True)
    sums = np.add.reduceat(hits[..., order].astype(np.int32), starts, axis=-1)
    out = np.full(hits.shape[:-1] + (N_CLASSES,), np.nan)
    out[..., present] = sums / sizes
    return out


def class_averaged_accuracy(
    hits: np.ndarray, classes: np.ndarray, *, mask: np.ndarray | None = None
) -> np.ndarray | float:
    """Accuracy averaged over classes (each class present weighs the same), as in Shankar et al.'s
    multi-label accuracy."""
    out = np.nanmean(per_class_accuracy(hits, classes, mask=mask), axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def ratio(hits: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``hits / n`` element-wise, NaN where ``n`` is 0."""
    hits = np.asarray(hits, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, hits / np.where(n > 0, n, 1), np.nan)


def class_average(hits_c: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """Class-averaged accuracy from per-class counts ``(…, C)``: the mean over classes with at
    least one image (NaN when none has)."""
    acc = ratio(hits_c, n_c)
    present = n_c > 0
    k = present.sum(axis=-1)
    total = np.where(present, acc, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, total / np.maximum(k, 1), np.nan)


def bootstrap_interval(
    hits: np.ndarray | int,
    n: np.ndarray | int,
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    level: float = CI_LEVEL,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of an accuracy from its counts, per model.

    Resampling ``n`` binary outcomes with replacement only changes how many hits a resample
    holds, and that number is Binomial(n, hits / n): drawing it directly gives exactly the
    bootstrap distribution for ``n_resamples`` draws instead of ``n_resamples × n``. Each model
    gets its own generator seeded with ``seed``, so a model's interval is the same alone or in a
    study.

    Returns ``(lo, hi)``, arrays of the shape of ``hits`` (NaN where ``n`` is 0).
    """
    hits_a = np.atleast_1d(np.asarray(hits, dtype=np.int64))
    n_a = np.atleast_1d(np.asarray(n, dtype=np.int64))
    lo = np.full(hits_a.shape, np.nan)
    hi = np.full(hits_a.shape, np.nan)
    tail = (1 - level) / 2
    for j in np.flatnonzero(n_a > 0).tolist():  # one generator per model, vectorised draws
        rng = np.random.default_rng(seed)
        draws = rng.binomial(n_a[j], hits_a[j] / n_a[j], size=n_resamples) / n_a[j]
        lo[j], hi[j] = np.quantile(draws, [tail, 1 - tail])
    return lo, hi


def _z(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson_interval(
    hits: np.ndarray | int, n: np.ndarray | int, *, level: float = CI_LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of an accuracy ``hits / n``, element-wise (every model at once).

    Right for small ``n`` and for accuracies near 0 or 1, where a bootstrap collapses (0 of 8
    correct: the bootstrap says 0 – 0, Wilson 0 – 32 %); for large ``n`` it equals the
    bootstrap to the second decimal. NaN where ``n`` is 0.

    >>> lo, hi = wilson_interval(0, 8)
    >>> float(lo[0]), round(float(hi[0]), 3)
    (0.0, 0.324)
    """
    h = np.atleast_1d(np.asarray(hits, dtype=np.float64))
    m = np.atleast_1d(np.asarray(n, dtype=np.float64))
    z2 = _z(level) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        p = h / m
        centre = (p + z2 / (2 * m)) / (1 + z2 / m)
        half = np.sqrt(p * (1 - p) / m + z2 / (4 * m * m)) * np.sqrt(z2) / (1 + z2 / m)
    lo = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi


def stratified_interval(
    hits_c: np.ndarray, n_c: np.ndarray, *, level: float = CI_LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of a class-averaged accuracy (MLA), for every model at once.

    Each class's accuracy is an independent binomial proportion, so the class average has
    variance ``Σ var_c / k²`` over the ``k`` classes present, and as a mean of many terms it is
    close to normal. Each ``var_c`` is taken at the Agresti–Coull centre
    ``(h_c + z²/2) / (n_c + z²)`` rather than at ``h_c / n_c``: a class with one image, or all
    right, still has the uncertainty its few images leave (at ``h_c / n_c`` its variance would
    be 0, and a label set of one image per class would get a zero-width interval). With
    hundreds of images per class this equals the stratified bootstrap's closed form. Counts
    have shape ``(…, C)``.
    """
    z = _z(level)
    present = n_c > 0
    k = present.sum(axis=-1)
    mean = class_average(hits_c, n_c)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_safe = np.where(present, n_c, 1).astype(np.float64)
        p_adj = (np.asarray(hits_c, dtype=np.float64) + z * z / 2) / (n_safe + z * z)
        var_c = np.where(present, p_adj * (1 - p_adj) / n_safe, 0.0)
        sd = np.sqrt(var_c.sum(axis=-1)) / np.maximum(k, 1)
    return np.clip(mean - z * sd, 0.0, 1.0), np.clip(mean + z * sd, 0.0, 1.0)


@dataclass(frozen=True)
class MetricInfo:
    """Metadata of one headline metric (what tables and reports show)."""

    title: str
    higher_is_better: bool
    description: str


METRICS: dict[str, MetricInfo] = {
    "top1": MetricInfo("top-1", True, "accuracy of the top prediction against the original label"),
    "top5": MetricInfo("top-5", True, "original label among the five best predictions"),
    "real": MetricInfo(
        "ReaL accuracy",
        True,
        "top prediction in the ReaL label set, over images with a non-empty set",
    ),
    "label_accuracy": MetricInfo(
        "multi-label accuracy (per image)",
        True,
        "top prediction in correct ∪ unclear, averaged over images",
    ),
    "mla": MetricInfo(
        "MLA",
        True,
        "top prediction in correct ∪ unclear, problematic images "
        "excluded, averaged per class (Shankar et al. 2020)",
    ),
    "imagenet_m": MetricInfo(
        "ImageNet-M", True, "of the 68 ImageNet-M images, how many are correct"
    ),
}


def cohen_kappa_score(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's κ of two raters' categorical labels of the same items (shape ``(n,)`` each):
    agreement corrected for the agreement their label frequencies give by chance,
    ``(p_o − p_e) / (1 − p_e)``; 1 is perfect, 0 is chance. Higher is better.

    When both raters use one and the same category throughout, ``p_e`` = 1 and κ is defined
    as 1 (full agreement).

    >>> round(cohen_kappa_score(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 0])), 3)
    0.5
    >>> cohen_kappa_score(np.array(["x", "y"]), np.array(["y", "x"]))
    -1.0
    """
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0:
        return float("nan")
    cats, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    ca, cb = codes[: len(a)], codes[len(a) :]
    k = len(cats)
    table = np.bincount(ca * k + cb, minlength=k * k).reshape(k, k) / len(a)
    p_o = float(np.trace(table))
    p_e = float(table.sum(axis=1) @ table.sum(axis=0))
    return 1.0 if p_e >= 1.0 else (p_o - p_e) / (1.0 - p_e)
