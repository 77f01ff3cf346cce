"""Overlapping classes: label/prediction pairs that are not errors (``overlaps.toml``).

ImageNet has a few classes for (nearly) the same thing; Vasudevan et al. (2022) collapse them.
The pairs have a direction: a ``tusker`` prediction for an African elephant counts, an African
elephant prediction for any tusker does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import DTypeLike

from errata.exceptions import ErrataInputError
from errata.resources import N_CLASSES
from errata.taxonomy._toml import class_ref, load_toml

RESOURCE = "overlaps.toml"  # the curated list


@dataclass(frozen=True, eq=False)
class Overlaps:
    """Allowed (label, prediction) pairs with their reasons.

    Attributes
    ----------
    allowed : ndarray of bool, shape (1000, 1000)
        ``allowed[label, prediction]``: predicting ``prediction`` for an image labelled ``label``
        is an overlapping-class answer, not an error. The diagonal is False.
    reasons : dict
        ``(label, prediction) -> why`` for every allowed pair.

    ``np.asarray(overlaps())`` gives ``allowed``.
    """

    allowed: np.ndarray
    reasons: dict[tuple[int, int], str]

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        return self.allowed if dtype is None else self.allowed.astype(dtype)

    def reason(self, label: int, prediction: int) -> str:
        """The reason of one pair, ``""`` when it is not allowed."""
        return self.reasons.get((int(label), int(prediction)), "")

    def pairs(self) -> list[tuple[int, int]]:
        """All allowed ``(label, prediction)`` pairs, sorted."""
        return sorted(self.reasons)


def parse_overlaps(data: dict[str, object], *, source: str = RESOURCE) -> Overlaps:
    """Resolve parsed TOML into :class:`Overlaps`, validating every entry."""
    entries = data.get("overlap")
    if not isinstance(entries, list) or not entries:
        raise ErrataInputError(f"{source}: expected [[overlap]] entries")
    allowed = np.zeros((N_CLASSES, N_CLASSES), dtype=bool)
    reasons: dict[tuple[int, int], str] = {}
    for pos, entry in enumerate(entries, start=1):
        where = f"overlap entry {pos}"
        unknown = set(entry) - {"labels", "predictions", "mutual", "why"}
        if unknown:
            raise ErrataInputError(f"{source}: {where}: unknown key {sorted(unknown)[0]!r}")
        why = entry.get("why")
        if not isinstance(why, str) or not why.strip():
            raise ErrataInputError(f"{source}: {where}: missing 'why'")
        if "mutual" in entry:
            if "labels" in entry or "predictions" in entry:
                raise ErrataInputError(
                    f"{source}: {where}: give 'mutual' or 'labels' + 'predictions', not both"
                )
            labels = predictions = [
                class_ref(source, f"{where}: mutual", r)
                for r in _refs(entry, "mutual", source, where)
            ]
        else:
            labels = [
                class_ref(source, f"{where}: labels", r)
                for r in _refs(entry, "labels", source, where)
            ]
            predictions = [
                class_ref(source, f"{where}: predictions", r)
                for r in _refs(entry, "predictions", source, where)
            ]
        for a in labels:
            for b in predictions:
                if a != b:
                    allowed[a, b] = True
                    reasons[(a, b)] = why
    allowed.setflags(write=False)
    return Overlaps(allowed=allowed, reasons=reasons)


def _refs(entry: dict[str, object], key: str, source: str, where: str) -> list[object]:
    value = entry.get(key)
    if not isinstance(value, list) or not value:
        raise ErrataInputError(f"{source}: {where}: '{key}' must be a non-empty list")
    return value


def load_overlaps(text: str | None = None, *, source: str = RESOURCE) -> Overlaps:
    """Parse and validate an overlap list (errata's own file unless ``text`` is given)."""
    return parse_overlaps(load_toml(source, text), source=source)


@cache
def overlaps() -> Overlaps:
    """errata's overlapping-class pairs (cached).

    Examples
    --------
    >>> o = overlaps()
    >>> bool(o.allowed[386, 101]), bool(o.allowed[101, 386])  # African elephant -> tusker
    (True, False)
    """
    return load_overlaps()
