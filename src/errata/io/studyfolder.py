"""A study folder as ``compare`` finds it (the edge): its manifest, checked field by field, and
which of its models have lost their rows or their error parts.

``study.json`` is errata's record of what the folder holds; a hand-edited or damaged manifest is
one line naming the field (and the fix, ``--rebuild``), never a ``KeyError``. The manifest is
then checked against the folder: a model whose row is not in ``models.parquet``, or whose error
part is missing, unreadable or holds another number of rows than its models' errors, is
*damaged*. ``compare`` scores the damaged models of its test set again and refuses (or, with
``--rebuild``, drops with a note) those of other test sets, so a damaged study is repaired or
refused, never silently "kept".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict, cast

from errata.core import datasets as D
from errata.exceptions import ErrataInputError, on_command_line
from errata.io import files

if TYPE_CHECKING:
    from errata.core.evidence import Source
    from errata.core.labelset import LabelSetSummary
    from errata.core.population import Comparability
    from errata.io.discover import FailedFile

FORMAT = 3  # study folder layout (1: a single errors.parquet; 2: one test set per study)
PART_NAME = re.compile(r"part-[A-Za-z0-9_-]+\.parquet")  # what compare names its parts
MODEL_FIELDS: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "dataset": (str,),
    "path": (str,),
    "size": (int,),
    "mtime_ns": (int,),
    "sha256": (str,),
}  # the fields of each manifest model that compare reads, and their JSON types


KEY_COLUMNS = ("dataset", "path", "errors")  # what the check reads of models.parquet
KINDS = {
    "settings": dict,
    "labels": dict,
    "sources": dict,
    "models": list,
    "parts": list,
    "datasets": list,
}  # the manifest's fields that compare reads, and their JSON types
PER_DATASET = ("settings", "labels", "sources")  # fields holding one object per test set


class ModelRecord(TypedDict):
    """One model of a manifest (``models``): its name and test set, its file and what the file
    system said of it when it was scored (size, modification and status-change times, inode,
    sha256: :meth:`errata.io.zoo.Entry.unchanged`), its top-k and the error part holding its
    rows. ``compare`` writes every key; :func:`check` guarantees those of
    :data:`MODEL_FIELDS`, so the others are read with ``.get``."""

    model: str
    dataset: str
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    ctime_ns: NotRequired[int]
    inode: NotRequired[int]
    k: NotRequired[int | None]  # None: the file was kept from a study that did not say
    part: NotRequired[str | None]  # None: metrics only, no error rows


class RunCounts(TypedDict):
    """``counts``: the models of the run's test set, and what the run did with them."""

    models: int
    scored: int
    reused: int
    removed: int
    failed: int


RunSettings = dict[str, object]  # errata.analysis.settings() of a test set's models


class StudyManifest(TypedDict):
    """``study.json`` (:attr:`errata.study.Study.summary`), as ``compare`` writes it: the
    layout ``format``, errata's version, the test sets in the study (``datasets``) and, per
    test set, the ``settings``, the label set's summary (``labels``, with its ``source``) and
    the evidence used (``sources``; None for a test set of an older study that did not record
    it); the category names in code order, every model (:class:`ModelRecord`), the run's test
    set (``dataset``), its ``counts``, the files that failed, the notes, whether its validation
    models stand beside the published ones (``published``) and the error parts (``parts``,
    written with the folder). ``compare`` writes every key; :func:`check` guarantees ``format``
    and ``models`` (and the kind of the fields of :data:`KINDS`), so a reader takes the
    others with ``.get``."""

    format: int
    models: list[ModelRecord]
    errata_version: NotRequired[str]
    datasets: NotRequired[list[str]]
    settings: NotRequired[dict[str, RunSettings | None]]
    labels: NotRequired[dict[str, LabelSetSummary | None]]
    sources: NotRequired[dict[str, dict[str, Source] | None]]
    categories: NotRequired[list[str]]
    dataset: NotRequired[str]
    counts: NotRequired[RunCounts]
    failed: NotRequired[list[FailedFile]]
    notes: NotRequired[list[str]]
    published: NotRequired[Comparability | None]
    parts: NotRequired[list[str]]


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_JSON_KINDS = {dict: "an object", list: "a list", str: "a string", int: "a whole number"}


def _json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words."""
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return next((w for k, w in _JSON_KINDS.items() if isinstance(value, k)), "a number")


class OlderStudy(ErrataInputError):
    """A study folder in an older layout than :data:`FORMAT`."""


class DamagedManifest(ErrataInputError):
    """A ``study.json`` that does not parse, or whose fields are not errata's."""


def read_manifest(folder: str | Path, *, fix: str | None = None) -> StudyManifest:
    """The manifest (``study.json``) of the study in ``folder``, checked (:func:`check`); a study
    in an older layout is refused (:class:`OlderStudy`), a damaged manifest too
    (:class:`DamagedManifest`), their messages ending in ``fix`` (by default: rebuild it)."""
    folder = Path(folder)
    fix = fix or (
        f"rebuild it with `errata compare ... --out {folder} --rebuild`"
        if on_command_line()
        else f"rebuild it with errata.compare(..., out={str(folder)!r}, rebuild=True)"
    )
    where = folder / "study.json"
    try:
        meta = files.read_json(where, what="a study manifest (study.json)")
    except ErrataInputError as exc:
        raise DamagedManifest(f"{exc}; {fix}") from None
    if isinstance(meta, dict) and isinstance(meta.get("format"), int) and meta["format"] < FORMAT:
        raise OlderStudy(f"{folder}: the study was written by an older errata; {fix}")
    problem = check(meta)
    if problem or not isinstance(meta, dict):  # check() refuses a manifest that is no object
        raise DamagedManifest(f"{where}: {problem}; the manifest was edited or damaged: {fix}")
    return cast("StudyManifest", meta)  # checked: format, models and the kinds of KINDS


def check(meta: object) -> str | None:
    """What is wrong with a manifest's fields (None: nothing)."""
    if not isinstance(meta, dict):
        return f"{_json_kind(meta)}, not an object"
    if meta.get("format") != FORMAT:
        return f"format {meta.get('format')!r}, expected {FORMAT}"
    for key, kind in KINDS.items():
        if key in meta and not isinstance(meta[key], kind):
            return f"'{key}' is {_json_kind(meta[key])}, expected {_JSON_KINDS[kind]}"
    if not isinstance(meta.get("models"), list):
        return "no 'models' list"
    for key in PER_DATASET:
        for ds, value in meta.get(key, {}).items():
            if ds not in D.DATASETS:
                return f"'{key}' names the test set {ds!r}, not one of {', '.join(D.DATASETS)}"
            if value is not None and not isinstance(value, dict):
                return f"'{key}'[{ds!r}] is {_json_kind(value)}, expected an object"
    seen: set[tuple[str, str]] = set()
    for i, m in enumerate(meta["models"]):
        problem = _check_model(m)
        if problem:
            return f"models[{i}]: {problem}"
        if (m["dataset"], m["path"]) in seen:
            return f"models[{i}]: {m['path']} ({m['dataset']}) is listed twice"
        seen.add((m["dataset"], m["path"]))
    for i, p in enumerate(meta.get("parts", [])):
        if not isinstance(p, str) or not PART_NAME.fullmatch(p):
            return f"parts[{i}]: {p!r} is not the name of an error part (part-….parquet)"
    return None


def _check_model(m: object) -> str | None:
    if not isinstance(m, dict):
        return f"{_json_kind(m)}, not an object"
    for key, kinds in MODEL_FIELDS.items():
        if key not in m:
            return f"no '{key}'"
        if key == "dataset" and m[key] not in D.DATASETS:
            return f"'dataset' is {m[key]!r}, not one of {', '.join(D.DATASETS)}"
        value = m[key]
        if key == "sha256" and value is None:
            continue
        if not isinstance(value, kinds) or isinstance(value, bool):
            return f"'{key}' is {value!r}, expected {' or '.join(_JSON_KINDS[k] for k in kinds)}"
    part = m.get("part")
    if part is not None and (not isinstance(part, str) or not PART_NAME.fullmatch(part)):
        return f"'part' is {part!r}, not the name of an error part"
    return None


@dataclass
class Damage:
    """What a study folder has lost: the (test set, path) of each damaged model, and why."""

    models: set[tuple[str, str]] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what is wrong but costs no model

    def add(self, models: list[ModelRecord], reason: str) -> None:
        self.models |= {(m["dataset"], m["path"]) for m in models}
        self.reasons.append(reason)


def damage(folder: Path, meta: StudyManifest) -> Damage:
    """Which of the manifest's models the folder has lost (see the module docstring); reads
    ``models.parquet``'s key columns and each part's Parquet footer only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Damage()
    models = meta["models"]
    if not models:
        return out
    path = folder / "models.parquet"
    try:
        names = set(pq.read_schema(path).names)
        table = pq.read_table(path, columns=[c for c in KEY_COLUMNS if c in names])
        if not {"dataset", "path"} <= names:
            raise ValueError("no 'dataset' and 'path' columns")
    except (OSError, ValueError, pa.ArrowException) as exc:
        why = "is missing" if not path.exists() else f"cannot be read ({_first(exc)})"
        out.add(models, f"models.parquet {why}")
        return out
    errors = table["errors"].to_pylist() if "errors" in names else [None] * table.num_rows
    keys = list(zip(table["dataset"].to_pylist(), table["path"].to_pylist()))
    rows = dict(zip(keys, errors))
    _check_rows(out, models, keys, rows)
    by_part: dict[str, list[ModelRecord]] = {}
    for m in models:
        part = m.get("part")
        if part:
            by_part.setdefault(part, []).append(m)
    listed = set(meta.get("parts", []))
    for part, members in by_part.items():
        if part not in listed:
            out.add(members, f"errors/{part} is not among the manifest's parts")
            continue
        problem = _part_problem(folder / "errors" / part, members, rows)
        if problem:
            out.add(members, f"errors/{part} {problem}")
    return out


Key = tuple[str, str]  # a model's (test set, path)


def _check_rows(
    out: Damage, models: list[ModelRecord], keys: list[Key], rows: dict[Key, int | None]
) -> None:
    """Models without their one row in ``models.parquet`` are damaged; rows of no listed model
    are said (the run drops them)."""
    lost = [m for m in models if (m["dataset"], m["path"]) not in rows]
    if lost:
        out.add(lost, f"models.parquet has no row for {len(lost)} of the manifest's models")
    twice = {k for k in keys if keys.count(k) > 1} if len(rows) < len(keys) else set()
    if twice:
        out.add(
            [m for m in models if (m["dataset"], m["path"]) in twice],
            (f"models.parquet has {len(keys) - len(rows)} repeated rows"),
        )
    listed = {(m["dataset"], m["path"]) for m in models}
    strays = len(set(rows) - listed)
    if strays:
        out.notes.append(f"models.parquet has rows of {strays} models the manifest does not list")


def _part_problem(
    path: Path, members: list[ModelRecord], rows: dict[Key, int | None]
) -> str | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        n = pq.read_metadata(path).num_rows
    except FileNotFoundError:
        return "is missing"
    except (OSError, pa.ArrowException) as exc:
        return f"cannot be read ({_first(exc)})"
    want = 0
    for m in members:
        errors = rows.get((m["dataset"], m["path"]))
        if errors is None:
            return None  # a model without its row is damaged already; its part is not judged
        want += int(errors)
    if n != want:
        return f"holds {n:,} error rows where its models have {want:,}"
    return None
