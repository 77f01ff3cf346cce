"""errata.io.jsontext: the one-pass indented JSON is json.dumps(indent=2) byte for byte."""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errata.io.files import json_default
from errata.io.jsontext import _strict, dumps


def reference(obj: object, *, finite: bool) -> str:
    """What errata printed and wrote before: the standard library, after a walk that made NaN
    null for the strict outputs."""
    if finite:
        return json.dumps(_strict(obj), indent=2, default=json_default, allow_nan=False)
    return json.dumps(obj, indent=2, default=json_default)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.floats(width=32).map(np.float32)
    | st.integers(min_value=-(2**62), max_value=2**62).map(np.int64)
    | st.booleans().map(np.bool_)
    | st.floats().map(np.float64)
    | st.text(max_size=5).map(Path)
)
trees = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.lists(kids, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), kids, max_size=4)
        | st.lists(st.floats(allow_nan=True), max_size=4).map(np.array)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(trees, st.booleans())
def test_equals_the_standard_library(obj: object, finite: bool) -> None:
    assert dumps(obj, finite=finite) == reference(obj, finite=finite)


class Kind(enum.IntEnum):
    A = 3


@pytest.mark.parametrize(
    "obj",
    [
        {1: "an int key", "b": 2},  # keys json converts: the standard library's rules, whole
        {None: 1, True: 2, 2.5: 3},
        {"nested": {7: [1, 2]}},
        [Kind.A, {"k": Kind.A}],
        'é ☃ \x00 \n "quoted"',
        [],
        {},
        [[], {}, [[]]],
        [float("nan"), math.inf, -math.inf, -0.0, 1e300, 5e-324],
    ],
)
def test_unusual_values_equal_the_standard_library(obj: object) -> None:
    for finite in (True, False):
        assert dumps(obj, finite=finite) == reference(obj, finite=finite)


def test_what_json_cannot_encode_is_refused_as_json_refuses_it() -> None:
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        dumps({"x": object()}, finite=True)
    with pytest.raises(ValueError, match="Out of range float values"):
        dumps({math.nan: 1}, finite=True)  # a NaN key: strict JSON has no text for it
