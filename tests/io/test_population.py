"""The published population (Peychev et al. 2023): the registry entries, the loader on the real
files (the paper's ConvNeXt-Base figures) and on small files in the same schema that the tests
write, the bad files it refuses, comparability, and the ``published`` view of ``errata query``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from errata.core import population as PC
from errata.exceptions import ErrataInputError
from errata.io import data
from errata.io import population as P
from errata.io import published_band as PBF

STATS_COLUMNS = (
    "model_dir_id,num_params,training_data,arch,arch_family,arch_group,extra_annotations,"
    "top1_val_acc,imagenet_top1_val_acc,imagenet_mla_val_acc,num_all_samples,num_group_samples,"
    "num_group_correct,num_all_top1_errors,num_group_top1_errors,mla_all,mla_all_minor_error,"
    "mla_all_explainable_error,mla_group,mla_group_minor_error,mla_group_explainable_error,"
    "num_collapsed_mappings,num_ambiguous,num_same_superclass,num_common_co_occ,"
    "num_non_prototypical,num_OOV_clip,num_not_classified"
).split(",")
SUMMARY_COLUMNS = "idx,model_id,source,arch,arch_group,arch_family,dataset,extra_annotations"

# two planted models: (dir id, params, training data, counts c,a,s,co,np,oov,nc, correct)
PLANTED = [
    ("timm--tiny.a1", 1000, "ImageNet-1k (1.2M)", (10, 20, 30, 4, 1, 5, 30), 900),
    ("torchvision--big", 5000, "LAION-2B (2.3B)", (5, 10, 40, 2, 0, 3, 10), 930),
]


def write_population(root: Path, *, rows=PLANTED, edit=None) -> Path:  # type: ignore[no-untyped-def]
    """Write the nine published files (real column layout) for the planted models into
    ``root/peychev_stats``; ``edit(name, frame)`` may change a file before it is written."""
    folder = root / "peychev_stats"
    folder.mkdir(parents=True, exist_ok=True)
    summary = pd.DataFrame(
        [
            (
                i + 1,
                r[0].split("--", 1)[1],
                r[0].split("--")[0],
                "resnet",
                "ResNet",
                "cnn",
                r[2].split(" (")[0],
                "['Distillation']" if i else "[]",
            )
            for i, r in enumerate(rows)
        ],
        columns=SUMMARY_COLUMNS.split(","),
    )
    summary.to_csv(folder / "models_summary.csv", index=False)
    for dataset in P.DATASETS:
        for group in ("all", *P.GROUPS):
            recs = []
            for dir_id, params, train, counts, correct in rows:
                top1_err = sum(counts)
                n = correct + top1_err
                rec = dict.fromkeys(STATS_COLUMNS, 0)
                rec |= {
                    "model_dir_id": dir_id,
                    "num_params": params,
                    "training_data": train,
                    "arch": "resnet",
                    "arch_family": "cnn",
                    "arch_group": "ResNet",
                    "extra_annotations": "[]",
                    "top1_val_acc": 80.5,
                    "num_all_samples": n,
                    "num_group_samples": n,
                    "num_group_correct": correct,
                    "num_all_top1_errors": top1_err,
                    "num_group_top1_errors": top1_err,
                    "mla_group": 91.0,
                    "mla_group_minor_error": 95.0,
                    "mla_group_explainable_error": 96.0,
                }
                keys = (
                    "num_collapsed_mappings",
                    "num_ambiguous",
                    "num_same_superclass",
                    "num_common_co_occ",
                    "num_non_prototypical",
                    "num_OOV_clip",
                    "num_not_classified",
                )
                rec |= dict(zip(keys, counts))
                recs.append(rec)
            frame = pd.DataFrame(recs, columns=STATS_COLUMNS)
            name = f"{dataset}_non_problematic_stats_{group}.csv"
            if edit is not None:
                frame = edit(name, frame)
            frame.to_csv(folder / name, index=False)
    return root


@pytest.fixture()
def planted(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")  # planted files, not the registry's
    return write_population(tmp_path)


def test_registry_lists_every_published_file_with_its_hash() -> None:
    names = P.registry_names()
    assert len(names) == 9
    for name in names:
        f = data.entry(name)
        assert f.sha256 and len(f.sha256) == 64
        assert f.url.startswith("https://github.com/eth-sri/automated-error-analysis/")
        assert f.path.startswith("peychev_stats/") and "Apache-2.0" in f.license


def test_real_files_match_their_hashes(data_dir: Path) -> None:
    assert all(data.verify(n) for n in P.registry_names())


def test_real_population_has_the_papers_convnext_figures(data_dir: Path) -> None:
    """DESIGN.md's reference figures: ConvNeXt-Base (224), top-1 83.83 %, MLA 92.65 %, and its
    2,406 top-1 errors: 104 overlapping, 948 multi-label, 599 fine-grained, 144 OOV, 102
    spurious, 8 non-prototypical, 501 model failures."""
    pop = P.population()
    assert len(pop) == P.N_MODELS and pop["model"].is_unique
    row = pop.set_index("model").loc["convnext-base-224"]
    assert row["top1"] == pytest.approx(0.83826)
    assert row["mla_overlap"] == pytest.approx(0.9265, abs=5e-5)
    got = [
        int(row[c])
        for c in (
            "n_overlapping_classes",
            "n_correct_multi_label",
            "n_fine_grained",
            "n_fine_grained_oov",
            "n_spurious_correlation",
            "n_non_prototypical",
            "n_model_failure",
        )
    ]
    assert got == [104, 948, 599, 144, 102, 8, 501]
    assert row["top1_errors"] == 2406 and row["images"] == 18692
    assert row["errors"] == 2406 - 948 and row["mle"] == 2406 - 948 - 104
    assert row["training_data_size"] == 1.2e6 and row["training_data_group"] == "small (< 5M)"
    # the published pipeline's invariants hold in every row and group
    cats = ["n_overlapping_classes", "n_correct_multi_label", *PC.MLE_CATEGORIES]
    assert (pop[cats].sum(axis=1) == pop["top1_errors"]).all()
    for g in P.GROUPS:
        gcats = [f"group_{g}_{c}" for c in cats]
        assert (pop[gcats].sum(axis=1) == pop[f"group_{g}_top1_errors"]).all()
    # ImageNet-A has no multi-labels and no expert annotations
    assert (pop["imagenet_a_n_correct_multi_label"] == 0).all()
    assert (pop["imagenet_a_n_non_prototypical"] == 0).all()
    assert (pop["imagenet_a_images"] == 7500).all()
    assert (pop["imagenet_a_top1_200"] >= pop["imagenet_a_top1"]).all()
    # metadata joined from models_summary.csv
    assert set(pop["source"]) == {"timm", "torchvision.models", "torch.hub", "huggingface"}
    assert pop["training_data_size"].notna().all()


def test_planted_files_load_in_errata_vocabulary(planted: Path) -> None:
    pop = P.population()
    assert list(pop["model"]) == ["tiny.a1", "big"]
    tiny = pop.iloc[0]
    assert tiny["n_overlapping_classes"] == 10 and tiny["n_correct_multi_label"] == 20
    assert tiny["n_fine_grained"] == 30 and tiny["n_spurious_correlation"] == 4
    assert tiny["n_non_prototypical"] == 1 and tiny["n_fine_grained_oov"] == 5
    assert tiny["n_model_failure"] == 30 and tiny["n_correct"] == 900
    assert tiny["top1"] == pytest.approx(0.805) and tiny["mla_overlap"] == pytest.approx(0.91)
    assert tiny["mle"] == 100 - 10 - 20
    assert pop.iloc[1]["training_data_size"] == 2.3e9
    assert pop.iloc[1]["extra_annotations"] == "Distillation"
    assert "group_organism_n_fine_grained" in pop and "imagenet_a_group_other_mle" in pop
    only = P.population(datasets=("imagenet",))
    assert not any(c.startswith("imagenet_a_") for c in only.columns)


def _broken(tmp_path: Path, monkeypatch, edit) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")  # planted files, not the registry's
    write_population(tmp_path, edit=edit)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda n, f: f.drop(columns="num_OOV_clip") if "imagenet_" in n else f,
            "imagenet_non_problematic_stats_all.csv: no column 'num_OOV_clip'; expected the "
            "published per-model statistics (Peychev et al. 2023)",
        ),
        (
            lambda n, f: f.assign(num_not_classified=[31, 10]) if n.startswith("imagenet_") else f,
            "imagenet_non_problematic_stats_all.csv: line 2: the category counts add up to 101, "
            "not to the 100 top-1 errors (num_group_top1_errors)",
        ),
        (
            lambda n, f: f.assign(mla_group=["x", 1.0]) if n.startswith("imagenet_") else f,
            "imagenet_non_problematic_stats_all.csv: line 2, column 'mla_group': 'x' is not a "
            "number",
        ),
        (
            lambda n, f: f.iloc[::-1] if "organism" in n else f,
            "imagenet_non_problematic_stats_organism.csv: its models are not those of the other "
            "published files (in order)",
        ),
        (
            lambda n, f: pd.concat([f, f.iloc[:1]]) if n.startswith("imagenet_") else f,
            "imagenet_non_problematic_stats_all.csv: line 4: model 'timm--tiny.a1' is listed twice",
        ),
    ],
    ids=["missing-column", "counts-do-not-add-up", "not-a-number", "other-models", "twice"],
)
def test_bad_published_files_are_one_line_errors(tmp_path, monkeypatch, edit, message) -> None:  # type: ignore[no-untyped-def]
    _broken(tmp_path, monkeypatch, edit)
    with pytest.raises(ErrataInputError) as info:
        P.population()
    text = str(info.value)
    assert "\n" not in text and text.endswith(message), text


def test_missing_file_says_how_to_fetch_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")  # planted files, not the registry's
    with pytest.raises(ErrataInputError, match="errata data fetch peychev-models-summary"):
        P.population()
    with pytest.raises(ErrataInputError, match="expected some of imagenet, imagenet-a"):
        P.population(datasets=("imagenet-v2",))


MATCHED = {
    "labels": "shankar",
    "preset": "peychev2023",
    "taxonomy": "peychev2023",
    "openworld": "/ow",
    "experts": ["vit3b-mistakes", "greedysoups-mistakes"],
    "classify": True,
}


def test_comparability_names_each_setting_that_differs() -> None:
    ok = PC.comparability(MATCHED, full_val=True)
    assert ok["comparable"] and not ok["differences"]
    assert ok["figures"] == {"top1": True, "mla": True, "shares": True}
    for key, value in [
        ("labels", "real"),
        ("preset", None),  # taxonomy peychev2023 alone is not the published pipeline
        ("openworld", None),
        ("experts", ["vit3b-mistakes"]),
        ("classify", False),
    ]:
        c = PC.comparability(MATCHED | {key: value}, full_val=True)
        assert not c["comparable"] and [d["setting"] for d in c["differences"]] == [key]
        assert c["figures"]["shares"] is False and c["figures"]["top1"] is True
        assert c["figures"]["mla"] is (key != "labels")
        assert "not comparable" in c["note"] and c["differences"][0]["to_match"]
        assert c["differences"][0]["flag"] in c["note"]  # the note names the flag to add
    subset = PC.comparability(MATCHED, full_val=False)
    assert not subset["comparable"] and subset["figures"]["top1"] is False
    assert "subset" in subset["note"]


def test_placement_ranks_only_comparable_figures(planted: Path) -> None:
    pop = P.population(datasets=("imagenet",))
    values = {"top1": 0.9, "mla_overlap": 0.5, "share_n_fine_grained": 0.5}
    placed = PC.placement(values, pop, figures={"top1": True, "mla": False, "shares": False})
    assert placed["top1"]["below"] == 1.0 and placed["top1"]["comparable"]
    assert "below" not in placed["mla_overlap"] and not placed["mla_overlap"]["comparable"]
    assert "below" not in placed["share_n_fine_grained"]
    shares = PC.population_values(pop, "share_n_fine_grained")
    assert np.allclose(shares, [30 / 70, 40 / 55])


def test_query_joins_a_study_with_the_published_view(data_dir: Path, tmp_path: Path) -> None:
    """The docs' example: where the reference ResNet-50 falls by top-1 among the 962."""
    from errata.study import compare, query

    path = data.path("cleanlab-resnet50")
    compare([path], out=tmp_path / "study", order="imagefolder")
    got = query(
        tmp_path / "study",
        "SELECT m.model, count(*) FILTER (WHERE p.top1 < m.top1) AS below, count(*) AS n "
        "FROM models m, published p GROUP BY 1",
    )
    pop = P.population(datasets=("imagenet",))
    assert int(got["n"].iloc[0]) == 962
    assert int(got["below"].iloc[0]) == int((pop["top1"] < 0.72732).sum())
    # a query that does not name the view does not read the population
    assert list(query(tmp_path / "study", "SELECT count(*) AS n FROM models")["n"]) == [1]


# ---------------------------------------------------------------------------------------------
# the published band

RESNET_TOP1 = 0.72732  # the reference ResNet-50 (cleanlab_resnet), all 50,000 images
# its default run (errata analyze cleanlab-resnet50 --order imagefolder --labels real)
RESNET_COUNTS = {
    "n_overlapping_classes": 151,
    "n_fine_grained": 4073,
    "n_spurious_correlation": 2313,
    "n_model_failure": 3948,
}
DEFAULT_SETTINGS = {
    "labels": "real",
    "taxonomy": "errata",
    "openworld": None,
    "experts": [],
    "proposals": ["real-raters"],
}


def test_band_equals_a_hand_computation_on_the_published_file(data_dir: Path) -> None:
    """pandas by hand: the models within ±2 points, share = count / (top-1 errors − ambiguous),
    the nearest-rank p10 and p90 (the 5th and 41st of 45 sorted shares)."""
    raw = pd.read_csv(data_dir / "peychev_stats" / "imagenet_non_problematic_stats_all.csv")
    near = raw[(raw["top1_val_acc"] - 100 * RESNET_TOP1).abs() <= 2.0]
    assert len(near) == 45
    errors = near["num_all_top1_errors"] - near["num_ambiguous"]
    published = (
        "num_collapsed_mappings",
        "num_same_superclass",
        "num_OOV_clip",
        "num_common_co_occ",
        "num_non_prototypical",
        "num_not_classified",
    )
    b = PBF.run_bands(RESNET_TOP1, RESNET_COUNTS, 10485, DEFAULT_SETTINGS)
    assert b.n_models.tolist() == [45] and b.population == 962
    for c, col in enumerate(published):
        ranked = sorted((near[col] / errors).tolist())
        assert (b.low[0, c], b.high[0, c]) == (ranked[4], ranked[40]), col
    # with the OOV stage not run, its errors may fall to spurious correlation: the band's top
    # is the p90 of (spurious + OOV); model failure's also takes non-prototypical's
    sp = sorted(((near["num_common_co_occ"] + near["num_OOV_clip"]) / errors).tolist())
    mf = near["num_not_classified"] + near["num_OOV_clip"] + near["num_non_prototypical"]
    assert b.upper[0, 3] == sp[40] and b.upper[0, 5] == sorted((mf / errors).tolist())[40]
    assert b.upper[0, :3].tolist() == b.high[0, :3].tolist()


def test_reference_resnet50_band_in_percent(data_dir: Path) -> None:
    """The figures README.md states (issue 19's table, whose OOV, spurious and model-failure
    rows were over MLE — without overlapping classes — and read 6.0–7.1, 4.8–5.8, 48.8–53.9)."""
    b = PBF.run_bands(RESNET_TOP1, RESNET_COUNTS, 10485, DEFAULT_SETTINGS)
    got = [(round(100 * lo, 1), round(100 * hi, 1)) for lo, hi in zip(b.low[0], b.high[0])]
    assert got == [(2.5, 3.3), (33.5, 37.6), (5.8, 6.9), (4.7, 5.7), (0.3, 0.4), (47.2, 52.5)]
    assert round(100 * b.upper[0, 3], 1) == 12.3
    out = b.model(0)
    flags = {k: (v["outside"], v["direction"]) for k, v in out["categories"].items()}
    assert flags == {
        "overlapping_classes": (True, "below"),
        "fine_grained": (True, "above"),
        "fine_grained_oov": (None, None),  # not run: no share to place
        "spurious_correlation": (True, "above"),
        "non_prototypical": (None, None),
        "model_failure": (True, "below"),
    }
    assert out["categories"]["fine_grained_oov"]["share"] is None
    assert "12.3" in out["note"] and "45 published models" in out["note"]
    why = out["categories"]["spurious_correlation"]["reasons"]
    assert any("rejected-proposal" in r for r in why) and any("OOV did not run" in r for r in why)
    assert any("Shankar" in r for r in why)


def test_band_on_planted_files_and_its_reasons(planted: Path) -> None:
    """Two planted models at 80.5 % give no band (fewer than 10 in the window); ten do, and a
    run with the published settings has no reason but the order of overlapping classes."""
    b = PBF.run_bands(0.805, {"n_fine_grained": 10}, 20, {"labels": "shankar"})
    assert b.n_models.tolist() == [2] and np.isnan(b.low).all()
    assert "no published band" in b.model(0)["note"]
    # ten models; model i: i + 1 overlapping, 10 ambiguous, 30 fine-grained, 4 co-occurring, 1
    # non-prototypical, 5 OOV, 30 not classified: 71 + i multi-label errors
    counts_i = [(i + 1, 10, 30, 4, 1, 5, 30) for i in range(10)]
    rows = [(f"timm--m{i}", 10, "ImageNet-1k (1.2M)", c, 900) for i, c in enumerate(counts_i)]
    PBF._band_population_at.cache_clear()
    write_population(planted, rows=rows)
    published = {
        "labels": "shankar",
        "taxonomy": "peychev2023",
        "openworld": "bundle",
        "experts": ["vit3b-mistakes", "greedysoups-mistakes"],
        "proposals": [],
    }
    counts = {"n_overlapping_classes": 0, "n_fine_grained": 30, "n_spurious_correlation": 4}
    counts |= {"n_fine_grained_oov": 5, "n_non_prototypical": 1, "n_model_failure": 35}
    b = PBF.run_bands(np.array([0.805, 0.805]), counts, np.array([75, 0]), published)
    assert b.n_models.tolist() == [10, 10]
    # nearest rank of 10: p10 the 1st, p90 the 9th smallest share
    assert b.low[0, 1] == pytest.approx(30 / 80) and b.high[0, 1] == pytest.approx(30 / 72)
    assert b.low[0, 0] == pytest.approx(1 / 71) and b.high[0, 0] == pytest.approx(9 / 79)
    assert (b.upper == b.high).all()  # every stage ran
    assert b.position[0].tolist() == [-1, 0, 0, 0, 0, 1]
    assert b.model(0)["outside"] == ["overlapping classes", "model failure"]
    assert np.isnan(b.position[1]).all()  # no errors: no shares
    assert all(not v for k, v in b.reasons.items() if k != "overlapping_classes")
    PBF._band_population_at.cache_clear()
