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
* ``study.json`` — the manifest: the settings of each test set in the study (label set, order,
  taxonomy, evidence, seed, resamples), each model's test set, file, size, modification time
  and sha256, and the part holding its errors.

Run ``compare`` again on a grown zoo and only new or changed files (by content hash) are
scored; the others keep their rows and parts (``rebuild=True`` redoes all). The folder is
replaced as a unit (:func:`errata.io.files.atomic_folder`): a reader sees the old study or the
new one, never a mix.

**Several test sets side by side**: each run scores the files of one test set (``dataset=``,
:mod:`errata.core.datasets`) into the study; the models of the other test sets keep their rows
and parts, and every row of ``models.parquet`` and ``errors/`` carries its ``dataset``. The
settings are checked per test set: a run for ImageNet-A with other settings than the study's
ImageNet-A models is refused (``rebuild=True`` redoes that test set only), while ImageNet-A and
the validation set may well use other label sets.
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
from errata.core import datasets as D
from errata.core.labelset import LabelSet
from errata.core.names import Aligner
from errata.core.pipeline import Classifier
from errata.core.scoring import make_scores, score, topk_counts
from errata.exceptions import ErrataInputError
from errata.io import files
from errata.io.evidence import Options, options_for
from errata.io.labels import default_labels, load_labels
from errata.io.population import comparability
from errata.io.predictions import READERS, Order, image_ids, load_predictions
from errata.io.tables import StudyErrors, write_part
from errata.resources import N_VAL

Progress = Callable[[int, int, str], None]
MODEL_BATCH = 64  # models scored together; bounds peak memory of a 1,000-model study
FORMAT = 3  # study folder layout (1: a single errors.parquet; 2: one test set per study)
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


class OlderStudy(ErrataInputError):
    """A study folder in an older layout than :data:`FORMAT`."""


def read_manifest(folder: str | Path, *, fix: str | None = None) -> dict[str, Any]:
    """The manifest (``study.json``) of the study in ``folder``; a study in an older layout
    (:data:`FORMAT`) is refused (:class:`OlderStudy`), its message ending in ``fix`` (by
    default: rebuild it with ``errata compare``)."""
    folder = Path(folder)
    meta = files.read_json(folder / "study.json", what="a study manifest (study.json)")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        fix = fix or f"rebuild it with `errata compare ... --out {folder} --rebuild`"
        raise OlderStudy(f"{folder}: the study was written by an older errata; {fix}")
    return meta


def _previous(out: Path | None, rebuild: bool) -> dict[str, Any] | None:
    """The manifest of an existing study in ``out`` that this run adds to, else None (an
    older layout is refused, or with ``rebuild`` replaced)."""
    if out is None or not (out / "study.json").exists():
        return None
    try:
        return read_manifest(out, fix="run again with --rebuild")
    except OlderStudy:
        if rebuild:
            return None
        raise


def _check_settings(out: Path, old: dict[str, Any], dataset: str, settings: dict[str, Any]) -> None:
    """A run may only add to the models of its test set that were made with its settings."""
    before = (old.get("settings") or {}).get(dataset)
    if before is None or before == settings:
        return
    changed = sorted(k for k in set(settings) | set(before) if settings.get(k) != before.get(k))
    raise ErrataInputError(
        f"{out}: the study's {dataset} models were made with other settings "
        f"({', '.join(changed)}); use --rebuild to redo them, or another --out"
    )


def label_set_for(
    labels: str | Path | LabelSet | None,
    ds: D.Dataset,
    inputs: list[Path],
) -> LabelSet:
    """The run's label set. On a test set other than the validation set the ``original``
    labels are the class folders of the images the files predict, and a label file whose
    names carry no class folder learns each image's class from them: the files' class paths
    are read first, names alone (a file that fails is left to the scoring pass, which reports
    it)."""
    name = default_labels(ds) if labels is None else labels
    if ds.validation:
        return load_labels(name, dataset=ds)
    original = isinstance(name, str) and name == "original"
    label_set = None if original else load_labels(name, dataset=ds)
    if label_set is not None and not (label_set.original < 0).any():
        return label_set
    seen: list[np.ndarray] = []  # the distinct image lists (a zoo's files share one or two)
    for path in inputs:
        try:
            ids = image_ids(path, dataset=ds)  # the names alone: the scoring pass reads the rest
        except (ErrataInputError, OSError):
            continue
        if not any(s is ids or np.array_equal(s, ids) for s in seen):
            seen.append(ids)
    if not seen:
        if label_set is not None:
            return label_set
        raise ErrataInputError(
            f"no readable {ds.title} prediction file in {', '.join(map(str, inputs[:3]))} to "
            "take the images' class folders from"
        )
    images = np.unique(np.concatenate(seen))
    if label_set is None:
        return load_labels("original", dataset=ds, images=images)
    rows = label_set.index.rows(images)
    hit = rows >= 0
    return label_set.with_original(rows[hit], ds.original(images[hit]))


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
    dataset: str = D.DEFAULT

    def record(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
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
    labels: str | Path | LabelSet | None = None,
    order: Order = "auto",
    out: str | Path | None = None,
    options: Options | None = None,
    batch: int = MODEL_BATCH,
    progress: Progress | None = None,
    rebuild: bool = False,
    dataset: str = D.DEFAULT,
    outside: D.Outside = "error",
) -> Study:
    """Score many models' predictions as one stacked array, in batches.

    Parameters
    ----------
    paths : files or folders
        Prediction files (any format :func:`errata.io.predictions.load_predictions` reads); a
        folder contributes all its prediction files.
    labels, order, options, dataset, outside
        As in :func:`errata.analyze`; all the files of a run are of one test set.
    out : folder, optional
        The study folder (see the module docstring). An existing study made with the same
        settings is extended: only new or changed files are scored; the models of other test
        sets in it are kept as they are.
    batch : int
        Models scored together (bounds memory).
    progress : callable(done, total, name), optional
    rebuild : bool
        Score every file again even when ``out`` holds a study of them (the models of this
        test set; those of other test sets stay).

    Files are read and hashed in a background thread while the previous batch is scored, and
    each batch's error part is written in another, so the two cores stay busy. A file that fails
    validation is recorded in ``Study.failed`` and skipped; the others go on.
    """
    import pandas as pd

    from errata.analysis import evidence
    from errata.analysis import settings as settings_of

    ds = D.get(dataset)
    options = options_for(options or Options(), ds)
    if batch < 1:
        raise ErrataInputError(f"batch: {batch}; expected at least 1")
    if outside not in D.OUTSIDE:
        raise ErrataInputError(f"outside: '{outside}' is not one of {', '.join(D.OUTSIDE)}")
    inputs = prediction_files(paths)
    label_set = label_set_for(labels, ds, inputs)
    out_path = None if out is None else Path(out)
    settings = settings_of(options, order=order, labels=label_set, dataset=ds.name, outside=outside)
    settings.pop("errata_version")
    settings["labels_source"] = label_set.source
    old = _previous(out_path, rebuild)
    if old is not None and not rebuild:
        _check_settings(out_path, old, ds.name, settings)  # type: ignore[arg-type]
    old_all = list((old or {}).get("models", []))
    others = [m for m in old_all if m.get("dataset") != ds.name]  # other test sets: kept
    mine = [m for m in old_all if m.get("dataset") == ds.name]
    old_models = {} if rebuild else {m["path"]: m for m in mine}

    # unchanged size and modification time: the previous study's rows stand, unread
    entries: list[_Entry] = []
    failed: list[dict[str, str]] = []
    for path in inputs:
        try:
            st = path.stat()
        except OSError as exc:
            failed.append({"path": str(path), "error": f"{path}: cannot read ({exc.strerror})"})
            continue
        e = _Entry(path=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns, dataset=ds.name)
        prev = old_models.get(e.path)
        if prev and (prev["size"], prev["mtime_ns"]) == (e.size, e.mtime_ns):
            e.sha256, e.reuse = prev["sha256"], True
        entries.append(e)

    ctx = evidence(label_set, options)
    classifier = Classifier(ctx) if ctx is not None else None
    aligner = Aligner(
        label_set.index,
        label_set.original,
        label_set.name,
        known=None if ds.validation else ds.original,
    )
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
            pred = load_predictions(
                e.path,
                order=order,
                keep_scores=False,
                content=content,
                dataset=ds,
                outside=outside,
            )
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
                {
                    "model": names,
                    "dataset": ds.name,
                    "path": [e.path for e in group],
                    "k": [e.k for e in group],
                }
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
        models = _models_table(pd, frames, kept, out_path, entries, others, ds.name)
        run_models = [e.record() for e in entries if e.reuse or e.model]
        datasets = list(dict.fromkeys([m["dataset"] for m in others] + [ds.name]))

        def per_dataset(key: str, value: Any) -> dict[str, Any]:
            before = dict((old or {}).get(key) or {})
            return {d: value if d == ds.name else before.get(d) for d in datasets}

        val_settings = per_dataset("settings", settings).get(D.DEFAULT)
        summary = {
            "format": FORMAT,
            "errata_version": errata.__version__,
            "datasets": datasets,
            "settings": per_dataset("settings", settings),
            "labels": per_dataset("labels", label_set.summary() | {"source": label_set.source}),
            "sources": per_dataset("sources", dict(ctx.sources) if ctx is not None else {}),
            "categories": list(K.NAMES),
            "models": [
                m
                for d in datasets
                for m in (run_models if d == ds.name else others)
                if m["dataset"] == d
            ],
            "dataset": ds.name,  # the test set of this run
            "counts": {  # this run's test set (the other test sets' models are kept)
                "models": len(kept) + len(scored),
                "scored": len(scored),
                "reused": len(kept),
                "removed": len(set(old_models) - {e.path for e in entries}),
                "failed": len(failed),
            },
            "failed": failed,
            "published": published_of(models, val_settings),
        }
        study = Study(models=models, failed=failed, summary=summary)
        if tmp is not None and out_path is not None:
            kept_ids = {(ds.name, e.path) for e in kept}
            _finish(tmp, out_path, study, old_all, kept_ids, layout, others)
    if out_path is not None:
        study.written = {
            "models": out_path / "models.parquet",
            "errors": out_path / "errors",
            "failed": out_path / "failed.json",
            "study": out_path / "study.json",
        }
    return study


def published_of(models: Any, settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """Whether the study's ImageNet-validation models can stand beside the 962 published ones
    (:func:`errata.io.population.comparability`); None without validation models."""
    if settings is None or not len(models):
        return None
    val = models[models["dataset"] == D.DEFAULT] if "dataset" in models.columns else models
    if not len(val):
        return None
    full_val = bool((val["images"] == N_VAL).all()) if "images" in val.columns else None
    return comparability(settings, full_val=full_val)


def _models_table(
    pd: Any,
    frames: list[Any],
    kept: list[_Entry],
    out: Path | None,
    entries: list[_Entry],
    others: list[dict[str, Any]],
    dataset: str,
) -> Any:
    """The new models' rows and the kept rows of the previous study: the other test sets'
    rows as they were, then this test set's in input order."""
    pieces = list(frames)
    old = None
    if (kept or others) and out is not None:
        old = pd.read_parquet(out / "models.parquet")
        mine = old[(old["dataset"] == dataset) & old["path"].isin([e.path for e in kept])]
        pieces.insert(0, mine)
    pieces = [p for p in pieces if len(p)]
    rest = None if old is None else old[old["dataset"] != dataset]
    if not pieces:
        if rest is not None and len(rest):
            return rest.reset_index(drop=True)
        return pd.DataFrame(
            {"model": pd.Series([], dtype=str), "dataset": pd.Series([], dtype=str)}
        )
    models = pd.concat(pieces, ignore_index=True)
    rank = {e.path: i for i, e in enumerate(entries)}
    models = models.sort_values("path", key=lambda col: col.map(rank), kind="stable")
    if rest is not None and len(rest):
        models = pd.concat([rest, models], ignore_index=True)
    return models.reset_index(drop=True)


def _finish(
    tmp: Path,
    out: Path,
    study: Study,
    old_models: list[dict[str, Any]],
    kept: set[tuple[str, str]],
    layout: StudyErrors,
    others: list[dict[str, Any]],
) -> None:
    """Complete the new study folder ``tmp``: the previous study's parts (linked when all their
    models stay, else filtered), the models table, the manifest. ``kept`` are the (test set,
    path) of this run's kept models; the models of other test sets (``others``) all stay."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    errors_dir = tmp / "errors"
    kept = kept | {(m["dataset"], m["path"]) for m in others}
    by_part: dict[str, list[dict[str, Any]]] = {}
    for m in old_models:
        if m.get("part"):
            by_part.setdefault(m["part"], []).append(m)
    for part, members in by_part.items():
        src = out / "errors" / part
        stay = [m["model"] for m in members if (m["dataset"], m["path"]) in kept]
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
    if (folder / "study.json").exists():
        with contextlib.suppress(OlderStudy):
            return [folder / "errors" / p for p in read_manifest(folder).get("parts", [])]
    legacy = folder / "errors.parquet"
    return [legacy] if legacy.exists() else []


def _sql_str(p: Path) -> str:
    return str(p).replace("'", "''")
