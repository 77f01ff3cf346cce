"""Reading a zoo (the edge): the one path from prediction files to the arrays the core scores.

:func:`read_zoo` reads each input — a file, a registry name, an array or loaded
:class:`~errata.io.predictions.Predictions` — validates it
(:func:`~errata.io.predictions.load_predictions`), aligns its rows with the label set
(:class:`~errata.core.names.Aligner`, once per distinct name list) and reduces it to its top-1
and top-5 counts per class (:func:`~errata.core.scoring.topk_counts`), and yields a
:class:`ZooFile` per input, in input order: the arrays, or the one-line failure. It owns the
file's hashing (a study's change detection) and the background thread that reads ahead while
the caller scores: :func:`errata.analyze` (one file), :func:`errata.compare` (a study),
:func:`errata.supersub` and :func:`errata.label_issues` are its callers.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from errata.core import datasets as D
from errata.core.checks import Order
from errata.core.labelset import LabelSet
from errata.core.names import Aligner, Alignment
from errata.core.scoring import topk_counts
from errata.exceptions import ErrataInputError
from errata.io import files
from errata.io.labels import load_labels
from errata.io.predictions import Predictions, load_predictions
from errata.io.studyfolder import ModelRecord

READ_WHOLE = 32 << 20  # files up to this size are read once for both hash and parse
Input = str | Path | np.ndarray | Predictions


@dataclass
class Entry:
    """One input file of a study run: what the file system says of it, and its sha256."""

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

    def unchanged(self, prev: ModelRecord) -> bool:
        """The file is the one the manifest recorded, by what the file system says of it: size,
        modification and status-change times, inode (a manifest without the last two: no)."""
        seen = (self.size, self.mtime_ns, self.ctime_ns, self.inode)
        return seen == tuple(prev.get(k) for k in ("size", "mtime_ns", "ctime_ns", "inode"))

    def record(self) -> ModelRecord:
        """The manifest's record of the file (``study.json`` → ``models``)."""
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


@dataclass(eq=False)
class ZooFile:
    """One input of :func:`read_zoo`: its predictions, aligned with the label set, and its
    top-k counts — or why it could not be read (``error``), or that its hash is the one the
    caller already holds (``reused``: nothing read)."""

    given: Any  # the input as given
    where: str  # the path, or "array"
    entry: Entry | None = None
    predictions: Predictions | None = None
    labels: LabelSet | None = None  # the label set it is aligned with
    alignment: Alignment | None = None
    top1: np.ndarray | None = None  # (n_images,) top-1 per label-set image, -1: no prediction
    hits: np.ndarray | None = None  # (2, C) top-1 / top-5 hits per original class
    n: np.ndarray | None = None  # (2, C) images per original class
    error: ErrataInputError | None = None
    reused: bool = False


@dataclass
class _Reader:
    """How every input of a run is read (the arguments of :func:`read_zoo`)."""

    ds: D.Dataset
    order: Order
    outside: D.Outside
    labels: Any
    file_names: Any
    keep_scores: bool
    counts: bool
    unchanged: Callable[[Entry], bool] | None
    _aligners: dict[int, tuple[LabelSet, Aligner]]

    def aligner(self, label_set: LabelSet) -> Aligner:
        """One aligner per label set (its memo of name lists lives as long as the run)."""
        got = self._aligners.get(id(label_set))
        if got is None:
            known = None if self.ds.validation else self.ds.original
            aligner = Aligner(label_set.index, label_set.original, label_set.name, known=known)
            got = self._aligners[id(label_set)] = (label_set, aligner)
        return got[1]

    def __call__(self, given: Input, name: str | None, entry: Entry | None) -> ZooFile:
        where = (
            "array"
            if isinstance(given, np.ndarray)
            else given.source
            if isinstance(given, Predictions)
            else str(given)
        )
        out = ZooFile(given=given, where=where, entry=entry)
        content = None
        if entry is not None:
            try:
                content = read_entry(entry)
            except OSError as exc:
                out.error = ErrataInputError(f"{entry.path}: cannot read ({exc.strerror or exc})")
                return out
            if self.unchanged is not None and self.unchanged(entry):
                out.reused = True  # touched, not changed
                return out
        try:
            pred = load_predictions(
                given,
                order=self.order,
                file_names=self.file_names,
                name=name,
                keep_scores=self.keep_scores,
                content=content,
                dataset=self.ds,
                outside=self.outside,
            )
            label_set = self.labels
            if not isinstance(label_set, LabelSet):  # read against this file's images
                label_set = load_labels(label_set, dataset=self.ds, images=pred.file_names)
            al = self.aligner(label_set)(pred.file_names, source=pred.source, numbers=pred.numbers)
        except ErrataInputError as exc:
            out.error = exc
            return out
        out.predictions, out.labels, out.alignment = pred, label_set, al
        if self.counts:
            out.top1 = al.scatter(pred.top1)
            out.hits, out.n = topk_counts(pred.topk, al.original, label_set.multi.n_classes)
        return out


def read_zoo(
    inputs: Sequence[Input],
    *,
    dataset: str | D.Dataset = D.DEFAULT,
    order: Order = "auto",
    outside: D.Outside = "error",
    labels: str | Path | LabelSet | None = None,
    names: Sequence[str | None] | None = None,
    file_names: Any = None,
    keep_scores: bool = True,
    counts: bool = True,
    entries: Sequence[Entry] | None = None,
    unchanged: Callable[[Entry], bool] | None = None,
    prefetch: int = 0,
) -> Generator[ZooFile, None, None]:
    """Read, validate and align every input, in order (see the module docstring).

    Parameters
    ----------
    inputs : paths, registry names, arrays or Predictions
        What :func:`~errata.io.predictions.load_predictions` reads.
    dataset, order, outside, file_names, keep_scores
        As in :func:`~errata.io.predictions.load_predictions`, for every input.
    labels : LabelSet, name or path
        The label set the rows are aligned with: one for the whole zoo, or (a name or path)
        read for each input against its images, as :func:`errata.analyze` reads it.
    names : model name per input, optional
        (``None``: the file stem.)
    counts : bool
        Compute each input's top-1 per label-set image and its top-1 / top-5 counts per class
        (``ZooFile.top1``, ``hits``, ``n``), in the reading thread.
    entries : Entry per input, optional
        Hash each file first (``Entry.sha256``, :func:`read_entry`: a file up to
        :data:`READ_WHOLE` is read once, for its hash and its parse); with ``unchanged``, a file
        for which it returns True after the hash is yielded as ``reused``, unread.
    prefetch : int
        Inputs read ahead in a background thread while the caller works on the previous ones
        (0: each input is read when the caller asks for it, in the caller's thread).

    Yields
    ------
    ZooFile
        One per input: ``error`` is the :class:`~errata.exceptions.ErrataInputError` of an input
        that failed (any other exception propagates).
    """
    reader = _Reader(
        ds=D.get(dataset),
        order=order,
        outside=outside,
        labels=labels,
        file_names=file_names,
        keep_scores=keep_scores,
        counts=counts,
        unchanged=unchanged,
        _aligners={},
    )
    if isinstance(labels, LabelSet):
        reader.aligner(labels)
    jobs: Iterable[tuple[Input, str | None, Entry | None]] = zip(
        inputs,
        itertools.repeat(None) if names is None else names,
        itertools.repeat(None) if entries is None else entries,
    )
    if prefetch < 1:
        for job in jobs:
            yield reader(*job)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="errata-read") as pool:
        queue: deque[Future[ZooFile]] = deque()
        feed = iter(jobs)
        try:
            for job in itertools.islice(feed, prefetch):
                queue.append(pool.submit(reader, *job))
            while queue:
                got = queue.popleft().result()
                nxt = next(feed, None)
                if nxt is not None:
                    queue.append(pool.submit(reader, *nxt))
                yield got
        finally:
            for f in queue:  # the caller stopped early: do not read the rest
                f.cancel()


__all__ = ["READ_WHOLE", "Entry", "ZooFile", "read_entry", "read_zoo"]
