"""A study run's scoring (a shell over the core): which files changed, and the changed ones read
and hashed in a background thread, scored in batches by :func:`errata.core.scoring.score`,
each batch's error part written in another thread, so the two cores stay busy.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from errata.core import datasets as D
from errata.core.labelset import LabelSet
from errata.core.names import Aligner
from errata.core.pipeline import Classifier
from errata.core.scoring import make_scores, score, topk_counts
from errata.exceptions import ErrataInputError
from errata.io import files
from errata.io.evidence import Options
from errata.io.predictions import Order, load_predictions
from errata.io.tables import StudyErrors, write_part

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Spec:
    """What a run scores its files against, and how they are read."""

    ds: D.Dataset
    label_set: LabelSet
    options: Options
    order: Order
    outside: Any


PREFETCH = 2  # batches of files read ahead of the one being scored
READ_WHOLE = 32 << 20  # files up to this size are read once for both hash and parse


@dataclass
class Entry:
    """One input file of a study run."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int = 0
    inode: int = 0
    sha256: str | None = None
    model: str = ""
    k: int | None = None
    part: str | None = None
    reuse: bool = False
    dataset: str = D.DEFAULT

    @classmethod
    def of(cls, path: Path, st: os.stat_result, dataset: str) -> Entry:
        return cls(
            path=str(path),
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            ctime_ns=st.st_ctime_ns,
            inode=st.st_ino,
            dataset=dataset,
        )

    def unchanged(self, prev: dict[str, Any]) -> bool:
        """The file is the one the manifest recorded, by what the file system says of it: size,
        modification and status-change times, inode (a manifest without the last two: no)."""
        seen = (self.size, self.mtime_ns, self.ctime_ns, self.inode)
        return seen == tuple(prev.get(k) for k in ("size", "mtime_ns", "ctime_ns", "inode"))

    def record(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "path": self.path,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "ctime_ns": self.ctime_ns,
            "inode": self.inode,
            "sha256": self.sha256,
            "k": self.k,
            "part": self.part,
        }


def read_entry(entry: Entry) -> bytes | None:
    """Hash the file (and return its bytes when small enough to parse from memory)."""
    path = Path(entry.path)
    if entry.size <= READ_WHOLE:
        data = path.read_bytes()
        entry.sha256 = hashlib.sha256(data).hexdigest()
        return data
    entry.sha256 = files.sha256_file(path)
    return None


def plan(
    inputs: list[Path], old_models: dict[str, dict[str, Any]], dataset: str
) -> tuple[list[Entry], list[dict[str, str]]]:
    """This run's entries: each input file, marked for reuse when the manifest's record says
    it is unchanged (:meth:`Entry.unchanged`); the files that cannot even be looked at fail."""
    entries: list[Entry] = []
    failed: list[dict[str, str]] = []
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
    """The scoring of a run's changed files: read and hashed in a background thread, scored in
    batches, each batch's error part written in another thread."""

    def __init__(
        self,
        spec: Spec,
        tmp: Path | None,
        names: dict[str, str],
        old_models: dict[str, dict[str, Any]],
    ) -> None:
        from errata.analysis import evidence

        self.spec, self.tmp, self.names, self.old_models = spec, tmp, names, old_models
        label_set, ds = spec.label_set, spec.ds
        self.ctx = evidence(label_set, spec.options)
        self.classifier = Classifier(self.ctx) if self.ctx is not None else None
        self.aligner = Aligner(
            label_set.index,
            label_set.original,
            label_set.name,
            known=None if ds.validation else ds.original,
        )
        self.layout = StudyErrors(label_set)
        self.tag = uuid.uuid4().hex[:8]
        self.frames: list[Any] = []
        self.writes: list[Future[None]] = []
        self.notes: list[str] = []

    def prepare(self, e: Entry) -> tuple[Entry, Any]:
        """Hash and read one file (background thread): ("reuse"), an error, or its arrays."""
        spec = self.spec
        try:
            content = read_entry(e)
        except OSError as exc:
            return e, ErrataInputError(f"{e.path}: cannot read ({exc.strerror or exc})")
        prev = self.old_models.get(e.path)
        if prev and prev["sha256"] == e.sha256:
            return e, "reuse"  # touched, not changed
        try:
            pred = load_predictions(
                e.path,
                order=spec.order,
                keep_scores=False,
                content=content,
                dataset=spec.ds,
                outside=spec.outside,
            )
            al = self.aligner(pred.file_names, source=pred.source, numbers=pred.numbers)
        except ErrataInputError as exc:
            return e, exc
        hits, n = topk_counts(pred.topk, al.original, spec.label_set.multi.n_classes)
        return e, (pred.k, al.scatter(pred.top1), hits, n, pred.notes)

    def run(
        self,
        entries: list[Entry],
        failed: list[dict[str, str]],
        *,
        batch: int,
        progress: Progress | None,
    ) -> list[Any]:
        """Score the entries not marked for reuse; the models' rows as DataFrames."""
        todo = [e for e in entries if not e.reuse]
        group: list[tuple[Entry, Any]] = []
        with contextlib.ExitStack() as stack:
            readers = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="errata-read"))
            self.writer = stack.enter_context(
                ThreadPoolExecutor(1, thread_name_prefix="errata-write")
            )
            for done, (e, got) in enumerate(self._prefetched(readers, todo, batch), 1):
                if progress:
                    progress(done, len(todo), Path(e.path).name)
                if isinstance(got, ErrataInputError):
                    failed.append({"path": e.path, "error": str(got)})
                elif got == "reuse":
                    e.reuse = True
                else:
                    e.model, e.k = self.names[e.path], got[0]
                    self.notes.extend(got[4])
                    group.append((e, got[1:4]))
                    if len(group) >= batch:
                        self.flush(group)
            self.flush(group)
            for w in self.writes:
                w.result()
        return self.frames

    def _prefetched(
        self, readers: ThreadPoolExecutor, todo: list[Entry], batch: int
    ) -> Iterator[tuple[Entry, Any]]:
        """The prepared entries in order, :data:`PREFETCH` batches read ahead."""
        queue: deque[Future[tuple[Entry, Any]]] = deque()
        feed = iter(todo)
        for e in itertools.islice(feed, PREFETCH * batch):
            queue.append(readers.submit(self.prepare, e))
        while queue:
            got = queue.popleft().result()
            nxt = next(feed, None)
            if nxt is not None:
                queue.append(readers.submit(self.prepare, nxt))
            yield got

    def flush(self, group: list[tuple[Entry, Any]]) -> None:
        """Score one batch of models, keep their rows and write their error part."""
        import pandas as pd

        if not group:
            return
        spec, arrays = self.spec, [a for _, a in group]
        tally_, result = score(
            spec.label_set,
            np.stack([a[0] for a in arrays]),
            topk_hits=np.stack([a[1] for a in arrays]),
            topk_n=np.stack([a[2] for a in arrays]),
            context=self.classifier,
        )
        names = [e.model for e, _ in group]
        sc = make_scores(
            spec.label_set, names, tally_, context=self.ctx, options=spec.options.scoring
        )
        columns = {
            "model": names,
            "dataset": spec.ds.name,
            "path": [e.path for e, _ in group],
            "k": [e.k for e, _ in group],
        }
        self.frames.append(pd.DataFrame(columns | sc.values))
        if self.tmp is not None and self.ctx is not None:
            part = f"part-{self.tag}-{len(self.writes):04d}.parquet"
            for e, _ in group:
                e.part = part
            if len(self.writes) >= 2:  # back-pressure: at most two parts in memory
                self.writes[-2].result()
            table = self.layout.table(names, result)
            self.writes.append(self.writer.submit(write_part, self.tmp / "errors" / part, table))
        group.clear()
