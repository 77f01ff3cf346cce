"""The study report's section among the published models: every validation model of the study
drawn on the published plots, each judged comparable on its own (a model that covers a subset of
the images has no comparable top-1), the share bands of all of them, and the open-world caveat
when the study ran without the fine-grained-OOV stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from errata.report import population as PR
from errata.resources import N_VAL

if TYPE_CHECKING:
    import pandas as pd

    from errata.core.population import Comparability, Figures

N_PLACED = 50  # models listed in the placement table (all are drawn)


def validation_settings(meta: Mapping[str, object]) -> dict[str, object]:
    """The settings of the study's validation models (format 3 keeps them per test set; an
    older manifest, one object)."""
    from errata.core.datasets import DEFAULT

    settings = meta.get("settings") or {}
    if not isinstance(settings, dict):
        return {}
    if isinstance(settings.get(DEFAULT), dict):  # format 3: settings per test set
        settings = settings[DEFAULT]
    return dict(settings)


def openworld_note(meta: Mapping[str, object]) -> str:
    """:func:`errata.experts.open_world_caveat` when the study's validation models ran without
    the fine-grained-OOV stage (counted with errata's default evidence, or the study's preset),
    else ``""``."""
    from errata.core.population import not_run
    from errata.experts import open_world_caveat
    from errata.io.evidence import Options

    settings = validation_settings(meta)
    if "n_fine_grained_oov" not in not_run(settings):
        return ""
    preset = settings.get("preset")
    return open_world_caveat(Options(preset=preset) if isinstance(preset, str) else None)


def population_section(models: pd.DataFrame, meta: Mapping[str, object]) -> PR.Section:
    """The section among the published models (:mod:`errata.report.population`): every model of
    the study drawn on the published plots, and whether each is comparable — judged per model
    (:func:`per_model_comparability`): a model that covers a subset of the images has no
    comparable top-1, the others keep theirs."""
    from errata.core.datasets import DEFAULT
    from errata.io.published_band import models_bands

    settings = validation_settings(meta)
    if "dataset" in models.columns:  # only the validation models stand beside the published
        models = models[models["dataset"] == DEFAULT]
    study, figures, note = per_model_comparability(models, settings)
    runs: list[PR.Run] = [
        (str(r["model"]), PR.run_values(r, settings), f)
        for r, f in zip(models.to_dict(orient="records"), figures, strict=True)
    ]
    out = PR.section(
        runs, study, band=PR.band_study(models_bands(models, settings)), n_placed=N_PLACED
    )
    out["per_model_note"] = note
    if "placement" in out and len(runs) > N_PLACED:
        out["placement_note"] = (
            f"showing {N_PLACED} of {len(runs):,} models (in study order); every model is drawn "
            'above, and all are in models.parquet (errata query STUDY "SELECT * FROM models")'
        )
    return out


def per_model_comparability(
    models: pd.DataFrame, settings: Mapping[str, object]
) -> tuple[Comparability, list[Figures], str]:
    """Whether the study's validation models stand beside the published ones, model by model:
    (the study's verdict for a model that covers the 50,000 images — or for none, when no model
    does —, each model's ``figures``, and a sentence on the models whose verdict differs: those
    that predict a subset, whose top-1 is not comparable)."""
    from errata.core.population import comparability

    col = "top1_images" if "top1_images" in models.columns else "images"
    if col not in models.columns or not len(models):
        verdict = comparability(settings, full_val=None)
        return verdict, [verdict["figures"]] * len(models), ""
    full = models[col].to_numpy() == N_VAL
    whole = comparability(settings, full_val=True)
    part = comparability(settings, full_val=False)
    verdict = whole if full.any() else part
    figures = [whole["figures"] if f else part["figures"] for f in full]
    if full.all() or not full.any():
        return verdict, figures, ""
    subset = models.loc[~full, "model"].astype(str).tolist()
    names = ", ".join(subset[:5]) + (f" and {len(subset) - 5:,} more" if len(subset) > 5 else "")
    note = (
        f"top-1 is comparable for {int(full.sum()):,} of the {len(full):,} models; the other "
        f"{len(subset):,} predict a subset of the 50,000 validation images ({names}), so their "
        "top-1 is not ranked among the published"
    )
    return verdict, figures, note


__all__ = ["N_PLACED", "openworld_note", "per_model_comparability", "population_section"]
