"""Superclass-level evaluation of one model or a study (a shell over :mod:`errata.core.supersub`),
after "Superclassing ImageNet" (Wen et al. 2022).

For each model: superclass accuracy (the prediction shares a superclass with the true class)
and the share of its errors that stay **within** the true superclass or **cross** it, overall and
per superclass, under any taxonomy (``errata``, ``supersub10``, …). For a model with scores
(logits or probabilities), also **two-stage inference**: the superclass with the highest summed
probability, then the best class inside it — and what that does to top-1, ReaL / label accuracy,
MLA and every error category, by scoring the two-stage predictions with the same pipeline as
the flat ones. A top-1 file has no scores, so only the flat figures exist for it.

The true class of an image is its original label; on a taxonomy that covers part of ImageNet
(``supersub10``: 338 classes) only images of covered classes are in scope, for the flat and the
two-stage figures alike.
"""

from __future__ import annotations

from errata.supersub.result import OUTPUTS, VARIANTS, SuperSub
from errata.supersub.run import supersub

__all__ = ["OUTPUTS", "VARIANTS", "SuperSub", "supersub"]
