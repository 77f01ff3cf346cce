"""Score columns by name (the edge): which class each column of a CSV or Parquet score table is.

A table of scores names its columns in one of a few ways, and the order of the columns is not
to be trusted (a pandas pipeline that sorts column names as text puts ``'10'`` before ``'2'``):

* by class index — ``0`` … ``999``, also with a prefix or suffix shared by all of them
  (``class_0``, ``logit_12``, ``p7_score``);
* by WordNet id — ``n01440764`` …, also with a shared prefix or suffix (``logit_n01440764``);
* by class name — ``tench``, ``goldfish`` … (the first name of each class);
* not at all (``a``, ``b``, …, or nothing that names a class): then, and only then, the columns
  are read in the order of the file, and the run's notes say so.

On a 200-class test set (ImageNet-A/-R) class indices may number the 1000 classes or the 200
positions of the set's own class list (``0`` … ``199``). A set of names that is not exactly the
classes expected is an error that names what is missing and what is extra.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from errata import resources
from errata.core import datasets as D
from errata.exceptions import ErrataInputError
from errata.resources import N_CLASSES

# a name's class key: the last run of digits or WordNet id, with what comes before and after it
_KEY = re.compile(r"^(?P<pre>.*?)(?P<key>n\d{8}|\d+)(?P<post>\D*)$")
SHOWN = 5  # names listed in a message before "…"
# score widths a file may have: the 1000 classes (1001 gets its own message) or a subset's
SUBSET_WIDTHS = frozenset(len(resources.subset_classes(k)) for k in resources.SUBSETS)
SCORE_WIDTHS = frozenset({N_CLASSES, N_CLASSES + 1, *SUBSET_WIDTHS})
_NAMES = resources.classes().names
SHARED_NAMES = frozenset(n for n in _NAMES if _NAMES.count(n) > 1)  # 'crane', 'maillot'


@dataclass(frozen=True)
class ScoreColumns:
    """The score columns of a table in class order, and what was read how."""

    columns: list[str]  # column j is class j (of the 1000, or of the subset's class list)
    note: str | None = None  # said in the run's notes (positional reading)


def _listed(items: Sequence[object], what: str) -> str:
    shown = ", ".join(str(x) for x in items[:SHOWN])
    more = f", … ({len(items)} in all)" if len(items) > SHOWN else ""
    return f"{what} {shown}{more}"


@cache
def _name_index() -> dict[str, int]:
    """Class first name → index, for the names that one class alone has."""
    names = resources.classes().names
    counts = Counter(names)
    return {n: i for i, n in enumerate(names) if counts[n] == 1}


def _keyed(columns: Sequence[str]) -> tuple[str, list[str], list[int]] | None:
    """``(kind, named, classes)`` when most columns share one naming pattern that names a class
    (prefix + index or WordNet id + suffix): the columns of that pattern and the class each
    names (-1: a WordNet id that is not an ImageNet class); None when they do not."""
    parsed = [(c, _KEY.match(c)) for c in columns]
    patterns = Counter(
        (m["pre"], m["post"], m["key"][0] == "n") for _, m in parsed if m is not None
    )
    if not patterns:
        return None
    (pre, post, wnid), n = patterns.most_common(1)[0]
    if n < 2 or 2 * n <= len(columns):
        return None
    named, classes = [], []
    index = resources.wnid_index()
    for c, m in parsed:
        if m is not None and (m["pre"], m["post"], m["key"][0] == "n") == (pre, post, wnid):
            named.append(c)
            classes.append(index.get(m["key"], -1) if wnid else int(m["key"]))
    return ("WordNet id" if wnid else "class index"), named, classes


def _by_names(columns: Sequence[str]) -> tuple[str, list[str], list[int]] | None:
    """``("class name", named, classes)`` when most columns are class names."""
    index = _name_index()
    ambiguous = set(resources.classes().names) - set(index)
    named = [c for c in columns if c in index or c in ambiguous]
    if 2 * len(named) <= len(columns):
        return None
    return "class name", named, [index.get(c, -1) for c in named]


def score_columns(columns: Sequence[str], where: str, ds: D.Dataset) -> ScoreColumns:
    """The score columns of a table (its columns other than the file names), ordered so that
    column ``j`` is class ``j`` — of the 1000, or of the subset's class list when the table has
    one column per class of a 200-class test set (see the module docstring)."""
    if list(columns) == list(resources.classes().names):
        return ScoreColumns(list(columns))  # the class names in class order (two repeat)
    found = _keyed(columns) or _by_names(columns)
    if found is None:
        shown = ", ".join(f"'{c}'" for c in columns[:3])
        return ScoreColumns(
            list(columns),
            f"{where}: the {len(columns)} score columns carry no class names ({shown}, …): "
            "read in the order of the file, column j as class j",
        )
    kind, named, classes = found
    return ScoreColumns(_ordered(kind, named, classes, columns, where, ds))


def _ordered(
    kind: str,
    named: list[str],
    classes: list[int],
    columns: Sequence[str],
    where: str,
    ds: D.Dataset,
) -> list[str]:
    """The ``named`` columns in class order, once every expected class has its one column."""
    if kind == "class name":
        ambiguous = [c for c, k in zip(named, classes) if k < 0]
        if ambiguous:
            raise ErrataInputError(
                f"{where}: score column '{ambiguous[0]}' names two ImageNet classes; name the "
                "score columns by class index (0-999) or WordNet id"
            )
    subset = ds.classes if ds.subset is not None else None
    positions = (
        subset is not None and kind == "class index" and set(classes) == set(range(len(subset)))
    )
    if positions:
        want = np.arange(len(subset))  # type: ignore[arg-type]
    elif subset is not None and len(named) < N_CLASSES:
        want = subset
    else:
        want = np.arange(N_CLASSES)
        other = _subset_of(set(classes))
        if ds.subset is None and other is not None:
            return [c for _, c in sorted(zip(classes, named))]  # _to_topk names --dataset
    seen: dict[int, str] = {}
    for c, k in zip(named, classes):
        if k in seen and k >= 0:
            raise ErrataInputError(
                f"{where}: score columns '{seen[k]}' and '{c}' both name class {k}; each class "
                "needs one column"
            )
        seen[k] = c
    wanted = {int(k) for k in want}
    missing = sorted(wanted - set(seen))
    extra = [c for c in columns if c not in named] + [
        c for c, k in zip(named, classes) if k not in wanted
    ]
    if missing or extra:
        parts = ([_listed(missing, "missing")] if missing else []) + (
            [_listed([f"'{c}'" for c in extra], "extra")] if extra else []
        )
        expected = (
            f"the {len(want)} classes of {ds.title}"
            if subset is not None and len(want) < N_CLASSES
            else "the 1000 classes, 0-999"
        )
        raise ErrataInputError(
            f"{where}: score columns named by {kind}: {'; '.join(parts)}; expected one column "
            f"per class of {expected}"
        )
    return [seen[int(k)] for k in want]


def _subset_of(classes: set[int]) -> str | None:
    """The 200-class test set whose classes (or positions) are exactly ``classes``."""
    for name in resources.SUBSETS:
        sub = resources.subset_classes(name)
        if classes == {int(c) for c in sub} or classes == set(range(len(sub))):
            return name
    return None
