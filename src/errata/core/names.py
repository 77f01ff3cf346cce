"""Image identity: file names, vectorised.

An image is known by its base file name (``ILSVRC2012_val_00000001.JPEG``; directories are
dropped). ImageNet validation images are also known by their number, so ``val/n01440764/
ILSVRC2012_val_00000293.JPEG``, ``ILSVRC2012_val_00000293`` and ``ILSVRC2012_val_00000293.png``
are the same image. Everything here works on numpy string arrays with ``numpy.strings`` ufuncs
and sorting: no Python loop over names.

:class:`NameIndex` finds the rows of names in a label set; :func:`align` maps a prediction
file's rows onto a label set's images once, and :class:`Aligner` remembers the mapping for
every distinct name list of a study (a zoo usually has one or two).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from errata import resources
from errata.exceptions import ErrataInputError, row_ref
from errata.resources import N_VAL, VAL_PREFIX

_DIGITS = 8  # ILSVRC2012_val_XXXXXXXX


def as_names(values: object) -> np.ndarray:
    """A numpy unicode array of names from a list, object array or string array."""
    arr = np.asarray(values)
    if arr.dtype.kind == "U":
        return arr
    return np.asarray(arr.astype(object).astype(str), dtype=str)


_SLASH, _BACKSLASH, _DOT = ord("/"), ord("\\"), ord(".")


def _codes(names: np.ndarray) -> np.ndarray:
    """``(n, width)`` uint32 code points of a unicode array (a view, no copy)."""
    width = names.dtype.itemsize // 4
    return names.view(np.uint32).reshape(len(names), width)


def base_names(names: np.ndarray) -> np.ndarray:
    """Base names: ``a/b/ILSVRC2012_val_00000001.JPEG`` → ``ILSVRC2012_val_00000001.JPEG``
    (``/`` and ``\\`` both separate directories).

    >>> base_names(np.array(["val/n01/x.JPEG", "y.png", "c:\\\\d\\\\z.jpg"])).tolist()
    ['x.JPEG', 'y.png', 'z.jpg']
    """
    names = np.ascontiguousarray(as_names(names))
    if not len(names) or names.dtype.itemsize == 0:
        return names
    codes = _codes(names)
    has_back = bool((codes == _BACKSLASH).any())
    if not has_back and not (codes == _SLASH).any():
        return names
    if has_back:
        names = np.strings.replace(names, "\\", "/")
    return np.asarray(np.strings.rpartition(names, "/")[2])


def _val_numbers_exact(names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The validation number of names of the exact form ``ILSVRC2012_val_XXXXXXXX[.ext]``
    (base names), from their code points, column by column; ``(numbers, ok)``."""
    n = len(names)
    plen = len(VAL_PREFIX)
    codes = _codes(names)
    width = codes.shape[1]
    if width < plen + _DIGITS:
        return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
    ok = np.asarray(np.strings.startswith(names, VAL_PREFIX))
    num = np.zeros(n, dtype=np.int64)
    for j in range(plen, plen + _DIGITS):  # 8 digit columns, Horner's rule
        d = codes[:, j].astype(np.int64) - ord("0")
        ok &= (d >= 0) & (d <= 9)
        num = num * 10 + d
    if width > plen + _DIGITS:  # optional ".ext": a dot, letters, then NUL padding only
        first = codes[:, plen + _DIGITS]
        ext = first == _DOT
        ok &= (first == 0) | ext
        seen_pad = np.zeros(n, dtype=bool)
        for j in range(plen + _DIGITS + 1, width):
            c = codes[:, j]
            pad = c == 0
            letter = ((c >= 65) & (c <= 90)) | ((c >= 97) & (c <= 122))
            if j == plen + _DIGITS + 1:
                ok &= ~ext | letter  # at least one letter after the dot
            ok &= pad | (letter & ext & ~seen_pad)
            seen_pad |= pad
        if width == plen + _DIGITS + 1:
            ok &= ~ext
    num -= 1
    ok &= (num >= 0) & (num < N_VAL)
    return np.where(ok, num, -1), ok


def val_numbers(names: np.ndarray) -> np.ndarray:
    """0-based number of each ImageNet validation name, ``-1`` for any other name.

    A validation name is ``ILSVRC2012_val_`` + 8 digits (1 … 50000), optionally followed by a
    dot and a letters-only extension, after any directories.

    >>> val_numbers(np.array(["ILSVRC2012_val_00000001.JPEG", "v/ILSVRC2012_val_00050000",
    ...                       "ILSVRC2012_val_00000001.JPEG.bak", "n01440764_1.JPEG"])).tolist()
    [0, 49999, -1, -1]
    """
    base = np.ascontiguousarray(base_names(names))
    if not len(base):
        return np.zeros(0, dtype=np.int64)
    return _val_numbers_exact(base)[0]


def validation_labels_of(numbers: np.ndarray) -> np.ndarray:
    """``(n,)`` int16 original label of each validation number (:func:`val_numbers`), ``-1``
    where the number is ``-1``.

    >>> validation_labels_of(np.array([0, -1, 49999])).tolist()
    [65, -1, 355]
    """
    numbers = np.asarray(numbers)
    out = np.full(len(numbers), -1, dtype=np.int16)
    ok = numbers >= 0
    out[ok] = resources.validation_labels()[numbers[ok]]
    return out


def first_duplicate(names: np.ndarray) -> int:
    """Row of the first name that repeats an earlier one, ``-1`` when all are distinct.

    >>> first_duplicate(np.array(["a", "b", "a", "b"]))
    2
    """
    names = as_names(names)
    if len(names) < 2:
        return -1
    order = np.argsort(names, kind="stable")
    s = names[order]
    dup = s[1:] == s[:-1]
    if not dup.any():
        return -1
    return int(order[1:][dup].min())


def first_duplicate_image(names: np.ndarray, numbers: np.ndarray | None = None) -> int:
    """Like :func:`first_duplicate` but by image identity (two names of one validation image
    are duplicates); ``numbers`` are the names' :func:`val_numbers` when already known."""
    nums = val_numbers(names) if numbers is None else numbers
    is_val = nums >= 0
    first = -1
    if is_val.any():
        rows = np.flatnonzero(is_val)
        seen = np.bincount(nums[rows], minlength=N_VAL)
        if seen.max() > 1:  # rare: find the earliest row whose image came before
            first_row = np.full(N_VAL, len(nums), dtype=np.int64)
            np.minimum.at(first_row, nums[rows], rows)
            later = rows[first_row[nums[rows]] < rows]
            first = int(later.min())
    other = np.flatnonzero(~is_val)
    if len(other) > 1:
        r = first_duplicate(base_names(names)[other])
        if r >= 0:
            first = int(other[r]) if first < 0 else min(first, int(other[r]))
    return first


@dataclass(frozen=True, eq=False)
class NameIndex:
    """Rows of a set of distinct image names, for vectorised look-ups.

    Validation images are found by number (a ``(50000,)`` table); other names by binary search
    over the sorted base names. An index of *class paths* (``paths=True``, the identities of
    test sets other than the validation set, see :mod:`errata.core.datasets`) keeps the names
    as they are and looks names up whole; an entry without a class folder there also matches a
    query of that file name in any class folder.
    """

    names: np.ndarray
    numbers: np.ndarray  # (n,) validation number of each name, -1 for other images
    _by_val: np.ndarray = field(repr=False)
    _sorted: np.ndarray = field(repr=False)
    _order: np.ndarray = field(repr=False)
    paths: bool = False
    _bare: np.ndarray | None = field(default=None, repr=False)  # sorted folderless entries
    _bare_order: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def of(cls, names: np.ndarray, *, paths: bool = False) -> NameIndex:
        if paths:
            base = as_names(names)
            nums = np.full(len(base), -1, dtype=np.int64)
            order = np.argsort(base, kind="stable")
            bare = np.flatnonzero(np.strings.find(base, "/") < 0) if len(base) else order[:0]
            bare = bare[np.argsort(base[bare], kind="stable")]
            return cls(
                names=base,
                numbers=nums,
                _by_val=np.full(0, -1, dtype=np.int64),
                _sorted=base[order],
                _order=order,
                paths=True,
                _bare=base[bare] if len(bare) else None,
                _bare_order=bare,
            )
        base = base_names(names)
        nums = val_numbers(base)
        by_val = np.full(N_VAL, -1, dtype=np.int64)
        is_val = nums >= 0
        by_val[nums[is_val]] = np.flatnonzero(is_val)
        other = np.flatnonzero(~is_val)
        order = other[np.argsort(base[other], kind="stable")]
        return cls(names=base, numbers=nums, _by_val=by_val, _sorted=base[order], _order=order)

    def __len__(self) -> int:
        return len(self.names)

    def rows(self, names: np.ndarray, numbers: np.ndarray | None = None) -> np.ndarray:
        """Row of each name in the index, ``-1`` where absent.

        >>> NameIndex.of(np.array(["ILSVRC2012_val_00000002.JPEG", "x.png"])).rows(
        ...     np.array(["x.png", "val/ILSVRC2012_val_00000002", "y"])).tolist()
        [1, 0, -1]
        >>> NameIndex.of(np.array(["n01440764/a.jpg", "b.jpg"]), paths=True).rows(
        ...     np.array(["n01440764/a.jpg", "n01443537/a.jpg", "n01443537/b.jpg"])).tolist()
        [0, -1, 1]
        """
        if self.paths:
            query = as_names(names)
            out = _search(self._sorted, self._order, query)
            if self._bare is not None and self._bare_order is not None and len(self._bare):
                miss = np.flatnonzero(out < 0)
                if len(miss):
                    bare_q = np.asarray(np.strings.rpartition(query[miss], "/")[2])
                    out[miss] = _search(self._bare, self._bare_order, bare_q)
            return out
        base = base_names(names)
        nums = val_numbers(base) if numbers is None else numbers
        out = np.full(len(base), -1, dtype=np.int64)
        is_val = nums >= 0
        out[is_val] = self._by_val[nums[is_val]]
        other = np.flatnonzero(~is_val)
        if len(other) and len(self._sorted):
            out[other] = _search(self._sorted, self._order, base[other])
        return out


def _search(sorted_names: np.ndarray, order: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Row (``order`` of the sorted entry) of each query name, ``-1`` where absent."""
    out = np.full(len(query), -1, dtype=np.int64)
    if not len(query) or not len(sorted_names):
        return out
    pos = np.searchsorted(sorted_names, query).clip(max=len(sorted_names) - 1)
    hit = sorted_names[pos] == query
    out[hit] = order[pos[hit]]
    return out


@dataclass(frozen=True, eq=False)
class Alignment:
    """How the rows of one prediction file map onto the images of a label set.

    Attributes
    ----------
    rows : ndarray of int64, shape (k,)
        Prediction rows whose image is in the label set (in row order).
    images : ndarray of int64, shape (k,)
        The label-set row of each of them.
    original : ndarray of int16, shape (n_rows,)
        Original ImageNet label of every prediction row (``-1`` unknown): the label set's where
        it knows the image, else the validation label of a validation name.
    n_images : int
        Images in the label set.
    """

    rows: np.ndarray
    images: np.ndarray
    original: np.ndarray
    n_images: int

    @property
    def n_rows(self) -> int:
        return len(self.original)

    @property
    def is_identity(self) -> bool:
        return self.n_rows == self.n_images == len(self.rows) and bool(
            (self.rows == self.images).all()
        )

    def scatter(self, values: np.ndarray, fill: int = -1) -> np.ndarray:
        """Per-row ``values`` (shape (..., n_rows)) put at their images: shape
        (..., n_images), ``fill`` for images without a row."""
        values = np.asarray(values)
        source = self._source
        if source is not None:  # every image has one row: a single gather
            return values[..., source]
        out = np.full(values.shape[:-1] + (self.n_images,), fill, dtype=values.dtype)
        out[..., self.images] = values[..., self.rows]
        return out

    @functools.cached_property
    def _source(self) -> np.ndarray | None:
        """The row of each image when every image has exactly one row (a whole file, in any
        order), else None; computed once per alignment, which a zoo's files share."""
        if len(self.images) != self.n_images:
            return None
        source = np.full(self.n_images, -1, dtype=np.intp)
        source[self.images] = self.rows
        return None if (source < 0).any() else source


def align(
    names: np.ndarray,
    index: NameIndex,
    label_original: np.ndarray,
    *,
    source: str,
    label_name: str,
    numbers: np.ndarray | None = None,
    known_original: np.ndarray | None = None,
) -> Alignment:
    """Map prediction rows (``names``) onto a label set's images (``index``).

    A name that is neither in the label set nor an image whose label errata knows from the
    image itself is an error (a typo or another data set); such images outside the label set
    (the 30,000 validation images Shankar et al. did not annotate, say) simply take no part in
    the multi-label figures. ``known_original`` gives that label per row for test sets other
    than the validation set (their class folders, :mod:`errata.core.datasets`); by default it
    is the validation label of a validation name.
    """
    if known_original is None:
        nums = val_numbers(names) if numbers is None else numbers
        known_original = validation_labels_of(nums)
        what = "not an ImageNet validation image"
    else:
        nums = np.full(len(names), -1, dtype=np.int64) if numbers is None else numbers
        what = "not in a class folder"
    img = index.rows(names, nums)
    known = img >= 0
    if not known.any():
        raise ErrataInputError(
            f"{source}: its {len(names)} images and the label set '{label_name}' "
            f"({len(index)} images) share no file names (e.g. '{names[0]}' vs "
            f"'{index.names[0] if len(index) else ''}')"
        )
    unknown = ~known & (known_original < 0)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise ErrataInputError(
            f"{source}: {row_ref(source, row)}: unknown file name '{names[row]}' (not in label "
            f"set '{label_name}' and {what}; {int(unknown.sum())} such rows)"
        )
    rows = np.flatnonzero(known)
    if index.paths and len(rows) > 1:  # a folderless label entry may match two class paths
        hit = img[rows]
        twice = np.bincount(hit, minlength=len(index)) > 1
        if twice.any():
            first = rows[twice[hit]][:2]
            raise ErrataInputError(
                f"{source}: {row_ref(source, int(first[1]))}: '{names[first[1]]}' and "
                f"'{names[first[0]]}' are both image '{index.names[hit[twice[hit]][0]]}' of "
                f"label set '{label_name}', which names no class folder; give the class folder "
                "in the label file"
            )
    original = known_original.astype(np.int16, copy=True)
    from_set = label_original[img[rows]]
    has = from_set >= 0
    original[rows[has]] = from_set[has]
    return Alignment(rows=rows, images=img[rows], original=original, n_images=len(index))


T = TypeVar("T")


@dataclass(eq=False)
class RecentLists(Generic[T]):
    """What was derived from each of the last ``keep`` distinct name lists (``key`` tells
    lists of different contexts apart): a zoo's files usually share one or two lists, so each
    is worked out once and afterwards compared with a memcmp; the least recently used list is
    dropped first, so a zoo whose files each list their own order does not fill memory.

    >>> r = RecentLists[int](keep=1); r.put(np.array(["a", "b"]), 7)
    >>> r.get(np.array(["a", "b"])), r.get(np.array(["b", "a"]))
    (7, None)
    """

    keep: int
    _items: list[tuple[object, np.ndarray, T]] = field(default_factory=list)

    def get(self, names: np.ndarray, key: object = None) -> T | None:
        for i, (k, seen, value) in enumerate(self._items):
            if k == key and (
                seen is names
                or (
                    len(seen) == len(names)
                    and seen.dtype == names.dtype
                    and (not len(seen) or (seen[0] == names[0] and seen[-1] == names[-1]))
                    and np.array_equal(seen, names)
                )
            ):
                self._items.append(self._items.pop(i))  # most recently used last
                return value
        return None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, names: np.ndarray, value: T, key: object = None) -> None:
        self._items.append((key, names, value))
        del self._items[: -self.keep]


@dataclass(eq=False)
class Aligner:
    """:func:`align` once per distinct name list: a zoo's files usually share one or two lists
    (file-name order, ImageFolder order), so each is matched once and compared with a memcmp
    (:class:`RecentLists` of the last :data:`KEEP` distinct lists)."""

    KEEP = 8

    index: NameIndex
    label_original: np.ndarray
    label_name: str
    known: Callable[[np.ndarray], np.ndarray] | None = None  # names -> their own labels
    _seen: RecentLists[Alignment] = field(default_factory=lambda: RecentLists(Aligner.KEEP))

    def __call__(
        self, names: np.ndarray, *, source: str, numbers: np.ndarray | None = None
    ) -> Alignment:
        seen = self._seen.get(names)
        if seen is not None:
            return seen
        alignment = align(
            names,
            self.index,
            self.label_original,
            source=source,
            label_name=self.label_name,
            numbers=numbers,
            known_original=None if self.known is None else self.known(names),
        )
        self._seen.put(names, alignment)
        return alignment
