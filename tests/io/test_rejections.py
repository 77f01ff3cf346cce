"""Rejected proposals as spurious-correlation evidence, read from files in the two formats
(ReaL's raters.npz and Shankar et al.'s JSON), written here at tiny scale."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import errata
from errata.core import categories as K
from errata.exceptions import ErrataInputError
from errata.io import rejections as ER

VAL = "ILSVRC2012_val_{:08d}.JPEG"


def _raters(path: Path, questions: list[tuple[int, int, str]]) -> Path:
    """A raters.npz: per question (image number, label, answer of all 5 raters)."""
    answer = {"no": 0, "maybe": 1, "yes": 2}
    tensor = np.zeros((5, len(questions), 3))
    for q, (_, _, a) in enumerate(questions):
        tensor[:, q, answer[a]] = 1
    info = np.array([[VAL.format(n), str(lab)] for n, lab, _ in questions])
    np.savez(path, tensor=tensor, info=info, ids=np.arange(5))
    return path


def test_raters_file_recovers_a_planted_pair(tmp_path: Path) -> None:
    """Three images of one class had class 999 proposed and rejected; predicting 999 on a fourth
    image of that class is spurious (3 other images), and on one of the three (2 others)."""
    from errata import resources

    original = resources.validation_labels()
    indptr, indices = resources.real_labels()
    # four validation images whose ReaL set is exactly their original label, all of one class
    label = int(original[0])
    exact = [
        n
        for n in np.flatnonzero(original == label).tolist()
        if indices[indptr[n] : indptr[n + 1]].tolist() == [label]
    ]
    same_class = np.array(exact[:4]) + 1  # 1-based numbers
    questions = [(int(n), 999, "no") for n in same_class[:3]] + [(int(same_class[3]), label, "yes")]
    # and 100 rated images of other classes, where 999 was never proposed (the base rate)
    others = [n for n in range(5000, 6000) if int(original[n]) != label][:100]
    questions += [(n + 1, int(original[n]), "yes") for n in others]
    path = _raters(tmp_path / "raters.npz", questions)
    names, labs, rejected = ER.load_rater_answers(path)
    assert rejected[:4].tolist() == [True, True, True, False] and labs.tolist()[0] == 999
    rej = ER.rejections((path,))
    assert rej.counts[label, 999] == 3
    from errata.core.names import as_names

    scored = as_names([VAL.format(int(same_class[3])), VAL.format(int(same_class[0]))])
    a = errata.analyze(
        np.array([999, 999]),
        labels="real",
        # rejections above chance ('above-chance'): 3 of the class's ~50 images is below the
        # default's 10 %
        options=errata.Options(proposals=(path,), spurious="above-chance", n_resamples=10),
        file_names=scored,  # type: ignore[arg-type]
    )
    cats = a.classified.category[0]
    rows = a.labels.positions(
        as_names([VAL.format(int(same_class[3])), VAL.format(int(same_class[0]))])
    )
    assert [K.NAMES[c] for c in cats[rows]] == ["spurious correlation"] * 2
    reasons = dict(zip(a.errors["file_name"], a.errors["reason"]))
    assert "for 3 other images" in reasons[VAL.format(int(same_class[3]))]
    assert "for 2 other images" in reasons[VAL.format(int(same_class[0]))]


def test_shankar_wrong_labels_are_rejected_proposals(tmp_path: Path) -> None:
    """Shankar's raters judged 20 wrong on 3 images labelled 10, and on none of 100 others."""
    annots = {
        VAL.format(k): {"correct": [10], "wrong": [20], "unclear": []} for k in range(1, 4)
    } | {VAL.format(k): {"correct": [30], "wrong": [], "unclear": []} for k in range(4, 104)}
    path = tmp_path / "human_accuracy_v3.0.0.json"
    path.write_text(json.dumps({"initial_annots": annots, "problematic_images": {}}))
    rej = ER.rejections((path,))
    assert rej.counts[10, 20] == 3 and "Shankar" in rej.description
    # chance: 4 images hold 10 (3 labelled + original labels aside), 20 rejected on 3 of 103
    assert rej.expected[10, 20] < 0.5 and rej.margin[10, 20] >= 0


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"tensor": np.zeros((2, 3))}, "expected arrays 'tensor'"),
        ({"tensor": np.zeros((2, 3, 3)), "info": np.zeros((2, 2))}, "has shape"),
        (
            {"tensor": np.zeros((1, 1, 3)), "info": np.array([[VAL.format(1), "1200"]])},
            "class indices 0-999",
        ),
    ],
)
def test_bad_raters_file_is_one_line(tmp_path: Path, arrays: dict, match: str) -> None:
    path = tmp_path / "raters.npz"
    np.savez(path, **arrays)
    with pytest.raises(ErrataInputError, match=match):
        ER.load_rater_answers(path)


def test_options_validate_proposals() -> None:
    assert errata.Options(proposals=None).proposals == ()
    assert errata.Options(proposals="real-raters").proposals == ("real-raters",)
    with pytest.raises(ErrataInputError, match="proposal_alpha"):
        errata.Options(proposal_alpha=1.5)


def test_shankar_wrong_that_is_not_a_list_is_one_line(tmp_path: Path) -> None:
    annots = {VAL.format(1): {"correct": [10], "wrong": "n01440764", "unclear": []}}
    path = tmp_path / "human_accuracy_v3.0.0.json"
    path.write_text(json.dumps({"initial_annots": annots, "problematic_images": {}}))
    with pytest.raises(ErrataInputError, match=r"\.wrong: 'n01440764' is not a list"):
        ER.rejections((path,))
