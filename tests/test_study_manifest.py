"""The study manifest's type (:class:`errata.io.studyfolder.StudyManifest`) is the manifest as
``compare`` writes it: every key of a real ``study.json`` — a first run with a failed file, a
second that keeps its models and adds a test set, a metrics-only run — is in the TypedDict
with a value of its type (nested records too), every key the TypedDict requires is there, and
the fields the checker reads are the ones the type guarantees."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path

import numpy as np
import pytest

import errata
from errata import resources
from errata.core.evidence import Source
from errata.core.labelset import LabelSetSummary
from errata.core.population import Comparability
from errata.io import studyfolder as SF
from errata.io.discover import FailedFile

NAMES = {  # the names the manifest's annotations use (imported for type checking only)
    "Source": Source,
    "LabelSetSummary": LabelSetSummary,
    "Comparability": Comparability,
    "FailedFile": FailedFile,
}


def hints(td: type) -> dict[str, object]:
    """The keys of TypedDict ``td`` and their types (``NotRequired[…]`` kept)."""
    return typing.get_type_hints(td, localns={**NAMES, **vars(SF)}, include_extras=True)


def required(td: type) -> set[str]:
    """The keys ``td`` requires (``__required_keys__`` cannot tell from the string annotations
    of a module with ``from __future__ import annotations``)."""
    return {k for k, h in hints(td).items() if typing.get_origin(h) is not typing.NotRequired}


def keys(td: type) -> set[str]:
    return set(hints(td))


def problems(value: object, hint: object, where: str) -> list[str]:
    """Where ``value`` (parsed JSON) is not of type ``hint`` (empty: it is)."""
    if hint is object:
        return []
    if typing.is_typeddict(hint):
        assert isinstance(hint, type)
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        of = hints(hint)
        out = [f"{where}: no '{k}'" for k in sorted(required(hint)) if k not in value]
        out += [f"{where}: '{k}' is not a key of {hint.__name__}" for k in value if k not in of]
        for k, v in value.items():
            if k in of:
                out += problems(v, of[k], f"{where}.{k}")
        return out
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.NotRequired:
        return problems(value, args[0], where)
    if origin in (typing.Union, types.UnionType):
        each = [problems(value, a, where) for a in args]
        return [] if any(not p for p in each) else [f"{where}: {value!r} is not {hint}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [p for i, v in enumerate(value) for p in problems(v, args[0], f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        return [p for k, v in value.items() for p in problems(v, args[1], f"{where}.{k}")]
    if origin is typing.Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if hint is type(None):
        return [] if value is None else [f"{where}: {value!r} is not null"]
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a number"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a whole number"]
    assert isinstance(hint, type), f"{where}: no rule for {hint}"
    return [] if isinstance(value, hint) else [f"{where}: {value!r} is not a {hint.__name__}"]


def _files(folder: Path, seeds: list[int], n: int = resources.N_VAL) -> list[Path]:
    truth = resources.validation_labels().astype(np.int64)[:n]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for s in seeds:
        rng = np.random.default_rng(s)
        pred = np.where(rng.random(truth.size) < 0.8, truth, rng.integers(0, 1000, truth.size))
        out.append(folder / f"m{s:02d}.npy")
        np.save(out[-1], pred.astype(np.int16))
    return out


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, object]]:
    root = tmp_path_factory.mktemp("manifest")
    zoo = root / "zoo"
    _files(zoo, [1, 2])
    (zoo / "broken.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    out = []
    first = errata.compare([zoo], out=root / "study", proposals="none")
    assert len(first.failed) == 1
    out.append(("first run", json.loads((root / "study" / "study.json").read_text())))
    out.append(("Study.summary", json.loads(json.dumps(first.summary))))
    again = errata.compare([zoo], out=root / "study", proposals="none")  # every model kept
    assert again.summary["counts"]["reused"] == 2
    out.append(("second run", json.loads((root / "study" / "study.json").read_text())))
    rows = "\n".join(  # ImageNetV2 predictions keyed by file name (class-index folders)
        f"imagenetv2-matched-frequency/{c}/{i:040x}.jpeg,{c}" for i, c in enumerate([3, 207, 999])
    )
    (root / "v2.csv").write_text("file_name,top1\n" + rows + "\n")
    errata.compare([root / "v2.csv"], out=root / "study", dataset="imagenet-v2", proposals="none")
    out.append(("two test sets", json.loads((root / "study" / "study.json").read_text())))
    errata.compare([zoo / "m01.npy"], out=root / "metrics", classify=False)
    out.append(("metrics only", json.loads((root / "metrics" / "study.json").read_text())))
    return out


def test_every_manifest_written_is_of_its_type(manifests: list[tuple[str, object]]) -> None:
    for what, doc in manifests:
        assert problems(doc, SF.StudyManifest, "study.json") == [], what
    written = set(manifests[0][1])  # type: ignore[arg-type]
    # compare writes every key (parts with the folder), the type names no key it does not write
    assert written == keys(SF.StudyManifest)
    datasets = manifests[3][1]["datasets"]  # type: ignore[index]
    assert datasets == ["imagenet-val", "imagenet-v2"]
    models = [m for _, doc in manifests for m in doc["models"]]  # type: ignore[index]
    assert all(set(m) == keys(SF.ModelRecord) for m in models)
    assert {m["part"] for m in manifests[-1][1]["models"]} == {None}  # type: ignore[index]


def test_the_checker_reads_what_the_type_guarantees() -> None:
    assert set(SF.MODEL_FIELDS) == required(SF.ModelRecord)
    assert required(SF.StudyManifest) == {"format", "models"}
    assert set(SF.KINDS) <= keys(SF.StudyManifest)
    assert problems({"format": 3, "models": [{"model": "m"}]}, SF.StudyManifest, "m") == [
        "m.models[0]: no 'dataset'",
        "m.models[0]: no 'mtime_ns'",
        "m.models[0]: no 'path'",
        "m.models[0]: no 'sha256'",
        "m.models[0]: no 'size'",
    ]
