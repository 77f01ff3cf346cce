"""Golden questions: ReaL's expert answers as the built-in set, and a project's own JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from errata.exceptions import ErrataInputError
from errata.review.golden import from_json, from_real_tensor, load_golden
from errata.review.models import CORRECT, UNCLEAR, WRONG


def test_expert_majority_with_ties_unclear():
    t = np.zeros((3, 3, 3))
    t[:, 0, 2] = 1  # all yes
    t[0, 1, 0] = t[1, 1, 0] = t[2, 1, 2] = 1  # 2 no, 1 yes
    t[0, 2, 0] = t[1, 2, 2] = t[2, 2, 1] = 1  # one of each: tie
    info = np.array([["a.JPEG", "1"], ["a.JPEG", "2"], ["b.JPEG", "3"]])
    assert from_real_tensor(t, info) == {"a.JPEG": {1: CORRECT, 2: WRONG}, "b.JPEG": {3: UNCLEAR}}


def test_project_golden_json(tmp_path):
    p = tmp_path / "g.json"
    p.write_text(json.dumps({"x.JPEG": {"n01440764": "correct", "7": "Wrong"}}))
    assert from_json(p) == {"x.JPEG": {0: CORRECT, 7: WRONG}}
    p.write_text(json.dumps({"x.JPEG": {"7": "dont_know"}}))
    with pytest.raises(ErrataInputError, match="not one of correct, wrong, unclear"):
        from_json(p)
    p.write_text("[1, 2]")
    with pytest.raises(ErrataInputError, match="expected an object"):
        from_json(p)
    assert load_golden("none") is None and load_golden(None) is None


def test_real_golden_questions():
    from review_helpers import data_dir

    data_dir()
    golden = load_golden("real")
    assert len(golden) == 155
    assert sum(len(q) for q in golden.values()) == 1135
    codes = np.array([c for q in golden.values() for c in q.values()])
    assert set(codes.tolist()) <= {WRONG, UNCLEAR, CORRECT}
    assert 0.1 < (codes == CORRECT).mean() < 0.5  # most proposed labels are wrong
