"""One vocabulary for errata's categories and the experts' (Vasudevan et al. 2022), and the
per-category F1 and macro-F1 of the automated labels against the expert ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from errata.core import categories as K

NO_EXPERT = "model failure"  # the shared vocabulary's name for categories no expert uses

if TYPE_CHECKING:  # read through __getattr__, from the registry as it is when read
    # which automated categories agree with each expert category (:func:`agrees`)
    AGREES: dict[str, tuple[str, ...]]


def __getattr__(name: str) -> object:
    """:data:`AGREES`, built from the category registry when read, never frozen at import."""
    if name == "AGREES":
        return agrees()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def agrees() -> dict[str, tuple[str, ...]]:
    """``{expert category: errata categories that agree with it}``, from the category registry
    as it is now (:func:`errata.core.categories.expert_agreement_map`).

    >>> agrees()["Spurious Correlation"]
    ('spurious correlation',)
    """
    return K.expert_agreement_map()


def shared_vocabulary() -> tuple[dict[str, str], dict[str, str]]:
    """``(automated → shared, expert → shared)``: one vocabulary for both raters, so that
    agreement can be corrected for chance (Cohen's κ) and cross-tabulated.

    An expert category maps to the first expert category with the same agreeing automated
    categories ("Fine-grained with Multilabel Options" → "Fine-grained error"); an automated
    category to the first expert category it agrees with, or to ``model failure`` when it
    agrees with none. So the two labels of a row are equal exactly when the row agrees.

    >>> auto, expert = shared_vocabulary()
    >>> auto["overlapping classes"], expert["Fine-grained with Multilabel Options"]
    ('Fine-grained error', 'Fine-grained error')
    >>> auto["model failure"]
    'model failure'
    """
    auto, expert = _vocabulary()
    return dict(auto), dict(expert)


@K.per_state
def _vocabulary(t: K.Tables) -> tuple[dict[str, str], dict[str, str]]:
    """:func:`shared_vocabulary` of one state of the category registry."""
    agree_map = t.AGREES
    expert = {
        e: next(f for f, g in agree_map.items() if g == agree) for e, agree in agree_map.items()
    }
    auto = {
        c.name: next((expert[e] for e, agree in agree_map.items() if c.name in agree), NO_EXPERT)
        for c in t.ERRORS
    }
    return auto, expert


def explained_categories() -> tuple[str, ...]:
    """The expert categories of the shared vocabulary (:func:`shared_vocabulary`): every
    category the experts use, each naming an explanation of the mistake (they have no "model
    failure").

    >>> explained_categories()  # doctest: +NORMALIZE_WHITESPACE
    ('Fine-grained error', 'Fine-grained error with OOV', 'Spurious Correlation',
     'Non-prototypical')
    """
    _, expert = shared_vocabulary()
    return tuple(dict.fromkeys(expert.values()))


def f1_scores(
    automated: np.ndarray, expert: np.ndarray, categories: tuple[str, ...]
) -> dict[str, float]:
    """Per category, the F1 of the automated labels against the expert ones (shape ``(n,)``
    each, one vocabulary): ``2·both / (automated + expert)``, the harmonic mean of precision
    and recall, 0 when neither rater uses the category. Higher is better.

    >>> f1_scores(np.array(["a", "a", "b"]), np.array(["a", "b", "b"]), ("a", "b", "c"))
    {'a': 0.6666666666666666, 'b': 0.6666666666666666, 'c': 0.0}
    """
    a, e = np.asarray(automated), np.asarray(expert)
    out = {}
    for cat in categories:
        said, truth = int((a == cat).sum()), int((e == cat).sum())
        both = int(((a == cat) & (e == cat)).sum())
        out[cat] = 2 * both / (said + truth) if said + truth else 0.0
    return out


def macro_f1_score(
    automated: np.ndarray, expert: np.ndarray, categories: tuple[str, ...] | None = None
) -> float:
    """The F1 of each explained category (:func:`f1_scores`), averaged with equal weights.

    Unlike agreement, it is not raised by calling every error explained: a category called too
    often loses precision, so its F1 falls. Default categories: :func:`explained_categories`.

    >>> macro_f1_score(np.array(["a", "a", "b"]), np.array(["a", "b", "b"]), ("a", "b"))
    0.6666666666666666
    """
    cats = explained_categories() if categories is None else categories
    f1 = f1_scores(automated, expert, cats)
    return float(np.mean(list(f1.values()))) if f1 else float("nan")
