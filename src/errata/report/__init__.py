"""Reports (a shell): self-contained HTML pages (plots inline as SVG, tables sortable and
searchable by a small inline script, no network) for one model, a study of many, and the diff of
two; every plot can also be exported as SVG and PNG for papers.

* :func:`model_report` — one :class:`~errata.analysis.Analysis` (``errata analyze --report``);
* :func:`study_report` — a :class:`~errata.study.Study` or its folder (``errata compare
  --report``);
* :func:`model_diff` and :func:`diff_report` — which errors model B fixes and introduces relative
  to model A, and how categories move (``errata diff``).

Submodules are imported on first use, so ``import errata.report`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from errata.report.diff import diff_report, model_diff
    from errata.report.model import model_report
    from errata.report.study import study_report

_LAZY = {
    "model_report": "errata.report.model",
    "study_report": "errata.report.study",
    "model_diff": "errata.report.diff",
    "diff_report": "errata.report.diff",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'errata.report' has no attribute {name!r}")


__all__ = ["model_report", "study_report", "model_diff", "diff_report"]  # the names of _LAZY
