"""errata — tell an ImageNet classifier's real mistakes from the benchmark's noise.

The public API mirrors the command line::

    import errata
    result = errata.analyze("preds.npy", labels="real")
    result.metrics["top1"], result.metrics["real"]
    study = errata.compare(["runs/"], out="study/", options=errata.Options(experts=("x.json",)))

Layers, top to bottom (each imports only those below it; the import-linter contract in
``pyproject.toml`` is checked by ``lint-imports``, which ``tests/test_lint.py`` runs): ``cli/``;
``report/``, ``review/``, ``predict/``; ``experts.py``, ``labelissues/``, ``supersub/``,
``headline.py``; ``study/``; ``analysis.py``; ``openworld/``; ``io/``; ``taxonomy/``; ``core/``;
``resources/``.
What each holds, the category registry and the data flow of one ``analyze`` and one
``compare``: ``docs/architecture.md``.

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
