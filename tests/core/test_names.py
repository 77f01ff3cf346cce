"""Image identity: vectorised name parsing against a regular-expression reference, look-ups
against a dict, alignment and its cache."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errata.core import names as N
from errata.exceptions import ErrataInputError

VAL_RE = re.compile(r"^ILSVRC2012_val_(\d{8})(\.[A-Za-z]+)?$")


def reference_number(name: str) -> int:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = VAL_RE.match(base)
    if not m or not m.group(1).isascii():
        return -1
    num = int(m.group(1))
    return num - 1 if 1 <= num <= 50000 else -1


names_st = st.one_of(
    st.builds(
        lambda d, num, ext: f"{d}ILSVRC2012_val_{num:08d}{ext}",
        st.sampled_from(["", "val/", "a/n01440764/", "c:\\x\\"]),
        st.integers(0, 50001),
        st.sampled_from(["", ".JPEG", ".png", ".", ".jp9", ".JPEG.bak", "x", ".J"]),
    ),
    st.text(alphabet="ILSVRC2012_val.JPEG0123456789/\\ab", max_size=32),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(names_st, min_size=1, max_size=20))
def test_val_numbers_match_the_regex_reference(names) -> None:  # type: ignore[no-untyped-def]
    got = N.val_numbers(np.array(names)).tolist()
    assert got == [reference_number(n) for n in names]


def test_base_names() -> None:
    assert N.base_names(np.array(["a/b/c.JPEG", "c:\\d\\e.png", "f"])).tolist() == [
        "c.JPEG",
        "e.png",
        "f",
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(names_st, min_size=0, max_size=15))
def test_first_duplicate_image_matches_naive(names) -> None:  # type: ignore[no-untyped-def]
    seen: set[object] = set()
    want = -1
    for i, n in enumerate(names):
        num = reference_number(n)
        key = ("#", num) if num >= 0 else n.replace("\\", "/").rsplit("/", 1)[-1]
        if key in seen:
            want = i
            break
        seen.add(key)
    assert N.first_duplicate_image(np.array(names, dtype=str)) == want


def test_name_index_rows_match_a_dict() -> None:
    index_names = np.array(["ILSVRC2012_val_00000002.JPEG", "x.png", "d/y.jpg", "z"])
    idx = N.NameIndex.of(index_names)
    query = np.array(
        ["x.png", "val/ILSVRC2012_val_00000002", "y.jpg", "q", "ILSVRC2012_val_00000003.JPEG"]
    )
    assert idx.rows(query).tolist() == [1, 0, 2, -1, -1]


def test_align_errors_name_the_file_and_row() -> None:
    idx = N.NameIndex.of(np.array(["ILSVRC2012_val_00000001.JPEG"]))
    orig = np.array([65], dtype=np.int16)
    with pytest.raises(ErrataInputError, match=r"p\.csv: line 3: unknown file name 'cat\.jpg'"):
        N.align(
            np.array(["ILSVRC2012_val_00000001.JPEG", "cat.jpg"]),
            idx,
            orig,
            source="p.csv",
            label_name="x",
        )
    with pytest.raises(ErrataInputError, match="share no file names"):
        N.align(
            np.array(["ILSVRC2012_val_00000005.JPEG"]), idx, orig, source="p.npy", label_name="x"
        )
    a = N.align(
        np.array(["ILSVRC2012_val_00000009.JPEG", "ILSVRC2012_val_00000001.JPEG"]),
        idx,
        orig,
        source="p",
        label_name="x",
    )
    assert a.rows.tolist() == [1] and a.images.tolist() == [0]
    assert a.original.tolist()[1] == 65 and a.original[0] >= 0  # a val image outside the set
    assert a.scatter(np.array([7, 8])).tolist() == [8]


def test_aligner_matches_each_distinct_list_once_and_forgets_old_ones() -> None:
    idx = N.NameIndex.of(np.array([f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, 21)]))
    orig = np.zeros(20, dtype=np.int16)
    al = N.Aligner(idx, orig, "x")
    lists = [np.random.default_rng(i).permutation(idx.names) for i in range(12)]
    first = al(lists[0], source="a")
    assert al(lists[0].copy(), source="b") is first  # equal content: the same alignment
    for names in lists[1:]:
        al(names, source="c")
    assert len(al._seen) == N.Aligner.KEEP
    assert al(lists[0], source="d") is not first  # forgotten, matched again
