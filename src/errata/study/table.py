"""A study's models table (one row per model) as numpy columns: built from the scored batches,
put in input order and written to ``models.parquet`` without pandas, whose import is a third
of ``compare``'s fixed cost. ``Study.models`` makes the pandas DataFrame when it is asked for.

A study that keeps rows of an earlier run reads its ``models.parquet`` with pandas and merges
there (:func:`errata.study.folder.models_table`); its table wraps that DataFrame, and the
DataFrame is what is written and shown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

Column = npt.NDArray[np.generic]  # one 1-D column: numbers, booleans, or text (object)
TEXT = ("model", "dataset", "path")  # the text columns of a scored batch


def text(values: Sequence[str] | str, n: int) -> Column:
    """A text column of ``n`` rows (a single string is repeated)."""
    out = np.empty(n, dtype=object)
    out[:] = [values] * n if isinstance(values, str) else list(values)
    return out


@dataclass
class Models:
    """The models table: ``data`` (column name → 1-D array, every column as long), or the
    DataFrame it was made from (``frame``, a study that kept earlier rows)."""

    data: dict[str, Column] = field(default_factory=dict)
    frame_: pd.DataFrame | None = None

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> Models:
        return cls(data={str(c): frame[c].to_numpy() for c in frame.columns}, frame_=frame)

    @classmethod
    def concat(cls, pieces: Sequence[Models]) -> Models:
        """The rows of ``pieces`` one after the other (pieces with other columns: their union,
        as ``pandas.concat`` makes it)."""
        pieces = [p for p in pieces if len(p)]
        if not pieces:
            return cls.empty()
        names = pieces[0].columns
        if any(p.columns != names for p in pieces):  # e.g. top5 in some batches: pandas' union
            import pandas as pd

            return cls.of_frame(pd.concat([p.frame() for p in pieces], ignore_index=True))
        return cls({c: np.concatenate([p.data[c] for p in pieces]) for c in names})

    @classmethod
    def empty(cls) -> Models:
        """No models: the two key columns (as compare has always written an empty study)."""
        return cls({"model": text([], 0), "dataset": text([], 0)})

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def __contains__(self, name: object) -> bool:
        return name in self.data

    def __getitem__(self, name: str) -> Column:
        return self.data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def take(self, rows: npt.NDArray[np.intp]) -> Models:
        """The rows ``rows``, in that order."""
        if self.frame_ is not None:
            return Models.of_frame(self.frame_.iloc[rows].reset_index(drop=True))
        return Models({c: v[rows] for c, v in self.data.items()})

    def records(self) -> list[dict[str, object]]:
        """One dict per row, Python values (as ``DataFrame.to_dict(orient="records")``)."""
        if self.frame_ is not None:
            rows: list[dict[str, object]] = self.frame_.to_dict(orient="records")
            return rows
        cols = {c: v.tolist() for c, v in self.data.items()}
        return [dict(zip(cols, row)) for row in zip(*cols.values())]

    def frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame (made once)."""
        if self.frame_ is None:
            import pandas as pd

            self.frame_ = pd.DataFrame(
                {
                    c: pd.Series(v, dtype=str) if v.dtype == object else v
                    for c, v in self.data.items()
                }
            )
        return self.frame_

    def arrow(self) -> pa.Table:
        """The table as Arrow, as ``models.parquet`` holds it (text as ``large_string``, NaN as
        null, as pyarrow writes a DataFrame)."""
        if self.frame_ is not None:
            import pyarrow as pa

            return pa.Table.from_pandas(self.frame_, preserve_index=False)
        from errata.io import arrow

        return arrow.table(self.data, nan_is_null=True)


def batch(
    columns: Mapping[str, Sequence[str] | str],
    k: Sequence[int],
    values: Mapping[str, Column],
    n: int,
) -> Models:
    """One scored batch's rows: the text columns (``model``, ``dataset``, ``path``; a string
    is every row's), ``k`` and the figures of :attr:`errata.core.scoring.Scores.values`."""
    data = {c: text(columns[c], n) for c in TEXT}
    data["k"] = np.asarray(k, dtype=np.int64)
    return Models(data | dict(values))


__all__ = ["Column", "Models", "batch", "text"]
