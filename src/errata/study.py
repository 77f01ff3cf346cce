"""Many models (a shell over the core): score a zoo of prediction files as stacked arrays, and
keep the results as a study folder that grows with the zoo.

Each batch of models is aligned (once per distinct file-name list), scored by
:func:`errata.core.scoring.score` — the same function :func:`errata.analyze` uses for one model
— and its error rows are written as one Parquet part. A study folder holds:

* ``models.parquet`` — one row per model: metrics with 95 % intervals, MLA variants, mean
  severity, counts per category overall (``n_fine_grained`` …) and per group
  (``wordnet_organism_fine_grained`` …), and the file it came from.
* ``errors/part-*.parquet`` — one row per (model, multi-label error): model, file_name,
  original, top1, category, evidence_label, evidence_count, severity. DuckDB reads them as one
  table (``read_parquet('study/errors/*.parquet')``; ``errata query`` does it for you).
* ``failed.json`` — files that failed validation, with the one-line reason.
* ``study.json`` — the manifest: settings (errata version, label set, order, taxonomy,
  evidence, seed, resamples), each model's file, size, modification time and sha256, and the
  part holding its errors.

Run ``compare`` again on a grown zoo and only new or changed files (by content hash) are
scored; the others keep their rows and parts (``rebuild=True`` redoes all). The folder is
replaced as a unit (:func:`errata.io.files.atomic_folder`): a reader sees the old study or the
new one, never a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import errata
from errata.core import categories as K
from errata.core.labelset import LabelSet
from errata.core.names import Aligner
from errata.core.pipeline import Classifier
from errata.core.scoring import make_scores, score, topk_counts
from errata.exceptions import ErrataInputError
from errata.io import files
from errata.io.evidence import Options
from errata.io.labels import load_labels
from errata.io.population import comparability
from errata.io.predictions import READERS, Order, load_predictions
from errata.io.tables import StudyErrors, write_part
from errata.resources import N_VAL

Progress = Callable[[int, int, str], None]
MODEL_BATCH = 64  # models scored together; bounds peak memory of a 1,000-model study
FORMAT = 2  # study folder layout (1: a single errors.parquet, no manifest)
MANAGED = ("models.parquet", "errors", "errors.parquet", "failed.json", "study.json")


@dataclass
class Study:
    """The result of :func:`compare`: the models table, the files that were skipped, what was
    written, and the manifest (``summary``)."""

    models: Any  # pandas DataFrame
    failed: list[dict[str, str]] = field(default_factory=list)
    written: dict[str, Path] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def prediction_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their prediction files (sorted); keep files as given."""
    paths = list(paths)
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


def _previous(out: Path | None, settings: dict[str, Any], rebuild: bool) -> dict[str, Any] | None:
    """The manifest of an existing study in ``out`` that this run can extend, else None."""
    if out is None or rebuild or not (out / "study.json").exists():
        return None
    old = files.read_json(out / "study.json", what="a study manifest (study.json)")
    if not isinstance(old, dict) or old.get("format") != FORMAT:
        raise ErrataInputError(
            f"{out}: the study was written by an older errata; run again with --rebuild"
        )
    if old.get("settings") != settings:
        changed = sorted(
            k
            for k in set(settings) | set(old.get("settings") or {})
            if settings.get(k) != (old.get("settings") or {}).get(k)
        )
        raise ErrataInputError(
            f"{out}: the study was made with other settings ({', '.join(changed)}); use "
            "--rebuild to redo it, or another --out"
        )
    return old


PREFETCH = 2  # batches of files read ahead of the one being scored
READ_WHOLE = 32 << 20  # files up to this size are read once for both hash and parse


@dataclass
class _Entry:
    """One input file of a study run."""

    path: str
    size: int
    mtime_ns: int
    sha256: str | None = None
    model: str = ""
    k: int | None = None
    part: str | None = None
    reuse: bool = False

    def record(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "path": self.path,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "sha256": self.sha256,
            "k": self.k,
            "part": self.part,
        }


def _read(entry: _Entry) -> bytes | None:
    """Hash the file (and return its bytes when small enough to parse from memory)."""
    path = Path(entry.path)
    if entry.size <= READ_WHOLE:
        data = path.read_bytes()
        entry.sha256 = hashlib.sha256(data).hexdigest()
        return data
    entry.sha256 = files.sha256_file(path)
    return None


def compare(
    paths: Sequence[str | Path],
    *,
    labels: str | Path | LabelSet = "real",
    order: Order = "auto",
    out: str | Path | None = None,
    options: Options | None = None,
    batch: int = MODEL_BATCH,
    progress: Progress | None = None,
    rebuild: bool = False,
) -> Study:
    """Score many models' predictions as one stacked array, in batches.

    Parameters
    ----------
    paths : files or folders
        Prediction files (any format :func:`errata.io.predictions.load_predictions` reads); a
        folder contributes all its prediction files.
    labels, order, options
        As in :func:`errata.analyze`.
    out : folder, optional
        The study folder (see the module docstring). An existing study made with the same
        settings is extended: only new or changed files are scored.
    batch : int
        Models scored together (bounds memory).
    progress : callable(done, total, name), optional
    rebuild : bool
        Score every file again even when ``out`` holds a study of them.

    Files are read and hashed in a background thread while the previous batch is scored, and
    each batch's error part is written in another, so the two cores stay busy. A file that fails
    validation is recorded in ``Study.failed`` and skipped; the others go on.
    """
    import pandas as pd

    from errata.analysis import evidence
    from errata.analysis import settings as settings_of

    options = options or Options()
    if batch < 1:
        raise ErrataInputError(f"batch: {batch}; expected at least 1")
    inputs = prediction_files(paths)
    label_set = load_labels(labels)
    out_path = None if out is None else Path(out)
    settings = settings_of(options, order=order, labels=label_set)
    settings.pop("errata_version")
    settings["labels_source"] = label_set.source
    old = _previous(out_path, settings, rebuild)
    old_models = {m["path"]: m for m in (old or {}).get("models", [])}

    # unchanged size and modification time: the previous study's rows stand, unread
    entries: list[_Entry] = []
    failed: list[dict[str, str]] = []
    for path in inputs:
        try:
            st = path.stat()
        except OSError as exc:
            failed.append({"path": str(path), "error": f"{path}: cannot read ({exc.strerror})"})
            continue
        e = _Entry(path=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns)
        prev = old_models.get(e.path)
        if prev and (prev["size"], prev["mtime_ns"]) == (e.size, e.mtime_ns):
            e.sha256, e.reuse = prev["sha256"], True
        entries.append(e)

    ctx = evidence(label_set, options)
    classifier = Classifier(ctx) if ctx is not None else None
    aligner = Aligner(label_set.index, label_set.original, label_set.name)
    n_cls = label_set.multi.n_classes
    layout = StudyErrors(label_set)
    run = uuid.uuid4().hex[:8]
    todo = [e for e in entries if not e.reuse]
    # a file keeps its model name from one run to the next; new files get unique names
    used = {old_models[e.path]["model"] for e in entries if e.path in old_models}
    model_names: dict[str, str] = {}
    for e in entries:
        prev = old_models.get(e.path)
        model_names[e.path] = prev["model"] if prev else _unique_name(Path(e.path), used)

    def prepare(e: _Entry) -> tuple[_Entry, Any]:
        """Hash and read one file (background thread): ("reuse"), an error, or its arrays."""
        try:
            content = _read(e)
        except OSError as exc:
            return e, ErrataInputError(f"{e.path}: cannot read ({exc.strerror or exc})")
        prev = old_models.get(e.path)
        if prev and prev["sha256"] == e.sha256:
            return e, "reuse"  # touched, not changed
        try:
            pred = load_predictions(e.path, order=order, keep_scores=False, content=content)
            al = aligner(pred.file_names, source=pred.source, numbers=pred.numbers)
        except ErrataInputError as exc:
            return e, exc
        hits, n = topk_counts(pred.topk, al.original, n_cls)
        return e, (pred.k, al.scatter(pred.top1), hits, n)

    frames: list[Any] = []
    with contextlib.ExitStack() as stack:
        tmp = None
        if out_path is not None:
            tmp = stack.enter_context(files.atomic_folder(out_path, managed=MANAGED))
            (tmp / "errors").mkdir()
        readers = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="errata-read"))
        writer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="errata-write"))
        writes: list[Future[None]] = []
        queue: deque[Future[tuple[_Entry, Any]]] = deque()
        feed = iter(todo)
        for e in itertools.islice(feed, PREFETCH * batch):
            queue.append(readers.submit(prepare, e))

        group: list[_Entry] = []
        arrays: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

        def flush() -> None:
            if not group:
                return
            top1 = np.stack([a[0] for a in arrays])
            tally_, result = score(
                label_set,
                top1,
                topk_hits=np.stack([a[1] for a in arrays]),
                topk_n=np.stack([a[2] for a in arrays]),
                context=classifier,
            )
            names = [e.model for e in group]
            sc = make_scores(label_set, names, tally_, context=ctx, options=options.scoring)
            frame = pd.DataFrame(
                {"model": names, "path": [e.path for e in group], "k": [e.k for e in group]}
                | sc.values
            )
            frames.append(frame)
            if tmp is not None and ctx is not None:
                part = f"part-{run}-{len(writes):04d}.parquet"
                for e in group:
                    e.part = part
                if len(writes) >= 2:  # back-pressure: at most two parts in memory
                    writes[-2].result()
                writes.append(
                    writer.submit(write_part, tmp / "errors" / part, layout.table(names, result))
                )
            group.clear()
            arrays.clear()

        done = 0
        while queue:
            e, got = queue.popleft().result()
            nxt = next(feed, None)
            if nxt is not None:
                queue.append(readers.submit(prepare, nxt))
            done += 1
            if progress:
                progress(done, len(todo), Path(e.path).name)
            if isinstance(got, ErrataInputError):
                failed.append({"path": e.path, "error": str(got)})
                continue
            if got == "reuse":
                e.reuse = True
                continue
            e.model = model_names[e.path]
            e.k = got[0]
            group.append(e)
            arrays.append(got[1:])
            if len(group) >= batch:
                flush()
        flush()
        for w in writes:
            w.result()
        files.fault_point("parts-written")

        kept = [e for e in entries if e.reuse]
        for e in kept:
            prev = old_models[e.path]
            e.model, e.k, e.part = prev["model"], prev.get("k"), prev.get("part")
        scored = [e for e in entries if not e.reuse and e.model]
        models = _models_table(pd, frames, kept, out_path, entries)
        full_val = None
        if len(models) and "images" in models.columns:
            full_val = bool((models["images"] == N_VAL).all())
        summary = {
            "format": FORMAT,
            "errata_version": errata.__version__,
            "settings": settings,
            "labels": label_set.summary() | {"source": label_set.source},
            "sources": dict(ctx.sources) if ctx is not None else {},
            "categories": list(K.NAMES),
            "models": [e.record() for e in entries if e.reuse or e.model],
            "counts": {
                "models": len(kept) + len(scored),
                "scored": len(scored),
                "reused": len(kept),
                "removed": len(set(old_models) - {e.path for e in entries}),
                "failed": len(failed),
            },
            "failed": failed,
            "published": comparability(settings, full_val=full_val),
        }
        study = Study(models=models, failed=failed, summary=summary)
        if tmp is not None and out_path is not None:
            _finish(tmp, out_path, study, old_models, kept, layout)
    if out_path is not None:
        study.written = {
            "models": out_path / "models.parquet",
            "errors": out_path / "errors",
            "failed": out_path / "failed.json",
            "study": out_path / "study.json",
        }
    return study


def _models_table(
    pd: Any, frames: list[Any], kept: list[_Entry], out: Path | None, entries: list[_Entry]
) -> Any:
    """The new models' rows and the kept rows of the previous study, in input order."""
    pieces = list(frames)
    if kept and out is not None:
        old = pd.read_parquet(out / "models.parquet")
        pieces.insert(0, old[old["path"].isin([e.path for e in kept])])
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return pd.DataFrame({"model": pd.Series([], dtype=str)})
    models = pd.concat(pieces, ignore_index=True)
    rank = {e.path: i for i, e in enumerate(entries)}
    models = models.sort_values("path", key=lambda col: col.map(rank), kind="stable")
    return models.reset_index(drop=True)


def _finish(
    tmp: Path,
    out: Path,
    study: Study,
    old_models: dict[str, Any],
    kept: list[_Entry],
    layout: StudyErrors,
) -> None:
    """Complete the new study folder ``tmp``: the previous study's parts (linked when all their
    models stay, else filtered), the models table, the manifest."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    errors_dir = tmp / "errors"
    kept_paths = {e.path for e in kept}
    by_part: dict[str, list[dict[str, Any]]] = {}
    for m in old_models.values():
        if m.get("part"):
            by_part.setdefault(m["part"], []).append(m)
    for part, members in by_part.items():
        src = out / "errors" / part
        stay = [m["model"] for m in members if m["path"] in kept_paths]
        if not stay or not src.exists():
            continue
        if len(stay) == len(members):
            files.link_or_copy(src, errors_dir / part)
        else:
            t = pq.read_table(src)
            keep = pc.is_in(t.column("model").cast(pa.string()), value_set=pa.array(stay))
            write_part(errors_dir / part, t.filter(keep))
    if not any(errors_dir.iterdir()):
        write_part(errors_dir / "part-empty.parquet", layout.empty())
    study.summary["parts"] = sorted(p.name for p in errors_dir.iterdir())
    files.write_parquet(tmp / "models.parquet", study.models)
    files.write_json(tmp / "failed.json", study.failed)
    files.write_json(tmp / "study.json", study.summary)


def query(folder: str | Path, sql: str) -> Any:
    """Run SQL with DuckDB over a study folder: views ``models`` and ``errors``, and
    ``published`` — the 962 models of Peychev et al. 2023 (:func:`errata.io.population.population`,
    one row per model, errata's column names), read from the data directory when the SQL names it.

    A study joins the population by model name (``models.model = published.model``, when the
    prediction files are named as timm / torchvision name the models) or by a figure: top-1 is
    comparable whenever the predictions cover the 50,000 images; MLA and the category counts only
    for a comparable run (``study.json`` → ``published``).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from errata import resources
    >>> zoo = tempfile.mkdtemp()
    >>> np.save(f"{zoo}/perfect.npy", resources.validation_labels())
    >>> study = compare([zoo], out=f"{zoo}/study")
    >>> query(f"{zoo}/study", "SELECT model, round(real, 4) AS real, errors FROM models")
         model    real  errors
    0  perfect  0.9002    4673
    """
    import duckdb

    folder = Path(folder)
    con = duckdb.connect()
    models = folder / "models.parquet"
    if not models.exists():
        raise ErrataInputError(
            f"{folder}: no models.parquet (run `errata compare ... --out {folder}` first)"
        )
    con.execute(f"CREATE VIEW models AS SELECT * FROM read_parquet('{_sql_str(models)}')")
    parts = _parts(folder)
    if parts:
        listed = ", ".join(f"'{_sql_str(p)}'" for p in parts)
        con.execute(f"CREATE VIEW errors AS SELECT * FROM read_parquet([{listed}])")
    if re.search(r"\bpublished\b", sql, flags=re.IGNORECASE):
        from errata.io.population import population

        con.register("published", population())
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        raise ErrataInputError(f"query: {str(exc).splitlines()[0]}") from None


def _parts(folder: Path) -> list[Path]:
    """The error parts the manifest lists (or the single errors.parquet of an old study)."""
    manifest = folder / "study.json"
    if manifest.exists():
        meta = files.read_json(manifest, what="a study manifest (study.json)")
        if isinstance(meta, dict) and meta.get("format") == FORMAT:
            return [folder / "errors" / p for p in meta.get("parts", [])]
    legacy = folder / "errors.parquet"
    return [legacy] if legacy.exists() else []


def _sql_str(p: Path) -> str:
    return str(p).replace("'", "''")
