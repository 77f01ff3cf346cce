"""Validation at the entry: the names a setting may take, and one helper that checks a value.

Each setting's valid names are a :data:`~typing.Literal` type and the tuple of its values
(``ORDERS`` is ``get_args(Order)``), defined here once: the public functions check their
arguments with :func:`choice` against these tuples, the registries behind them (test sets,
taxonomies, built-in label sets, presets, row orders) are keyed by the same names
(``tests/core/test_checks.py`` holds them equal), and the command line validates its options with
the same helper and tuples, so a flag and a keyword accept the same names and say the same thing
when given another.

>>> choice("Peychev2023", TAXONOMIES, keyword="taxonomy")
'peychev2023'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypeVar, get_args

from errata.exceptions import ErrataInputError, arg, did_you_mean

Order = Literal["auto", "filename", "imagefolder"]  # row order of a file without file names
StatedOrder = Literal["filename", "imagefolder"]  # an order a file is in (auto: detect it)
Outside = Literal["error", "map"]  # a top-1 class outside a subset test set's classes
Interval = Literal["wilson", "bootstrap"]  # 95 % interval of accuracies over images
TaxonomyName = Literal["errata", "peychev2023", "supersub10"]
DatasetName = Literal["imagenet-val", "imagenet-v2", "imagenet-a", "imagenet-r"]
LabelSetName = Literal["original", "real", "shankar"]  # the built-in label sets
Preset = Literal["peychev2023"]  # the published pipelines a run can follow

ORDERS: tuple[Order, ...] = get_args(Order)
STATED_ORDERS: tuple[StatedOrder, ...] = get_args(StatedOrder)
OUTSIDE: tuple[Outside, ...] = get_args(Outside)
INTERVALS: tuple[Interval, ...] = get_args(Interval)
TAXONOMIES: tuple[TaxonomyName, ...] = get_args(TaxonomyName)
DATASETS: tuple[DatasetName, ...] = get_args(DatasetName)
LABEL_SETS: tuple[LabelSetName, ...] = get_args(LabelSetName)
PRESETS: tuple[Preset, ...] = get_args(Preset)


S = TypeVar("S", bound=str)


def choice(value: object, choices: Iterable[S], *, keyword: str) -> S:
    """``value`` as one of ``choices`` (typed as they are: ``choice(x, OUTSIDE, …)`` is an
    :data:`Outside`), matched without regard to case (``Real`` is ``real``);
    otherwise an :class:`~errata.exceptions.ErrataInputError` of one line naming the argument
    (the flag on the command line, the keyword in Python: :func:`errata.exceptions.arg`), the
    valid values and the closest ones.

    >>> choice("filename", ORDERS, keyword="order")
    'filename'
    >>> choice("nope", OUTSIDE, keyword="outside")
    Traceback (most recent call last):
    ...
    errata.exceptions.ErrataInputError: outside: 'nope' is not one of error, map
    """
    given = tuple(choices)
    names = [str(c) for c in given]
    if isinstance(value, str):
        exact = {str(c): c for c in given}
        if value in exact:
            return exact[value]
        lower = {str(c).lower(): c for c in given}
        if value.lower() in lower:
            return lower[value.lower()]
    raise ErrataInputError(
        f"{arg(keyword)}: '{value}' is not one of {', '.join(names)}"
        + (did_you_mean(value, names) if isinstance(value, str) else "")
    )


__all__ = [
    "DATASETS",
    "INTERVALS",
    "LABEL_SETS",
    "ORDERS",
    "OUTSIDE",
    "PRESETS",
    "STATED_ORDERS",
    "TAXONOMIES",
    "DatasetName",
    "Interval",
    "LabelSetName",
    "Order",
    "Outside",
    "Preset",
    "StatedOrder",
    "TaxonomyName",
    "choice",
]
