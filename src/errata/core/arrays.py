"""Array helpers that numpy has, but slowly for the arrays errata holds."""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-D array, as ``np.unique(values)``.

    NumPy ≥ 2.3 finds the distinct values of an integer array by hashing, fast when they are
    few and 40–60× slower than a sort when they are many (1,000,000 (image, class) keys: 3.0 s
    against 0.05 s with NumPy 2.4) — the case of a zoo's error pairs.

    >>> distinct(np.array([5, 3, 5, 1])).tolist()
    [1, 3, 5]
    """
    out = np.sort(np.asarray(values).ravel())
    if len(out) > 1:
        out = out[np.r_[True, out[1:] != out[:-1]]]
    return out
