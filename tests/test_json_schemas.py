"""The --json output of analyze, compare and experts against their JSON Schemas (package
resources, shown in docs/json.md), compare --json's per-model figures against models.parquet,
and snake_case field names in diff --json."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

jsonschema = pytest.importorskip("jsonschema")

from errata import resources  # noqa: E402

ERRATA = str(Path(sys.executable).with_name("errata"))
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def run_json(*args: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run([ERRATA, *args, "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout, parse_constant=strict)


def strict(constant: str) -> None:
    raise AssertionError(f"{constant} in --json output: not JSON (a figure without value is null)")


def errors_of(command: str, doc: dict) -> list[str]:  # type: ignore[type-arg]
    validator = jsonschema.Draft202012Validator(resources.schema(command))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.mark.parametrize("command", resources.SCHEMAS)
def test_schemas_are_valid_draft_2020_12(command: str) -> None:
    schema = resources.schema(command)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == f"errata {command} --json"


def test_unknown_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="no JSON Schema for 'diff'"):
        resources.schema("diff")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("runs")
    ref = data_dir / "cleanlab_resnet"
    top1 = np.load(ref / "imagenet_val_set_pyx_argmax_predicted_labels.npy")
    original = np.load(ref / "imagenet_val_set_original_labels.npy")
    better = top1.copy()
    fix = np.random.default_rng(1).random(len(top1)) < 0.3
    better[fix] = original[fix]
    np.save(folder / "resnet50.npy", top1)
    np.save(folder / "resnet50_fixed.npy", better)
    return folder


def test_analyze_json(runs: Path) -> None:
    doc = run_json("analyze", str(runs / "resnet50.npy"), "--order", "imagefolder")
    assert errors_of("analyze", doc) == []
    assert doc["metrics"]["top1"]["value"] == pytest.approx(0.72732)
    broken = copy.deepcopy(doc)
    broken["metrics"]["top1"]["value"] = "72.7 %"
    broken["other prediction"] = 1
    found = errors_of("analyze", broken)
    assert any("other prediction" in e for e in found) and any("72.7 %" in e for e in found)


def test_compare_json_has_every_models_metrics(runs: Path, tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "study"
    doc = run_json("compare", str(runs), "--order", "imagefolder", "--out", str(out))
    assert errors_of("compare", doc) == []
    models = pd.read_parquet(out / "models.parquet").set_index("model")
    assert sorted(m["model"] for m in doc["models"]) == sorted(models.index)
    for m in doc["models"]:
        row = models.loc[m["model"]]
        for key in ("top1", "real", "mla"):
            assert m["metrics"][key]["value"] == pytest.approx(row[key])
        assert m["metrics"]["top1"]["ci95"] == pytest.approx([row["top1_lo"], row["top1_hi"]])
        assert m["metrics"]["real"]["images"] == row["real_images"]
        assert m["mla_variants"]["mla_minor"] == pytest.approx(row["mla_minor"])
        assert m["errors"]["errors"] == row["errors"]
        assert m["errors"]["categories"]["fine_grained"] == row["n_fine_grained"]
        assert sum(m["errors"]["categories"].values()) == 50_000
    broken = copy.deepcopy(doc)
    del broken["models"][0]["metrics"]
    assert any("'metrics' is a required property" in e for e in errors_of("compare", broken))


def test_experts_json(data_dir: Path) -> None:
    doc = run_json("experts", "vit3b-mistakes")
    assert errors_of("experts", doc) == []
    assert doc["rows"] == 378
    assert doc["per_category"]["spurious_correlation"]["name"] == "Spurious Correlation"
    broken = copy.deepcopy(doc)
    broken["per_category"]["Spurious Correlation"] = broken["per_category"].pop(
        "spurious_correlation"
    )
    assert any("does not match" in e for e in errors_of("experts", broken))


def test_diff_json_keys_are_snake_case(runs: Path) -> None:
    doc = run_json(
        "diff",
        str(runs / "resnet50.npy"),
        str(runs / "resnet50_fixed.npy"),
        "--order",
        "imagefolder",
    )

    def keys(o: object, path: str = "") -> list[str]:
        if isinstance(o, dict):
            return [f"{path}/{k}" for k in o] + [x for k, v in o.items() for x in keys(v, k)]
        if isinstance(o, list):
            return [x for v in o for x in keys(v, path)]
        return []

    bad = [k for k in keys(doc) if not SNAKE.match(k.rsplit("/", 1)[-1])]
    assert bad == []
    assert "other_prediction" in doc and "fine_grained" in doc["transitions"]
    assert doc["mcnemar"]["multi_label"]["b_only"] == doc["fixed"]


def test_supersub_json_is_strict_json(runs: Path, tmp_path: Path) -> None:
    """A superclass without errors has no within-share: null, not NaN, in --json."""
    run_json("compare", str(runs), "--order", "imagefolder", "--out", str(tmp_path / "s"))
    doc = run_json("supersub", str(tmp_path / "s"))
    rows = [s for m in doc["models"] for s in m["superclasses"]]
    assert any(s["errors"] == 0 and s["within_share"] is None for s in rows)
    assert all(0 < m["flat_pipeline_real"] < 1 for m in doc["models"])
