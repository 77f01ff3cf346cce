"""The result of :func:`errata.supersub.supersub`: the models' and superclasses' tables, the
summary, and how they are written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict

import numpy as np

from errata.core.evidence import Taxonomy
from errata.io import files
from errata.io.discover import FailedFile

if TYPE_CHECKING:
    import pandas as pd

Failed = FailedFile  # a file that could not be read: its "path" and one-line "error"
VARIANTS = ("flat", "two_stage")  # column prefixes: the model as given, and two-stage
OUTPUTS = ("models.parquet", "superclasses.parquet", "supersub.json")
FROM_STUDY = (  # the summary's note when the files without scores take the study's figures
    "ReaL / label accuracy and MLA of the files without scores: the "
    "study's own (models.parquet), the same label set over every image"
)


class GroupSettings(TypedDict):
    """What produced one test set's figures (``summary['settings'][dataset]``)."""

    labels: str
    order: str
    taxonomy: str
    pipeline_taxonomy: object  # as Options.record() writes them
    cooccurrence: object
    preset: NotRequired[object]
    outside: NotRequired[str]


class SuperclassSize(TypedDict):
    name: str
    classes: int


class Counts(TypedDict):
    models: int
    with_scores: int
    failed: int


class Summary(TypedDict):
    """``SuperSub.summary``: the taxonomy's superclasses and sizes, settings, counts."""

    taxonomy: str
    superclasses: list[SuperclassSize]
    covered_classes: int
    settings: dict[str, GroupSettings]
    from_study: NotRequired[str]
    counts: Counts


@dataclass
class SuperSub:
    """The result of :func:`supersub`.

    Attributes
    ----------
    taxonomy : str
    models : pandas.DataFrame
        One row per model: ``model``, ``dataset``, ``path``, ``scores`` (whether two-stage
        could run), then per variant (``flat_``, ``two_stage_``) the superclass figures
        (``images``, ``top1``, ``superclass_accuracy``, ``errors``, ``within``, ``across``,
        ``within_share``) and, with scores, the pipeline's (``pipeline_top1``, ``real`` or
        ``label_accuracy``, ``mla``, ``n_<category>``) — the flat ones on the same images.
    superclasses : pandas.DataFrame
        One row per (model, variant, superclass): ``images``, ``top1``,
        ``superclass_accuracy``, ``errors``, ``within``, ``across``, ``within_share``.
    summary : dict
        Settings, counts, the taxonomy's superclasses and sizes, failed files.
    """

    taxonomy: str
    models: pd.DataFrame
    superclasses: pd.DataFrame
    summary: Summary
    failed: list[Failed] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: the summary, each model's row and its superclass rows."""
        rows = self.models.to_dict(orient="records")
        per = {
            key: g.drop(columns=["model", "dataset"]).to_dict(orient="records")
            for key, g in self.superclasses.groupby(["model", "dataset"], sort=False)
        }
        for r in rows:
            r["superclasses"] = per.get((r["model"], r["dataset"]), [])
        return {**self.summary, "models": rows, "failed": self.failed}

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write ``models.parquet``, ``superclasses.parquet`` and ``supersub.json`` (the
        summary and the models' rows; the superclass rows are in the Parquet file) into ``out``
        as one unit (:func:`errata.io.files.atomic_folder`)."""
        out = Path(out)
        with files.atomic_folder(out, managed=OUTPUTS) as tmp:
            files.write_parquet(tmp / "models.parquet", self.models)
            files.write_parquet(tmp / "superclasses.parquet", self.superclasses)
            records = self.models.to_dict(orient="records")
            files.write_json(
                tmp / "supersub.json",
                {**self.summary, "models": records, "failed": self.failed},
            )
        return {k.split(".")[0]: out / k for k in OUTPUTS}


def _summary(
    tax: Taxonomy,
    tax_name: str,
    settings: dict[str, GroupSettings],
    from_study: bool,
    n_models: int,
    models: pd.DataFrame,
    failed: list[Failed],
) -> Summary:
    """``SuperSub.summary``: the taxonomy's superclasses and sizes, settings, counts."""
    members = np.asarray(tax.superclass_members, dtype=bool)
    names_s = np.asarray(tax.superclass_names, dtype=object)
    sizes = members.sum(axis=0)
    superclasses: list[SuperclassSize] = [
        {"name": str(n), "classes": int(k)} for n, k in zip(names_s.tolist(), sizes.tolist())
    ]
    covered = int(members.any(axis=1).sum())
    counts: Counts = {
        "models": n_models,
        "with_scores": int(models["scores"].sum()),
        "failed": len(failed),
    }
    if from_study:  # the keys in this order in supersub.json
        return {
            "taxonomy": tax_name,
            "superclasses": superclasses,
            "covered_classes": covered,
            "settings": settings,
            "from_study": FROM_STUDY,
            "counts": counts,
        }
    return {
        "taxonomy": tax_name,
        "superclasses": superclasses,
        "covered_classes": covered,
        "settings": settings,
        "counts": counts,
    }
