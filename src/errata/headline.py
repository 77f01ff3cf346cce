"""The paper's headline table for one model or a study, ready to paste (``errata table``).

One row per model: top-1, MLA and its variants (MLA also counting overlapping classes, then the
minor, then the explainable categories as correct), ImageNet-M when the label set has it, the
multi-label errors, and each error category's count and share of the multi-label errors — the
columns of Peychev et al. 2023's tables. A category whose stage did not run (no evidence: no
``--openworld``, ``--experts`` or ``--imagenet-x``) has no count and no share (``<NA>``, shown as
"—"), never 0.

:func:`headline_table` reads an :class:`~errata.analysis.Analysis`, a
:class:`~errata.study.Study`, a run folder (``errata analyze --out``: its ``metrics.json``) or a
study folder (``errata compare --out``); :func:`render` writes the table as Markdown, LaTeX
(booktabs) or CSV (unrounded fractions, for scripts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from errata.core import categories as K
from errata.core.checks import choice
from errata.exceptions import ErrataInputError

if TYPE_CHECKING:
    import pandas as pd

    from errata.analysis import Analysis
    from errata.core.evidence import Source
    from errata.io.studyfolder import StudyManifest
    from errata.study import Study

FORMATS = ("markdown", "latex", "csv")
VARIANTS = ("mla", "mla_overlap", "mla_minor", "mla_explainable")  # K.mla_variants() keys
TITLES = {
    "top1": "top-1 %",
    "mla": "MLA %",
    "mla_overlap": "MLA +overlap %",
    "mla_minor": "MLA +minor %",
    "mla_explainable": "MLA +explainable %",
    "imagenet_m": "ImageNet-M",
    "errors": "errors",
}


def headline_table(source: Analysis | Study | str | Path) -> pd.DataFrame:
    """The headline figures of one model or of every model of a study, as a DataFrame.

    Parameters
    ----------
    source : Analysis, Study, str or Path
        A result of :func:`errata.analyze` or :func:`errata.compare`, a folder written by
        ``errata analyze --out`` (``metrics.json``) or by ``errata compare --out``
        (``study.json``).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model`` (and ``dataset`` when a study holds several test sets),
        ``top1``, ``mla``, ``mla_overlap``, ``mla_minor``, ``mla_explainable`` (fractions),
        ``imagenet_m`` and ``imagenet_m_of`` when present, ``errors`` (multi-label errors), and
        per error category ``n_<key>`` and ``share_<key>`` (count / errors); ``<NA>`` where a
        stage did not run.
    """
    from errata.analysis import Analysis
    from errata.study import Study

    if isinstance(source, Analysis):
        return _frame([_run_row(source.to_dict())])
    if isinstance(source, Study):
        return _study_frame(source.models, source.summary)
    folder = Path(source)
    if (folder / "study.json").is_file():
        from errata.study import query, read_manifest

        return _study_frame(query(folder, "SELECT * FROM models"), read_manifest(folder))
    if (folder / "metrics.json").is_file():
        from errata.io.files import read_json

        doc = read_json(folder / "metrics.json", what="a run's metrics.json")
        if not isinstance(doc, dict) or "errors" not in doc:
            raise ErrataInputError(
                f"{folder / 'metrics.json'}: no error summary (a run made with --no-errors?); "
                "the headline table needs the error categories"
            )
        return _frame([_run_row(doc)])
    raise ErrataInputError(
        f"{source}: not a run folder (errata analyze --out: metrics.json) or a study folder "
        "(errata compare --out: study.json)"
    )


def _run_row(doc: Mapping[str, Any]) -> dict[str, object]:
    """One run's row from its JSON (``Analysis.to_dict()``, ``metrics.json``)."""
    errors = doc.get("errors")
    if not errors:
        raise ErrataInputError(f"{doc.get('model')}: no error summary (run without --no-errors)")
    metrics = doc.get("metrics", {})
    row: dict[str, object] = {"model": doc.get("model")}
    row["top1"] = (metrics.get("top1") or {}).get("value")
    for key in VARIANTS:
        row[key] = (errors.get("mla_variants", {}).get(key) or {}).get("value")
    m = metrics.get("imagenet_m")
    if m is not None:
        row["imagenet_m"], row["imagenet_m_of"] = m["value"], m["of"]
    row["errors"] = errors["errors"]
    for c in K.ERRORS:
        cats = errors["categories"]  # by key; a metrics.json of errata before 0.1.1 by name
        entry = cats.get(c.key) or cats.get(c.name) or {}
        ran = not entry.get("status")
        row[f"n_{c.key}"] = entry.get("count") if ran else None
    return row


def _not_run(sources: Mapping[str, Source]) -> set[str]:
    """The keys of the categories whose stage did not run, from a study's evidence sources
    (as :meth:`errata.core.categories.Category.status` decides for one run)."""
    out = set()
    if str(sources.get("fine_grained_oov", "")).startswith("not run"):
        out.add("fine_grained_oov")
    nonproto = [s for s in sources.get("non_prototypical", []) if s != "none"]
    if not any(not s.startswith("ImageNet-X") for s in nonproto):
        out.add("non_prototypical")
    if not any(s.startswith("ImageNet-X") for s in nonproto):
        out.add("non_prototypical_imagenet_x")
    return out


def _study_frame(models: pd.DataFrame, manifest: StudyManifest) -> pd.DataFrame:
    if not len(models):
        raise ErrataInputError("the study holds no models")
    if "errors" not in models.columns:
        raise ErrataInputError("the study has no error categories")
    sources = manifest.get("sources") or {}
    rows: list[dict[str, object]] = []
    for r in models.to_dict(orient="records"):
        ds_sources = sources.get(r.get("dataset")) if isinstance(sources, dict) else None
        skipped = _not_run(ds_sources) if isinstance(ds_sources, dict) else set()
        row = {"model": r["model"], "dataset": r.get("dataset")}
        row["top1"] = r.get("top1")
        for key in VARIANTS:
            row[key] = r.get(key)
        if r.get("imagenet_m") is not None and not _nan(r.get("imagenet_m")):
            row["imagenet_m"] = r["imagenet_m"]
            row["imagenet_m_of"] = r.get("imagenet_m_of")
        row["errors"] = r["errors"]
        for c in K.ERRORS:
            row[f"n_{c.key}"] = None if c.key in skipped else r.get(f"n_{c.key}")
        rows.append(row)
    out = _frame(rows)
    if out["dataset"].nunique() <= 1:
        out = out.drop(columns="dataset")
    return out


def _nan(v: object) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The rows as a DataFrame with the share columns: counts nullable integers, shares of the
    multi-label errors (``<NA>`` without errors or where the stage did not run)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    for col in ("imagenet_m", "imagenet_m_of"):
        if col in df:
            df[col] = df[col].astype("Int64")
    df["errors"] = df["errors"].astype("Int64")
    errors = df["errors"].astype("Float64")
    for c in K.ERRORS:
        n = pd.array(
            [None if v is None or _nan(v) else int(v) for v in df[f"n_{c.key}"]], dtype="Int64"
        )
        df[f"n_{c.key}"] = n
        share = n.astype("Float64") / errors.where(errors > 0)
        df[f"share_{c.key}"] = share
    order = [x for x in ("model", "dataset", "top1", *VARIANTS) if x in df]
    order += [x for x in ("imagenet_m", "imagenet_m_of") if x in df] + ["errors"]
    order += [f"{p}_{c.key}" for c in K.ERRORS for p in ("n", "share")]
    return df[order]


def _pct(v: float | None, digits: int) -> str | None:
    import pandas as pd

    if v is None or pd.isna(v):
        return None
    return f"{100 * float(v):.{digits}f}"


def _cells(df: pd.DataFrame, *, percent: str) -> tuple[list[str], list[list[str]]]:
    """Headers and text cells of the paste-ready formats: accuracies to 2 decimals, each
    category as ``count (share)`` with the share to 1 decimal, "—" where there is none."""
    import pandas as pd

    dash = "—"
    head = [c for c in ("model", "dataset") if c in df]
    head += [TITLES[k] for k in ("top1", *VARIANTS)]
    has_m = "imagenet_m" in df
    if has_m:
        head.append(TITLES["imagenet_m"])
    head.append(TITLES["errors"])
    head += [f"{c.name}: n ({percent})" for c in K.ERRORS]
    rows = []
    for r in df.to_dict(orient="records"):
        cells = [str(r[c]) for c in ("model", "dataset") if c in df]
        cells += [_pct(r[k], 2) or dash for k in ("top1", *VARIANTS)]
        if has_m:
            m = r["imagenet_m"]
            cells.append(dash if pd.isna(m) else f"{int(m)} / {int(r['imagenet_m_of'])}")
        cells.append(f"{int(r['errors']):,}")
        for c in K.ERRORS:
            n, share = r[f"n_{c.key}"], r[f"share_{c.key}"]
            if pd.isna(n):
                cells.append(dash)
            else:
                cells.append(f"{int(n):,} ({_pct(share, 1) or dash})")
        rows.append(cells)
    return head, rows


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _latex(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text).replace("—", "--")


def render(table: pd.DataFrame, fmt: str = "markdown") -> str:
    """The table as text: ``markdown`` (a pipe table), ``latex`` (a booktabs ``tabular``;
    needs ``\\usepackage{booktabs}``) or ``csv`` (the DataFrame's columns, unrounded fractions,
    empty where there is no value)."""
    fmt = choice(fmt, FORMATS, keyword="format")
    if fmt == "csv":
        return str(table.to_csv(index=False, lineterminator="\n"))
    if fmt == "markdown":
        head, rows = _cells(table, percent="%")
        text = [[cell.replace("|", "\\|") for cell in row] for row in [head, *rows]]
        n_text = sum(c in table for c in ("model", "dataset"))
        align = [":---" if i < n_text else "---:" for i in range(len(head))]
        lines = ["| " + " | ".join(row) + " |" for row in (text[0], align, *text[1:])]
        return "\n".join(lines) + "\n"
    head, rows = _cells(table, percent="%")
    n_text = sum(c in table for c in ("model", "dataset"))
    spec = "l" * n_text + "r" * (len(head) - n_text)
    lines = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(_latex(h) for h in head) + " \\\\",
        "\\midrule",
        *(" & ".join(_latex(c) for c in row) + " \\\\" for row in rows),
        "\\bottomrule",
        "\\end{tabular}",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["FORMATS", "headline_table", "render"]
