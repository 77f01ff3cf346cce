"""errata — tell an ImageNet classifier's real mistakes from the benchmark's noise.

The public API mirrors the command line::

    import errata
    result = errata.analyze("preds.npy", labels="real")
    result.metrics["top1"], result.metrics["real"]
    study = errata.compare(["runs/"], out="study/", options=errata.Options(experts=("x.json",)))

Layers (each imports only those above it; ``tests/test_layers.py`` checks):

==================  ===========================================================================
``resources/``      facts generated into the package (classes, validation labels, ReaL, WordNet)
``core/``           the pure core: arrays in, arrays out — label sets, names and alignment,
                    categories, stages, pipeline, metrics, scoring. Reads no file.
``taxonomy/``       the class hierarchy from the package facts, as ``core`` arrays
``io/``             the edge: data registry, label and prediction loaders, evidence files,
                    atomic output files and folders, Arrow tables
``analysis.py``,    shells over the core: one model, a study of many, agreement with experts,
``study.py``,       label issues from model consensus (cleanlab, the ``labelissues`` extra),
``experts.py``,     superclass-level evaluation (Super-Sub)
``labelissues.py``,
``supersub.py``
``report/`` …       reports, review app, open-world stage, batch prediction
``cli/``            the command line
==================  ===========================================================================

Heavy modules are imported on first use, so ``import errata`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "analyze": ("errata.analysis", "analyze"),
    "Analysis": ("errata.analysis", "Analysis"),
    "compare": ("errata.study", "compare"),
    "Study": ("errata.study", "Study"),
    "query": ("errata.study", "query"),
    "label_issues": ("errata.labelissues", "label_issues"),
    "population": ("errata.io.population", "population"),
    "supersub": ("errata.supersub", "supersub"),
    "headline_table": ("errata.headline", "headline_table"),
    "SuperSub": ("errata.supersub", "SuperSub"),
    "Options": ("errata.io.evidence", "Options"),
    "load_labels": ("errata.io.labels", "load_labels"),
    "LabelSet": ("errata.core.labelset", "LabelSet"),
    "load_predictions": ("errata.io.predictions", "load_predictions"),
    "Predictions": ("errata.io.predictions", "Predictions"),
    "CATEGORIES": ("errata.core.categories", "CATEGORIES"),
    "ErrataInputError": ("errata.exceptions", "ErrataInputError"),
}

if TYPE_CHECKING:  # pragma: no cover
    from errata.analysis import Analysis, analyze  # noqa: F401
    from errata.core.categories import CATEGORIES  # noqa: F401
    from errata.core.labelset import LabelSet  # noqa: F401
    from errata.exceptions import ErrataInputError  # noqa: F401
    from errata.headline import headline_table  # noqa: F401
    from errata.io.evidence import Options  # noqa: F401
    from errata.io.labels import load_labels  # noqa: F401
    from errata.io.population import population  # noqa: F401
    from errata.io.predictions import Predictions, load_predictions  # noqa: F401
    from errata.labelissues import label_issues  # noqa: F401
    from errata.study import Study, compare, query  # noqa: F401
    from errata.supersub import SuperSub, supersub  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'errata' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]


def __dir__() -> list[str]:
    """The public names (what ``__all__`` lists), for ``dir(errata)`` and tab completion."""
    return sorted(__all__)
