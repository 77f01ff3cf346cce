"""The commands of the golden test and the small inputs they read.

Each case is one ``errata`` command line run in a shared working folder, in the order listed
(later cases read what earlier ones wrote: ``compare`` twice, then ``query`` on the study).
The inputs are written by :func:`make_inputs` from the reference data (the ResNet-50's
predictions, the package's class lists) with a fixed seed, small where the command allows
(subsets of a few thousand images), so the whole run takes a minute or two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "src" / "errata" / "resources"


@dataclass(frozen=True)
class Case:
    """One command line: ``args`` after ``errata``, run in the working folder."""

    name: str
    args: tuple[str, ...]
    needs: tuple[str, ...] = field(default=())  # Python modules the command needs (extras)


def _c(name: str, *args: str, needs: tuple[str, ...] = ()) -> Case:
    return Case(name, tuple(args), needs)


CASES: tuple[Case, ...] = (
    # top level and registries
    _c("help", "--help"),
    _c("version", "--version"),
    _c("analyze-help", "analyze", "--help"),
    _c("data-list", "data", "list"),
    _c("data-path", "data", "path", "cleanlab-resnet50"),
    _c("data-path-missing", "data", "path", "greedysoups-mistakes"),
    _c("datasets-list", "datasets", "list"),
    _c("datasets-classes", "datasets", "classes", "imagenet-a"),
    # one model (README tour, make demo)
    _c(
        "demo",
        "analyze",
        "cleanlab-resnet50",
        "--order",
        "imagefolder",
        "--labels",
        "real",
        "--out",
        "demo-output",
    ),
    _c("analyze-auto-json", "analyze", "cleanlab-resnet50", "--json"),
    _c("analyze-npz-top5", "analyze", "sub_top5.npz"),
    _c("analyze-npz-original", "analyze", "sub_top5.npz", "--labels", "original"),
    _c("analyze-parquet-out-json", "analyze", "sub_logits.parquet", "--out", "results", "--json"),
    _c("analyze-csv-peychev", "analyze", "sub_top1.csv", "--taxonomy", "peychev2023"),
    _c(
        "analyze-preset",
        "analyze",
        "cleanlab-resnet50",
        "--order",
        "imagefolder",
        "--preset",
        "peychev2023",
    ),
    _c("analyze-experts", "analyze", "cleanlab-resnet50", "--experts", "vit3b-mistakes"),
    _c(
        "analyze-bootstrap",
        "analyze",
        "sub_top1.csv",
        "--interval",
        "bootstrap",
        "--bootstrap",
        "200",
        "--seed",
        "3",
        "--no-errors",
    ),
    _c(
        "analyze-labels-csv",
        "analyze",
        "sub_top1.csv",
        "--labels",
        "my_labels.csv",
        "--out",
        "results_csv",
    ),
    _c("analyze-imagenet-a", "analyze", "a_logits.npz", "--dataset", "imagenet-a"),
    _c(
        "analyze-imagenet-a-top1-map",
        "analyze",
        "a_top1.npz",
        "--dataset",
        "imagenet-a",
        "--outside",
        "map",
    ),
    # many models
    _c("compare", "compare", "runs/", "--out", "study/"),
    _c("compare-again", "compare", "runs/", "--out", "study/"),
    _c("compare-grown-json", "compare", "runs/", "runs_more/", "--out", "study/", "--json"),
    _c("compare-imagenet-a", "compare", "runs_a/", "--dataset", "imagenet-a", "--out", "study/"),
    _c(
        "query", "query", "study/", "SELECT model, real, mla FROM models ORDER BY mla DESC LIMIT 10"
    ),
    _c(
        "query-datasets-csv",
        "query",
        "study/",
        "SELECT dataset, model, top1 FROM models ORDER BY 1, 2",
        "--csv",
    ),
    _c(
        "query-errors-json",
        "query",
        "study/",
        "SELECT category, count(*) AS n FROM errors GROUP BY 1 ORDER BY 1",
        "--json",
    ),
    _c(
        "query-published",
        "query",
        "study/",
        "SELECT m.model, count(*) FILTER (WHERE p.top1 < m.top1) AS below, count(*) AS n "
        "FROM models m, published p WHERE m.dataset = 'imagenet-val' GROUP BY 1 ORDER BY 1",
    ),
    _c(
        "query-published-nearest",
        "query",
        "study/",
        "SELECT p.model, p.training_data, p.top1, p.mla_overlap FROM models m, published p "
        "WHERE m.model = 'model_a' ORDER BY abs(p.top1 - m.top1), p.model LIMIT 5",
    ),
    _c("query-copy-refused", "query", "study/", "COPY models TO 'x.csv'"),
    _c("compare-with-failure", "compare", "runs_bad/", "--out", "study_bad/"),
    # two models, experts, superclasses, label issues
    _c("diff", "diff", "runs/model_a.npy", "runs/model_d.npy"),
    _c("diff-json", "diff", "runs/model_a.npy", "runs/model_d.npy", "--json", "--show", "3"),
    _c("experts", "experts", "vit3b-mistakes", "--labels", "real"),
    _c(
        "experts-rows-peychev",
        "experts",
        "vit3b-mistakes",
        "--labels",
        "real",
        "--rows",
        "--taxonomy",
        "peychev2023",
    ),
    _c("supersub", "supersub", "sub_top5.npz", "--taxonomy", "supersub10"),
    _c(
        "supersub-logits-out",
        "supersub",
        "sub_logits.parquet",
        "--taxonomy",
        "supersub10",
        "--out",
        "ss/",
    ),
    _c("supersub-study", "supersub", "study/", "--taxonomy", "supersub10", "--per-superclass"),
    _c("taxonomy-show", "taxonomy", "show", "n02085620"),
    _c(
        "taxonomy-export-json",
        "taxonomy",
        "export",
        "--format",
        "json",
        "--taxonomy",
        "peychev2023",
    ),
    _c(
        "label-issues",
        "label-issues",
        "runs/model_b.npz",
        "sub_top5.npz",
        "--labels",
        "original",
        "--truth",
        "real",
        "--out",
        "issues/",
        "--top",
        "5",
        needs=("cleanlab",),
    ),
    # bad input: one line, exit status 2, nothing written
    _c("err-missing-argument", "analyze"),
    _c("err-unknown-option", "analyze", "sub_top1.csv", "--bogus"),
    _c("err-class-index", "analyze", "bad_index.npy", "--out", "bad_out"),
    _c("err-short", "analyze", "short.npy"),
    _c("err-nan", "analyze", "nan_logits.npz"),
    _c("err-wrong-order", "analyze", "cleanlab-resnet50", "--order", "filename"),
    _c("err-duplicate-column", "analyze", "dup_column.csv"),
    _c("err-labels-choice", "analyze", "sub_top1.csv", "--labels", "nope"),
    _c("err-taxonomy-choice", "analyze", "sub_top1.csv", "--taxonomy", "nope"),
    _c("err-dataset-choice", "analyze", "sub_top1.csv", "--dataset", "nope"),
    _c("err-order-choice", "analyze", "sub_top1.csv", "--order", "nope"),
    _c("err-interval-choice", "analyze", "sub_top1.csv", "--interval", "nope"),
    _c(
        "err-outside-choice",
        "analyze",
        "a_top1.npz",
        "--dataset",
        "imagenet-a",
        "--outside",
        "nope",
    ),
    _c("err-bootstrap-bounds", "analyze", "sub_top1.csv", "--bootstrap", "5"),
    _c("err-imagenet-a-outside", "analyze", "a_top1.npz", "--dataset", "imagenet-a"),
    _c("err-compare-taxonomy", "compare", "runs/", "--out", "study/", "--taxonomy", "peychev2023"),
    _c("err-export-format", "taxonomy", "export", "--format", "nope"),
)


def _tsv(name: str) -> pd.DataFrame:
    return pd.read_csv(RESOURCES / name, sep="\t", keep_default_na=False)


def make_inputs(work: Path, data: Path) -> None:
    """Write the cases' input files into ``work`` (deterministic: fixed seeds, sorted names)."""
    rng = np.random.default_rng(20261203)
    cl = data / "cleanlab_resnet"
    top1_if = np.load(cl / "imagenet_val_set_pyx_argmax_predicted_labels.npy").astype(np.int64)
    paths = json.loads((cl / "imagenet_val_set_index_to_filepath.json").read_text())
    names_if = np.array([p.rsplit("/", 1)[-1] for p in paths])
    order = np.argsort(names_if, kind="stable")  # ImageFolder → file-name order
    names = names_if[order]
    top1 = top1_if[order]
    original = np.load(cl / "imagenet_val_set_original_labels.npy").astype(np.int64)[order]
    n = len(names)

    def others(k: int, rows: np.ndarray) -> np.ndarray:
        """``k`` classes per row, distinct from each other and from ``top1[rows]``."""
        out = np.empty((len(rows), k), dtype=np.int64)
        for j, r in enumerate(rows):
            pick = rng.choice(999, size=k, replace=False)
            out[j] = np.where(pick >= top1[r], pick + 1, pick)
        return out

    # one model, subsets with file names
    rows5 = np.sort(rng.choice(n, size=3000, replace=False))
    topk = np.concatenate([top1[rows5, None], others(4, rows5)], axis=1).astype(np.int16)
    np.savez(work / "sub_top5.npz", topk=topk, file_names=names[rows5])
    rows_l = np.sort(rng.choice(n, size=400, replace=False))
    logits = rng.normal(0.0, 1.0, size=(len(rows_l), 1000)).astype(np.float32)
    logits[np.arange(len(rows_l)), top1[rows_l]] += 4.0
    frame = pd.DataFrame(logits, columns=[str(c) for c in range(1000)])
    frame.insert(0, "file_name", names[rows_l])
    frame.to_parquet(work / "sub_logits.parquet", index=False)
    rows1 = np.sort(rng.choice(n, size=2000, replace=False))
    pd.DataFrame({"file_name": names[rows1], "top1": top1[rows1]}).to_csv(
        work / "sub_top1.csv", index=False
    )
    pd.DataFrame({"file_name": names[rows1], "label": original[rows1]}).to_csv(
        work / "my_labels.csv", index=False
    )

    # ImageNet-A: class-path names, (n, 200) scores and top-1 with rows outside the 200
    a = _tsv("imagenet_a_classes.tsv")
    wnid_a = a["wnid"].to_numpy()
    index_a = a["class_index"].to_numpy()
    m = 600
    true_pos = rng.integers(0, 200, size=m)
    a_names = np.array([f"{wnid_a[p]}/a_{i:04d}.jpg" for i, p in enumerate(true_pos)])
    scores = rng.normal(0.0, 1.0, size=(m, 200)).astype(np.float32)
    hit = rng.random(m) < 0.4
    scores[np.arange(m)[hit], true_pos[hit]] += 5.0
    np.savez(work / "a_logits.npz", logits=scores, file_names=a_names)
    a_top1 = index_a[scores.argmax(axis=1)].copy()
    a_top1[::50] = 0  # tench: not an ImageNet-A class
    a_top2 = np.stack([a_top1, index_a[np.argsort(-scores, axis=1)[:, 1]]], axis=1)
    np.savez(work / "a_top1.npz", topk=a_top2, file_names=a_names)
    (work / "runs_a").mkdir()
    np.savez(work / "runs_a" / "model_a_a.npz", logits=scores, file_names=a_names)

    # a zoo: full file-name order, a subset .npz, a CSV subset; then one more model
    runs = work / "runs"
    runs.mkdir()
    np.save(runs / "model_a.npy", top1.astype(np.uint16))
    flip = rng.random(n) < 0.05
    top1_d = np.where(flip, rng.integers(0, 1000, size=n), top1)
    np.save(runs / "model_d.npy", top1_d.astype(np.uint16))
    rows_b = np.sort(rng.choice(n, size=4000, replace=False))
    np.savez(runs / "model_b.npz", top1=top1_d[rows_b][::-1], file_names=names[rows_b][::-1])
    rows_c = np.sort(rng.choice(n, size=1500, replace=False))
    pd.DataFrame({"file_name": names[rows_c], "prediction": top1[rows_c]}).to_csv(
        runs / "model_c.csv", index=False
    )
    (work / "runs_more").mkdir()
    np.save(work / "runs_more" / "model_e.npy", top1_if.astype(np.uint16))  # ImageFolder order
    bad = work / "runs_bad"
    bad.mkdir()
    np.save(bad / "good.npy", top1.astype(np.uint16))
    np.save(bad / "short.npy", top1[:-1].astype(np.uint16))

    # bad input
    wrong = top1.copy()
    wrong[17] = 1200
    np.save(work / "bad_index.npy", wrong)
    np.save(work / "short.npy", top1[:-1])
    nan = logits[:20].copy()
    nan[7, 42] = np.nan
    np.savez(work / "nan_logits.npz", logits=nan, file_names=names[rows_l][:20])
    (work / "dup_column.csv").write_text(
        "file_name,top1,top1\n" + "".join(f"{names[i]},{top1[i]},{top1[i]}\n" for i in range(5))
    )
