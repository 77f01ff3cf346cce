"""A study folder before and after a run (a shell over :mod:`errata.io.studyfolder`): the
previous study a run adds to, its settings guard, and the new folder's tables and parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.exceptions import ErrataInputError, arg, on_command_line
from errata.io import files
from errata.io.studyfolder import (
    Damage,
    DamagedManifest,
    ModelRecord,
    OlderStudy,
    StudyManifest,
    damage,
    read_manifest,
)
from errata.io.tables import StudyErrors, write_part
from errata.study.scoring import Entry
from errata.study.table import Models

if TYPE_CHECKING:
    from errata.study import Study


def unique_name(path: Path, used: set[str]) -> str:
    """The file stem, made unique (``parent/stem``, then a counter) when stems repeat."""
    name = path.stem
    if name in used:
        name = f"{path.parent.name}/{path.stem}"
    base, i = name, 2
    while name in used:
        name, i = f"{base}#{i}", i + 1
    used.add(name)
    return name


def previous(
    out: Path | None, rebuild: bool, dataset: str, notes: list[str]
) -> tuple[StudyManifest | None, Damage]:
    """The manifest of an existing study in ``out`` that this run adds to (else None) and what
    the folder has lost. An older layout or a damaged manifest is refused, or with ``rebuild``
    replaced; damaged models of other test sets are refused, or with ``rebuild`` dropped (the
    notes say which)."""
    if out is None or not (out / "study.json").exists():
        return None, Damage()
    try:
        old = read_manifest(out, fix=f"run again with {arg('rebuild', True)}")
    except (OlderStudy, DamagedManifest) as exc:
        if not rebuild:
            raise
        if isinstance(exc, DamagedManifest):
            notes.append(f"{out}: its manifest could not be read; the study is made anew")
        return None, Damage()
    lost = damage(out, old)
    notes.extend(f"{out}: {n}; they are dropped" for n in lost.notes)
    why = "; ".join(lost.reasons[:3]) + ("; …" if len(lost.reasons) > 3 else "")
    others = sorted({d for d, _ in lost.models if d != dataset})
    if others:
        n = sum(1 for d, _ in lost.models if d != dataset)
        what = f"{n} {', '.join(others)} model(s) ({why})"
        if not rebuild:
            raise ErrataInputError(
                f"{out}: the study has lost the results of {what}; run compare on their files "
                f"with their {arg('dataset')}{'' if on_command_line() else '='}, or again with "
                f"{arg('rebuild', True)} (which drops them)"
            )
        notes.append(f"{out}: dropped {what}")
    mine = sum(1 for d, _ in lost.models if d == dataset)
    if mine:
        notes.append(f"{out}: repaired: {why}; {mine} {dataset} model(s) scored again")
    return old, lost


def check_settings(
    out: Path, old: StudyManifest, dataset: str, settings: Mapping[str, object]
) -> None:
    """A run may only add to the models of its test set that were made with its settings."""
    before = (old.get("settings") or {}).get(dataset)
    if before is None or before == settings:
        return
    changed = sorted(k for k in set(settings) | set(before) if settings.get(k) != before.get(k))
    raise ErrataInputError(
        f"{out}: the study's {dataset} models were made with other settings "
        f"({', '.join(changed)}); use {arg('rebuild', True)} to redo them, or another "
        f"{arg('out')}{'' if on_command_line() else ' folder'}"
    )


def models_table(
    frames: list[Models],
    kept: list[Entry],
    out: Path | None,
    entries: list[Entry],
    others: list[ModelRecord],
    dataset: str,
) -> Models:
    """The new models' rows and the kept rows of the previous study: the other test sets'
    rows as they were, then this test set's in input order (numpy for a study made anew;
    pandas, reading ``models.parquet``, for one that keeps rows)."""
    rank = {e.path: i for i, e in enumerate(entries)}
    if not ((kept or others) and out is not None):
        models = Models.concat(frames)
        if not len(models):
            return models
        order = np.array([rank[p] for p in models["path"].tolist()], dtype=np.int64)
        return models.take(np.argsort(order, kind="stable"))
    import pandas as pd

    old = pd.read_parquet(out / "models.parquet")
    mine = old[(old["dataset"] == dataset) & old["path"].isin([e.path for e in kept])]
    pieces = [mine, *(f.frame() for f in frames if len(f))]
    pieces = [p for p in pieces if len(p)]
    # the other test sets' kept models (not those dropped as damaged)
    keep = {(m["dataset"], m["path"]) for m in others}
    pairs = pd.Series(list(zip(old["dataset"], old["path"])), index=old.index, dtype=object)
    rest = old[(old["dataset"] != dataset) & pairs.isin(keep)]
    if not pieces:
        return Models.of_frame(rest.reset_index(drop=True)) if len(rest) else Models.empty()
    models = pd.concat(pieces, ignore_index=True)
    models = models.sort_values("path", key=lambda col: col.map(rank), kind="stable")
    if len(rest):
        models = pd.concat([rest, models], ignore_index=True)
    return Models.of_frame(models.reset_index(drop=True))


def finish(
    tmp: Path,
    out: Path,
    study: Study,
    old_models: list[ModelRecord],
    kept: set[tuple[str, str]],
    layout: StudyErrors,
    others: list[ModelRecord],
) -> None:
    """Complete the new study folder ``tmp``: the previous study's parts (linked when all their
    models stay, else filtered), the models table, the manifest. ``kept`` are the (test set,
    path) of this run's kept models; the models of other test sets (``others``) all stay."""
    errors_dir = tmp / "errors"
    kept = kept | {(m["dataset"], m["path"]) for m in others}
    by_part: dict[str, list[ModelRecord]] = {}
    for m in old_models:
        part = m.get("part")
        if part:
            by_part.setdefault(part, []).append(m)
    for part, members in by_part.items():
        src = out / "errors" / part
        stay = [m["model"] for m in members if (m["dataset"], m["path"]) in kept]
        if not stay or not src.exists():
            continue
        if len(stay) == len(members):
            files.link_or_copy(src, errors_dir / part)
        else:
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.parquet as pq

            t = pq.read_table(src)
            keep = pc.is_in(t.column("model").cast(pa.string()), value_set=pa.array(stay))
            write_part(errors_dir / part, t.filter(keep))
    if not any(errors_dir.iterdir()):
        write_part(errors_dir / "part-empty.parquet", layout.empty())
    study.summary["parts"] = sorted(p.name for p in errors_dir.iterdir())
    files.write_parquet(tmp / "models.parquet", study.table.arrow())
    files.write_json(tmp / "failed.json", study.failed)
    files.write_json(tmp / "study.json", study.summary)
