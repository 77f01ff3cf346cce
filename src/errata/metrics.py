"""Layer 6 — metrics as pure numpy functions over whole arrays.

Every function takes *hits* (bool, shape ``(n,)`` for one model or ``(m, n)`` for a stack of
``m`` models) or the arrays that make them, and reduces over the last axis, so one call scores a
thousand models. Inputs are assumed valid: :func:`errata.analyze` validates once at the entry.

Names carry direction: every ``*_accuracy`` is higher-is-better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from errata.resources import N_CLASSES

CI_LEVEL = 0.95  # confidence level of bootstrap intervals
N_RESAMPLES = 1000  # bootstrap resamples


def label_hits(top1: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether each prediction is one of its image's labels.

    Parameters
    ----------
    top1 : int array, shape (n,) or (m, n)
        Predicted class per image (per model).
    labels : bool array, shape (n, 1000)
        Acceptable labels per image.

    Returns
    -------
    bool array, same shape as ``top1``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((2, 1000), bool); labels[0, 3] = labels[1, 7] = True
    >>> label_hits(np.array([3, 8]), labels).tolist()
    [True, False]
    """
    rows = np.arange(labels.shape[0])
    return labels[rows, top1]


def topk_hits(topk: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """Whether ``targets`` (shape (n,)) is among the first ``k`` columns of ``topk`` ((…, n, K))."""
    return (topk[..., :k] == targets[:, None]).any(axis=-1)


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


def bootstrap_ci(
    hits: np.ndarray,
    *,
    classes: np.ndarray | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    level: float = CI_LEVEL,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of an accuracy, for one model (``hits`` (n,)).

    Resampling binary outcomes with replacement only changes how many hits a resample holds, and
    that number is Binomial(n, observed accuracy); drawing it directly gives exactly the bootstrap
    distribution at the cost of ``n_resamples`` draws instead of ``n_resamples × n``. With
    ``classes`` the resampling is stratified by class and the class-averaged accuracy is
    bootstrapped (Binomial per class).
    """
    rng = np.random.default_rng(seed)
    hits = np.asarray(hits, dtype=bool)
    if hits.size == 0:
        return (float("nan"), float("nan"))
    if classes is None:
        n = hits.size
        stats = rng.binomial(n, hits.mean(), size=n_resamples) / n
    else:
        present, inverse, sizes = np.unique(classes, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=hits, minlength=len(present))
        draws = rng.binomial(
            sizes[None, :], (sums / sizes)[None, :], size=(n_resamples, len(present))
        )
        stats = (draws / sizes).mean(axis=1)
    tail = (1 - level) / 2
    lo, hi = np.quantile(stats, [tail, 1 - tail])
    return float(lo), float(hi)


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
