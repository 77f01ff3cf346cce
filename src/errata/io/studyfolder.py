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
from typing import Any

from errata.exceptions import ErrataInputError
from errata.io import files

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


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class OlderStudy(ErrataInputError):
    """A study folder in an older layout than :data:`FORMAT`."""


class DamagedManifest(ErrataInputError):
    """A ``study.json`` that does not parse, or whose fields are not errata's."""


def read_manifest(folder: str | Path, *, fix: str | None = None) -> dict[str, Any]:
    """The manifest (``study.json``) of the study in ``folder``, checked (:func:`check`); a study
    in an older layout is refused (:class:`OlderStudy`), a damaged manifest too
    (:class:`DamagedManifest`), their messages ending in ``fix`` (by default: rebuild it)."""
    folder = Path(folder)
    fix = fix or f"rebuild it with `errata compare ... --out {folder} --rebuild`"
    where = folder / "study.json"
    try:
        meta = files.read_json(where, what="a study manifest (study.json)")
    except ErrataInputError as exc:
        raise DamagedManifest(f"{exc}; {fix}") from None
    if isinstance(meta, dict) and isinstance(meta.get("format"), int) and meta["format"] < FORMAT:
        raise OlderStudy(f"{folder}: the study was written by an older errata; {fix}")
    problem = check(meta)
    if problem:
        raise DamagedManifest(f"{where}: {problem}; the manifest was edited or damaged: {fix}")
    return meta


def check(meta: Any) -> str | None:
    """What is wrong with a manifest's fields (None: nothing)."""
    if not isinstance(meta, dict):
        return f"a {type(meta).__name__}, not an object"
    if meta.get("format") != FORMAT:
        return f"format {meta.get('format')!r}, expected {FORMAT}"
    for key, kind in (("settings", dict), ("models", list), ("parts", list)):
        if key in meta and not isinstance(meta[key], kind):
            return f"'{key}' is a {type(meta[key]).__name__}, expected a {kind.__name__}"
    if not isinstance(meta.get("models"), list):
        return "no 'models' list"
    for i, m in enumerate(meta["models"]):
        problem = _check_model(m)
        if problem:
            return f"models[{i}]: {problem}"
    for i, p in enumerate(meta.get("parts", [])):
        if not isinstance(p, str) or not PART_NAME.fullmatch(p):
            return f"parts[{i}]: {p!r} is not the name of an error part (part-….parquet)"
    return None


def _check_model(m: Any) -> str | None:
    if not isinstance(m, dict):
        return f"a {type(m).__name__}, not an object"
    for key, kinds in MODEL_FIELDS.items():
        if key not in m:
            return f"no '{key}'"
        value = m[key]
        if key == "sha256" and value is None:
            continue
        if not isinstance(value, kinds) or isinstance(value, bool):
            return f"'{key}' is {value!r}, expected {' or '.join(k.__name__ for k in kinds)}"
    part = m.get("part")
    if part is not None and (not isinstance(part, str) or not PART_NAME.fullmatch(part)):
        return f"'part' is {part!r}, not the name of an error part"
    return None


@dataclass
class Damage:
    """What a study folder has lost: the (test set, path) of each damaged model, and why."""

    models: set[tuple[str, str]] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)

    def add(self, models: list[dict[str, Any]], reason: str) -> None:
        self.models |= {(m["dataset"], m["path"]) for m in models}
        self.reasons.append(reason)


def damage(folder: Path, meta: dict[str, Any]) -> Damage:
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
    errors = table["errors"] if "errors" in names else [None] * table.num_rows
    rows = dict(zip(zip(table["dataset"].to_pylist(), table["path"].to_pylist()), errors))
    lost = [m for m in models if (m["dataset"], m["path"]) not in rows]
    if lost:
        out.add(lost, f"models.parquet has no row for {len(lost)} of the manifest's models")
    by_part: dict[str, list[dict[str, Any]]] = {}
    for m in models:
        if m.get("part"):
            by_part.setdefault(m["part"], []).append(m)
    for part, members in by_part.items():
        why = _part_problem(folder / "errors" / part, members, rows)
        if why:
            out.add(members, f"errors/{part} {why}")
    return out


def _part_problem(path: Path, members: list[dict[str, Any]], rows: dict[Any, Any]) -> str | None:
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
        value = rows.get((m["dataset"], m["path"]))
        errors = value.as_py() if hasattr(value, "as_py") else value
        if errors is None:
            return None  # a model without its row is damaged already; its part is not judged
        want += int(errors)
    if n != want:
        return f"holds {n:,} error rows where its models have {want:,}"
    return None
