"""Predictions: formats, orders, subsets, and the bad inputs users actually produce."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from errata import resources
from errata.exceptions import ErrataInputError
from errata.io.predictions import imagefolder_order, load_predictions

N = 50000


@pytest.fixture(scope="module")
def top1() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 1000, N).astype(np.int64)


def test_top1_npy_filename_order(tmp_path: Path, top1: np.ndarray) -> None:
    np.save(tmp_path / "p.npy", top1)
    p = load_predictions(tmp_path / "p.npy", order="filename")
    assert p.k == 1 and p.name == "p" and (p.top1 == top1).all()
    assert p.file_names[0] == "ILSVRC2012_val_00000001.JPEG"


def test_imagefolder_order_is_sorted_by_class_then_name() -> None:
    order = imagefolder_order()
    labels = resources.validation_labels()[order]
    assert (np.diff(labels.astype(int)) >= 0).all()
    assert order[0] == 292  # val/n01440764/ILSVRC2012_val_00000293.JPEG comes first


def test_logits_give_sorted_top5(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(N, 1000)).astype(np.float32)
    np.savez(tmp_path / "p.npz", logits=logits)
    p = load_predictions(tmp_path / "p.npz", order="filename")
    want = np.argsort(-logits[:5], axis=1)[:, :5]
    assert p.k == 5 and (p.topk[:5] == want).all() and p.scores is not None


def test_csv_subset_keyed_by_file_name(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "file_name": ["ILSVRC2012_val_00000007.JPEG", "val/x/ILSVRC2012_val_00000003.JPEG"],
            "top1": [5, 6],
            "top2": [7, 8],
        }
    )
    df.to_csv(tmp_path / "p.csv", index=False)
    p = load_predictions(tmp_path / "p.csv")
    assert p.file_names.tolist() == ["ILSVRC2012_val_00000007.JPEG", "ILSVRC2012_val_00000003.JPEG"]
    assert p.topk.tolist() == [[5, 7], [6, 8]]
    df.to_parquet(tmp_path / "p.parquet")
    assert load_predictions(tmp_path / "p.parquet").topk.tolist() == [[5, 7], [6, 8]]


def test_explicit_file_names_file(tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.array([1, 2, 3]))
    (tmp_path / "names.txt").write_text("a.jpg\nb.jpg\nc.jpg\n")
    p = load_predictions(tmp_path / "p.npy", file_names=tmp_path / "names.txt")
    assert p.file_names.tolist() == ["a.jpg", "b.jpg", "c.jpg"]


def bad(tmp_path: Path, kind: str) -> Path:  # type: ignore[return]
    path = tmp_path / "bad.npy"
    if kind == "wrong-count":
        np.save(path, np.zeros(49999, dtype=np.int64))
    elif kind == "out-of-range":
        a = np.zeros(N, dtype=np.int64)
        a[17] = 1200
        np.save(path, a)
    elif kind == "background-class":
        a = np.ones(N, dtype=np.int64)
        a[5] = 1000
        np.save(path, a)
    elif kind == "nan-logits":
        a = np.zeros((N, 1000), dtype=np.float32)
        a[42, 7] = np.nan
        np.save(path, a)
    elif kind == "inf-logits":
        a = np.zeros((N, 1000), dtype=np.float32)
        a[3, 9] = np.inf
        np.save(path, a)
    elif kind == "1001-columns":
        np.save(path, np.zeros((N, 1001), dtype=np.float32))
    elif kind == "truncated":
        np.save(path, np.zeros(N, dtype=np.int64))
        path.write_bytes(path.read_bytes()[:1000])
    elif kind == "not-npy":
        path.write_bytes(b"hello")
    elif kind == "extension":
        path = tmp_path / "p.pkl"
        path.write_bytes(b"x")
    elif kind == "duplicates":
        path = tmp_path / "p.csv"
        path.write_text("file_name,top1\nA.JPEG,1\nB.JPEG,2\nA.JPEG,3\n")
    elif kind == "text-in-csv":
        path = tmp_path / "p.csv"
        path.write_text("file_name,top1\nA.JPEG,1\nB.JPEG,dog\n")
    elif kind == "objects":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return path


@pytest.mark.parametrize(
    "kind,match",
    [
        ("wrong-count", r"bad\.npy: 49999 prediction rows; expected 50000"),
        ("out-of-range", r"bad\.npy: row 17: class index 1200 is outside 0-999$"),
        (
            "background-class",
            r"row 5: class index 1000 is outside 0-999; the file looks like it uses "
            r"1001 classes",
        ),
        ("nan-logits", r"bad\.npy: row 42, class 7: score nan is not finite"),
        ("inf-logits", r"bad\.npy: row 3, class 9: score inf is not finite"),
        (
            "1001-columns",
            r"1001 float columns; expected 1000 scores .* a 1001-column array usually has a "
            r"background class",
        ),
        ("truncated", r"bad\.npy: not a valid \.npy array, truncated or corrupt"),
        ("not-npy", r"bad\.npy: not a valid \.npy array"),
        ("extension", r"p\.pkl: unsupported extension '\.pkl'"),
        ("duplicates", r"p\.csv: line 4: duplicate file name 'A\.JPEG'"),
        ("text-in-csv", r"p\.csv: line 3, column 'top1': 'dog' is not a number"),
        ("objects", r"bad\.npy: holds Python objects"),
    ],
)
def test_bad_predictions(tmp_path: Path, kind: str, match: str) -> None:
    with pytest.raises(ErrataInputError, match=match) as info:
        load_predictions(bad(tmp_path, kind))
    assert "\n" not in str(info.value)


def test_file_names_count_mismatch(tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.array([1, 2, 3]))
    (tmp_path / "names.txt").write_text("a.jpg\nb.jpg\n")
    with pytest.raises(ErrataInputError, match="names.txt: 2 file names for 3 prediction rows"):
        load_predictions(tmp_path / "p.npy", file_names=tmp_path / "names.txt")


def test_an_unreadable_file_is_one_line(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """(As root every file is readable: the refusal is simulated where the file is opened.)"""
    from errata.exceptions import ErrataInputError
    from errata.io import readers as predictions

    np.save(tmp_path / "p.npy", np.zeros(3, np.int64))

    def denied(*a, **k):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(predictions, "_head", denied)
    with pytest.raises(
        ErrataInputError, match=r"p\.npy: permission denied \(cannot read the file\)"
    ):
        load_predictions(tmp_path / "p.npy")
