"""Agreement of the automated pipeline with expert reviewers (Vasudevan et al. 2022).

An expert file (dough-bagel schema) names, for each reviewed mistake, the model's top prediction,
the expert's failure category and its severity. :func:`expert_agreement` runs the pipeline on
exactly those images and predictions and cross-tabulates automated × expert category.

The expert file under evaluation is never used as evidence for the non-prototypical stage (that
would make agreement on those rows circular); other expert files may be passed as evidence.

One module per job: the shared vocabulary and F1 (:mod:`errata.experts.vocabulary`), the
agreement (:mod:`errata.experts.agreement`), what the open-world stage leaves to the others
(:mod:`errata.experts.limits`) and where the spurious rule departs from the published one
(:mod:`errata.experts.departure`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from errata.experts.agreement import (
    Agreement,
    AgreementSummary,
    CategoryFigures,
    ExpertFigures,
    expert_agreement,
)
from errata.experts.departure import RESNET50_SPURIOUS, Departure, spurious_departure
from errata.experts.limits import (
    OOV_EXPERT,
    OPENWORLD_DOCS,
    REVIEW,
    SPURIOUS_EXPERT,
    OpenWorldLimits,
    open_world_caveat,
    open_world_limits,
    open_world_note,
)
from errata.experts.vocabulary import (
    NO_EXPERT,
    agrees,
    explained_categories,
    f1_scores,
    macro_f1_score,
    shared_vocabulary,
)

if TYPE_CHECKING:  # read through __getattr__, from the category registry when read
    from errata.experts.vocabulary import AGREES  # noqa: F401


def __getattr__(name: str) -> object:
    """:data:`AGREES` (:func:`agrees`), built from the category registry when read."""
    if name == "AGREES":
        return agrees()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AGREES",
    "NO_EXPERT",
    "OOV_EXPERT",
    "OPENWORLD_DOCS",
    "RESNET50_SPURIOUS",
    "REVIEW",
    "SPURIOUS_EXPERT",
    "Agreement",
    "AgreementSummary",
    "CategoryFigures",
    "Departure",
    "ExpertFigures",
    "OpenWorldLimits",
    "agrees",
    "expert_agreement",
    "explained_categories",
    "f1_scores",
    "macro_f1_score",
    "open_world_caveat",
    "open_world_limits",
    "open_world_note",
    "shared_vocabulary",
    "spurious_departure",
]
