"""errata — tell an ImageNet classifier's real mistakes from the benchmark's noise.

The public API mirrors the command line::

    import errata
    result = errata.analyze("preds.npy", labels="real")
    result.metrics["top1"], result.metrics["real"]

Heavy modules are imported on first use, so ``import errata`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "analyze": ("errata.analysis", "analyze"),
    "Analysis": ("errata.analysis", "Analysis"),
    "load_labels": ("errata.labels", "load_labels"),
    "LabelSet": ("errata.labels", "LabelSet"),
    "load_predictions": ("errata.predictions", "load_predictions"),
    "Predictions": ("errata.predictions", "Predictions"),
    "ErrataInputError": ("errata.exceptions", "ErrataInputError"),
}

if TYPE_CHECKING:  # pragma: no cover
    from errata.analysis import Analysis, analyze  # noqa: F401
    from errata.exceptions import ErrataInputError  # noqa: F401
    from errata.labels import LabelSet, load_labels  # noqa: F401
    from errata.predictions import Predictions, load_predictions  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'errata' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
