"""Layer 8 — many models at once: load hundreds of prediction files, classify their errors as
stacked arrays, and write one Parquet table of models plus one of every model's errors, to be
queried with DuckDB (:func:`query`, ``errata query``).

Output folder:

* ``models.parquet`` — one row per model: metrics, MLA variants, mean severity, and counts per
  category overall (``n_fine_grained`` …) and per group (``wordnet_organism_fine_grained``,
  ``shankar_dogs_errors`` …).
* ``errors.parquet`` — one row per (model, multi-label error): model, file_name, original, top1,
  category, evidence_label, evidence_count, severity (a row group per batch of models).
* ``failed.json`` — files that failed validation, with the one-line reason.
* ``study.json`` — label set, evidence sources, counts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from errata import _io
from errata import errors as E
from errata.exceptions import ErrataInputError, row_ref
from errata.labels import LabelSet, load_labels, original_labels_for
from errata.predictions import READERS, Order, Predictions, load_predictions

Progress = Callable[[int, int, str], None]


@dataclass
class Study:
    """The result of :func:`compare`: the models table and the files that were skipped."""

    models: Any  # pandas DataFrame
    failed: list[dict[str, str]] = field(default_factory=list)
    written: dict[str, Path] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def prediction_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their prediction files (sorted); keep files as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                sorted(f for f in p.iterdir() if f.suffix.lower() in READERS and f.is_file())
            )
        else:
            out.append(p)
    if not out:
        raise ErrataInputError(
            f"no prediction files ({', '.join(READERS)}) in {', '.join(map(str, paths))}"
        )
    return out


class _Aligner:
    """Maps each model's rows onto the label set's images, caching per distinct file-name array
    (in a zoo every file usually has the same 50,000 names)."""

    def __init__(self, labels: LabelSet) -> None:
        self.labels = labels
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def __call__(self, pred: Predictions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = id(pred.file_names)
        if key not in self._cache:
            pos = self.labels.positions(pred.file_names)
            orig = original_labels_for(pred.file_names)
            if not (pos >= 0).any():
                raise ErrataInputError(
                    f"{pred.source}: shares no file names with label set '{self.labels.name}'"
                )
            unknown = (pos < 0) & (orig < 0)
            if unknown.any():
                row = int(np.flatnonzero(unknown)[0])
                raise ErrataInputError(
                    f"{pred.source}: {row_ref(pred.source, row)}: unknown file name "
                    f"'{pred.file_names[row]}'"
                )
            self._cache[key] = (pred.file_names, pos, orig, np.flatnonzero(pos >= 0))
        _, pos, orig, rows = self._cache[key]
        top1 = np.full(len(self.labels), -1, dtype=np.int16)
        top1[pos[rows]] = pred.top1[rows]
        has = orig >= 0
        topk = pred.topk[has]
        target = orig[has].astype(np.int16)[:, None]
        top1_acc = float((topk[:, 0] == target[:, 0]).mean()) if has.any() else np.nan
        top5_acc = (
            float((topk[:, :5] == target).any(axis=1).mean())
            if pred.k >= 5 and has.any()
            else np.nan
        )
        return top1, np.array([top1_acc, top5_acc]), np.array([int(has.sum())])


def compare(
    paths: Sequence[str | Path],
    *,
    labels: str | Path | LabelSet = "real",
    order: Order = "filename",
    out: str | Path | None = None,
    batch: int = E.MODEL_BATCH,
    progress: Progress | None = None,
    **pipeline_options: Any,
) -> Study:
    """Analyse many models' predictions as one stacked array.

    Parameters
    ----------
    paths : files or folders
        Prediction files (any format :func:`errata.predictions.load_predictions` reads); a
        folder contributes all its prediction files.
    labels, order
        As in :func:`errata.analyze`.
    out : folder, optional
        Where to write the Parquet tables (see the module docstring).
    batch : int
        Models classified together (bounds memory).
    progress : callable(done, total, name), optional
    **pipeline_options
        Passed to :func:`errata.errors.build_context`.

    A file that fails validation is recorded in ``Study.failed`` and skipped; the others go on.
    """
    import pandas as pd

    files = prediction_files(paths)
    label_set = load_labels(labels)
    ctx = E.build_context(label_set, **pipeline_options)
    align = _Aligner(label_set)
    groups = {split: E.group_codes(names, label_set) for split, names in ctx.tax.groups.items()}

    rows: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    pending_top1: list[np.ndarray] = []
    pending_meta: list[dict[str, Any]] = []
    used: set[str] = set()

    with contextlib.ExitStack() as stack:
        # errors.parquet grows batch by batch in a temporary file, renamed only on success
        writer = None
        if out is not None:
            tmp = stack.enter_context(_io.atomic_path(Path(out) / "errors.parquet"))
            writer = stack.enter_context(_ErrorWriter(tmp, label_set))

        def flush() -> None:
            if not pending_top1:
                return
            top1s = np.stack(pending_top1)
            result = E.classify(ctx, top1s)
            rows.extend(_model_rows(ctx, result, pending_meta, groups))
            if writer is not None:
                writer.write([m["model"] for m in pending_meta], top1s, result)
            pending_top1.clear()
            pending_meta.clear()

        for i, path in enumerate(files):
            if progress:
                progress(i, len(files), path.name)
            try:
                pred = load_predictions(path, order=order)
                top1, acc, n_orig = align(pred)
            except ErrataInputError as exc:
                failed.append({"path": str(path), "error": str(exc)})
                continue
            pending_top1.append(top1)
            pending_meta.append(
                {
                    "model": _unique_name(path, used),
                    "path": str(path),
                    "top1": acc[0],
                    "top5": acc[1],
                    "images": int(n_orig[0]),
                    "k": pred.k,
                }
            )
            if len(pending_top1) >= batch:
                flush()
        flush()
        if progress:
            progress(len(files), len(files), "")
    models = pd.DataFrame(rows)
    summary = {
        "labels": label_set.summary() | {"source": label_set.source},
        "sources": ctx.sources_used,
        "models": len(rows),
        "failed": len(failed),
        "categories": list(E.CATEGORIES),
    }
    study = Study(models=models, failed=failed, summary=summary)
    if out is not None:
        out = Path(out)
        study.written["errors"] = out / "errors.parquet"
        study.written["models"] = out / "models.parquet"
        _io.write_parquet(study.written["models"], models)
        study.written["failed"] = out / "failed.json"
        _io.write_json(study.written["failed"], failed)
        study.written["study"] = out / "study.json"
        _io.write_json(study.written["study"], summary)
    return study


def _unique_name(path: Path, used: set[str]) -> str:
    """The file stem, made unique (``parent/stem``, then a counter) when stems repeat."""
    name = path.stem
    if name in used:
        name = f"{path.parent.name}/{path.stem}"
    base, i = name, 2
    while name in used:
        name, i = f"{base}#{i}", i + 1
    used.add(name)
    return name


def _model_rows(
    ctx: E.Context,
    result: E.Classified,
    meta: list[dict[str, Any]],
    groups: dict[str, tuple[list[str], np.ndarray]],
) -> list[dict[str, Any]]:
    cat = result.category
    labels = ctx.labels
    m = cat.shape[0]
    counts = E.category_counts(cat)[:, 0, :]  # (m, K)
    error_codes = [E.CODE[c] for c in E.ERROR_CATEGORIES]
    n_errors = counts[:, error_codes].sum(axis=1)
    evaluated = counts.sum(axis=1) - counts[:, E.CODE[E.EXCLUDED]]
    accuracy = (counts[:, E.CODE[E.CORRECT]] + counts[:, E.CODE[E.CORRECT_MULTI]]) / np.maximum(
        evaluated, 1
    )
    variants = E.mla_variants(cat, labels)
    err_mask = np.isin(cat, error_codes)
    sev = np.where(err_mask, result.severity, 0).sum(axis=1) / np.maximum(err_mask.sum(axis=1), 1)
    per_group = {
        split: E.category_counts(cat, groups=g, n_groups=len(values))
        for split, (values, g) in groups.items()
    }
    acc_key = "real" if labels.name == "real" else "label_accuracy"
    out = []
    for j in range(m):
        row: dict[str, Any] = dict(meta[j])
        row[acc_key] = float(accuracy[j])
        for key, v in variants.items():
            row[key] = float(v[j])
        row["errors"] = int(n_errors[j])
        row["mean_severity"] = float(sev[j]) if n_errors[j] else np.nan
        for c in E.CATEGORIES:
            row[f"n_{E.slug(c)}"] = int(counts[j, E.CODE[c]])
        for split, (values, _) in groups.items():
            for gi, g in enumerate(values):
                row[f"{split}_{E.slug(g)}_errors"] = int(per_group[split][j, gi, error_codes].sum())
                for c in E.ERROR_CATEGORIES:
                    row[f"{split}_{E.slug(g)}_{E.slug(c)}"] = int(
                        per_group[split][j, gi, E.CODE[c]]
                    )
        out.append(row)
    return out


class _ErrorWriter:
    """Streams each batch's errors into one Parquet file (a context manager; closing it writes
    the footer, or an empty table when no model was analysed)."""

    def __init__(self, path: Path, labels: LabelSet) -> None:
        import pyarrow as pa

        self.path = path
        self.writer: Any = None
        self.file_names = pa.array(labels.file_names.tolist(), type=pa.string())
        self.categories = pa.array(list(E.CATEGORIES), type=pa.string())
        self.original = labels.original

    def __enter__(self) -> _ErrorWriter:
        return self

    def write(self, names: list[str], top1: np.ndarray, result: E.Classified) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        codes = [E.CODE[c] for c in E.ERROR_CATEGORIES]
        model, image = np.nonzero(np.isin(result.category, codes))
        table = pa.table(
            {
                "model": pa.DictionaryArray.from_arrays(
                    pa.array(model.astype(np.int32)), pa.array(names, type=pa.string())
                ),
                "file_name": pa.DictionaryArray.from_arrays(
                    pa.array(image.astype(np.int32)), self.file_names
                ),
                "original": self.original[image],
                "top1": top1[model, image],
                "category": pa.DictionaryArray.from_arrays(
                    pa.array(result.category[model, image].astype(np.int32)), self.categories
                ),
                "evidence_label": result.label[model, image],
                "evidence_count": result.count[model, image],
                "severity": result.severity[model, image],
            }
        )
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(
            table.cast(self.writer.schema) if table.schema != self.writer.schema else table
        )

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        empty = pa.table(
            {"model": pa.array([], pa.string()), "file_name": pa.array([], pa.string())}
        )
        pq.write_table(empty, self.path)


def query(folder: str | Path, sql: str) -> Any:
    """Run SQL with DuckDB over a study folder: views ``models`` and ``errors``.

    Examples
    --------
    >>> sql = "SELECT model, real, n_fine_grained FROM models ORDER BY real DESC LIMIT 5"
    >>> query("study/", sql)  # doctest: +SKIP
    """
    import duckdb

    folder = Path(folder)
    con = duckdb.connect()
    found = False
    for view in ("models", "errors"):
        p = folder / f"{view}.parquet"
        if p.exists():
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{_sql_str(p)}')")
            found = True
    if not found:
        raise ErrataInputError(
            f"{folder}: no models.parquet or errors.parquet (run `errata compare ... --out` first)"
        )
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        raise ErrataInputError(f"query: {str(exc).splitlines()[0]}") from None


def _sql_str(p: Path) -> str:
    return str(p).replace("'", "''")
