"""A study run's scoring (a shell over the core): which files changed, and the changed ones read
and hashed in a background thread, scored in batches by :func:`errata.core.scoring.score`,
each batch's error part written in another thread, so the two cores stay busy.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from errata.core import categories as K
from errata.core import datasets as D
from errata.core.checks import Order
from errata.core.labelset import LabelSet
from errata.core.pipeline import Classified, Classifier
from errata.core.scoring import classify_stack, make_scores, tally_stack
from errata.io.discover import FailedFile
from errata.io.evidence import Options
from errata.io.studyfolder import ModelRecord
from errata.io.tables import StudyErrors, write_part
from errata.io.zoo import Entry as Entry
from errata.io.zoo import read_zoo
from errata.study.table import Models, batch

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Spec:
    """What a run scores its files against, and how they are read."""

    ds: D.Dataset
    label_set: LabelSet
    options: Options
    order: Order
    outside: D.Outside


PREFETCH = 2  # batches of files read ahead of the one being scored


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # a file's top-1, top-k hits and images


def plan(
    inputs: list[Path], old_models: dict[str, ModelRecord], dataset: str
) -> tuple[list[Entry], list[FailedFile]]:
    """This run's entries: each input file, marked for reuse when the manifest's record says
    it is unchanged (:meth:`Entry.unchanged`); the files that cannot even be looked at fail."""
    entries: list[Entry] = []
    failed: list[FailedFile] = []
    for path in inputs:
        try:
            st = path.stat()
        except OSError as exc:
            failed.append({"path": str(path), "error": f"{path}: cannot read ({exc.strerror})"})
            continue
        e = Entry.of(path, st, dataset)
        prev = old_models.get(e.path)
        if prev and e.unchanged(prev):
            e.sha256, e.reuse = prev["sha256"], True
        entries.append(e)
    return entries, failed


class Scorer:
    """The scoring of a run's changed files (read and hashed ahead by
    :func:`errata.io.zoo.read_zoo`), in batches, each batch's error part written in a
    background thread; every batch over the one snapshot of the category registry that the
    run took at its entry (``registry``)."""

    def __init__(
        self,
        spec: Spec,
        tmp: Path | None,
        names: dict[str, str],
        old_models: dict[str, ModelRecord],
        registry: K.Tables,
    ) -> None:
        from errata.analysis import evidence

        self.spec, self.tmp, self.names, self.old_models = spec, tmp, names, old_models
        self.registry = registry
        self.ctx = evidence(spec.label_set, spec.options)
        self.classifier: Classifier | None = None
        self.layout = StudyErrors(spec.label_set, registry)
        self.tag = uuid.uuid4().hex[:8]
        self.frames: list[Future[Models]] = []  # each batch's rows, from the writer thread
        self.notes: list[str] = []

    def _unchanged(self, e: Entry) -> bool:
        """Touched, not changed: the hash is the recorded one."""
        prev = self.old_models.get(e.path)
        return bool(prev and prev["sha256"] == e.sha256)

    def run(
        self,
        entries: list[Entry],
        failed: list[FailedFile],
        *,
        batch: int,
        progress: Progress | None,
    ) -> list[Models]:
        """Score the entries not marked for reuse; each batch's rows."""
        spec = self.spec
        todo = [e for e in entries if not e.reuse]
        if self.ctx is not None:  # the verdicts' memo pays when models share errors: > 1 model
            self.classifier = Classifier(self.ctx, memo=len(todo) > 1, registry=self.registry)
        reading = read_zoo(
            [e.path for e in todo],
            dataset=spec.ds,
            order=spec.order,
            outside=spec.outside,
            labels=spec.label_set,
            keep_scores=False,
            entries=todo,
            unchanged=self._unchanged,
            prefetch=PREFETCH * batch,
        )
        group: list[tuple[Entry, Arrays]] = []
        with (
            contextlib.closing(reading) as zoo,
            ThreadPoolExecutor(1, thread_name_prefix="errata-write") as self.writer,
        ):
            for done, (e, got) in enumerate(zip(todo, zoo), 1):
                if progress:
                    progress(done, len(todo), Path(e.path).name)
                if got.error is not None:
                    failed.append({"path": e.path, "error": str(got.error)})
                elif got.reused:
                    e.reuse = True
                else:
                    assert got.predictions is not None and got.top1 is not None
                    assert got.hits is not None and got.n is not None
                    e.model, e.k = self.names[e.path], got.predictions.k
                    self.notes.extend(got.predictions.notes)
                    group.append((e, (got.top1, got.hits, got.n)))
                    if len(group) >= batch:
                        self.flush(group)
            self.flush(group)
            return [f.result() for f in self.frames]

    def flush(self, group: list[tuple[Entry, Arrays]]) -> None:
        """Classify and tally one batch of models (this thread: the verdicts' memo is shared),
        then write its error part in the writer thread while the next batch is classified
        (the tally runs here because, in the writer, it made that thread the longer chain)."""
        if not group:
            return
        arrays = [a for _, a in group]
        result = classify_stack(
            self.spec.label_set,
            np.stack([a[0] for a in arrays]),
            self.classifier,
            self.registry,
        )
        hits, n = np.stack([a[1] for a in arrays]), np.stack([a[2] for a in arrays])
        names = [e.model for e, _ in group]
        columns: dict[str, list[str] | str] = {
            "model": names,
            "dataset": self.spec.ds.name,
            "path": [e.path for e, _ in group],
        }
        k = [e.k for e, _ in group if e.k is not None]  # read in this run: every one is known
        part = None
        if self.tmp is not None and self.ctx is not None:
            part = f"part-{self.tag}-{len(self.frames):04d}.parquet"
            for e, _ in group:
                e.part = part
        rows = self._rows(result, (hits, n), names, columns, k)
        if len(self.frames) >= 2:  # back-pressure: at most two batches in the writer's hands
            self.frames[-2].result()
        self.frames.append(self.writer.submit(self._write, result, names, part, rows))
        group.clear()

    def _rows(
        self,
        result: Classified,
        topk: tuple[np.ndarray, np.ndarray],
        names: list[str],
        columns: dict[str, list[str] | str],
        k: list[int],
    ) -> Models:
        """A classified batch's rows: ``topk`` its top-k hits and images per class, ``names``
        its models (stack order), ``columns`` their text columns and ``k`` their top-k."""
        spec = self.spec
        hits, n = topk
        tally_ = tally_stack(spec.label_set, result, topk_hits=hits, topk_n=n, context=self.ctx)
        sc = make_scores(
            spec.label_set, names, tally_, context=self.ctx, options=spec.options.scoring
        )
        return batch(columns, k, sc.values, len(names))

    def _write(
        self, result: Classified, names: list[str], part: str | None, rows: Models
    ) -> Models:
        """A classified batch's error part (the writer thread); its rows, as given."""
        if part is not None and self.tmp is not None:
            write_part(self.tmp / "errors" / part, self.layout.table(names, result))
        return rows
