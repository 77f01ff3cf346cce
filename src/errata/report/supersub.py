"""The Super-Sub page (``errata supersub --report``): superclass accuracy and errors within vs
across superclasses, per model and per superclass, and — for models with scores — what two-stage
inference does to accuracy and to every error category. One self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.core import categories as K
from errata.report import _render as R

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from errata.supersub import SuperSub

COLUMNS = (  # (key suffix, title, type) of the models table, per variant
    ("images", "images", "num"),
    ("top1", "top-1", "pct"),
    ("superclass_accuracy", "superclass acc.", "pct"),
    ("errors", "errors", "num"),
    ("within_share", "within", "pct"),
    ("across", "across", "num"),
)


def within_figure(per: pd.DataFrame, title: str) -> Figure:
    """Per superclass: the share of errors within the true superclass, flat and two-stage."""
    names = per.loc[per["variant"] == "flat", "superclass"].tolist()
    fig, ax = R.figure(6.4, 0.22 * len(names) + 1.0)
    y = np.arange(len(names))
    variants = list(dict.fromkeys(per["variant"]))
    height = 0.8 / len(variants)
    colors = {"flat": "#0072B2", "two_stage": "#E69F00"}
    for i, v in enumerate(variants):
        share = per.loc[per["variant"] == v, "within_share"].to_numpy(dtype=float)
        ax.barh(
            y + i * height,
            np.nan_to_num(share),
            height,
            color=colors.get(v, "#777"),
            label=v.replace("_", "-"),
        )
    ax.set_yticks(y + height * (len(variants) - 1) / 2, [R.short(n, 28) for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the superclass's errors whose prediction stays inside it")
    ax.set_title(title, loc="left")
    if len(variants) > 1:
        ax.legend(loc="lower right")
    return fig


def study_figure(models: pd.DataFrame) -> Figure:
    """Across models: the share of errors within the true superclass against top-1."""
    fig, ax = R.figure(6.4, 3.6)
    ax.scatter(
        models["flat_top1"], models["flat_within_share"], s=14, color="#0072B2", label="flat"
    )
    two = models[models["scores"]]
    if len(two):
        ax.scatter(
            two["two_stage_top1"],
            two["two_stage_within_share"],
            s=14,
            color="#E69F00",
            label="two-stage",
        )
    ax.set_xlabel("top-1 (images in scope)")
    ax.set_ylabel("errors within the true superclass")
    ax.legend(loc="lower right")
    return fig


def supersub_report(result: SuperSub, path: str | Path) -> dict[str, Path]:
    """Write :class:`~errata.supersub.SuperSub` as one self-contained HTML page."""
    from markupsafe import Markup

    import errata

    models, per = result.models, result.superclasses
    figs: dict[str, Figure] = {}
    first = models.iloc[0]
    sel = per[(per["model"] == first["model"]) & (per["dataset"] == first["dataset"])]
    figs["within"] = within_figure(sel[sel["images"] > 0], f"{first['model']}: per superclass")
    if len(models) > 1:
        figs["models"] = study_figure(models)
    columns: list[R.Column] = [
        {"key": "model", "title": "model", "type": "text"},
        {"key": "dataset", "title": "dataset", "type": "text", "filter": True},
        {"key": "variant", "title": "variant", "type": "text", "filter": True},
    ]
    columns += [{"key": k, "title": t, "type": ty, "digits": 2} for k, t, ty in COLUMNS]
    acc = "real" if "flat_pipeline_real" in models.columns else "label_accuracy"
    pipeline = "two_stage_pipeline_top1" in models.columns
    if pipeline:
        columns += [
            {"key": "acc", "title": "ReaL" if acc == "real" else "labels", "type": "pct"},
            {"key": "mla", "title": "MLA", "type": "pct"},
        ]
        columns += [
            {"key": f"n_{c.key}", "title": c.name, "type": "num"}
            for c in K.ERRORS
            if f"flat_n_{c.key}" in models.columns
        ]
    rows: list[list[R.Cell]] = []
    for _, r in models.iterrows():
        for v in ("flat", "two_stage") if r["scores"] else ("flat",):
            row = [r["model"], r["dataset"], v.replace("_", "-")]
            row += [R.cell(r[f"{v}_{k}"]) for k, _, _ in COLUMNS]
            if pipeline:
                row += [R.cell(r.get(f"{v}_pipeline_{acc}")), R.cell(r.get(f"{v}_pipeline_mla"))]
                row += [
                    R.cell(r.get(f"{v}_n_{c.key}"))
                    for c in K.ERRORS
                    if f"flat_n_{c.key}" in models.columns
                ]
            rows.append(row)
    per_cols: list[R.Column] = [
        {"key": "model", "title": "model", "type": "text"},
        {"key": "variant", "title": "variant", "type": "text", "filter": True},
        {"key": "superclass", "title": "superclass", "type": "text", "filter": True},
    ]
    per_cols += [{"key": k, "title": t, "type": ty, "digits": 2} for k, t, ty in COLUMNS]
    per_rows: list[list[R.Cell]] = [
        [r["model"], r["variant"].replace("_", "-"), r["superclass"]]
        + [R.cell(r[k]) for k, _, _ in COLUMNS]
        for _, r in per[per["images"] > 0].iterrows()
    ]
    s = result.summary
    context = {
        "version": errata.__version__,
        "title": f"errata supersub — {len(models):,} models, taxonomy {result.taxonomy}",
        "summary": s,
        "n_models": len(models),
        "with_scores": int(models["scores"].sum()),
        "svgs": {k: Markup(R.svg(f, f"supersub-{k}")) for k, f in figs.items()},
        "tables": {
            "models-data": Markup(R.embed_json(R.table(columns, rows))),
            "superclass-data": Markup(R.embed_json(R.table(per_cols, per_rows))),
        },
    }
    return {"report": R.write_page(path, R.render("supersub.html", context))}
