"""Batch prediction (a shell): timm / torchvision models over an image folder, for one model or
a zoo. Optional extra ``imagenet-errata[predict]`` (timm, torchvision, torch; Ray for clusters).

Output, one file per model, ``<out>/<model>.npz`` (what
:func:`errata.io.predictions.load_predictions` reads):

=================  ==================================================================
``file_names``     (n,) str: image base names, ImageFolder order
``topk``           (n, 5) int16: the five highest-scoring classes, best first
``logits``         (n, 1000) float16, only with ``logits=True``
``model``          str: the model name; ``weights``: where the weights came from
``skipped_file_name``, ``skipped_reason``: images that could not be decoded
=================  ==================================================================

Work is cut into shards of images, each written atomically under ``<out>/.<model>.shards/`` and
skipped when present, so an interrupted run resumes; the model file appears only when every shard
is done. With Ray, (model, shard) pairs are tasks spread over the cluster.

Other test sets (``dataset=``): images are named by their class path (``n01498041/x.jpg``), and
on ImageNet-A/-R the ranking is restricted to the 200 classes (the logits stay as the model
gave them).

**Super-Sub** (:class:`SuperSubSpec`, ``errata predict --supersub spec.toml``): a superclass
model (one output per superclass of a taxonomy) and one specialist per superclass (one output per
class of that superclass, in class-index order), from local checkpoints, run as one composite
model: the superclass model chooses the superclass, its specialist the class
(:func:`errata.core.supersub.compose`). Its file holds ``topk`` (the specialist's ranking of the
chosen superclass first) and, with ``logits=True``, ``probs`` (the composite probability
``Σ_s p(s) p_s(c)``, float16) and ``superclass`` (the chosen one). The specialists see the
superclass model's preprocessing.
"""

from __future__ import annotations

from errata.predict.run import predict
from errata.predict.shards import load_model, run_shard
from errata.predict.spec import (
    EXTRA,
    SHARD_SIZE,
    TOPK,
    ModelSpec,
    PredictReport,
    SuperSubSpec,
    load_supersub_spec,
    resolve_models,
)

__all__ = [
    "EXTRA",
    "SHARD_SIZE",
    "TOPK",
    "ModelSpec",
    "SuperSubSpec",
    "load_supersub_spec",
    "PredictReport",
    "load_model",
    "predict",
    "resolve_models",
    "run_shard",
]
