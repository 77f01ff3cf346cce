"""Label sets: built-in sets, the Shankar schema, errata's JSON/CSV schema, and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from errata import resources
from errata.core.names import val_numbers
from errata.exceptions import ErrataInputError
from errata.io.labels import load_labels

VAL = "ILSVRC2012_val_{:08d}.JPEG"
WNIDS = resources.classes().wnids


def shankar_file(tmp_path: Path, **overrides) -> Path:  # type: ignore[no-untyped-def]
    """A small file in Shankar et al.'s schema (the real one is not reachable here)."""
    data = {
        "initial_annots": {
            VAL.format(1): {"correct": [WNIDS[65]], "wrong": [WNIDS[3]], "unclear": []},
            VAL.format(2): {
                "correct": [WNIDS[795], WNIDS[970]],
                "wrong": [],
                "unclear": [WNIDS[10]],
            },
            VAL.format(3): {"correct": [WNIDS[230]], "wrong": [], "unclear": []},
            "imagenetv2_0001.jpeg": {"correct": [WNIDS[1]], "wrong": [], "unclear": []},
        },
        "problematic_images": {VAL.format(3): "blurry"},
        "imagenet_m": [VAL.format(2)],
    }
    data.update(overrides)
    path = tmp_path / "human_accuracy_v3.0.0.json"
    path.write_text(json.dumps(data))
    return path


def test_original_and_real_builtins() -> None:
    original = load_labels("original")
    real = load_labels("real")
    assert len(original) == len(real) == 50000
    assert original.correct.nnz == 50000
    assert real.summary()["evaluated"] == 46837 and real.summary()["empty"] == 3163
    assert (original.original == real.original).all()


def test_shankar_schema(tmp_path: Path) -> None:
    ls = load_labels(shankar_file(tmp_path))
    assert ls.name == "shankar"
    assert ls.file_names.tolist() == [VAL.format(i) for i in (1, 2, 3)]  # non-val image dropped
    correct, unclear = ls.correct.to_dense(), ls.unclear.to_dense()
    assert correct[1, [795, 970]].all() and unclear[1, 10] and not correct[0, 3]
    assert ls.problematic.tolist() == [False, False, True]
    assert ls.imagenet_m.tolist() == [False, True, False]
    assert ls.evaluated.tolist() == [True, True, False]
    assert ls.original.tolist() == resources.validation_labels()[:3].tolist()


def test_shankar_missing_initial_annots(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"problematic_images": {}}))
    with pytest.raises(ErrataInputError, match=r"s\.json: missing field 'initial_annots'"):
        load_labels(path)


def test_shankar_unknown_wnid(tmp_path: Path) -> None:
    path = shankar_file(tmp_path, initial_annots={VAL.format(1): {"correct": ["n99999999"]}})
    with pytest.raises(
        ErrataInputError,
        match=r"initial_annots\['ILSVRC2012_val_00000001.JPEG'\]"
        r"\.correct: 'n99999999' is not one of the 1000",
    ):
        load_labels(path)


def test_own_json_schema(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps(
            {
                "images": {
                    VAL.format(5): {
                        "correct": [1, "n01443537"],
                        "unclear": [7],
                        "problematic": False,
                    },
                    "my_photo.jpg": {"correct": [3], "original": 3},
                    VAL.format(6): [12],
                }
            }
        )
    )
    ls = load_labels(path)
    correct, unclear = ls.correct.to_dense(), ls.unclear.to_dense()
    assert correct[0, 1] and unclear[0, 7] and correct[2, 12]
    assert ls.original[1] == 3 and ls.original[0] == resources.validation_labels()[4]


def test_own_csv_schema(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        "file_name,labels,unclear,problematic\n"
        f"{VAL.format(1)},65 66,,0\n{VAL.format(2)},n01440764;3,9,true\n"
    )
    ls = load_labels(path)
    correct, unclear = ls.correct.to_dense(), ls.unclear.to_dense()
    assert correct[0, [65, 66]].all() and correct[1, [0, 3]].all() and unclear[1, 9]
    assert ls.problematic.tolist() == [False, True]


@pytest.mark.parametrize(
    "content,match",
    [
        ("file_name,labels\nA.JPEG,1\nA.JPEG,2\n", r"line 3: duplicate file name 'A.JPEG'"),
        (
            "file_name,labels\nA.JPEG,1000\n",
            r"line 2, column 'labels': class index 1000 is outside",
        ),
        ("file_name,labels\nA.JPEG,cat\n", r"line 2, column 'labels': 'cat' is not a class"),
        ("name,labels\nA.JPEG,1\n", r"missing column 'file_name'"),
        (
            "file_name,labels,problematic\nA.JPEG,1,maybe\n",
            r"line 2, column 'problematic': 'maybe'",
        ),
    ],
)
def test_bad_csv(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ErrataInputError, match=match):
        load_labels(path)


def test_bad_label_sources(tmp_path: Path) -> None:
    with pytest.raises(ErrataInputError, match="neither a built-in label set"):
        load_labels("nonexistent")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ErrataInputError, match="unsupported label file extension '.txt'"):
        load_labels(tmp_path / "x.txt")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ErrataInputError, match="broken.json: not valid JSON"):
        load_labels(tmp_path / "broken.json")


def test_val_numbers_accepts_paths_and_bare_names() -> None:
    names = np.array(
        [
            "val/n01440764/ILSVRC2012_val_00000293.JPEG",
            "ILSVRC2012_val_00050000",
            "ILSVRC2012_val_00000001.JPEG",
            "other.jpg",
            "ILSVRC2012_val_00050001.JPEG",
        ],
        dtype=object,
    )
    assert val_numbers(names).tolist() == [292, 49999, 0, -1, -1]
