"""errata's CSV label schema (the edge): ``file_name,labels[,unclear,problematic,original]``,
or ``file_name,label`` for one class per image, checked once with errors naming the row and
column."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from errata.core import datasets as D
from errata.core.labelset import LabelSet
from errata.core.names import as_names
from errata.exceptions import ErrataInputError, register_lines, row_ref
from errata.io.label_files import _check_subset, _check_unique, _class_index_of, _matrix


def from_csv(path: str | Path, *, dataset: str | D.Dataset = D.DEFAULT) -> LabelSet:
    """errata's CSV schema: columns ``file_name``, ``labels`` (classes separated by spaces or
    ``;``), and optionally ``unclear`` (same format), ``problematic`` (0/1/true/false) and
    ``original`` (one class). A class is an index 0-999 or a WordNet id. A ``file_name,label``
    CSV (one class per image) is the single-label case: ``label`` is then also the original."""
    import pandas as pd

    path = Path(path)
    ds = D.get(dataset)
    _check_csv_header(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ErrataInputError(f"{path}: cannot read as CSV ({exc})") from None
    from errata.io.table_files import csv_data_lines

    register_lines(str(path), lambda: csv_data_lines(path.read_bytes(), whitespace=True))
    single = "label" in df.columns and "labels" not in df.columns
    if single:
        df = df.rename(columns={"label": "labels"})
        if "original" not in df.columns:
            df["original"] = df["labels"]
    for col in ("file_name", "labels"):
        if col not in df.columns:
            raise ErrataInputError(
                f"{path}: missing column '{col}' (expected columns file_name, "
                "labels[, unclear, problematic, original], or file_name, label)"
            )
    if df.empty:
        raise ErrataInputError(f"{path}: no rows")
    file_names = ds.identities(as_names(df["file_name"].to_numpy(dtype=object)))
    _check_unique(file_names, str(path), ds)

    def parse(col: str) -> list[list[int]]:
        if col not in df.columns:
            return [[] for _ in range(len(df))]
        out = []
        shown = "label" if single and col == "labels" else col
        for row, cell in enumerate(df[col]):
            toks = [t for t in cell.replace(";", " ").replace(",", " ").split() if t]
            out.append(
                [
                    _class_index_of(t, where=f"{path}: {row_ref(path, row)}, column '{shown}'")
                    for t in toks
                ]
            )
        return out

    problematic = np.zeros(len(df), dtype=bool)
    if "problematic" in df.columns:
        vals = df["problematic"].str.strip().str.lower()
        bad = ~vals.isin(["", "0", "1", "true", "false", "yes", "no"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ErrataInputError(
                f"{path}: {row_ref(path, row)}, column 'problematic': "
                f"'{df['problematic'].iloc[row]}' is not 0/1/true/false"
            )
        problematic = vals.isin(["1", "true", "yes"]).to_numpy()
    original = ds.original(file_names)
    if "original" in df.columns:
        shown = "label" if single else "original"
        for row, cell in enumerate(df["original"]):
            if cell.strip():
                original[row] = _class_index_of(
                    cell, where=f"{path}: {row_ref(path, row)}, column '{shown}'"
                )
    correct = _matrix(parse("labels"), len(df))
    unclear = _matrix(parse("unclear"), len(df))
    _check_subset(ds, path, file_names, correct, unclear, original)
    return LabelSet(
        name=path.stem,
        file_names=file_names,
        correct=correct,
        unclear=unclear,
        problematic=problematic,
        original=original,
        source=f"errata CSV label schema: {path}",
        dataset=ds.name,
    )


def _check_csv_header(path: Path) -> None:
    """A label CSV names each column once, and gives its labels as ``labels`` or ``label``,
    not both (pandas would read a repeated column as ``labels.1`` and ignore it)."""
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(line for line in fh if line.strip()), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ErrataInputError(f"{path}: cannot read as CSV ({exc})") from None
    names = [h.strip() for h in header]
    for name in names:
        if names.count(name) > 1:
            raise ErrataInputError(
                f"{path}: column '{name}' appears {names.count(name)} times in the header; each "
                "column needs a name of its own"
            )
    if "label" in names and "labels" in names:
        raise ErrataInputError(
            f"{path}: columns 'label' and 'labels' both give labels; keep one (labels: several "
            "classes per image, label: one)"
        )
