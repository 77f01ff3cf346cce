"""CSR label lists against the dense matrix they stand for (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from errata.core.sparse import Csr

C = 40  # a narrow class axis keeps the generated matrices small


@st.composite
def dense(draw, rows=None):  # type: ignore[no-untyped-def]
    n = draw(rows if rows is not None else st.integers(0, 12))
    flat = draw(st.lists(st.booleans(), min_size=n * C, max_size=n * C))
    return np.array(flat, dtype=bool).reshape(n, C)


@settings(max_examples=80, deadline=None)
@given(dense(), st.data())
def test_csr_operations_equal_the_dense_ones(mat, data) -> None:  # type: ignore[no-untyped-def]
    s = Csr.from_dense(mat)
    assert len(s) == len(mat) and (s.to_dense() == mat).all()
    assert s.sizes.tolist() == mat.sum(axis=1).tolist()
    assert s.lists() == [np.flatnonzero(r).tolist() for r in mat]
    n = len(mat)
    if n:
        values = np.array(data.draw(st.lists(st.integers(-1, C - 1), min_size=n, max_size=n)))
        want = np.array([v >= 0 and mat[i, v] for i, v in enumerate(values)])
        assert (s.contains(values) == want).all()
        stack = np.stack([values, np.roll(values, 1)])
        assert (s.contains(stack)[0] == want).all()
        rows = np.array(data.draw(st.lists(st.integers(-1, n - 1), min_size=0, max_size=20)))
        vals = np.array(
            data.draw(st.lists(st.integers(-1, C - 1), min_size=len(rows), max_size=len(rows)))
        )
        want_at = [r >= 0 and v >= 0 and mat[r, v] for r, v in zip(rows, vals)]
        assert s.contains_at(rows.astype(np.int64), vals).tolist() == want_at
        take = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=15)), dtype=np.int64)
        assert (s.take(take).to_dense() == mat[take]).all()
        keep = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        assert (s.keep_rows(keep).to_dense() == (mat & keep[:, None])).all()
        other = data.draw(dense(rows=st.just(n)))
        assert (s.union(Csr.from_dense(other)).to_dense() == (mat | other)).all()


def test_from_lists_sorts_and_dedupes() -> None:
    s = Csr.from_lists([[5, 1, 5], [], [2]])
    assert s.lists() == [[1, 5], [], [2]] and s.nnz == 3
    assert Csr.single(np.array([3, -1, 0])).lists() == [[3], [], [0]]
