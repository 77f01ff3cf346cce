"""Other test sets end to end, on small files in the real layouts that the tests write
themselves (ImageNet-V2/-A/-R images and Shankar et al.'s file are not on this machine):
restricted rankings against a naive loop, folder labels, Shankar's ImageNetV2 part, the error
pipeline with ImageNet's co-occurrence evidence, and studies holding several test sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import errata
from errata import resources
from errata.core import datasets as D
from errata.exceptions import ErrataInputError
from errata.io.labels import load_labels
from errata.io.predictions import load_predictions
from errata.study import compare, query

WNIDS = np.array(resources.classes().wnids)
A = D.get("imagenet-a")


def a_images(
    per_class: int = 2, classes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ImageNet-A-style names (file names repeat across folders, as in ImageNet-R) and labels."""
    classes = A.classes if classes is None else classes
    names = np.array(
        [f"imagenet-a/{WNIDS[c]}/art_{k}.jpg" for c in classes for k in range(per_class)]
    )
    return names, np.repeat(classes, per_class).astype(np.int64)


def restricted_argmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Naive reference: per row, the best class among the subset's."""
    out = []
    for row in logits:
        best, best_c = -np.inf, -1
        for c in range(1000):
            if mask[c] and row[c] > best:
                best, best_c = row[c], c
        out.append(best_c)
    return np.array(out)


def test_imagenet_a_scores_are_restricted_before_the_arg_max(tmp_path: Path) -> None:
    names, truth = a_images()
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(len(names), 1000)).astype(np.float32)
    logits[np.arange(len(names)), truth] += 2.0
    logits[:, 0] += 100.0  # tench: not an ImageNet-A class, the unrestricted arg-max everywhere
    np.savez(tmp_path / "full.npz", logits=logits, file_names=names)
    np.savez(tmp_path / "sub.npz", logits=logits[:, A.classes], file_names=names)
    want = restricted_argmax(logits, A.mask)
    for f in ("full.npz", "sub.npz"):
        p = load_predictions(tmp_path / f, dataset="imagenet-a")
        assert (p.top1 == want).all()
        assert p.file_names[0] == f"{WNIDS[A.classes[0]]}/art_0.jpg"
    a = errata.analyze(tmp_path / "full.npz", dataset="imagenet-a")
    assert a.metrics["top1"]["value"] == pytest.approx(float((want == truth).mean()))
    assert a.labels.name == "original" and len(a.labels) == len(names)
    assert a.to_dict()["settings"]["dataset"] == "imagenet-a"
    # 200 score columns are not an ImageNet validation file
    with pytest.raises(ErrataInputError, match="give --dataset imagenet-a"):
        load_predictions(tmp_path / "sub.npz")


def test_outside_the_subset_is_an_error_or_mapped(tmp_path: Path) -> None:
    names, truth = a_images(per_class=1)
    topk = np.stack([truth, np.zeros_like(truth), np.ones_like(truth)], axis=1)
    topk[:5] = np.stack([np.full(5, 0), truth[:5], np.full(5, 1)], axis=1)  # tench first
    topk[5:7] = np.array([[0, 1, 2], [2, 1, 0]])  # ranks no ImageNet-A class
    np.savez(tmp_path / "p.npz", topk=topk.astype(np.int16), file_names=names)
    with pytest.raises(ErrataInputError, match=r"row 0: class 0 \(tench\) is not one of the 200 "):
        load_predictions(tmp_path / "p.npz", dataset="imagenet-a")
    p = load_predictions(tmp_path / "p.npz", dataset="imagenet-a", outside="map")
    assert (p.remapped, p.left_outside) == (5, 2)
    assert (p.top1[:5] == truth[:5]).all()  # the best-ranked class inside the 200
    assert (p.top1[5:7] == [0, 2]).all()  # nothing inside: the prediction stays (an error)
    assert (p.top1[7:] == truth[7:]).all()
    a = errata.analyze(tmp_path / "p.npz", dataset="imagenet-a", outside="map")
    assert a.metrics["top1"]["value"] == pytest.approx((len(truth) - 2) / len(truth))
    assert any("re-ranked" in n for n in a.notes()) and any("rank no class" in n for n in a.notes())


def test_imagenet_v2_both_layouts_and_a_label_csv(tmp_path: Path) -> None:
    classes = np.array([3, 207, 999])
    truth = np.repeat(classes, 3)
    hashes = [f"{i:040x}" for i in range(len(truth))]
    # predictions from the original release (class-index folders) ...
    pred = truth.copy()
    pred[[1, 4]] = [4, 208]
    rows = "\n".join(
        f"imagenetv2-matched-frequency/{c}/{h}.jpeg,{p}" for c, h, p in zip(truth, hashes, pred)
    )
    (tmp_path / "p.csv").write_text("file_name,top1\n" + rows + "\n")
    # ... labels from the re-packed one (wnid folders), as a file_name,label CSV
    lab = "\n".join(f"{WNIDS[c]}/{h}.jpeg,{WNIDS[c]}" for c, h in zip(truth, hashes))
    (tmp_path / "labels.csv").write_text("file_name,label\n" + lab + "\n")
    a = errata.analyze(tmp_path / "p.csv", dataset="imagenet-v2", labels=tmp_path / "labels.csv")
    assert a.metrics["top1"]["value"] == pytest.approx(7 / 9)
    assert a.metrics["label_accuracy"]["images"] == 9
    assert set(a.errors["category"].astype(str)) == {"fine-grained"}  # 3→4 sharks, 207→208
    # labels from the predictions' own class folders give the same figures
    b = errata.analyze(tmp_path / "p.csv", dataset="imagenet-v2")
    assert b.metrics["top1"] == a.metrics["top1"] and b.labels.name == "original"
    with pytest.raises(ErrataInputError, match="need the file name of each row"):
        errata.analyze(np.zeros(9, dtype=np.int64), dataset="imagenet-v2")
    with pytest.raises(ErrataInputError, match="ReaL labels cover the ImageNet validation"):
        errata.analyze(tmp_path / "p.csv", dataset="imagenet-v2", labels="real")


def shankar_with_v2(tmp_path: Path, keys: list[str], sets: list[dict]) -> Path:
    data = {
        "initial_annots": {
            "ILSVRC2012_val_00000001.JPEG": {"correct": [WNIDS[65]], "wrong": [], "unclear": []},
            **dict(zip(keys, sets)),
        },
        "problematic_images": {keys[-1]: "blurry"},
        "imagenet_m": ["ILSVRC2012_val_00000001.JPEG"],
    }
    folder = tmp_path / "shankar"
    folder.mkdir(exist_ok=True)
    path = folder / "human_accuracy_v3.0.0.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("layout", ["bare", "class-index", "wnid"])
def test_shankar_imagenet_v2_part(tmp_path: Path, monkeypatch, layout: str) -> None:  # type: ignore[no-untyped-def]
    """Shankar et al. annotated ImageNetV2 images too: on imagenet-v2 the loader takes the keys
    that are not validation images, whether they name the class folder or not."""
    truth = np.array([3, 3, 207, 207, 999])
    hashes = [f"{i:040x}.jpeg" for i in range(5)]
    folder = {"bare": lambda c: "", "class-index": lambda c: f"{c}/", "wnid": lambda c: ""}[layout]
    if layout == "wnid":
        keys = [f"{WNIDS[c]}/{h}" for c, h in zip(truth, hashes)]
    else:
        keys = [f"{folder(c)}{h}" for c, h in zip(truth, hashes)]
    sets = [
        {"correct": [WNIDS[3]], "wrong": [], "unclear": [WNIDS[4]]},
        {"correct": [WNIDS[3]], "wrong": [], "unclear": []},
        {"correct": [WNIDS[207], WNIDS[208]], "wrong": [], "unclear": []},
        {"correct": [WNIDS[207]], "wrong": [WNIDS[208]], "unclear": []},
        {"correct": [WNIDS[999]], "wrong": [], "unclear": []},  # problematic
    ]
    shankar_with_v2(tmp_path, keys, sets)
    monkeypatch.setenv("ERRATA_DATA_DIR", str(tmp_path))
    labels = load_labels("shankar", dataset="imagenet-v2")
    assert len(labels) == 5 and labels.dataset == "imagenet-v2"
    assert int(labels.problematic.sum()) == 1
    pred = np.array([4, 3, 208, 208, 0])  # unclear-correct, correct, multi-label, error, excluded
    names = [f"imagenetv2-matched-frequency/{c}/{h}" for c, h in zip(truth, hashes)]
    np.savez(tmp_path / "p.npz", top1=pred, file_names=np.array(names))
    a = errata.analyze(tmp_path / "p.npz", dataset="imagenet-v2", labels="shankar")
    # the original label comes from the class folder whatever the keys name
    assert a.metrics["top1"]["value"] == pytest.approx(1 / 5)
    # MLA averages per class: class 3 → 2/2, class 207 → 1/2; image 5 is problematic
    assert a.metrics["mla"]["value"] == pytest.approx((1.0 + 0.5) / 2)
    assert a.summary["errors"] == 1 and a.summary["excluded"] == 1
    # every image's class is known (from the class folders); what the data directory (Shankar's
    # file alone) lacks of the default evidence is said
    assert [n.split(":")[0] for n in a.notes()] == ["rejected-proposal evidence not used"]
    with pytest.raises(ErrataInputError, match="not ImageNet-A"):
        load_labels("shankar", dataset="imagenet-a")


def test_labels_from_an_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "imagenet-r"
    names, truth = a_images(per_class=1, classes=A.classes[:3])
    for n in names:
        p = root / Path(n).relative_to("imagenet-a")
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(p)
    labels = load_labels(root, dataset="imagenet-a")
    assert labels.file_names.tolist() == [str(Path(n).relative_to("imagenet-a")) for n in names]
    assert labels.original.tolist() == truth.tolist()
    bad = tmp_path / "bad" / WNIDS[0]
    bad.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(bad / "x.jpg")
    with pytest.raises(ErrataInputError, match=r"class folder tench \(n01440764\), which is not"):
        load_labels(tmp_path / "bad", dataset="imagenet-a")


def test_error_pipeline_on_imagenet_a_with_imagenet_cooccurrence(tmp_path: Path) -> None:
    """The same stages run on ImageNet-A; co-occurrence evidence comes from ReaL."""
    goblet, wine_bottle, goldfinch, junco = 572, 907, 11, 13
    classes = np.array([goblet, goldfinch, wine_bottle])
    names = np.array([f"{WNIDS[c]}/x.jpg" for c in classes])
    pred = np.array([wine_bottle, junco, wine_bottle])
    np.savez(tmp_path / "p.npz", top1=pred, file_names=names)
    a = errata.analyze(tmp_path / "p.npz", dataset="imagenet-a")
    cats = dict(zip(a.errors["file_name"], a.errors["category"].astype(str)))
    assert cats[f"{WNIDS[goblet]}/x.jpg"] == "spurious correlation"
    assert cats[f"{WNIDS[goldfinch]}/x.jpg"] == "fine-grained"
    reason = a.errors.set_index("file_name").loc[f"{WNIDS[goblet]}/x.jpg", "reason"]
    assert "(real)" in reason and "other images' label sets" in reason
    assert a.to_dict()["settings"]["cooccurrence"] == "real"
    with pytest.raises(ErrataInputError, match="^imagenet_x: ImageNet-X annotates"):  # the keyword
        errata.analyze(
            tmp_path / "p.npz", dataset="imagenet-a", options=errata.Options(imagenet_x=True)
        )


def _val_zoo(folder: Path, seeds: list[int]) -> None:
    truth = resources.validation_labels().astype(np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    for s in seeds:
        rng = np.random.default_rng(s)
        pred = np.where(rng.random(truth.size) < 0.8, truth, rng.integers(0, 1000, truth.size))
        np.save(folder / f"m{s}.npy", pred.astype(np.int16))


def _a_zoo(folder: Path, seeds: list[int]) -> None:
    names, truth = a_images()
    folder.mkdir(parents=True, exist_ok=True)
    for s in seeds:
        rng = np.random.default_rng(s)
        logits = rng.normal(size=(len(names), 1000)).astype(np.float32)
        logits[np.arange(len(names)), truth] += 1.5
        np.savez(folder / f"m{s}.npz", logits=logits, file_names=names)


def test_a_study_holds_several_test_sets_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "study"
    _val_zoo(tmp_path / "val", [1, 2])
    _a_zoo(tmp_path / "a", [1, 2])
    compare([tmp_path / "val"], out=out)
    second = compare([tmp_path / "a"], out=out, dataset="imagenet-a")
    models = second.models
    assert models[["model", "dataset"]].values.tolist() == [
        ["m1", "imagenet-val"],
        ["m2", "imagenet-val"],
        ["m1", "imagenet-a"],
        ["m2", "imagenet-a"],
    ]
    manifest = json.loads((out / "study.json").read_text())
    assert manifest["datasets"] == ["imagenet-val", "imagenet-a"]
    assert manifest["settings"]["imagenet-val"]["labels"] == "real"
    assert manifest["settings"]["imagenet-a"]["labels"] == "original"
    assert manifest["settings"]["imagenet-a"]["cooccurrence"] == "real"
    # the A rows equal one-model analyses; the val rows are the first run's
    one = errata.analyze(tmp_path / "a" / "m2.npz", dataset="imagenet-a")
    row = models[(models["dataset"] == "imagenet-a") & (models["model"] == "m2")].iloc[0]
    assert row["top1"] == pytest.approx(one.metrics["top1"]["value"])
    assert row["errors"] == one.summary["errors"]
    # SQL across test sets
    q = query(out, "SELECT dataset, count(*) AS n FROM errors GROUP BY 1 ORDER BY 1")
    assert q["dataset"].tolist() == ["imagenet-a", "imagenet-val"]
    n_a = query(
        out, "SELECT count(*) AS n FROM errors WHERE dataset = 'imagenet-a' AND model = 'm2'"
    )
    assert int(n_a["n"].iloc[0]) == one.summary["errors"]
    # settings are checked per test set: other labels for ImageNet-A are refused ...
    (tmp_path / "labels.csv").write_text(
        "file_name,label\n" + "\n".join(f"{n},{WNIDS[c]}" for n, c in zip(*a_images())) + "\n"
    )
    with pytest.raises(ErrataInputError, match="study's imagenet-a models were made with other"):
        compare([tmp_path / "a"], out=out, dataset="imagenet-a", labels=tmp_path / "labels.csv")
    # ... --rebuild redoes ImageNet-A only, and an unchanged val run scores nothing
    again = compare(
        [tmp_path / "a"],
        out=out,
        dataset="imagenet-a",
        labels=tmp_path / "labels.csv",
        rebuild=True,
    )
    assert again.summary["counts"]["scored"] == 2 and len(again.models) == 4
    val = compare([tmp_path / "val"], out=out)
    assert val.summary["counts"]["scored"] == 0 and val.summary["counts"]["reused"] == 2
    assert len(val.models) == 4
    assert query(out, "SELECT count(DISTINCT dataset) AS n FROM errors")["n"].iloc[0] == 2


def test_study_report_and_diff_on_several_test_sets(tmp_path: Path) -> None:
    from errata.report.study import study_report
    from tests.test_bad_input import cli

    out = tmp_path / "study"
    _val_zoo(tmp_path / "val", [1])
    _a_zoo(tmp_path / "a", [1, 2])
    compare([tmp_path / "val"], out=out)
    both = compare([tmp_path / "a"], out=out, dataset="imagenet-a")
    # the published population is matched by the validation models only, whichever ran last
    assert both.summary["published"]["figures"]["top1"] is True  # all 50,000 validation images
    only_a = compare([tmp_path / "a"], out=tmp_path / "only_a", dataset="imagenet-a")
    assert only_a.summary["published"] is None
    study_report(tmp_path / "only_a", tmp_path / "a.html")
    assert "imagenet-a" in (tmp_path / "a.html").read_text()
    study_report(out, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "coloured by <strong>dataset</strong>" in html and "imagenet-a" in html
    assert "real (imagenet-val); original (imagenet-a)" in html
    code, stdout, err = cli(
        [
            "diff",
            str(tmp_path / "a" / "m1.npz"),
            str(tmp_path / "a" / "m2.npz"),
            "--dataset",
            "imagenet-a",
            "--json",
        ],
        tmp_path,
    )
    assert code == 0, err
    d = json.loads(stdout)
    a1 = errata.analyze(tmp_path / "a" / "m1.npz", dataset="imagenet-a")
    assert d["errors_a"] == a1.summary["errors"]
    code, stdout, _ = cli(["taxonomy", "superclasses", "-t", "supersub10", "--json"], tmp_path)
    assert code == 0 and [r["size"] for r in json.loads(stdout)][:2] == [116, 52]


def test_imagenet_r_file_names_repeat_across_class_folders(tmp_path: Path) -> None:
    """ImageNet-R has an art_0.jpg in most folders: each is its own image, and 200 score
    columns are read in ImageNet-R's class order (not ImageNet-A's)."""
    r = D.get("imagenet-r")
    classes = r.classes[:4]
    names = np.array([f"imagenet-r/{WNIDS[c]}/art_{k}.jpg" for c in classes for k in range(2)])
    truth = np.repeat(classes, 2)
    sub = np.full((len(names), 200), -1.0, dtype=np.float32)
    sub[np.arange(len(names)), np.searchsorted(r.classes, truth)] = 5.0  # always right
    np.savez(tmp_path / "r.npz", logits=sub, file_names=names)
    a = errata.analyze(tmp_path / "r.npz", dataset="imagenet-r")
    assert len(a.labels) == 8 and a.metrics["top1"]["value"] == 1.0
    with pytest.raises(ErrataInputError, match="not one of the 200 ImageNet-A classes"):
        errata.analyze(tmp_path / "r.npz", dataset="imagenet-a")  # R's folders, A's classes


def test_image_ids_reads_the_names_alone_in_every_format(tmp_path: Path) -> None:
    """A study's label set on a non-validation test set reads each file's names only
    (``image_ids``): the same images ``load_predictions`` finds, for .npz, CSV and Parquet,
    without reading the prediction array (a truncated one does not matter); a file without
    names, or with names outside the test set, is refused with the file named."""
    import zipfile

    import pandas as pd

    from errata.io.predictions import image_ids

    names, labels = a_images(per_class=1)
    expected = load_predictions(
        _write_npz(tmp_path / "m.npz", names, labels), dataset="imagenet-a"
    ).file_names
    pd.DataFrame({"file_name": names, "top1": labels}).to_csv(tmp_path / "m.csv", index=False)
    pd.DataFrame({"top1": labels, "files": names}).to_parquet(tmp_path / "m.parquet")
    for f in ("m.npz", "m.csv", "m.parquet"):
        assert image_ids(tmp_path / f, dataset="imagenet-a").tolist() == expected.tolist(), f
    # the predictions array is never read: a corrupt one still gives the names
    with zipfile.ZipFile(tmp_path / "bad.npz", "w") as zf:
        with zf.open("file_names.npy", "w") as fh:
            np.save(fh, names)
        zf.writestr("predictions.npy", b"\x93NUMPY garbage")
    assert image_ids(tmp_path / "bad.npz", dataset="imagenet-a").tolist() == expected.tolist()
    with pytest.raises(ErrataInputError, match="bad.npz"):
        load_predictions(tmp_path / "bad.npz", dataset="imagenet-a")
    np.save(tmp_path / "m.npy", labels)
    with pytest.raises(ErrataInputError, match=r"m\.npy: .*need the file name of each row"):
        image_ids(tmp_path / "m.npy", dataset="imagenet-a")
    pd.DataFrame({"top1": labels}).to_csv(tmp_path / "nonames.csv", index=False)
    with pytest.raises(ErrataInputError, match=r"nonames\.csv: .*need the file name"):
        image_ids(tmp_path / "nonames.csv", dataset="imagenet-a")
    outside = np.array([f"imagenet-a/{WNIDS[1]}/x.jpg"])  # class 1 is not one of A's 200
    assert not A.mask[1]
    _write_npz(tmp_path / "out.npz", outside, np.array([1]))
    with pytest.raises(ErrataInputError, match=r"out\.npz: row 0: .*not one of the 200"):
        image_ids(tmp_path / "out.npz", dataset="imagenet-a")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ErrataInputError, match="unsupported extension"):
        image_ids(tmp_path / "m.txt", dataset="imagenet-a")


def _write_npz(path: Path, names: np.ndarray, labels: np.ndarray) -> Path:
    np.savez(path, file_names=names, top1=labels)
    return path
