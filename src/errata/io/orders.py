"""The row order of a validation-set file without file names (the edge): which image each of its
50,000 rows is — ``"filename"`` (ILSVRC2012_val_00000001 … 00050000) or ``"imagefolder"``
(sorted by class WordNet id, then file name: what torchvision's ImageFolder yields) — stated and
checked, or (``"auto"``) told apart by the top-1 accuracy against the original labels, which is
near chance (0.1 %) in the wrong order (:func:`resolve_order`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

from errata import resources
from errata.core.checks import StatedOrder
from errata.exceptions import ErrataInputError
from errata.resources import N_VAL

ORDER_NAMES = {"filename": "file-name", "imagefolder": "ImageFolder"}


FIT_ACCURACY = 0.02  # top-1 against the original labels: 20× chance means the order fits


FIT_RATIO = 3.0  # ... and it must beat the other order's accuracy by this factor


@cache
def imagefolder_order() -> np.ndarray:
    """Positions (in file-name order) of the 50,000 images as ImageFolder lists them: sorted by
    class WordNet id (= class index), then file name."""
    orig = resources.validation_labels()
    out = np.lexsort((np.arange(N_VAL), orig))
    out.setflags(write=False)
    return out


def _imagefolder_names() -> np.ndarray:
    names: np.ndarray = resources.val_file_names()[imagefolder_order()]
    return names


ORDERS: dict[str, Callable[[], np.ndarray]] = {  # a stated order -> its 50,000 file names
    "filename": resources.val_file_names,
    "imagefolder": _imagefolder_names,
}


@cache
def file_names_for(order: StatedOrder) -> np.ndarray:
    """The 50,000 validation file names in ``order`` (one shared read-only array per order)."""
    out = ORDERS[order]()
    out.setflags(write=False)
    return out


@cache
def _numbers_in(order: str) -> np.ndarray:
    """The validation numbers of the 50,000 images listed in ``order``."""
    out = np.arange(N_VAL) if order == "filename" else np.array(imagefolder_order())
    out.setflags(write=False)
    return out


@cache
def _original_in(order: str) -> np.ndarray:
    """The original labels of the 50,000 images listed in ``order``."""
    val = resources.validation_labels()
    return val if order == "filename" else val[imagefolder_order()]


def order_fit(top1: np.ndarray) -> dict[str, float]:
    """Top-1 accuracy against the original labels if the rows were in each order."""
    return {o: float((top1 == _original_in(o)).mean()) for o in ORDERS}


def resolve_order(top1: np.ndarray, order: str, where: str, *, known: str | None = None) -> str:
    """The row order of a file without file names: ``order`` itself, checked, or for
    ``"auto"`` the one the predictions fit (see the module docstring)."""
    if order == "auto" and known is not None:
        return known
    fit = order_fit(top1)
    fits = {
        o
        for o, a in fit.items()
        if a >= FIT_ACCURACY and all(a >= FIT_RATIO * b for p, b in fit.items() if p != o)
    }
    shown = ", ".join(f"{100 * a:.1f} % in {ORDER_NAMES[o]} order" for o, a in fit.items())
    if order == "auto":
        if len(fits) == 1:
            return fits.pop()
        raise ErrataInputError(
            f"{where}: cannot tell which image each row is (top-1 against the original labels: "
            f"{shown}); give --order filename or --order imagefolder, or file names"
        )
    if fits and order not in fits:
        other = fits.pop()
        raise ErrataInputError(
            f"{where}: the rows are not in {ORDER_NAMES[order]} order (top-1 against the "
            f"original labels: {shown}); use --order {other} (or --order auto)"
        )
    return order
