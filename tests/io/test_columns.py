"""Score columns are read by name, whatever their order and naming scheme (errata.io.columns),
and scores are compared in their own precision."""

from __future__ import annotations

import decimal
from pathlib import Path

import numpy as np
import pytest

from errata import resources
from errata.io.predictions import load_predictions

N = 500
WNIDS = list(resources.classes().wnids)
INDEX = [str(i) for i in range(1000)]


def logits() -> tuple[np.ndarray, np.ndarray]:
    """(N, 1000) logits whose arg-max is the original label, and the labels."""
    truth = resources.validation_labels()[:N].astype(np.int64)
    x = np.random.default_rng(0).normal(size=(N, 1000))
    x[np.arange(N), truth] += 10
    return x, truth


def table(tmp: Path, names: list[str], order: list[int], suffix: str) -> Path:
    """The logits as a table whose column ``names[c]`` holds class ``c``, written in ``order``."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    x, _ = logits()
    path = tmp / f"p{suffix}"
    if suffix == ".csv":
        df = pd.DataFrame(x[:, order], columns=[names[c] for c in order])
        df.insert(0, "file_name", resources.val_file_names()[:N])
        df.to_csv(path, index=False)
    else:  # pyarrow: names may repeat (the class names in class order)
        columns = [pa.array(resources.val_file_names()[:N])] + [pa.array(x[:, c]) for c in order]
        pq.write_table(pa.table(columns, names=["file_name"] + [names[c] for c in order]), path)
    return path


SCHEMES = {
    "index-as-text-sorted": (INDEX, sorted(range(1000), key=str)),  # '0', '1', '10', '100', …
    "wnid-reversed": (WNIDS, list(range(999, -1, -1))),
    "class_N-shuffled": ([f"class_{i}" for i in range(1000)], None),
    "logit_N-sorted": ([f"logit_{i}" for i in range(1000)], sorted(range(1000), key=str)),
    "N_score-shuffled": ([f"{i}_score" for i in range(1000)], None),
    "prefixed-wnid": ([f"logit_{w}" for w in WNIDS], None),
    "class-names-in-class-order": (list(resources.classes().names), list(range(1000))),
}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_score_columns_are_read_by_name(tmp_path: Path, scheme: str, suffix: str) -> None:
    names, order = SCHEMES[scheme]
    if order is None:
        order = list(np.random.default_rng(1).permutation(1000))
    pred = load_predictions(table(tmp_path, names, order, suffix))
    _, truth = logits()
    assert (pred.top1 == truth).all()
    assert pred.notes == ()


def test_unnamed_score_columns_are_read_in_file_order_and_said(tmp_path: Path) -> None:
    names = [f"c{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{i // 676}" for i in range(1000)]
    names = [n.replace("0", "o").replace("1", "i") for n in names]  # no digits: no class key
    pred = load_predictions(table(tmp_path, names, list(range(1000)), ".parquet"))
    assert (pred.top1 == logits()[1]).all()
    assert pred.notes == (
        f"{tmp_path}/p.parquet: the 1000 score columns carry no class names ('caao', 'cbao', "
        "'ccao', …): read in the order of the file, column j as class j",
    )


@pytest.mark.parametrize("naming", ["wnid", "index-of-1000", "position-of-200"])
def test_imagenet_a_score_columns_by_name(tmp_path: Path, naming: str) -> None:
    import pandas as pd

    classes = resources.subset_classes("imagenet-a")
    x = np.random.default_rng(0).normal(size=(30, 200))
    truth = np.arange(30) % 200
    x[np.arange(30), truth] += 10
    names = {
        "wnid": [WNIDS[c] for c in classes],
        "index-of-1000": [str(c) for c in classes],
        "position-of-200": [str(j) for j in range(200)],
    }[naming]
    df = pd.DataFrame({names[j]: x[:, j] for j in range(199, -1, -1)})  # reversed
    files = [f"{WNIDS[classes[t]]}/img_{i}.jpg" for i, t in enumerate(truth)]
    df.insert(0, "file_name", files)
    df.to_parquet(tmp_path / "a.parquet")
    pred = load_predictions(tmp_path / "a.parquet", dataset="imagenet-a")
    assert (pred.top1 == classes[truth]).all()


def test_pandas_index_column_is_not_a_score(tmp_path: Path) -> None:
    import pandas as pd

    x, truth = logits()
    df = pd.DataFrame(x, columns=INDEX, index=np.arange(N) + 7)  # not a range from 0
    df.insert(0, "file_name", resources.val_file_names()[:N])
    df.to_parquet(tmp_path / "p.parquet")
    pred = load_predictions(tmp_path / "p.parquet")
    assert (pred.top1 == truth).all()
    assert pred.notes == (
        f"{tmp_path}/p.parquet: pandas index column(s) __index_level_0__ not used",
    )


def test_decimal_and_text_numbers_are_numbers(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(resources.val_file_names()[:3])
    truth = resources.validation_labels()[:3].tolist()
    for kind, column in {
        "decimal": pa.array([decimal.Decimal(int(t)) for t in truth], pa.decimal128(5, 0)),
        "text": pa.array([str(t) for t in truth]),
    }.items():
        pq.write_table(pa.table({"file_name": names, "top1": column}), tmp_path / f"{kind}.parquet")
        assert load_predictions(tmp_path / f"{kind}.parquet").top1.tolist() == truth


def test_unused_columns_and_npz_arrays_are_said(tmp_path: Path) -> None:
    v = resources.val_file_names()
    (tmp_path / "p.csv").write_text(f"file_name,top1,confidence\n{v[0]},65,0.9\n")
    assert load_predictions(tmp_path / "p.csv").notes == (
        f"{tmp_path}/p.csv: column(s) 'confidence' not used",
    )
    truth = resources.validation_labels()[:4].astype(np.int64)
    np.savez(tmp_path / "p.npz", top1=truth, logits=np.zeros((4, 1000)), file_names=v[:4])
    pred = load_predictions(tmp_path / "p.npz")
    assert pred.top1.tolist() == truth.tolist()
    assert pred.notes == (f"{tmp_path}/p.npz: read array 'top1'; 'logits' not used",)


def test_float64_scores_are_compared_in_float64(tmp_path: Path) -> None:
    """Logits that differ by 1e-12 tie after a cast to float32: the ranking stays float64."""
    truth = resources.validation_labels().astype(np.int64)
    x = np.zeros((len(truth), 1000))
    x[np.arange(len(truth)), (truth + 1) % 1000] = 1.0
    x[np.arange(len(truth)), truth] = 1.0 + 1e-12  # the right class, by 1e-12
    np.save(tmp_path / "p.npy", x)
    pred = load_predictions(tmp_path / "p.npy", order="filename")
    assert (pred.top1 == truth).all()
    assert pred.scores is not None and pred.scores.dtype == np.float64


@pytest.mark.skipif(
    np.finfo(np.longdouble).max <= np.finfo(np.float64).max, reason="no wider float here"
)
def test_a_score_that_does_not_fit_float64_says_so(tmp_path: Path) -> None:
    from errata.exceptions import ErrataInputError

    x = np.zeros((4, 1000), dtype=np.longdouble)
    x[2, 7] = np.longdouble("1e400")
    np.savez(tmp_path / "p.npz", logits=x, file_names=resources.val_file_names()[:4])
    with pytest.raises(ErrataInputError) as info:
        load_predictions(tmp_path / "p.npz")
    assert str(info.value) == (
        f"{tmp_path}/p.npz: row 2, class 7: score 1e+400 does not fit float64 (at most "
        "1.8e+308); rescale the scores (subtracting each row's maximum keeps the ranking)"
    )


def _with_cell(path: Path, row: int, column: str, text: str, *, blank_after: int = 0) -> None:
    """Rewrite a CSV's cell (data row ``row``, column ``column``) as ``text``, with a blank line
    after data row ``blank_after`` (0: none)."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1 + row].split(",")
    cells[header.index(column)] = text
    lines[1 + row] = ",".join(cells)
    if blank_after:
        lines.insert(1 + blank_after, "")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "text, said",
    [
        ("1e400", "score 1e400 does not fit float64 (at most 1.8e+308); rescale the scores"),
        ("-1E+400", "score -1E+400 does not fit float64 (at most 1.8e+308); rescale the scores"),
        ("inf", "score inf is not finite (NaN or inf)"),  # as written: not an overflow
    ],
)
def test_a_csv_score_too_large_for_float64_is_said_as_such(
    tmp_path: Path, text: str, said: str
) -> None:
    """A CSV value beyond float64 (read as inf by the parser) is named as written and said not
    to fit — not "not finite" — in named columns of any order, its line counted with blank
    lines; an inf written as inf stays "not finite"."""
    from errata.exceptions import ErrataInputError

    path = table(tmp_path, WNIDS, list(range(999, -1, -1)), ".csv")  # wnid columns, reversed
    _with_cell(path, 6, WNIDS[7], text, blank_after=3)
    with pytest.raises(ErrataInputError) as info:
        load_predictions(path)
    assert str(info.value).startswith(f"{path}: line 9, class 7: {said}")


def test_a_ranked_class_index_too_large_for_float64_is_out_of_range(tmp_path: Path) -> None:
    from errata.exceptions import ErrataInputError

    path = tmp_path / "top1.csv"
    names = resources.val_file_names()[:3]
    path.write_text(f"top1,file_name\n3,{names[0]}\n1e400,{names[1]}\n5,{names[2]}\n")
    with pytest.raises(ErrataInputError) as info:
        load_predictions(path)
    assert str(info.value) == f"{path}: line 3: class index 1e400 is outside 0-999"


def test_a_parquet_text_score_too_large_for_float64_is_said_as_such(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from errata.exceptions import ErrataInputError

    x, _ = logits()
    cols = [pa.array(x[:, c].astype(str)) for c in range(1000)]
    cols[7] = pa.array(["1e400" if r == 2 else str(v) for r, v in enumerate(x[:, 7])])
    names = ["file_name"] + INDEX
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table([pa.array(resources.val_file_names()[:N]), *cols], names=names), path)
    with pytest.raises(ErrataInputError) as info:
        load_predictions(path)
    assert str(info.value).startswith(f"{path}: row 2, class 7: score 1e400 does not fit float64")
