"""The published band where users see it: `errata analyze` (table and --json) and `errata
compare` (table and --json) on the reference ResNet-50, and the Python API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import errata

BAND_KEYS = {
    "overlapping_classes",
    "fine_grained",
    "fine_grained_oov",
    "spurious_correlation",
    "non_prototypical",
    "model_failure",
}


def cli(*args: str, width: int = 80) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"COLUMNS": str(width)}
    return subprocess.run(
        [sys.executable, "-m", "errata", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.fixture(scope="module")
def resnet(data_dir: Path):  # type: ignore[no-untyped-def]
    return errata.analyze("cleanlab-resnet50", order="imagefolder", labels="real")


def test_api_band_of_the_reference_resnet50(resnet) -> None:  # type: ignore[no-untyped-def]
    """The default run's shares against the band (the figures README.md states)."""
    from errata.core.published_band import BAND_KEYS as ORDER

    b = resnet.band
    assert b.n_models.tolist() == [45]
    share = dict(zip(sorted(BAND_KEYS), [None] * 6)) | {
        k: round(100 * float(v), 1) for k, v in zip(ORDER, b.share[0])
    }
    assert share["spurious_correlation"] == 12.4 and share["model_failure"] == 47.3
    assert np.isnan(b.share[0, 2])  # OOV not run: no share, not 0
    d = resnet.to_dict()
    cats = d["errors"]["categories"]
    spur = cats["spurious_correlation"]["published_band"]
    assert spur["outside"] is True and spur["direction"] == "above"
    assert spur["high_with_not_run"] == pytest.approx(0.1235, abs=5e-4)
    assert cats["correct"].get("published_band") is None
    assert "non_prototypical_imagenet_x" in cats  # no published counterpart: no band
    assert "published_band" not in cats["non_prototypical_imagenet_x"]
    top = d["published_band"]
    assert top["available"] and top["n_models"] == 45 and "categories" not in top
    # spurious 12.4 % is above 12.3 % by 0.07 point (1,302 of 10,485 against 12.35 %): the
    # default rule was chosen within 0.5 point of it (benchmarks/spurious_rules.py), the band
    # check itself has no tolerance
    assert top["outside"] == ["overlapping classes", "fine-grained", "spurious correlation"]
    assert cats["model_failure"]["published_band"]["outside"] is False


def test_cli_analyze_table_and_json(data_dir: Path) -> None:
    args = ("analyze", "cleanlab-resnet50", "--order", "imagefolder", "--labels", "real")
    done = cli(*args, "--proposals", "none")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "published band: p10–p90 of the 45 published models" in text
    line = next(x for x in text.splitlines() if "spurious correlation" in x and "12.3" in x)
    assert "7.3" in line and "inside†" in line  # 7.3 > 5.7, ≤ 12.3
    assert "why fine-grained may differ" in text and "why spurious" not in text
    done = cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    per = {
        name: c["published_band"]
        for name, c in out["errors"]["categories"].items()
        if c.get("published_band")
    }
    assert len(per) == 6
    for band in per.values():
        assert {"low", "high", "n_models", "outside", "direction", "reasons"} <= set(band)
        assert band["n_models"] == 45
    assert per["fine_grained"]["outside"] and per["fine_grained_oov"]["outside"] is None


def test_cli_compare_flags_each_model(data_dir: Path, resnet_top1: np.ndarray, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Three models: the ResNet-50, one with 5 % of its predictions randomised (69 %), one at
    51 % (no published model within 2 points: no band, said so)."""
    rng = np.random.default_rng(0)
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    for i, f in enumerate((0.0, 0.05, 0.3)):
        q = resnet_top1.copy()
        m = rng.random(len(q)) < f
        q[m] = rng.integers(0, 1000, int(m.sum()))
        np.save(zoo / f"m{i}.npy", q)
    args = ("compare", str(zoo), "--out", str(tmp_path / "study"), "--order", "imagefolder")
    done = cli(*args, "--labels", "real", "--json")
    assert done.returncode == 0, done.stderr
    band = json.loads(done.stdout)["published_band"]
    assert band["available"] and set(band["reasons"]) == BAND_KEYS
    rows = {r["model"]: r for r in band["models"]}
    assert rows["m0"]["n_models"] == 45 and set(rows["m0"]["categories"]) == BAND_KEYS
    assert "spurious correlation" in rows["m0"]["outside"]
    assert rows["m2"]["available"] is False and "fewer than 10" in rows["m2"]["note"]
    one = errata.analyze(zoo / "m1.npy", order="imagefolder", labels="real").to_dict()
    m1 = rows["m1"]["categories"]
    for key, c in one["errors"]["categories"].items():  # keyed as compare's band
        if c.get("published_band"):
            want = {k: v for k, v in c["published_band"].items() if k != "reasons"}
            assert m1[key] == pytest.approx(want) or m1[key] == want
    done = cli(*args, "--labels", "real", width=250)  # the study table is wide
    assert done.returncode == 0, done.stderr
    assert "outside band" in done.stdout and "spurious▲" in done.stdout
    assert "models outside)" in done.stdout


def test_preset_shares_of_the_reference_resnet50(data_dir: Path) -> None:
    """Issue 19 items 2 and 4: under ``--preset peychev2023`` every category of the reference
    ResNet-50 lies inside the published band, the spurious share only with the open-world share
    that cannot run here (≤ 12.3 %), except non-prototypical (2 images, 0.02 % against
    0.3–0.4 %: only vit3b-mistakes of the published expert files is in the data directory).
    The fine-grained share is also inside the band of artefacts' errors, which chose the
    reconstruction's artefact weight (tools/derive_peychev2023.py); organisms' and the others'
    stay below theirs (the figures docs/categories.md states)."""
    from errata.core import published_band as PB
    from errata.core.band import band
    from errata.io import data
    from errata.io import population as P
    from errata.io import published_band as PBF

    a = errata.analyze(
        "cleanlab-resnet50",
        order="imagefolder",
        labels="real",
        options=errata.Options(preset="peychev2023"),
    )
    d = a.to_dict()
    cats = {c["name"]: c for c in d["errors"]["categories"].values()}  # keyed fine_grained …
    share = {
        k: None if c["share"] is None else round(100 * c["share"], 1)
        for k, c in cats.items()
        if c.get("published_band")
    }
    assert share == {
        "overlapping classes": 3.2,
        "fine-grained": 35.8,
        "fine-grained OOV": None,  # the stage did not run: no share, not 0.0
        "spurious correlation": 9.7,
        "non-prototypical": 0.0,
        "model failure": 51.3,
    }
    assert (cats["fine-grained"]["count"], cats["non-prototypical"]["count"]) == (3822, 2)
    verdict = {
        k: (c["published_band"]["outside"], c["published_band"]["inside_with_not_run"])
        for k, c in cats.items()
        if c.get("published_band")
    }
    assert verdict["overlapping classes"] == verdict["fine-grained"] == (False, False)
    assert verdict["model failure"] == (False, False)
    assert verdict["spurious correlation"] == (False, True)
    assert verdict["non-prototypical"] == (True, False)
    assert (
        cats["non-prototypical"]["published_band"]["low"] - cats["non-prototypical"]["share"]
        < 0.003
    )  # within 0.3 point of the band
    assert d["published_band"]["outside"] == ["non-prototypical"]
    groups = d["errors"]["groups"]["wordnet"]
    for g, want, where in (
        ("organism", 51.9, "below"),
        ("artifact", 26.9, "inside"),
        ("other", 28.7, "below"),
    ):
        fg = groups[g]["categories"]["fine_grained"] / groups[g]["errors"]
        assert round(100 * fg, 1) == want
        b = band(
            *PBF.band_population(data.path(P.stats_name("imagenet", g))),
            d["published_band"]["top1"],
        )
        j = PB.BAND_CATEGORIES.index("fine-grained")
        lo, hi = float(b.low[0, j]), float(b.high[0, j])
        assert where == ("below" if fg < lo else "above" if fg > hi else "inside"), (g, lo, hi)
