"""Label issues from model consensus (a shell over cleanlab): which (image, class) pairs the label
set probably lacks, and which images' label is probably wrong, ranked from a zoo's predictions.

The zoo's predictions become one matrix of predicted probabilities, ``pred_probs`` (n_images,
1000): per image, the mean over the models that predicted it of each model's probabilities
(softmax of its logits, or its probabilities as given) — a model with top-1 only counts as a
one-hot vote, the model as an annotator. cleanlab (Northcutt et al., "Confident Learning", JAIR
2021; the ``labelissues`` extra) then does the rest, with its default methods:

* **images whose label is probably wrong** (label sets with one label per image, such as the
  original labels): :func:`cleanlab.filter.find_label_issues` flags them by confident learning
  (per-class thresholds, prune by noise rate) and :func:`cleanlab.rank.get_label_quality_scores`
  (self-confidence) ranks every image, lowest quality first (ties: flagged first).
* **pairs the label set probably lacks**: every (image, class) that a model ranks (its top-1, or
  its top-5 when it gave scores) and the image's labels lack, ranked by
  :func:`cleanlab.multilabel_classification.rank.get_label_quality_scores_per_class` — the
  quality of the annotation "class absent", lowest first. With the default method
  (self-confidence) that quality is 1 − the ensemble's probability of the class: the pairs most
  of the zoo predicts come first.

What this can and cannot do (measured on the reference ResNet-50, see ``benchmarks/``): with one
model's top-1 only, ``pred_probs`` is one-hot, so cleanlab flags exactly the images where the model
disagrees with the label but every self-confidence is 0 — a flag without a ranking (ties are kept
in image order). A zoo's votes, or logits, give the ranking its information.
:mod:`cleanlab.multiannotator` was not used: its CROWDLAB scores need ``pred_probs`` from a model
besides the annotators' labels, and with models as the annotators the same predictions would be
counted twice.

:func:`label_issues` is the entry point (``errata label-issues``); with ``truth`` (e.g. ReaL), it
measures precision and recall at k of both rankings (:func:`precision_recall_at_k`).
"""

from __future__ import annotations

from errata.labelissues.ensemble import candidates, ensemble
from errata.labelissues.rankings import rank_images, rank_pairs
from errata.labelissues.run import OUTPUTS, LabelIssues, label_issues
from errata.labelissues.validation import K_DEFAULT, precision_recall_at_k, validate

__all__ = [
    "K_DEFAULT",
    "OUTPUTS",
    "LabelIssues",
    "candidates",
    "ensemble",
    "label_issues",
    "precision_recall_at_k",
    "rank_images",
    "rank_pairs",
    "validate",
]
