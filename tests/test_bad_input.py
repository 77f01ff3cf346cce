"""Every family of bad input a user brings, through the command line: one line on stderr that
names the file, the row or field and what was expected, exit status 2, and --out unchanged.

Each case builds its inputs in a temporary folder and runs ``errata`` in-process (the same
entry point as the console script); ``{tmp}`` in a message stands for that folder.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from errata import resources
from errata.io.data import REGISTRY
from errata.taxonomy import TAXONOMIES

N = 50_000
VAL = "ILSVRC2012_val_{:08d}.JPEG"


def truth() -> np.ndarray:
    return resources.validation_labels().astype(np.int64)


def cli(args: list[str], tmp: Path) -> tuple[int, str, str]:
    """Run ``errata ARGS`` in this process: (exit status, stdout, stderr)."""
    from errata.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv, cwd = sys.argv, os.getcwd()
    sys.argv = ["errata", *args]
    os.chdir(tmp)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        sys.argv = argv
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


@dataclass
class Case:
    id: str
    build: Callable[[Path], list[str]]  # writes the inputs, returns the command's arguments
    message: str  # the expected line after "error: "
    env: dict[str, str] | None = None  # environment of the run ({tmp} replaced)


def npy(tmp: Path, arr: np.ndarray, name: str = "p.npy") -> str:
    np.save(tmp / name, arr)
    return str(tmp / name)


def write(tmp: Path, name: str, text: str | bytes) -> str:
    path = tmp / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def analyze(*extra: str) -> Callable[[str], list[str]]:
    return lambda path: ["analyze", path, *extra]


def with_file(make: Callable[[Path], str], *extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["analyze", make(tmp), "--out", str(tmp / "out"), *extra]


def shifted(tmp: Path) -> str:
    return npy(tmp, truth() + 1)


def stray(tmp: Path) -> str:
    a = truth()
    a[5] = 1000
    return npy(tmp, a)


def nan_logits(tmp: Path) -> str:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 1000)).astype(np.float32)
    logits[42, 7] = np.nan
    np.savez(tmp / "p.npz", logits=logits, file_names=resources.val_file_names()[:200])
    return str(tmp / "p.npz")


def floats(cols: int) -> Callable[[Path], str]:
    return lambda tmp: npy(tmp, np.zeros((20, cols), dtype=np.float32))


def topk_repeat(tmp: Path) -> str:
    a = np.stack([truth(), (truth() + 1) % 1000], axis=1)
    a[9, 1] = a[9, 0]
    return npy(tmp, a)


def object_npz(tmp: Path) -> str:
    with zipfile.ZipFile(tmp / "p.npz", "w") as zf, zf.open("top1.npy", "w") as fh:
        np.lib.format.write_array(fh, np.array([1, 2], dtype=object), allow_pickle=True)
    return str(tmp / "p.npz")


def npz_bomb(tmp: Path) -> str:
    """A 1 MB archive whose array claims (10^9, 1000) float32 (3.6 TiB)."""
    with zipfile.ZipFile(tmp / "p.npz", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("logits.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 1000)}
            )
            fh.write(bytes(1 << 20))
    return str(tmp / "p.npz")


def huge_header(tmp: Path) -> str:
    with open(tmp / "p.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 1000)}
        )
        fh.write(bytes(64))
    return str(tmp / "p.npy")


def npz_names_mismatch(tmp: Path) -> str:
    np.savez(tmp / "p.npz", top1=truth()[:10], file_names=resources.val_file_names()[:9])
    return str(tmp / "p.npz")


def csv(text: str) -> Callable[[Path], str]:
    return lambda tmp: write(tmp, "p.csv", text)


def bad_utf8_parquet(tmp: Path) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = pa.array([VAL.format(1).encode(), b"x\xff.JPEG"], pa.binary())
    pq.write_table(pa.table({"file_name": names, "top1": [1, 2]}), tmp / "p.parquet")
    return str(tmp / "p.parquet")


def chance(tmp: Path) -> str:
    return npy(tmp, np.random.default_rng(0).integers(0, 1000, N))


def labels(text: str, name: str = "l.json") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        write(tmp, name, text)
        return [
            "analyze",
            npy(tmp, truth()),
            "--labels",
            str(tmp / name),
            "--out",
            str(tmp / "out"),
        ]

    return build


def usage(*args: str) -> Callable[[Path], list[str]]:
    return lambda tmp: list(args)


# --- other test sets ---------------------------------------------------------------------------

A_WNID = resources.classes().wnids[6]  # stingray, an ImageNet-A class
TENCH = resources.classes().wnids[0]  # not one


def a_names(n: int = 20, folder: str = A_WNID) -> np.ndarray:
    return np.array([f"imagenet-a/{folder}/img_{i}.jpg" for i in range(n)])


def a_npz(arr: np.ndarray, names: np.ndarray | None = None) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        np.savez(
            tmp / "p.npz", predictions=arr, file_names=a_names(len(arr)) if names is None else names
        )
        return str(tmp / "p.npz")

    return make


def on(dataset: str, make: Callable[[Path], str], *extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: [
        "analyze",
        make(tmp),
        "--dataset",
        dataset,
        "--out",
        str(tmp / "out"),
        *extra,
    ]


def a_labels(text: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        write(tmp, "l.csv", text)
        np.savez(tmp / "p.npz", top1=np.full(2, 6), file_names=a_names(2))
        return [
            "analyze",
            str(tmp / "p.npz"),
            "--dataset",
            "imagenet-a",
            "--labels",
            str(tmp / "l.csv"),
            "--out",
            str(tmp / "out"),
        ]

    return build


# --- hostile input (issue 20) ------------------------------------------------------------------

N_SCORED = 20  # rows of the score tables below


def score_table(columns: list[str], name: str = "p.parquet") -> Callable[[Path], str]:
    """A table of N_SCORED validation images' scores with the given column names."""

    def make(tmp: Path) -> str:
        import pandas as pd

        rng = np.random.default_rng(0)
        df = pd.DataFrame(rng.normal(size=(N_SCORED, len(columns))), columns=columns)
        df.insert(0, "file_name", resources.val_file_names()[:N_SCORED])
        path = tmp / name
        df.to_csv(path, index=False) if name.endswith(".csv") else df.to_parquet(path)
        return str(path)

    return make


def bool_parquet(tmp: Path) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"file_name": [VAL.format(1), VAL.format(2)], "top1": [True, False]}),
        tmp / "p.parquet",
    )
    return str(tmp / "p.parquet")


def sparse_npy(tmp: Path) -> str:
    """An int64 .npy whose header claims 10 million rows, its data a hole: refused unread."""
    path = tmp / "p.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<i8", "fortran_order": False, "shape": (10_000_000,)}
        )
        fh.truncate(fh.tell() + 8 * 10_000_000)
    return str(path)


def truncated_zip(tmp: Path) -> str:
    np.savez(tmp / "p.npz", tensor=np.zeros((2, 3, 3)), info=np.zeros((3, 2)))
    data = (tmp / "p.npz").read_bytes()
    (tmp / "p.npz").write_bytes(data[: len(data) // 2])
    return str(tmp / "p.npz")


def not_utf8_name(tmp: Path) -> str:
    path = os.fsdecode(os.fsencode(str(tmp)) + b"/m\xe9.npy")
    np.save(path, truth())
    return path


def changed_registry_file(tmp: Path) -> list[str]:
    """A data directory whose cleanlab-resnet50 file has 5,000 predictions changed."""
    entry = REGISTRY["cleanlab-resnet50"]
    target = tmp / "data" / entry.path
    target.parent.mkdir(parents=True)
    pred = np.load(Path(os.environ["ERRATA_DATA_DIR"]) / entry.path)
    pred[:5000] = (pred[:5000] + 1) % 1000
    np.save(target, pred)
    return ["analyze", "cleanlab-resnet50", "--out", str(tmp / "out")]


def manifest(text: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "s").mkdir()
        write(tmp, "s/study.json", text)
        return ["compare", npy(tmp, truth()), "--out", str(tmp / "s")]

    return build


LONG = "x" * 260  # a file name longer than file systems allow (255 bytes)
CHANGED = (
    "{tmp}/data/cleanlab_resnet/imagenet_val_set_pyx_argmax_predicted_labels.npy: its sha256 is "
    "not the registry's for 'cleanlab-resnet50' (the file was changed, truncated or replaced); "
    "run `errata data fetch cleanlab-resnet50` to download it again, or `errata --no-verify "
    "...` to use it as it is"
)
CLASSES = [str(i) for i in range(1000)]
WNID_COLUMNS = list(resources.classes().wnids)
NAMES_ONCE = list(dict.fromkeys(reversed(resources.classes().names)))  # 'crane' once of two


CASES = [
    # --- score columns by name -----------------------------------------------------------------
    Case(
        "score-columns-missing-a-class",
        with_file(score_table([c for c in CLASSES if c != "5"])),
        "{tmp}/p.parquet: score columns named by class index: missing 5; expected one column per "
        "class of the 1000 classes, 0-999",
    ),
    Case(
        "score-columns-numbered-from-1",
        with_file(score_table([str(i) for i in range(1, 1001)], "p.csv")),
        "{tmp}/p.csv: score columns named by class index: missing 0; extra '1000'; expected one "
        "column per class of the 1000 classes, 0-999",
    ),
    Case(
        "score-columns-and-a-column-of-no-class",
        with_file(score_table([*reversed(WNID_COLUMNS), "split"])),
        "{tmp}/p.parquet: score columns named by WordNet id: extra 'split'; expected one column "
        "per class of the 1000 classes, 0-999",
    ),
    Case(
        "score-columns-naming-a-class-twice",
        with_file(score_table([f"logit_{c}" for c in CLASSES] + ["logit_007"])),
        "{tmp}/p.parquet: score columns 'logit_7' and 'logit_007' both name class 7; each class "
        "needs one column",
    ),
    Case(
        "score-columns-by-an-ambiguous-class-name",
        with_file(score_table(NAMES_ONCE)),
        "{tmp}/p.parquet: score column 'maillot' names two ImageNet classes; name the score "
        "columns by class index (0-999) or WordNet id",
    ),
    Case(
        "ranked-columns-with-a-gap",
        with_file(csv(f"file_name,top1,top3\n{VAL.format(1)},3,4\n")),
        "{tmp}/p.csv: ranked columns top1, top3: 'top2' is missing; expected top1, top2, … topk "
        "without a gap",
    ),
    Case(
        "prediction-and-top1",
        with_file(csv(f"file_name,prediction,top1\n{VAL.format(1)},3,4\n")),
        "{tmp}/p.csv: columns 'prediction' and 'top1' both give a top-1 class; keep one",
    ),
    Case(
        "csv-header-names-a-column-twice",
        with_file(csv(f"file_name,top1,top1\n{VAL.format(1)},3,4\n")),
        "{tmp}/p.csv: column 'top1' appears 2 times in the header; each column needs a name of "
        "its own",
    ),
    Case(
        "parquet-true-false-column",
        with_file(bool_parquet),
        "{tmp}/p.parquet: column 'top1' holds bool values (e.g. True); expected numbers",
    ),
    Case(
        "csv-line-after-blank-lines",
        with_file(csv(f"file_name,top1\n\n{VAL.format(1)},3\n\n{VAL.format(2)},cat\n")),
        "{tmp}/p.csv: line 5, column 'top1': 'cat' is not a number",
    ),
    Case(
        "file-names-field-of-an-npy",
        with_file(lambda t: npy(t, truth()), "--file-names", "file_name"),
        "--file-names file_name: a .npy file holds one array, no column or array of file names; "
        "give a file of names (a JSON list or one name per line)",
    ),
    Case(
        "npy-header-rows-refused-unread",
        with_file(sparse_npy),
        "{tmp}/p.npy: 10000000 prediction rows; expected 50000 (one per validation image, in "
        "file-name or ImageFolder order), or give file names (a file_name column/array or "
        "--file-names) to predict on a subset",
    ),
    # --- label files, evidence files -----------------------------------------------------------
    Case(
        "labels-superscript-digit",
        labels(f"file_name,labels\n{VAL.format(1)},²\n", "l.csv"),
        "{tmp}/l.csv: line 2, column 'labels': '²' is not a class (expected an index 0-999 or a "
        "WordNet id like n01440764)",
    ),
    Case(
        "labels-json-nested-100000-deep",
        labels("[" * 100_000 + "]" * 100_000),
        "{tmp}/l.json: nested too deeply to be a label file in Shankar's or errata's JSON schema",
    ),
    Case(
        "labels-json-key-twice",
        labels(f'{{"images": {{"{VAL.format(1)}": [1], "{VAL.format(1)}": [2]}}}}'),
        "{tmp}/l.json: key 'ILSVRC2012_val_00000001.JPEG' appears twice in one object (expected "
        "a label file in Shankar's or errata's JSON schema; each key once)",
    ),
    Case(
        "labels-one-image-by-two-names",
        labels(f"file_name,labels\n{VAL.format(1)},1\nILSVRC2012_val_00000001.png,2\n", "l.csv"),
        "{tmp}/l.csv: line 3: duplicate file name 'ILSVRC2012_val_00000001.png' (the image of "
        "'ILSVRC2012_val_00000001.JPEG'); each image may appear once",
    ),
    Case(
        "labels-csv-second-labels-column",
        labels(f"file_name,labels,labels\n{VAL.format(1)},1,2\n", "l.csv"),
        "{tmp}/l.csv: column 'labels' appears 2 times in the header; each column needs a name of "
        "its own",
    ),
    Case(
        "labels-csv-label-and-labels",
        labels(f"file_name,label,labels\n{VAL.format(1)},1,2\n", "l.csv"),
        "{tmp}/l.csv: columns 'label' and 'labels' both give labels; keep one (labels: several "
        "classes per image, label: one)",
    ),
    Case(
        "labels-csv-line-after-blank-lines",
        labels(f"file_name,labels\n\n{VAL.format(1)},1\n   \n{VAL.format(2)},x\n", "l.csv"),
        "{tmp}/l.csv: line 5, column 'labels': 'x' is not a class (expected an index 0-999 or a "
        "WordNet id like n01440764)",
    ),
    Case(
        "rater-file-truncated",
        lambda t: ["analyze", npy(t, truth()), "--proposals", truncated_zip(t)],
        "{tmp}/p.npz: not a readable .npz file, truncated or corrupt (File is not a zip file)",
    ),
    Case(
        "data-dir-is-a-file",
        lambda t: ["analyze", npy(t, truth()), "--out", str(t / "out")],
        "ERRATA_DATA_DIR={tmp}/f: is a file, not a folder; point it at the data directory (a "
        "folder laid out as `errata data list` shows)",
        env={"ERRATA_DATA_DIR": "{tmp}/f"},
    ),
    Case(
        "registry-file-changed",
        changed_registry_file,
        CHANGED,
        env={"ERRATA_DATA_DIR": "{tmp}/data"},
    ),
    # --- names, places, numbers ----------------------------------------------------------------
    Case(
        "argument-not-utf8",
        lambda t: ["analyze", not_utf8_name(t), "--out", str(t / "out")],
        "argument 2 '{tmp}/m\\xe9.npy': not UTF-8 text; errata needs file and folder names in "
        "UTF-8 (rename it)",
    ),
    Case(
        "out-name-too-long",
        lambda t: ["analyze", npy(t, truth()), "--out", str(t / LONG)],
        f"--out {{tmp}}/{LONG}: the name is 260 bytes long; file names may have at most 255",
    ),
    Case(
        "seed-negative",
        usage("analyze", "x.npy", "--seed", "-1"),
        "errata analyze: Invalid value for '--seed': Input should be greater than or equal to 0 "
        "(see 'errata analyze --help')",
    ),
    Case(
        "bootstrap-too-many",
        usage("analyze", "x.npy", "--bootstrap", "100000000000"),
        "errata analyze: Invalid value for '--bootstrap': Input should be less than or equal to "
        "1000000 (see 'errata analyze --help')",
    ),
    Case(
        "compare-batch-too-big",
        usage("compare", "x.npy", "--out", "s", "--batch", "5000"),
        "errata compare: Invalid value for '--batch': Input should be less than or equal to 1024 "
        "(see 'errata compare --help')",
    ),
    Case(
        "query-limit-negative",
        usage("query", "s", "SELECT 1", "--limit", "-1"),
        "errata query: Invalid value for '--limit': Input should be greater than or equal to 0 "
        "(see 'errata query --help')",
    ),
    Case(
        "review-port-0",
        usage("review", "serve", "p", "--port", "0"),
        "errata review serve: Invalid value for '--port': Input should be greater than or equal "
        "to 1 (see 'errata review serve --help')",
    ),
    # --- studies and queries -------------------------------------------------------------------
    Case(
        "query-empty-sql",
        lambda t: ["query", str(t), ""],
        "query: empty SQL; give a SELECT statement",
    ),
    Case(
        "query-copy-to",
        lambda t: ["query", str(t), "COPY (SELECT 'x') TO 's/models.parquet'"],
        "query: only SELECT statements run on a study (it is read-only); got COPY: 'COPY (SELECT "
        "'x') TO 's/models.parquet''",
    ),
    Case(
        "study-manifest-edited",
        manifest(json.dumps({"format": 3, "settings": {}, "models": [{"model": "a"}]})),
        "{tmp}/s/study.json: models[0]: no 'dataset'; the manifest was edited or damaged: run "
        "again with --rebuild",
    ),
    Case(
        "study-manifest-not-json",
        manifest('{"format": 3, '),
        "{tmp}/s/study.json: not valid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 15 (char 14)); expected a study manifest (study.json); run again with "
        "--rebuild",
    ),
    # --- prediction files ----------------------------------------------------------------------
    Case(
        "short",
        with_file(lambda t: npy(t, truth()[:-1])),
        "{tmp}/p.npy: 49999 prediction rows; expected 50000 (one per validation image, in "
        "file-name or ImageFolder order), or give file names (a file_name column/array or "
        "--file-names) to predict on a subset",
    ),
    Case(
        "index-out-of-range",
        with_file(lambda t: npy(t, np.where(np.arange(N) == 17, 1200, truth()))),
        "{tmp}/p.npy: row 17: class index 1200 is outside 0-999",
    ),
    Case(
        "tf-slim-shift",
        with_file(shifted),
        "{tmp}/p.npy: row 1078: class index 1000 is outside 0-999; the file looks like it uses "
        "1001 classes with a background class at 0 (TF-slim): subtract 1 from every index",
    ),
    Case(
        "one-stray-1000", with_file(stray), "{tmp}/p.npy: row 5: class index 1000 is outside 0-999"
    ),
    Case(
        "nan-logits",
        with_file(nan_logits),
        "{tmp}/p.npz: row 42, class 7: score nan is not finite (NaN or inf); expected finite "
        "logits or probabilities",
    ),
    Case(
        "fractional-indices",
        with_file(lambda t: npy(t, truth() + 0.5)),
        "{tmp}/p.npy: row 0: [65.5] are not whole class indices; for scores give 1000 columns",
    ),
    Case(
        "999-float-columns",
        with_file(floats(999)),
        "{tmp}/p.npy: shape (20, 999); expected (n, k) ranked classes with k ≤ 100, (n, "
        "1000) scores, or (n, 200) scores of ImageNet-A/-R",
    ),
    Case(
        "20000-float-columns",
        with_file(floats(20000)),
        "{tmp}/p.npy: shape (20, 20000); expected (n, k) ranked classes with k ≤ 100, (n, "
        "1000) scores, or (n, 200) scores of ImageNet-A/-R",
    ),
    Case(
        "1001-float-columns",
        with_file(floats(1001)),
        "{tmp}/p.npy: 1001 float columns; expected 1000 scores (logits or probabilities) or up "
        "to 100 ranked class indices; a 1001-column array usually has a background class at "
        "column 0 (TF-slim models): drop column 0",
    ),
    Case(
        "150-int-columns",
        with_file(lambda t: npy(t, np.zeros((20, 150), np.int64))),
        "{tmp}/p.npy: shape (20, 150); expected (n, k) ranked classes with k ≤ 100, (n, "
        "1000) scores, or (n, 200) scores of ImageNet-A/-R",
    ),
    Case(
        "top-k-repeats-a-class",
        with_file(topk_repeat),
        "{tmp}/p.npy: row 9: ranked classes [332, 332] repeat a class; each of the top-k columns "
        "must be another class",
    ),
    Case(
        "no-npy-header",
        with_file(lambda t: write(t, "p.npy", b"not numpy")),
        "{tmp}/p.npy: not a valid .npy array (no NumPy header); save it with numpy.save",
    ),
    Case(
        "truncated-npy",
        with_file(lambda t: write(t, "p.npy", open(npy(t, truth()), "rb").read()[:5000])),
        "{tmp}/p.npy: not a valid .npy array, truncated or corrupt (Failed to read all data for "
        "array. Expected (50000,) = 50000 elements, could only read 609 elements. (file seems "
        "not fully written?))",
    ),
    Case(
        "object-npy",
        with_file(lambda t: npy(t, np.array([1, "a"], dtype=object))),
        "{tmp}/p.npy: holds Python objects (a pickled array); expected numbers: class indices "
        "or scores",
    ),
    Case(
        "object-npz",
        with_file(object_npz),
        "{tmp}/p.npz: array 'top1': holds Python objects (a pickled array); expected numbers: "
        "class indices or scores",
    ),
    Case(
        "npz-bomb",
        with_file(npz_bomb),
        "MEMORY {tmp}/p.npz: array 'logits': a float32 array "
        "of shape (1000000000, 1000) would need 3.6 TiB of memory",
    ),
    Case(
        "npy-header-claims-1e9-rows",
        with_file(huge_header),
        "MEMORY {tmp}/p.npy: a float64 "
        "array of shape (1000000000, 1000) would need 7.3 TiB of memory",
    ),
    Case(
        "npz-names-length",
        with_file(npz_names_mismatch),
        "{tmp}/p.npz: 9 file names for 10 prediction rows; expected one per row",
    ),
    Case(
        "npz-unknown-arrays",
        with_file(
            lambda t: (np.savez(t / "p.npz", a=np.zeros(3), b=np.zeros(3)), str(t / "p.npz"))[1]
        ),
        "{tmp}/p.npz: cannot tell which array holds the predictions (arrays: a, b; expected "
        "one of predictions, topk, top5, top1, prediction, logits, probs, probabilities, scores)",
    ),
    Case(
        "npz-corrupt",
        with_file(lambda t: write(t, "p.npz", b"PK\x03\x04garbage")),
        "{tmp}/p.npz: not a valid .npz archive, truncated or corrupt (File is not a zip file)",
    ),
    Case(
        "unsupported-extension",
        with_file(lambda t: write(t, "p.txt", "1\n")),
        "{tmp}/p.txt: unsupported extension '.txt' (expected .npy, .npz, .csv, .parquet)",
    ),
    Case(
        "a-folder",
        lambda t: ["analyze", str(t), "--out", str(t / "out")],
        "{tmp}: is a folder; give one prediction file (errata compare takes folders)",
    ),
    Case(
        "missing-file", with_file(lambda t: str(t / "nope.npy")), "{tmp}/nope.npy: file not found"
    ),
    Case(
        "csv-not-a-number",
        with_file(csv(f"file_name,top1\n{VAL.format(1)},3\n{VAL.format(2)},cat\n")),
        "{tmp}/p.csv: line 3, column 'top1': 'cat' is not a number",
    ),
    Case(
        "csv-missing-value",
        with_file(csv(f"file_name,top1,top2\n{VAL.format(1)},3,4\n{VAL.format(2)},5,\n")),
        "{tmp}/p.csv: line 3, column 'top2': missing value",
    ),
    Case(
        "csv-duplicate-name",
        with_file(csv(f"file_name,top1\n{VAL.format(1)},3\nx/{VAL.format(1)},4\n")),
        "{tmp}/p.csv: line 3: duplicate file name 'ILSVRC2012_val_00000001.JPEG'; each image "
        "may appear once",
    ),
    Case(
        "csv-unknown-name",
        with_file(csv(f"file_name,top1\n{VAL.format(1)},3\ncat.jpg,4\n")),
        "{tmp}/p.csv: line 3: unknown file name 'cat.jpg' (not in label set 'real' and not an "
        "ImageNet validation image; 1 such rows)",
    ),
    Case(
        "csv-not-utf8",
        with_file(
            lambda t: write(
                t, "p.csv", b"file_name,top1\n" + VAL.format(1).encode() + b",3\nx\xff.JPEG,4\n"
            )
        ),
        "{tmp}/p.csv: line 3, column 'file_name': b'x\\xff.JPEG' is not UTF-8 text",
    ),
    Case(
        "parquet-not-utf8",
        with_file(bad_utf8_parquet),
        "{tmp}/p.parquet: row 1, column 'file_name': b'x\\xff.JPEG' is not UTF-8 text",
    ),
    Case("csv-no-rows", with_file(csv("file_name,top1\n")), "{tmp}/p.csv: no rows"),
    Case(
        "wrong-order",
        with_file(lambda t: npy(t, truth()), "--order", "imagefolder"),
        "{tmp}/p.npy: the rows are not in ImageFolder order (top-1 against the original labels: "
        "100.0 % in file-name order, 0.1 % in ImageFolder order); use --order filename (or "
        "--order auto)",
    ),
    Case(
        "order-cannot-be-told",
        with_file(chance),
        "{tmp}/p.npy: cannot tell which image each row is (top-1 against the original labels: "
        "0.1 % in file-name order, 0.1 % in ImageFolder order); give --order filename or "
        "--order imagefolder, or file names",
    ),
    # --- label files ---------------------------------------------------------------------------
    Case(
        "labels-string-not-list",
        labels(json.dumps({"images": {VAL.format(1): {"correct": "n01440764"}}})),
        "{tmp}/l.json: images['ILSVRC2012_val_00000001.JPEG'].correct: 'n01440764' is not a "
        "list; expected a list of classes (indices 0-999 or WordNet ids like n01440764)",
    ),
    Case(
        "labels-problematic-yes",
        labels(json.dumps({"images": {VAL.format(1): {"correct": [1], "problematic": "yes"}}})),
        "{tmp}/l.json: images['ILSVRC2012_val_00000001.JPEG'].problematic: 'yes' is not true "
        "or false (a JSON boolean)",
    ),
    Case(
        "labels-unknown-wnid",
        labels(json.dumps({"images": {VAL.format(1): ["n99999999"]}})),
        "{tmp}/l.json: images['ILSVRC2012_val_00000001.JPEG'].correct: 'n99999999' is not one "
        "of the 1000 ImageNet WordNet ids",
    ),
    Case(
        "labels-csv-bad-class",
        labels(f"file_name,labels\n{VAL.format(1)},65 x\n", "l.csv"),
        "{tmp}/l.csv: line 2, column 'labels': 'x' is not a class (expected an index 0-999 or "
        "a WordNet id like n01440764)",
    ),
    Case(
        "labels-csv-problematic-maybe",
        labels(f"file_name,labels,problematic\n{VAL.format(1)},65,maybe\n", "l.csv"),
        "{tmp}/l.csv: line 2, column 'problematic': 'maybe' is not 0/1/true/false",
    ),
    Case(
        "labels-not-json",
        labels("{", "l.json"),
        "{tmp}/l.json: not valid JSON (Expecting property name enclosed in double quotes: line "
        "1 column 2 (char 1)); expected a label file in Shankar's or errata's JSON schema",
    ),
    Case(
        "labels-missing",
        lambda t: ["analyze", npy(t, truth()), "--labels", str(t / "no.json")],
        "--labels: '{tmp}/no.json' is neither a built-in label set (original, real, shankar) nor "
        "an existing file",
    ),
    # --- label issues (errata label-issues) ------------------------------------------------------
    Case(
        "label-issues-k-not-numbers",
        lambda t: ["label-issues", npy(t, truth()), "--k", "ten"],
        "--k: 'ten' is not whole numbers separated by commas",
    ),
    Case(
        "label-issues-k-zero",
        lambda t: ["label-issues", npy(t, truth()), "--k", "0,100"],
        "--k: 0, 100; expected whole numbers ≥ 1",
    ),
    Case(
        "label-issues-bad-class",
        lambda t: ["label-issues", stray(t), "--out", str(t / "out")],
        "{tmp}/p.npy: row 5: class index 1000 is outside 0-999",
    ),
    # --- output places -------------------------------------------------------------------------
    Case(
        "out-is-a-file",
        lambda t: ["analyze", npy(t, truth()), "--out", write(t, "f", "x")],
        "--out {tmp}/f: is a file; give a folder",
    ),
    Case(
        "out-is-the-current-folder",
        lambda t: ["analyze", npy(t, truth()), "--out", "."],
        "--out .: is the current folder or one of its parents; give a folder of its own "
        "(errata replaces it as a whole)",
    ),
    Case(
        "report-not-html",
        lambda t: ["analyze", npy(t, truth()), "--report", str(t / "r.txt")],
        "--report {tmp}/r.txt: expected an .html file name",
    ),
    Case(
        "export-into-a-folder",
        lambda t: ["taxonomy", "export", "--out", str(t)],
        "{tmp}: is a folder; give a file name to write",
    ),
    # --- the command line itself ---------------------------------------------------------------
    Case(
        "missing-argument",
        usage("analyze"),
        "errata analyze: Missing argument 'predictions'. (see 'errata analyze --help')",
    ),
    Case(
        "unknown-option",
        usage("analyze", "x.npy", "--colour"),
        "errata analyze: No such option: --colour (Possible options: --out) (see 'errata "
        "analyze --help')",
    ),
    Case(
        "unknown-command",
        usage("analyse"),
        "errata: No such command 'analyse'. Did you mean 'analyze'? (see 'errata --help')",
    ),
    Case(
        "bootstrap-too-few",
        usage("analyze", "x.npy", "--bootstrap", "5"),
        "errata analyze: Invalid value for '--bootstrap': Input should be greater than or "
        "equal to 10 (see 'errata analyze --help')",
    ),
    Case(
        "fetch-without-name",
        usage("data", "fetch"),
        "errata data fetch: Missing argument 'names'. (see 'errata data fetch --help')",
    ),
    Case(
        "unknown-order",
        usage("analyze", "x.npy", "--order", "sideways"),
        "--order: 'sideways' is not one of auto, filename, imagefolder",
    ),
    Case(
        "unknown-data-file",
        usage("data", "path", "imagenet-z"),
        "unknown data file 'imagenet-z' (known: " + ", ".join(REGISTRY) + ")",
    ),
    Case(
        "query-no-study",
        lambda t: ["query", str(t), "SELECT 1"],
        "{tmp}: no models.parquet (run `errata compare ... --out {tmp}` first)",
    ),
    Case(
        "query-arguments-swapped",
        lambda t: ["query", "SELECT model FROM models", str(t)],
        "'SELECT model FROM models': the SQL was given where the study folder goes; the folder "
        'comes first (errata query STUDY "SELECT …")',
    ),
    # --- did you mean (issue 23 item 5) --------------------------------------------------------
    Case(
        "labels-misspelt",
        with_file(lambda t: npy(t, truth()), "--labels", "reall"),
        "--labels: 'reall' is neither a built-in label set (original, real, shankar) nor an "
        "existing file; did you mean 'real'?",
    ),
    Case(
        "registry-name-misspelt",
        lambda t: ["analyze", "cleanlab-resnet5"],
        "cleanlab-resnet5: file not found, nor a registry name (errata data list); did you mean "
        "'cleanlab-resnet50'?",
    ),
    Case(
        "dataset-misspelt",
        usage("analyze", "x.npy", "--dataset", "imagenet-vv2"),
        "--dataset: 'imagenet-vv2' is not one of imagenet-val, imagenet-v2, imagenet-a, "
        "imagenet-r; did you mean 'imagenet-v2'?",
    ),
    Case(
        "taxonomy-misspelt",
        with_file(lambda t: npy(t, truth()), "--taxonomy", "peychev"),
        "--taxonomy: 'peychev' is not one of errata, peychev2023, supersub10; did you mean "
        "'peychev2023'?",
    ),
    Case(
        "expert-registry-name-misspelt",
        with_file(lambda t: npy(t, truth()), "--experts", "vit3b-mistake"),
        "vit3b-mistake: file not found, nor a registry name (errata data list); did you mean "
        "'vit3b-mistakes'?",
    ),
    Case(
        "data-name-misspelt",
        usage("data", "path", "real-rater"),
        "unknown data file 'real-rater' (known: " + ", ".join(REGISTRY) + "); did you mean "
        "'real-raters'?",
    ),
    Case(
        "compare-empty-folder",
        lambda t: ["compare", str(t), "--out", str(t / "out")],
        "no prediction files (.npy, .npz, .csv, .parquet) in {tmp}",
    ),
    # --- other test sets (--dataset) ---------------------------------------------------------
    Case(
        "200-score-columns-as-imagenet-val",
        with_file(a_npz(np.zeros((20, 200), np.float32), resources.val_file_names()[:20])),
        "{tmp}/p.npz: 200 float columns; expected 1000 scores (logits or probabilities) for "
        "ImageNet validation; 200 columns are the scores of a 200-class test set: give "
        "--dataset imagenet-a or --dataset imagenet-r",
    ),
    Case(
        "imagenet-a-201-score-columns",
        on("imagenet-a", a_npz(np.zeros((20, 201), np.float32))),
        "{tmp}/p.npz: array 'predictions': shape (20, 201); expected (n, k) ranked classes with "
        "k ≤ 100, (n, 1000) scores, or (n, 200) scores of ImageNet-A/-R",
    ),
    Case(
        "imagenet-a-top1-outside-the-200",
        on("imagenet-a", a_npz(np.where(np.arange(20) == 3, 0, 907))),
        "{tmp}/p.npz: row 3: class 0 (tench) is not one of the 200 ImageNet-A classes (1 such "
        "rows); give the scores (restricted to the subset before the arg-max) or --outside map "
        "(each row takes its best-ranked class of the subset)",
    ),
    Case(
        "imagenet-a-indices-of-the-200",
        on("imagenet-a", a_npz(np.arange(20) % 5)),
        "{tmp}/p.npz: row 0: class 0 (tench) is not one of the 200 ImageNet-A classes (20 such "
        "rows); give the scores (restricted to the subset before the arg-max) or --outside map "
        "(each row takes its best-ranked class of the subset); all its indices are below 200: "
        "if they number the 200 classes of ImageNet-A (0-199) rather than the 1000, convert "
        "them with `errata datasets classes imagenet-a`",
    ),
    Case(
        "imagenet-v2-without-file-names",
        on("imagenet-v2", lambda t: npy(t, np.zeros(30, np.int64))),
        "{tmp}/p.npy: ImageNet-V2 predictions need the file name of each row (a file_name "
        "column/array or --file-names), as '<class folder>/<file name>': the images of "
        "ImageNet-V2 are known by their class folder and file name",
    ),
    Case(
        "imagenet-a-image-in-another-class-folder",
        on("imagenet-a", a_npz(np.full(20, 6), a_names(20, TENCH))),
        "{tmp}/p.npz: row 0: 'imagenet-a/n01440764/img_0.jpg' is in class folder tench "
        "(n01440764), which is not one of the 200 ImageNet-A classes",
    ),
    Case(
        "imagenet-a-one-image-twice",
        on(
            "imagenet-a",
            a_npz(
                np.full(2, 6),
                np.array([f"a/{A_WNID}/art_0.jpg", f"copy/{A_WNID}/art_0.jpg"]),
            ),
        ),
        "{tmp}/p.npz: row 1: duplicate image 'n01498041/art_0.jpg'; each image may appear once "
        "(outside the validation set an image is its class folder and file name)",
    ),
    Case(
        "imagenet-a-label-outside-the-200",
        a_labels(f"file_name,label\n{A_WNID}/img_0.jpg,{A_WNID}\n{A_WNID}/img_1.jpg,{TENCH}\n"),
        "{tmp}/l.csv: image 'n01498041/img_1.jpg': labels: class tench (n01440764) is not one "
        "of the 200 ImageNet-A classes",
    ),
    Case(
        "real-labels-on-imagenet-a",
        on("imagenet-a", a_npz(np.full(20, 6)), "--labels", "real"),
        "--labels: ReaL labels cover the ImageNet validation images only, not ImageNet-A; use "
        "'original' (the class folders), 'shankar' (ImageNet-V2) or a label file",
    ),
    Case(
        "openworld-on-imagenet-r",
        on("imagenet-r", a_npz(np.full(20, 6)), "--openworld", "."),
        "--openworld: the open-world bundle holds embeddings of ImageNet validation images; it "
        "cannot judge ImageNet-R images",
    ),
    Case(
        "outside-map-on-the-validation-set",
        with_file(lambda t: npy(t, truth()), "--outside", "map"),
        "--outside: only for the 200-class test sets (imagenet-a, imagenet-r), not imagenet-val",
    ),
    Case(
        "unknown-dataset",
        usage("analyze", "x.npy", "--dataset", "imagenet-z"),
        "--dataset: 'imagenet-z' is not one of imagenet-val, imagenet-v2, imagenet-a, imagenet-r; "
        "did you mean 'imagenet-r' or 'imagenet-a' or 'imagenet-v2'?",
    ),
    Case(
        "datasets-classes-of-an-unknown-set",
        usage("datasets", "classes", "imagenet-o"),
        "test set: 'imagenet-o' is not one of imagenet-val, imagenet-v2, imagenet-a, imagenet-r; "
        "did you mean 'imagenet-r' or 'imagenet-a' or 'imagenet-v2'?",
    ),
    # --- Super-Sub -----------------------------------------------------------------------------
    Case(
        "supersub-unknown-taxonomy",
        lambda t: ["supersub", npy(t, truth()), "--taxonomy", "wordnet"],
        "--taxonomy: 'wordnet' is not one of " + ", ".join(TAXONOMIES),
    ),
    Case(
        "supersub-report-not-html",
        lambda t: ["supersub", npy(t, truth()), "--report", str(t / "r.txt")],
        "--report {tmp}/r.txt: expected an .html file name",
    ),
    Case(
        "supersub-imagenet-a-logits-for-the-validation-set",
        lambda t: ["supersub", a_npz(np.zeros((20, 200), np.float32))(t)],
        "{tmp}/p.npz: 200 float columns; expected 1000 scores (logits or probabilities) for "
        "ImageNet validation; 200 columns are the scores of a 200-class test set: give "
        "--dataset imagenet-a or --dataset imagenet-r",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(  # type: ignore[no-untyped-def]
    case: Case, tmp_path: Path, monkeypatch
) -> None:
    tmp = tmp_path.resolve()
    out = tmp / "out"
    out.mkdir()
    (out / "metrics.json").write_text('{"model": "the previous run"}')  # an earlier result
    (tmp / "f").write_text("x")  # a file where a folder is expected
    before = sorted(p.name for p in tmp.iterdir())
    args = case.build(tmp)
    for key, value in (case.env or {}).items():
        monkeypatch.setenv(key, value.replace("{tmp}", str(tmp)))
    code, _, err = cli(args, tmp)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    message = case.message.replace("{tmp}", str(tmp))
    if message.startswith("MEMORY "):  # the available memory differs between machines
        assert lines[0].startswith("error: " + message[len("MEMORY ") :]), lines[0]
    else:
        assert lines[0] == "error: " + message
    assert (out / "metrics.json").read_text() == '{"model": "the previous run"}'
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]
    after = sorted(p.name for p in tmp.iterdir() if not p.name.startswith("."))
    assert set(after) <= set(before) | {
        "p.npy",
        "p.npz",
        "p.csv",
        "p.parquet",
        "p.txt",
        "f",
        "l.json",
        "l.csv",
        "m\udce9.npy",
        "s",
        "data",
    }
    assert not [p for p in tmp.rglob("*") if p.name.endswith(".tmp")]


def test_compare_lists_a_bad_file_and_goes_on(tmp_path: Path) -> None:
    """In a study a bad file is skipped (exit 1), with its one-line reason, never aborting."""
    np.save(tmp_path / "good.npy", truth())
    npz_bomb(tmp_path)
    code, out, err = cli(
        ["compare", str(tmp_path), "--out", str(tmp_path / "s"), "--json"], tmp_path
    )
    assert code == 1, err
    summary = json.loads(out)
    assert summary["counts"]["models"] == 1 and summary["counts"]["failed"] == 1
    assert "would need 3.6 TiB of memory" in summary["failed"][0]["error"]


def test_supersub_lists_a_bad_file_and_exits_1(tmp_path: Path) -> None:
    """supersub skips a bad file among several as compare does: exit 1, with --json too."""
    good = npy(tmp_path, truth(), "good.npy")
    bad = npz_bomb(tmp_path)
    for json_ in (["--json"], []):
        code, out, err = cli(["supersub", good, bad, *json_], tmp_path)
        assert code == 1, err
        if json_:
            summary = json.loads(out)
            assert summary["counts"]["models"] == 1 and summary["counts"]["failed"] == 1
            assert "would need 3.6 TiB of memory" in summary["failed"][0]["error"]
        else:
            assert err.startswith("skipped: ") and "would need 3.6 TiB of memory" in err


def test_usage_errors_through_the_console_script(tmp_path: Path) -> None:
    """The real entry point (a subprocess): one line, exit 2, no traceback; --version works."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "errata", "analyze"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: errata analyze: Missing argument 'predictions'. (see 'errata analyze --help')"
    ]
    version = subprocess.run(
        [sys.executable, "-m", "errata", "--version"], capture_output=True, text=True
    )
    from errata import __version__

    assert version.returncode == 0 and version.stdout.strip() == f"errata {__version__}"


def test_a_current_folder_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    """Relative paths in a folder whose name is not UTF-8 would reach Arrow and DuckDB as such:
    every command but --help/--version says so first, in one line."""
    import subprocess

    folder = os.fsencode(str(tmp_path)) + b"/caf\xe9"
    os.mkdir(folder)
    np.save(os.fsdecode(folder + b"/p.npy"), truth())
    done = subprocess.run(
        [sys.executable, "-m", "errata", "analyze", "p.npy", "--out", "o"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: the current folder '{tmp_path}/caf\\xe9': not UTF-8 text; errata needs file and "
        "folder names in UTF-8 (rename it)"
    ]
    assert os.listdir(folder) == [b"p.npy"]
    helped = subprocess.run(
        [sys.executable, "-m", "errata", "--version"], cwd=folder, capture_output=True
    )
    assert helped.returncode == 0
