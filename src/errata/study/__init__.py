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
  taxonomy, evidence, seed, resamples), each model's test set, file, size, modification and
  status-change times, inode and sha256, and the part holding its errors; the run's ``notes``.

Run ``compare`` again on a grown zoo and only new or changed files are scored; the others keep
their rows and parts (``rebuild=True`` redoes all). A file is unchanged when its size,
modification time, status-change time (``ctime``) and inode are those the manifest recorded —
a rewrite moves the ``ctime`` even when size and modification time are put back — or, when one
of them differs, when its sha256 is the recorded one. The folder is replaced as a unit
(:func:`errata.io.files.atomic_folder`): a reader sees the old study or the new one, never a
mix, and one run at a time writes it (:func:`errata.io.lock.folder_lock`, held from reading the
manifest to the swap; a second run waits, or with ``wait=False`` stops). A study whose parts or
``models.parquet`` were lost is repaired (:mod:`errata.io.studyfolder`): the damaged models of
the run's test set are scored again; those of other test sets are refused (``rebuild=True``
drops them, and the notes say so).

**Several test sets side by side**: each run scores the files of one test set (``dataset=``,
:mod:`errata.core.datasets`) into the study; the models of the other test sets keep their rows
and parts, and every row of ``models.parquet`` and ``errors/`` carries its ``dataset``. The
settings are checked per test set: a run for ImageNet-A with other settings than the study's
ImageNet-A models is refused (``rebuild=True`` redoes that test set only), while ImageNet-A and
the validation set may well use other label sets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

import errata
from errata.core import categories as K
from errata.core import datasets as D
from errata.core.checks import OUTSIDE, Order, choice
from errata.core.evidence import SpuriousRule, Taxonomy
from errata.core.labelset import LabelSet
from errata.core.population import Comparability, comparability
from errata.core.scoring import MODEL_BATCH as MODEL_BATCH
from errata.exceptions import ErrataInputError, on_command_line
from errata.io import discover, files
from errata.io.discover import FailedFile
from errata.io.evidence import Options, options_for, options_from
from errata.io.labels import default_labels, load_labels
from errata.io.lock import folder_lock
from errata.io.predictions import image_ids
from errata.io.rejections import default_gaps
from errata.io.studyfolder import FORMAT as FORMAT
from errata.io.studyfolder import ModelRecord, OlderStudy, StudyManifest
from errata.io.studyfolder import read_manifest as read_manifest
from errata.resources import N_VAL
from errata.study import folder
from errata.study.scoring import Entry, Scorer, Spec, plan
from errata.study.table import Models

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[int, int, str], None]
MANAGED = ("models.parquet", "errors", "errors.parquet", "failed.json", "study.json")
T = TypeVar("T")


@dataclass
class Study:
    """The result of :func:`compare`: the models table (``models``, a pandas DataFrame made
    when asked for; ``table``, its columns), the manifest (``summary``: ``study.json``), the
    files that were skipped and what was written."""

    table: Models
    summary: StudyManifest
    failed: list[FailedFile] = field(default_factory=list)
    written: dict[str, Path] = field(default_factory=dict)

    @property
    def models(self) -> pd.DataFrame:
        """One row per model (see the module docstring), as a pandas DataFrame."""
        return self.table.frame()

    def __repr__(self) -> str:
        from errata.io import display

        return display.study_text(self.models, len(self.failed), self._folder())

    def _repr_html_(self) -> str:
        from errata.io import display

        return display.study_html(self.models, len(self.failed), self._folder())

    def _folder(self) -> Path | None:
        """The study folder (None for a study that was not written)."""
        return next((p.parent for p in self.written.values()), None)


def prediction_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their prediction files (sorted); keep files as given
    (:func:`errata.io.discover.find`, whose failures and notes ``compare`` reports)."""
    return discover.find(paths).files


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
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    classify: bool | None = None,
    taxonomy: str | Taxonomy | None = None,
    experts: str | Path | Sequence[str | Path] | None = None,
    proposals: str | Sequence[str | Path] | None = None,
    preset: str | None = None,
    spurious: str | SpuriousRule | None = None,
    imagenet_x: bool | str | Path | None = None,
    openworld: str | Path | None = None,
    cooccurrence: str | Path | LabelSet | None = None,
    interval: str | None = None,
    n_resamples: int | None = None,
    seed: int | None = None,
) -> Study:
    """Score many models' predictions as one stacked array, in batches.

    Parameters
    ----------
    paths : files or folders
        Prediction files (any format :func:`errata.io.predictions.load_predictions` reads); a
        folder contributes all its prediction files (:func:`errata.io.discover.find`).
    labels, order, options, dataset, outside
        As in :func:`errata.analyze`; all the files of a run are of one test set.
    classify, taxonomy, experts, proposals, preset, spurious, imagenet_x, openworld, cooccurrence
        With ``interval``, ``n_resamples`` and ``seed``, the settings of :class:`errata.Options`
        as keywords, the command line's flags (``--no-errors`` is ``classify=False``,
        ``--bootstrap N`` is ``n_resamples=N``, ``--proposals none`` is ``proposals="none"``);
        None: as ``options`` says, else the default. A keyword that contradicts a setting that
        ``options`` changed is an error naming both.
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
    wait, on_wait
        When another run is writing ``out``: wait for it (``on_wait`` is told so, in one line),
        or with ``wait=False`` stop with an :class:`~errata.exceptions.ErrataInputError`.

    Notes
    -----
    Files are read and hashed in a background thread while the previous batch is scored, and
    each batch's error part is written in another, so the two cores stay busy. A file that fails
    validation is recorded in ``Study.failed`` and skipped; the others go on.
    """
    from errata.analysis import settings as settings_of

    ds = D.get(dataset)
    options = options_from(options, locals())  # the keywords of OPTION_KEYWORDS
    options = options_for(options, ds)
    if batch < 1:
        raise ErrataInputError(f"batch: {batch}; expected at least 1")
    outside = choice(outside, OUTSIDE, keyword="outside")
    found = discover.find(paths)
    label_set = label_set_for(labels, ds, found.files)
    out_path = None if out is None else files.out_folder(out)
    settings = settings_of(options, order=order, labels=label_set, dataset=ds.name, outside=outside)
    settings.pop("errata_version")
    settings["labels_source"] = label_set.source
    spec = Spec(ds, label_set, options, order, outside)
    run = _Run(spec, settings, found, rebuild)
    with contextlib.ExitStack() as stack:
        if out_path is not None:  # held from reading the manifest to the swap
            stack.enter_context(folder_lock(out_path, wait=wait, on_wait=on_wait))
        return run.into(out_path, batch=batch, progress=progress)


@dataclass
class _Run:
    """One ``compare`` run: what it scores, and how (the arguments, checked)."""

    spec: Spec
    settings: dict[str, object]
    found: discover.Found
    rebuild: bool
    notes: list[str] = field(default_factory=list)

    def into(self, out: Path | None, *, batch: int, progress: Progress | None) -> Study:
        """Read the study in ``out`` (if any), score what is new or changed, write the study."""
        ds, rebuild = self.spec.ds, self.rebuild
        registry = K.tables()  # the categories every batch is classified and tallied over
        self.notes.extend(self.found.notes)
        old, lost = folder.previous(out, rebuild, ds.name, self.notes)
        if old is not None and out is not None and not rebuild:  # old: read from out
            folder.check_settings(out, old, ds.name, self.settings)
        old_all = [
            m
            for m in ([] if old is None else old["models"])
            if (m["dataset"], m["path"]) not in lost.models
        ]
        others = [m for m in old_all if m.get("dataset") != ds.name]  # other test sets: kept
        mine = [m for m in old_all if m.get("dataset") == ds.name]
        old_models = {} if rebuild else {m["path"]: m for m in mine}
        entries, failed = plan(self.found.files, old_models, ds.name)
        failed = self.found.failed + failed
        # a file keeps its model name from one run to the next; new files get unique names
        used = {old_models[e.path]["model"] for e in entries if e.path in old_models}
        names = {
            e.path: old_models[e.path]["model"]
            if e.path in old_models
            else folder.unique_name(Path(e.path), used)
            for e in entries
        }
        with contextlib.ExitStack() as stack:
            tmp = None
            if out is not None:
                tmp = stack.enter_context(files.atomic_folder(out, managed=MANAGED))
                (tmp / "errors").mkdir()
            scorer = Scorer(self.spec, tmp, names, old_models, registry)
            frames = scorer.run(entries, failed, batch=batch, progress=progress)
            if K.changed_since(registry):  # nothing written: the folder is swapped in below
                raise ErrataInputError(
                    "compare: the category registry changed while the models were scored "
                    "(register categories before a run starts); nothing was written"
                )
            files.fault_point("parts-written")
            kept = [e for e in entries if e.reuse]
            for e in kept:
                prev = old_models[e.path]
                e.model, e.k, e.part = prev["model"], prev.get("k"), prev.get("part")
            models = folder.models_table(frames, kept, out, entries, others, ds.name)
            summary = self.summary(old, others, entries, old_models, (models, failed), scorer)
            study = Study(table=models, summary=summary, failed=failed)
            if tmp is not None and out is not None:
                kept_ids = {(ds.name, e.path) for e in kept}
                every = [] if old is None else list(old["models"])  # parts: judged by all members
                folder.finish(tmp, out, study, every, kept_ids, scorer.layout, others)
        if out is not None:
            study.written = {
                "models": out / "models.parquet",
                "errors": out / "errors",
                "failed": out / "failed.json",
                "study": out / "study.json",
            }
        return study

    def summary(
        self,
        old: StudyManifest | None,
        others: list[ModelRecord],
        entries: list[Entry],
        old_models: dict[str, ModelRecord],
        result: tuple[Models, list[FailedFile]],
        scorer: Scorer,
    ) -> StudyManifest:
        """The manifest (``study.json``) and ``Study.summary``, of the run's ``result`` (the
        models table and the files that failed)."""
        ds, label_set = self.spec.ds, self.spec.label_set
        table, failed = result
        kept = [e for e in entries if e.reuse]
        scored = [e for e in entries if not e.reuse and e.model]
        run_models = [e.record() for e in entries if e.reuse or e.model]
        datasets = list(dict.fromkeys([m["dataset"] for m in others] + [ds.name]))

        def per_dataset(before: Mapping[str, T | None] | None, value: T) -> dict[str, T | None]:
            """This run's ``value`` for its test set, the study's before for the others."""
            before = before or {}
            return {d: value if d == ds.name else before.get(d) for d in datasets}

        prev: StudyManifest = old or {"format": FORMAT, "models": []}
        ctx = scorer.ctx
        settings = per_dataset(prev.get("settings"), self.settings)
        labels = label_set.summary() | {"source": label_set.source}
        sources = dict(ctx.sources) if ctx is not None else {}
        return {
            "format": FORMAT,
            "errata_version": errata.__version__,
            "datasets": datasets,
            "settings": settings,
            "labels": per_dataset(prev.get("labels"), labels),
            "sources": per_dataset(prev.get("sources"), sources),
            "categories": list(scorer.registry.NAMES),
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
            "notes": self.notes + scorer.notes + default_gaps(self.spec.options),
            "published": published_of(table, settings.get(D.DEFAULT)),
        }


def published_of(models: Models, settings: Mapping[str, object] | None) -> Comparability | None:
    """Whether the study's ImageNet-validation models can stand beside the 962 published ones
    (:func:`errata.core.population.comparability`); None without validation models."""
    if settings is None or not len(models):
        return None
    val = models["dataset"] == D.DEFAULT if "dataset" in models else np.ones(len(models), bool)
    if not val.any():
        return None
    full_val = bool((models["images"][val] == N_VAL).all()) if "images" in models else None
    return comparability(settings, full_val=full_val)


def query(folder: str | Path, sql: str) -> Any:
    """Run SQL with DuckDB over a study folder: views ``models`` and ``errors``, and
    ``published`` — the 962 models of Peychev et al. 2023 (:func:`errata.io.population.population`,
    one row per model, errata's column names), read from the data directory when the SQL names it.

    A study joins the population by model name (``models.model = published.model``, when the
    prediction files are named as timm / torchvision name the models) or by a figure: top-1 is
    comparable whenever the predictions cover the 50,000 images; MLA and the category counts only
    for a comparable run (``study.json`` → ``published``).

    The query runs read-only and confined to the study's files (:mod:`errata.io.query`):
    ``COPY … TO``, ``ATTACH``, ``INSTALL``/``LOAD`` and reading any other file are errors,
    and the study is byte-identical afterwards.

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
    from errata.io.query import run_confined, statements

    swapped = _swapped(folder, sql)
    if swapped:
        raise ErrataInputError(swapped)
    statements(sql)  # the SQL first: a statement that may not run is refused before anything
    folder = Path(folder)
    models = folder / "models.parquet"
    if not models.is_file():
        raise ErrataInputError(f"{folder}: no models.parquet ({_make_study(folder)} first)")
    parts = _parts(folder)
    missing = [p for p in parts if not p.is_file()]
    if missing:
        raise ErrataInputError(
            f"{folder}: errors/{missing[0].name} is missing ({len(missing)} of {len(parts)} "
            f"parts); {_make_study(folder)} again to repair the study"
        )
    views = {"models": [models], **({"errors": parts} if parts else {})}
    return run_confined(sql, views, {"published": _published})


SQL_WORDS = ("select", "with", "from", "describe", "show", "summarize", "pivot", "table")


def _swapped(folder: str | Path, sql: str) -> str:
    """The one-line error for a query whose study folder and SQL were given the other way round
    (SQL where the folder goes, a study folder where the SQL goes); "" when they were not."""
    text = str(folder).strip()
    words = text.split(maxsplit=1)
    if not words or words[0].lower() not in SQL_WORDS or Path(text).exists():
        return ""
    if not isinstance(sql, (str, Path)) or not (Path(str(sql)) / "models.parquet").is_file():
        if len(words) < 2:
            return ""
        where = "the SQL was given where the study folder goes"
    else:
        where = "the study folder and the SQL are the other way round"
    order = (
        'errata query STUDY "SELECT …"'
        if on_command_line()
        else 'query(folder, sql): query("study/", "SELECT …")'
    )
    shown = text[:40] + ("…" if len(text) > 40 else "")
    return f"'{shown}': {where}; the folder comes first ({order})"


def _published() -> Any:
    from errata.io.population import population

    return population()


def _make_study(folder: str | Path, *extra: str) -> str:
    """How to (re)make the study in ``folder``, as the command line or Python says it."""
    if on_command_line():
        return f"run `errata compare ... --out {folder}{''.join(' ' + e for e in extra)}`"
    more = "".join(f", {e.lstrip('-').replace('-', '_')}=True" for e in extra)
    return f"run errata.compare(..., out={str(folder)!r}{more})"


def _parts(folder: Path) -> list[Path]:
    """The error parts the manifest lists (or the single errors.parquet of an old study)."""
    if (folder / "study.json").exists():  # a damaged manifest is refused, pointing to --rebuild
        with contextlib.suppress(OlderStudy):
            return [folder / "errors" / p for p in read_manifest(folder).get("parts", [])]
    legacy = folder / "errors.parquet"
    return [legacy] if legacy.exists() else []
