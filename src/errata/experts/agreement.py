"""Agreement of the pipeline with one expert file, image by image (:func:`expert_agreement`):
read the expert rows and the predictions, classify exactly those images, and cross-tabulate
automated × expert category, with the headline figures (macro-F1, agreement, Cohen's κ)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from errata.analysis import evidence
from errata.core import categories as K
from errata.core.metrics import cohen_kappa_score
from errata.core.names import NameIndex
from errata.core.pipeline import classify, reasons
from errata.exceptions import ErrataInputError
from errata.experts.limits import OpenWorldLimits, open_world_limits
from errata.experts.vocabulary import (
    NO_EXPERT,
    agrees,
    explained_categories,
    f1_scores,
    shared_vocabulary,
)
from errata.io.annotations import load_expert_file, resolve_path
from errata.io.evidence import Options
from errata.io.labels import LabelSet, load_labels
from errata.io.predictions import load_predictions

if TYPE_CHECKING:
    import pandas as pd

    from errata.core.checks import Order
    from errata.core.evidence import Context


class CategoryFigures(TypedDict):
    """One category of the shared vocabulary, on the errors: calls, truths, both, and the
    precision, recall and F1 they give (None without a call or a truth)."""

    automated: int
    expert: int
    both: int
    precision: float | None
    recall: float | None
    f1: float | None


class ExpertFigures(TypedDict):
    """One expert category: its rows, those that are errors under the label set, and how many
    of them errata agrees with (by :func:`~errata.experts.agrees`)."""

    rows: int
    errors_under_labels: int
    agree: int
    agree_share: float | None
    agreeing_categories: list[str]


class Limits(TypedDict):
    open_world: OpenWorldLimits


class AgreementSummary(TypedDict):
    """:attr:`Agreement.summary`."""

    expert_file: str
    predictions: str
    labels: str
    rows: int
    counted_correct: int
    excluded: int
    errors: int
    agreement: float | None
    cohen_kappa: float | None
    macro_f1: float | None
    macro_f1_categories: list[str]
    taxonomy: str
    per_expert_category: dict[str, ExpertFigures]
    per_category: dict[str, CategoryFigures]
    limits: Limits
    sources: dict[str, str | list[str]]


@dataclass
class Agreement:
    """Result of :func:`expert_agreement`.

    ``rows`` is one row per expert image (file_name, top1, expert category and severity,
    automated category, reason, agrees); ``confusion`` counts automated × expert category;
    ``error_confusion`` the errors alone in one vocabulary (:func:`shared_vocabulary`), whose
    diagonal is the agreement; ``summary`` holds the headline figures — the macro-averaged F1
    over the explained categories (``macro_f1``), the agreement on errors and Cohen's κ — and
    per category precision, recall and F1.
    """

    rows: pd.DataFrame
    confusion: pd.DataFrame  # automated category × expert category
    error_confusion: pd.DataFrame  # errors only, shared vocabulary: automated × expert
    severity: pd.DataFrame  # automated category × expert severity
    summary: AgreementSummary

    def to_dict(self, departure: object = None) -> dict[str, object]:
        """JSON-ready, every key snake_case: the summary with ``per_expert_category`` and
        ``per_category`` keyed by category key (``fine_grained_error``), each entry with its
        ``name`` as printed (``"Fine-grained error"``); ``macro_f1_categories`` lists keys of
        ``per_category``; the three matrices (``confusion``, ``error_confusion``,
        ``severity``) are keyed by key both ways and ``matrix_names`` gives each matrix's row
        and column names by key. ``agreeing_categories`` keeps errata's category names. The
        Python ``summary`` keeps the names as keys. ``departure``:
        :func:`~errata.experts.spurious_departure`.

        Raises :class:`ValueError` if two names of one map share a key (no entry is dropped).
        """
        s = self.summary
        mats = {"confusion": self.confusion, "error_confusion": self.error_confusion}
        mats["severity"] = self.severity
        return dict(s) | {
            "macro_f1_categories": [K.slug(c) for c in s["macro_f1_categories"]],
            "per_expert_category": _entries(s["per_expert_category"]),
            "per_category": _entries(s["per_category"]),
            "spurious_departure": departure,
            **{m: _matrix(df) for m, df in mats.items()},
            "matrix_names": {
                m: {"rows": _keys(df.index), "columns": _keys(df.columns)} for m, df in mats.items()
            },
        }


def _keys(names: Iterable[object]) -> dict[str, str]:
    """Each name by its snake_case key; two names of one key are an error."""
    out: dict[str, str] = {}
    for n in map(str, names):
        if out.setdefault(K.slug(n), n) != n:
            raise ValueError(
                f"experts --json: categories {out[K.slug(n)]!r} and {n!r} share the "
                f"key {K.slug(n)!r}"
            )
    return out


def _entries(block: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """``block`` keyed snake_case, each entry with its ``name``."""
    return {k: {"name": n} | dict(block[n]) for k, n in _keys(block).items()}


def _matrix(df: pd.DataFrame) -> dict[str, dict[str, int]]:
    """A cross-table keyed snake_case both ways: column, then row."""
    rows, cols = _keys(df.index), _keys(df.columns)
    return {c: {r: int(df.at[ri, ci]) for r, ri in rows.items()} for c, ci in cols.items()}


@dataclass(frozen=True)
class _Rows:
    """The expert rows to score: their images in the label set and the predictions."""

    experts: pd.DataFrame  # the expert file's rows
    labels: LabelSet
    rows: np.ndarray  # (n,) each row's image in ``labels``
    top1: np.ndarray  # (n,) the prediction scored
    predictions: str  # what the predictions are, in words


def expert_agreement(
    expert_file: str | Path,
    *,
    predictions: str | Path | None = None,
    labels: str | Path | LabelSet = "real",
    order: Order = "auto",
    options: Options | None = None,
) -> Agreement:
    """Compare the pipeline's categories with an expert file's, image by image.

    Parameters
    ----------
    expert_file : path or registry name
        Dough-bagel schema (``vit3b_mistakes.json``, ``vit3b-mistakes``).
    predictions : path, optional
        A model's predictions; by default the expert file's own ``top_prediction`` is used.
    labels : label set used to decide what is an error (default ReaL).
    options : Options, optional
        The evidence (never the expert file itself: its non-prototypical rows would agree with
        themselves).
    """
    options = options or Options()
    if options.preset is not None:  # the preset's expert lists, never the file under evaluation
        options = dataclasses.replace(options, exclude_experts=(expert_file,))
    experts = load_expert_file(expert_file)
    _not_evidence(expert_file, options)
    got = _read_rows(expert_file, experts, predictions, labels, order)
    ctx = evidence(got.labels, options)
    assert ctx is not None
    table, codes = _classified(ctx, got)
    return _cross_tables(expert_file, got, ctx, table, codes)


def _not_evidence(expert_file: str | Path, options: Options) -> None:
    """A one-line error when the file under evaluation is also named as evidence."""
    expert_path = resolve_path(expert_file).resolve()
    if expert_path in {resolve_path(p).resolve() for p in options.experts}:
        raise ErrataInputError(
            f"{expert_file}: the file under evaluation cannot also be evidence "
            "(its 'Non-prototypical' rows would agree with themselves)"
        )


def _read_rows(
    expert_file: str | Path,
    experts: pd.DataFrame,
    predictions: str | Path | None,
    labels: str | Path | LabelSet,
    order: Order,
) -> _Rows:
    """The expert file's rows, their images in the label set and the predictions to score
    (the file's own ``top_prediction`` unless ``predictions`` are given)."""
    full = load_labels(labels)
    names = experts["file_name"].to_numpy(dtype=str)
    rows = full.positions(names)
    if (rows < 0).any():
        missing = names[rows < 0]
        raise ErrataInputError(
            f"{expert_file}: {len(missing)} images are not in label set "
            f"'{full.name}' (e.g. '{missing[0]}')"
        )
    if predictions is None:
        top1 = experts["top_prediction"].to_numpy().astype(np.int64)
        return _Rows(experts, full, rows, top1, f"{Path(str(expert_file)).name} top_prediction")
    pred = load_predictions(predictions, order=order)
    idx = NameIndex.of(pred.file_names).rows(names)
    if (idx < 0).any():
        raise ErrataInputError(
            f"{predictions}: no prediction for '{names[int(np.argmax(idx < 0))]}' of {expert_file}"
        )
    return _Rows(experts, full, rows, pred.top1[idx].astype(np.int64), pred.name)


def _classified(ctx: Context, got: _Rows) -> tuple[pd.DataFrame, np.ndarray]:
    """The pipeline on the expert rows: one row each (file_name, top1, expert category and
    severity, automated category, reason, agrees), and the category code of each."""
    import pandas as pd

    experts, full, rows = got.experts, got.labels, got.rows
    stack = np.full((1, len(full)), -1, dtype=np.int64)
    stack[0, rows] = got.top1
    result = classify(ctx, stack)
    codes = result.category[0, rows]
    cats = np.array([K.NAMES[c] for c in codes.tolist()], dtype=object)
    reason = np.full(len(cats), "", dtype=object)
    err_rows = np.searchsorted(result.errors.image, rows)
    is_err = np.isin(codes, K.ERROR_CODES)
    reason[is_err] = reasons(ctx, result, err_rows[is_err])
    reason[np.isin(codes, K.CORRECT_CODES)] = f"counted correct by label set '{full.name}'"
    agree_map = agrees()
    agreed = np.array([c in agree_map.get(x, ()) for c, x in zip(cats, experts["category"])])
    table = pd.DataFrame(
        {
            "file_name": experts["file_name"],
            "top1": got.top1,
            "expert_category": experts["category"],
            "expert_severity": experts["severity"],
            "category": cats,
            "reason": reason,
            "agrees": agreed,
        }
    )
    return table, codes


def _cross_tables(
    expert_file: str | Path, got: _Rows, ctx: Context, table: pd.DataFrame, codes: np.ndarray
) -> Agreement:
    """The cross-tables of the classified rows and the summary's figures."""
    import pandas as pd

    is_err = np.isin(codes, K.ERROR_CODES)
    agreed = table["agrees"].to_numpy(dtype=bool)
    confusion = pd.crosstab(
        table["category"], table["expert_category"], margins=True, margins_name="total"
    )
    severity = pd.crosstab(
        table["category"], table["expert_severity"], margins=True, margins_name="total"
    )
    auto_voc, expert_voc = shared_vocabulary()
    cats = table["category"].to_numpy(dtype=object)
    auto_shared = np.array([auto_voc.get(c, c) for c in cats], dtype=object)[is_err]
    expert_shared = table["expert_category"].map(lambda e: expert_voc.get(e, e)).to_numpy(object)
    expert_shared = expert_shared[is_err]
    error_confusion = pd.crosstab(
        pd.Series(auto_shared, name="automated"),
        pd.Series(expert_shared, name="expert"),
        margins=True,
        margins_name="total",
    )
    kappa = cohen_kappa_score(auto_shared.astype(str), expert_shared.astype(str))
    explained = explained_categories()
    f1 = f1_scores(auto_shared.astype(str), expert_shared.astype(str), explained)
    limits = open_world_limits(
        auto_shared.astype(str), expert_shared.astype(str), ran=ctx.oov is not None
    )
    summary: AgreementSummary = {
        "expert_file": str(expert_file),
        "predictions": got.predictions,
        "labels": got.labels.name,
        "rows": len(table),
        "counted_correct": int(np.isin(codes, K.CORRECT_CODES).sum()),
        "excluded": int((codes == K.EXCLUDED).sum()),
        "errors": int(is_err.sum()),
        "agreement": float(agreed[is_err].mean()) if is_err.any() else None,
        "cohen_kappa": kappa if is_err.any() else None,
        # the headline: over-assignment to one explained category lowers it, unlike agreement
        "macro_f1": float(np.mean(list(f1.values()))) if is_err.any() else None,
        "macro_f1_categories": list(explained),
        "taxonomy": ctx.taxonomy.name,
        "per_expert_category": _per_expert(table, is_err, agreed),
        "per_category": _per_category(error_confusion, expert_voc, f1),
        "limits": {"open_world": limits},
        "sources": dict(ctx.sources),
    }
    return Agreement(
        rows=table,
        confusion=confusion,
        error_confusion=error_confusion,
        severity=severity,
        summary=summary,
    )


def _per_category(
    error_confusion: pd.DataFrame, expert_voc: Mapping[str, str], f1: Mapping[str, float]
) -> dict[str, CategoryFigures]:
    """Per category of the shared vocabulary (and model failure): calls, truths, both,
    precision, recall and F1, from the cells of ``error_confusion`` (margins: the totals)."""

    def count(automated: str, expert: str) -> int:
        """A cell of ``error_confusion`` (its margins are the totals; 0 when absent)."""
        present = automated in error_confusion.index and expert in error_confusion.columns
        return int(error_confusion.at[automated, expert]) if present else 0

    out: dict[str, CategoryFigures] = {}
    for cat in dict.fromkeys([*expert_voc.values(), NO_EXPERT]):
        said, truth, both = count(cat, "total"), count("total", cat), count(cat, cat)
        out[cat] = {
            "automated": said,
            "expert": truth,
            "both": both,
            "precision": both / said if said else None,
            "recall": both / truth if truth else None,
            "f1": f1.get(cat),
        }
    return out


def _per_expert(
    table: pd.DataFrame, is_err: np.ndarray, agreed: np.ndarray
) -> dict[str, ExpertFigures]:
    """Per expert category: rows, errors under the label set, and errata's agreement."""
    out: dict[str, ExpertFigures] = {}
    for cat, agree_with in agrees().items():
        sel = (table["expert_category"] == cat).to_numpy()
        err = sel & is_err
        out[cat] = {
            "rows": int(sel.sum()),
            "errors_under_labels": int(err.sum()),
            "agree": int((agreed & err).sum()),
            "agree_share": float((agreed & err).sum() / err.sum()) if err.any() else None,
            "agreeing_categories": list(agree_with),
        }
    return out
