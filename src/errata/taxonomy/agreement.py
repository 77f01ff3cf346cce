"""How well the superclasses agree with expert judgements of real mistakes.

Vasudevan et al. (2022) sorted 378 mistakes of ViT-3B by hand (``vit3b_mistakes.json``). For a
mistake with prediction ``p`` on an image with labels ``L`` = (ReaL ∪ original) minus ``p``:
a good taxonomy puts ``p`` in a superclass with some label in ``L`` when the experts say
"Fine-grained error", and in none when they say "Spurious Correlation" or "Non-prototypical".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from errata import resources
from errata.exceptions import ErrataInputError
from errata.taxonomy.superclasses import same_superclass

FINE_GRAINED = ("Fine-grained error",)  # expert categories that should share a superclass
UNRELATED = ("Spurious Correlation", "Non-prototypical")  # ... that should share none


@dataclass(frozen=True)
class Agreement:
    """Shares of expert-categorised mistakes on which the superclasses agree.

    ``fine_grained_share``: of the fine-grained mistakes, the share whose prediction shares a
    superclass with a label; ``unrelated_share``: of spurious + non-prototypical ones, the share
    that shares none. ``disagreements`` lists the others, one dict per mistake.
    """

    fine_grained_share: float
    fine_grained_n: int
    unrelated_share: float
    unrelated_n: int
    per_category: dict[str, tuple[int, int]]  # category -> (sharing a superclass, total)
    disagreements: list[dict[str, object]] = field(default_factory=list)


def expert_agreement(mistakes: Mapping[str, Any], *, taxonomy: str = "errata") -> Agreement:
    """Score the superclasses of ``taxonomy`` against expert mistakes (dough-bagel schema).

    Parameters
    ----------
    mistakes : mapping
        The parsed mistake file, ``{file_name: {"top_prediction": int, "failure category": str,
        ...}}`` (read it with :func:`errata.io.files.read_json`: the taxonomy sits below the I/O
        layer and reads no user file).
    """
    if not isinstance(mistakes, Mapping):
        raise ErrataInputError(
            "expert mistakes: expected an object {file_name: {top_prediction, failure category}}"
        )
    indptr, indices = resources.real_labels()
    original = resources.validation_labels()
    same = same_superclass(taxonomy)
    cls = resources.classes()
    counts: dict[str, list[int]] = {}
    disagreements: list[dict[str, object]] = []
    for file_name, row in mistakes.items():
        try:
            n = int(str(file_name)[len(resources.VAL_PREFIX) :][:8]) - 1
            p = int(row["top_prediction"])
            category = str(row["failure category"])
        except (KeyError, ValueError, TypeError):
            raise ErrataInputError(
                f"expert mistakes: row {file_name!r}: expected a validation "
                "file name with 'top_prediction' and 'failure category'"
            ) from None
        labels = np.union1d(indices[indptr[n] : indptr[n + 1]], [original[n]])
        labels = labels[labels != p]
        shares = bool(same[p, labels].any())
        c = counts.setdefault(category, [0, 0])
        c[0] += shares
        c[1] += 1
        wrong = (category in FINE_GRAINED and not shares) or (category in UNRELATED and shares)
        if wrong:
            disagreements.append(
                {
                    "file_name": file_name,
                    "category": category,
                    "prediction": cls.label(p),
                    "labels": [cls.label(int(x)) for x in labels],
                }
            )
    fg = [counts.get(c, [0, 0]) for c in FINE_GRAINED]
    un = [counts.get(c, [0, 0]) for c in UNRELATED]
    fg_hit, fg_n = sum(x[0] for x in fg), sum(x[1] for x in fg)
    un_hit, un_n = sum(x[1] - x[0] for x in un), sum(x[1] for x in un)
    return Agreement(
        fine_grained_share=fg_hit / max(1, fg_n),
        fine_grained_n=fg_n,
        unrelated_share=un_hit / max(1, un_n),
        unrelated_n=un_n,
        per_category={k: (v[0], v[1]) for k, v in counts.items()},
        disagreements=disagreements,
    )
