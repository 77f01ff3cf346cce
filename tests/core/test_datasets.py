"""Test sets: class-path identities against a string reference, folder labels, the subset class
lists against timm's files, restricted rankings against a naive per-row loop, and look-ups of
class paths (with folderless label entries)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errata import resources
from errata.core import datasets as D
from errata.core.names import NameIndex, align
from errata.exceptions import ErrataInputError

WNIDS = resources.classes().wnids


def reference_identity(name: str, numeric: bool) -> str:
    """Class path of one name, written the obvious way."""
    parts = name.replace("\\", "/").split("/")
    base = parts[-1]
    if len(parts) >= 2:
        folder = parts[-2]
        if folder in WNIDS:
            return f"{folder}/{base}"
        if numeric and folder.isdigit() and int(folder) < 1000:
            return f"{WNIDS[int(folder)]}/{base}"
    return base


names_st = st.builds(
    lambda root, folder, base: f"{root}{folder}{base}",
    st.sampled_from(["", "/data/imagenet-a/", "imagenetv2-matched-frequency/", "c:\\d\\"]),
    st.sampled_from(["", "n01498041/", "3/", "999/", "1000/", "07/", "notaclass/", "n99999999/"]),
    st.sampled_from(["x.jpg", "art_0.jpg", "0.000116_digital clock _ digital clock_0.86.jpg"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(names_st, min_size=1, max_size=12), st.booleans())
def test_class_paths_match_the_reference(names, numeric) -> None:  # type: ignore[no-untyped-def]
    got = D.class_paths(np.array(names), numeric=numeric).tolist()
    assert got == [reference_identity(n, numeric) for n in names]


def test_identity_and_label_of_each_test_set() -> None:
    v2 = D.get("imagenet-v2")
    # the original release (class-index folders) and the re-packed one (wnid folders) agree
    a = v2.identities(["imagenetv2-matched-frequency/3/7c8a.jpeg"])
    b = v2.identities(["imagenetv2-matched-frequency-format-val/n01491361/7c8a.jpeg"])
    assert a.tolist() == b.tolist() == ["n01491361/7c8a.jpeg"]
    assert v2.original(a).tolist() == [3]
    # ImageNet-A: the folder is the identity (art_0.jpg repeats across folders) and the label
    ids = D.get("imagenet-a").identities(["a/n01498041/art_0.jpg", "a/n01531178/art_0.jpg"])
    assert ids.tolist() == ["n01498041/art_0.jpg", "n01531178/art_0.jpg"]
    assert D.get("imagenet-a").original(ids).tolist() == [6, 11]
    # the validation set is unchanged: base names, labels by number
    val = D.get("imagenet-val")
    assert val.identities(["val/n01440764/ILSVRC2012_val_00000293.JPEG"]).tolist() == [
        "ILSVRC2012_val_00000293.JPEG"
    ]
    assert val.original(np.array(["ILSVRC2012_val_00000001.JPEG"])).tolist() == [
        int(resources.validation_labels()[0])
    ]
    with pytest.raises(ErrataInputError, match="dataset: 'imagenet-z' is not one of"):
        D.get("imagenet-z")


def test_subset_class_lists_are_timm_s() -> None:
    """The generated lists equal timm's two files (read from the wheel when it is here)."""
    import sys

    from tests.conftest import ROOT

    sys.path.insert(0, str(ROOT / "tools"))
    import sources  # type: ignore[import-not-found]

    for name, prefix in (("imagenet-a", "imagenet_a"), ("imagenet-r", "imagenet_r")):
        ds = D.get(name)
        assert ds.n_classes == 200 and ds.mask.sum() == 200
        assert list(ds.classes) == sorted(ds.classes)
        if sources.wheel_path("timm") is None:
            continue
        info = "timm/data/_info/"
        synsets = sources.read_member("timm", f"{info}{prefix}_synsets.txt").decode().split()
        indices = sources.read_member("timm", f"{info}{prefix}_indices.txt").decode().split()
        assert [WNIDS[c] for c in ds.classes] == synsets
        assert ds.classes.tolist() == [int(i) for i in indices]
    # ImageNet-A and -R are different subsets
    assert (D.get("imagenet-a").mask != D.get("imagenet-r").mask).any()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_first_in_subset_is_the_restricted_ranking(seed, k) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    mask = rng.random(1000) < 0.2
    topk = np.stack([rng.permutation(1000)[:k] for _ in range(30)])
    got, has = D.first_in_subset(topk, mask)
    for row, g, h in zip(topk, got, has):
        inside = [c for c in row if mask[c]]
        assert g.tolist() == inside + [c for c in row if not mask[c]]
        assert h == bool(inside)


def test_expand_scores_restricts_the_arg_max() -> None:
    ds = D.get("imagenet-r")
    rng = np.random.default_rng(0)
    sub = rng.normal(size=(40, 200)).astype(np.float32)
    full = D.expand_scores(sub, ds.classes)
    assert full.shape == (40, 1000) and np.isneginf(full[:, ~ds.mask]).all()
    assert (full.argmax(axis=1) == ds.classes[sub.argmax(axis=1)]).all()


def test_class_path_index_matches_whole_names_and_folderless_entries() -> None:
    index = NameIndex.of(np.array(["n01440764/a.jpg", "b.jpg", "n01443537/a.jpg"]), paths=True)
    q = np.array(["n01443537/a.jpg", "n01440764/a.jpg", "n09999999/b.jpg", "a.jpg", "c.jpg"])
    assert index.rows(q).tolist() == [2, 0, 1, -1, -1]


def test_align_on_class_paths() -> None:
    ds = D.get("imagenet-v2")
    index = NameIndex.of(np.array(["n01440764/a.jpg", "b.jpg"]), paths=True)
    names = np.array(["n01440764/a.jpg", "n01443537/b.jpg", "n01443537/c.jpg"])
    al = align(
        names,
        index,
        np.array([0, -1], dtype=np.int16),
        source="p.csv",
        label_name="shankar",
        known_original=ds.original(names),
    )
    # c.jpg is outside the label set but in a class folder: it counts for top-1 only
    assert al.rows.tolist() == [0, 1] and al.images.tolist() == [0, 1]
    assert al.original.tolist() == [0, 1, 1]
    with pytest.raises(ErrataInputError, match="not in a class folder"):
        align(
            np.array(["n01440764/a.jpg", "z.jpg"]),
            index,
            np.array([0, -1], dtype=np.int16),
            source="p.csv",
            label_name="shankar",
            known_original=np.array([0, -1], dtype=np.int16),
        )
    # one folderless label entry cannot be two images
    two = np.array(["n01440764/b.jpg", "n01443537/b.jpg"])
    with pytest.raises(ErrataInputError, match="are both image 'b.jpg'"):
        align(
            two,
            index,
            np.array([0, -1], dtype=np.int16),
            source="p.csv",
            label_name="shankar",
            known_original=ds.original(two),
        )


def test_each_test_sets_built_in_label_sets_default_first() -> None:
    """One rule, on the Dataset records, for which --labels NAME a test set takes; load_labels
    refuses the others with a line that says why."""
    from errata.io.labels import default_labels, load_labels

    assert {n: d.label_sets for n, d in D.DATASETS.items()} == {
        "imagenet-val": ("real", "original", "shankar"),
        "imagenet-v2": ("original", "shankar"),
        "imagenet-a": ("original",),
        "imagenet-r": ("original",),
    }
    assert [default_labels(n) for n in D.DATASETS] == ["real", "original", "original", "original"]
    with pytest.raises(ErrataInputError, match="Shankar et al. annotated .* not ImageNet-R"):
        load_labels("shankar", dataset="imagenet-r")
    with pytest.raises(ErrataInputError, match="ReaL labels cover .* not ImageNet-V2"):
        load_labels("real", dataset="imagenet-v2")
