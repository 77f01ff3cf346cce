"""Taxonomy: WordNet graph, superclasses, overlaps, groups, co-occurrence, severity, lookup."""

from __future__ import annotations

import json

import numpy as np
import pytest

from errata import resources, taxonomy
from errata.exceptions import ErrataInputError

DOG, ENTITY = "n02084071", "n00001740"


# --------------------------------------------------------------------------- WordNet graph
def test_wordnet_graph_basics() -> None:
    g = taxonomy.wordnet()
    assert g.name(DOG) == "dog" and "domestic dog" in g.lemmas(DOG)
    assert "domesticated" in g.definition(DOG)
    assert sorted(g.name(h) for h in g.hypernyms(DOG)) == ["canine", "domestic animal"]
    golden = resources.classes().wnids[207]
    anc = g.ancestors(golden)
    assert anc[0] == g.hypernyms(golden)[0] and DOG in anc and ENTITY == anc[-1]
    assert len(g.paths(DOG)) >= 2 and all(p[0] == ENTITY and p[-1] == DOG for p in g.paths(DOG))
    below = set(g.descendants(DOG))
    assert sum(w in below for w in resources.classes().wnids) == 118
    assert not g.is_broad(DOG) and g.is_broad("n00021939")  # artifact
    with pytest.raises(ErrataInputError, match="n99999999"):
        g.name("n99999999")


def test_wordnet_extract_is_closed_and_covers_classes() -> None:
    g = taxonomy.wordnet()
    assert all(w in g for w in resources.classes().wnids)
    parents = [h for w in g.wnids[::50] for h in g.hypernyms(w)]
    assert all(h in g for h in parents)
    # siblings of a class are there: the other hyponyms of golden retriever's parent
    assert len(g.hyponyms(g.hypernyms(resources.classes().wnids[207])[0])) >= 5


# --------------------------------------------------------------------------- superclasses
def test_every_class_in_a_superclass_and_count() -> None:
    sc = taxonomy.superclasses()
    assert sc.members.shape == (1000, len(sc.names)) and sc.members.any(axis=1).all()
    assert 150 <= len(sc) <= 210
    assert len(set(sc.names)) == len(sc.names)


FINE_GRAINED = [
    (207, 208),
    (151, 268),
    (281, 285),
    (52, 68),
    (370, 382),
    (2, 4),
    (947, 992),
    (508, 878),
    (620, 681),
    (527, 620),
    (555, 867),
    (675, 717),
    (472, 914),
    (402, 546),
    (486, 889),
    (948, 950),
    (963, 965),
    (665, 670),
    (978, 977),
    (968, 504),
    (248, 269),
    (836, 837),
]
UNRELATED = [(796, 970), (457, 834), (852, 752), (134, 517), (527, 508), (207, 849)]


@pytest.mark.parametrize(("a", "b"), FINE_GRAINED)
def test_fine_grained_pairs_share_a_superclass(a: int, b: int) -> None:
    assert taxonomy.same_superclass()[a, b]
    s = int(taxonomy.shared_superclass(a, b))
    assert s >= 0 and taxonomy.superclasses().members[[a, b], s].all()


@pytest.mark.parametrize(("a", "b"), UNRELATED)
def test_unrelated_pairs_share_none(a: int, b: int) -> None:
    assert not taxonomy.same_superclass()[a, b]
    assert int(taxonomy.shared_superclass(a, b)) == -1


def test_same_and_shared_superclass_match_naive() -> None:
    same = taxonomy.same_superclass()
    m = taxonomy.superclasses().members
    assert (same == same.T).all() and same.diagonal().all()
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 1000, 300), rng.integers(0, 1000, 300)
    shared = taxonomy.shared_superclass(a, b)
    for x, y, s in zip(a, b, shared, strict=True):
        both = np.flatnonzero(m[x] & m[y])
        assert s == (both[0] if len(both) else -1)
        assert same[x, y] == bool(len(both))
    with pytest.raises(ErrataInputError):
        taxonomy.shared_superclass([1000], [0])


def _with_entry(extra: str) -> str:
    return resources.read_bytes("superclasses.toml").decode() + "\n" + extra


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[superclass]]\nname = "x"\nroots = ["n09999999 nothing"]\n',
            r"'x' \(entry 203\).*n09999999",
        ),
        ('[[superclass]]\nname = "x"\nroots = ["n02084071 cat"]\n', "'x'.*not 'cat'"),
        ('[[superclass]]\nname = "x"\n', "'x'.*empty superclass"),
        ('[[superclass]]\nname = "dog"\nroots = ["n02084071 dog"]\n', "'dog'.*duplicate name"),
        ('[[superclass]]\nname = "x"\nclasses = ["n01440764 goldfish"]\n', "'x'.*not 'goldfish'"),
        (
            '[[superclass]]\nname = "x"\nclasses = ["n01440764"]\nexclude = ["n01440764"]\n',
            "'x'.*exclude.*why",
        ),
        ('[[superclass]]\nname = "x"\nroot = ["n02084071"]\n', "'x'.*unknown key 'root'"),
    ],
)
def test_superclass_file_validation(extra: str, message: str) -> None:
    with pytest.raises(ErrataInputError, match=message):
        taxonomy.load_superclasses(_with_entry(extra))


def test_superclass_file_uncovered_class_is_named() -> None:
    text = '[[superclass]]\nname = "dog"\nroots = ["n02084071 dog"]\n'
    with pytest.raises(ErrataInputError, match="882 classes are in no superclass: tench"):
        taxonomy.load_superclasses(text)


# --------------------------------------------------------------------------- overlaps, groups
def test_overlaps_directions_and_reasons() -> None:
    o = taxonomy.overlaps()
    allowed = np.asarray(o, dtype=bool)
    assert allowed.shape == (1000, 1000) and allowed.sum() == 29 and not allowed.diagonal().any()
    assert allowed[386, 101] and not allowed[101, 386]  # African elephant -> tusker
    assert allowed[504, 968] and not allowed[968, 504]
    assert allowed[249, 248] and not allowed[248, 249]
    assert allowed[356, 359] and allowed[359, 356] and allowed[620, 681] and allowed[681, 620]
    assert "tusk" in o.reason(386, 101) and o.reason(0, 1) == ""
    with pytest.raises(ErrataInputError, match="overlap entry 1.*n02978881"):
        taxonomy.load_overlaps(
            '[[overlap]]\nlabels = ["n02978881 cassette player"]\n'
            'predictions = ["n04392985 tape player"]\nwhy = "x"\n'
        )


def test_groups_counts() -> None:
    g = taxonomy.groups()
    words, counts = np.unique(g["wordnet"].astype(str), return_counts=True)
    assert dict(zip(words, counts, strict=True)) == {"organism": 410, "artifact": 522, "other": 68}
    dogs = np.flatnonzero(g["shankar"] == "dogs")
    assert len(dogs) == 118 and dogs.min() == 151 and dogs.max() == 268
    assert g["shankar"][281] == "other organisms" and g["shankar"][849] == "objects"
    assert g["wordnet"][963] == "other" and g["wordnet"][849] == "artifact"


# --------------------------------------------------------------------------- co-occurrence
def test_cooccurrence_matches_matrix_product_and_leave_one_out() -> None:
    rng = np.random.default_rng(1)
    sets = rng.random((400, 1000)) < 0.004
    sets[np.arange(400), rng.integers(0, 1000, 400)] = True
    counts = taxonomy.cooccurrence_counts(sets)
    ref = sets.T.astype(np.int64) @ sets.astype(np.int64)
    assert counts.dtype == np.int32 and (counts == ref).all()
    i = int(np.flatnonzero(sets.sum(axis=1) >= 2)[0])
    a, b = np.flatnonzero(sets[i])[:2]
    loo = taxonomy.leave_one_out(counts, sets, [i, -1], a, b)
    assert loo.tolist() == [counts[a, b] - 1, counts[a, b]]
    with pytest.raises(ErrataInputError):
        taxonomy.cooccurrence_counts(sets.astype(int))


def test_spurious_pairs_on_real_labels() -> None:
    counts = taxonomy.real_cooccurrence()
    assert counts[457, 834] >= 10 and (counts == counts.T).all()
    spurious = taxonomy.spurious_pairs(counts)
    assert spurious[457, 834]  # bow tie/suit (18 images)
    # ski mask/alp: 2 images, a pair at the published count (errata's default asks for 3)
    assert not spurious[796, 970] and taxonomy.spurious_pairs(counts, min_count=2)[796, 970]
    assert not (spurious & taxonomy.same_superclass()).any()
    assert taxonomy.spurious_pairs(counts, min_count=50).sum() < spurious.sum()


# --------------------------------------------------------------------------- severity
def test_lca_height_matches_naive_definition() -> None:
    h = taxonomy.lca_height()
    assert h.shape == (1000, 1000) and (h == h.T).all() and (h.diagonal() == 0).all()
    assert h[207, 208] == 1 and h[207, 849] > h[207, 281] > h[207, 208]
    g, wnids = taxonomy.wordnet(), resources.classes().wnids
    rng = np.random.default_rng(2)
    for a, b in rng.integers(0, 1000, (40, 2)):
        da, db = g.ancestor_distances(wnids[a]), g.ancestor_distances(wnids[b])
        naive = min(max(da[c], db[c]) for c in set(da) & set(db))
        assert h[a, b] == naive


# --------------------------------------------------------------------------- lookup
def test_class_index() -> None:
    assert taxonomy.class_index(207) == taxonomy.class_index("n02099601") == 207
    assert taxonomy.class_index("Golden Retriever") == 207
    assert taxonomy.class_index("tabby cat") == 281  # a lemma other than the first name
    with pytest.raises(ErrataInputError, match=r"ambiguous: 134 crane \(n02012849.*517 crane"):
        taxonomy.class_index("crane")
    for bad in ("1000", "n99999999", "no such class"):
        with pytest.raises(ErrataInputError):
            taxonomy.class_index(bad)


# --------------------------------------------------------------------------- expert agreement
def test_superclasses_agree_with_experts(data_dir) -> None:  # type: ignore[no-untyped-def]
    from errata.io.files import read_json
    from errata.taxonomy.agreement import expert_agreement

    path = data_dir / "dough_bagel" / "vit3b_mistakes.json"
    result = expert_agreement(read_json(path))
    assert result.fine_grained_n == 241 and result.unrelated_n == 82
    assert result.fine_grained_share >= 0.93
    assert result.unrelated_share >= 0.80
    with pytest.raises(ErrataInputError, match="expected an object"):
        expert_agreement([1, 2])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CLI
def test_cli_show_superclasses_export(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from errata.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["taxonomy", "show", "bow tie", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["index"] == 457 and rec["superclasses"][0]["name"] == "necktie"
    assert (
        rec["cooccurring"][0]["class"].startswith("suit") and rec["cooccurring"][0]["spurious_pair"]
    )
    res = runner.invoke(app, ["taxonomy", "superclasses", "--json"])
    rows = json.loads(res.output)
    assert len(rows) == len(taxonomy.superclasses()) and rows[0]["name"] == "dog"
    assert rows[0]["size"] == 118
    out = tmp_path / "t.csv"
    res = runner.invoke(app, ["taxonomy", "export", "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0 and out.read_text().count("\n") == 1001
    res = runner.invoke(app, ["taxonomy", "export", "--format", "yaml"])
    assert isinstance(res.exception, ErrataInputError)
    res = runner.invoke(app, ["taxonomy", "show", "crane"])
    assert isinstance(res.exception, ErrataInputError)


# --------------------------------------------------------------------------- lemma predicates
def test_lemma_predicates_follow_hypernym_lemmas() -> None:
    names = resources.classes().names
    # one lemma: every class with that lemma among its hypernyms (itself included)
    poodles = taxonomy.lemma_members(("poodle",))
    assert [names[c] for c in np.flatnonzero(poodles)] == [
        "toy poodle",
        "miniature poodle",
        "standard poodle",
    ]
    # all lemmas of a predicate must occur: two lemmas pick one sense of 'crane'
    both = np.flatnonzero(taxonomy.lemma_members(("crane",)))
    bird = np.flatnonzero(taxonomy.lemma_members(("crane", "bird")))
    assert len(both) == 2 and len(bird) == 1 and names[bird[0]] == "crane"
    # a lemma predicate and the root of its synset give the same members here
    dog = taxonomy.lemma_members(("hunting dog",))
    assert (dog == taxonomy.class_ancestry().below("n02087122")).all()


def test_superclass_file_with_lemmas_and_partial_cover() -> None:
    text = (
        "cover_every_class = false\n"
        '[[superclass]]\nname = "poodle"\nlemmas = ["poodle"]\n'
        '[[superclass]]\nname = "bird crane"\nlemmas = [["crane", "bird"]]\n'
    )
    sc = taxonomy.load_superclasses(text)
    assert sc.members.sum(axis=0).tolist() == [3, 1]
    assert sc.predicates == ((("poodle",),), (("crane", "bird"),))
    assert (~sc.members.any(axis=1)).sum() == 996  # allowed by cover_every_class = false


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[superclass]]\nname = "x"\nlemmas = ["no such lemma"]\n', "'x'.*'no such lemma'"),
        ('[[superclass]]\nname = "x"\nlemmas = [[]]\n', "'x'.*each predicate"),
        ('cover_every_class = 1\n[[superclass]]\nname = "x"\n', "cover_every_class"),
        ('colour = 1\n[[superclass]]\nname = "x"\n', "unknown top-level key 'colour'"),
    ],
)
def test_lemma_file_validation(text: str, message: str) -> None:
    with pytest.raises(ErrataInputError, match=message):
        taxonomy.load_superclasses(text)


# --------------------------------------------------------------------------- two taxonomies
def test_taxonomies_by_name() -> None:
    assert set(taxonomy.TAXONOMIES) == {"errata", "peychev2023", "supersub10"}
    errata_t, pey = taxonomy.load("errata"), taxonomy.load("peychev2023")
    assert errata_t.superclass_members.any(axis=1).all()  # errata: every class somewhere
    assert pey.name == "peychev2023" and pey.superclass_members.shape[0] == 1000
    # the published pipeline splits the dogs: a dog pair errata calls fine-grained is not
    rottweiler, coonhound = 234, 165  # a later-stage pair of the published rows
    assert errata_t.same_superclass[rottweiler, coonhound]
    assert not pey.same_superclass[rottweiler, coonhound]
    with pytest.raises(ErrataInputError, match="not one of errata, peychev2023"):
        taxonomy.load("nope")


def _peychev_rows(data_dir: object) -> list[dict]:
    from pathlib import Path

    path = Path(str(data_dir)) / "peychev_examples" / "examples_dev.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("name", "fg", "late"),
    [("peychev2023", 1.000, 0.933), ("errata", 0.840, 0.810)],
)
def test_published_rows_agreement(data_dir: object, name: str, fg: float, late: float) -> None:
    """The figures of benchmarks/README.md on the published rows (dev half; for peychev2023
    in-sample: it was derived from these rows)."""
    same = taxonomy.load(name).same_superclass
    late_kinds = ("fg-OOV", "spurious_correlation", "non-proto", "model_failure")
    shares = {"fg": [], "late": []}
    for r in _peychev_rows(data_dir):
        labels = [x for x in r["multi_labels"] if x != r["pred"]]
        hit = bool(labels) and bool(same[r["pred"], labels].any())
        if r["kind"] == "fg":
            shares["fg"].append(hit)
        elif r["kind"] in late_kinds:
            shares["late"].append(not hit)
    assert len(shares["fg"]) == 469 and len(shares["late"]) == 1220
    assert np.mean(shares["fg"]) == pytest.approx(fg, abs=0.0006)
    assert np.mean(shares["late"]) == pytest.approx(late, abs=0.0006)
    if name == "peychev2023":
        # issue 12's in-sample targets were ≥ 97 % and ≥ 95 %; issue 19 moved the point on the
        # trade-off line towards fine-grained (artefact predicates at weight 0.5, calibrated on
        # the published per-model counts), which costs later-stage rows in-sample (93.3 %) as
        # cross-validated (the test below); the clusters still explain every fine-grained row
        assert np.mean(shares["fg"]) >= 0.97 and np.mean(shares["late"]) < 0.95


def _derive_tool() -> object:
    import importlib.util
    import sys

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location(
        "derive_peychev2023", ROOT / "tools" / "derive_peychev2023.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("derive_peychev2023", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_peychev2023_is_wordnet_predicates_and_a_fresh_derivation(data_dir: object) -> None:
    """Every peychev2023 superclass is lemma predicates: 147 over WordNet groups (which place
    every class, seen in the published rows or not; artefact predicates at weight 0.5), then 42
    clusters whose predicates each name one class, for the fine-grained rows no group explains,
    each with its rows as `why` (only cloak, a hypernym of another class, is named by its
    WordNet id). The file is what the tool derives from the dev rows; the cross-validated
    figures of its docstring (mod-4 scheme) hold."""
    from errata import resources as res
    from errata.taxonomy._toml import load_toml

    text = res.read_bytes("peychev2023.toml").decode()
    entries = load_toml("peychev2023.toml")["superclass"]
    groups = [e for e in entries if "why" not in e]
    clusters = [e for e in entries if "why" in e]
    assert len(groups) == 147 and all(set(e) == {"name", "lemmas"} for e in groups)
    assert len(clusters) == 42 and all(e["why"].count("models)") >= 1 for e in clusters)
    for e in clusters:  # each predicate of a cluster names exactly one class
        assert all(
            taxonomy.lemma_members(tuple([p] if isinstance(p, str) else p)).sum() == 1
            for p in e["lemmas"]
        )
    assert [c for e in clusters for c in e.get("classes", [])] == ["n03045698 cloak"]
    sc = taxonomy.superclasses("peychev2023")
    assert len(sc) == 189 and int(sc.members.any(axis=1).sum()) == 907
    tool = _derive_tool()
    rows, cands = tool.read_rows(), tool.candidates()  # type: ignore[attr-defined]
    chosen = tool.derive(rows, cands)  # type: ignore[attr-defined]
    assert tool.to_toml(chosen) == text  # type: ignore[attr-defined]
    for train, test in tool.folds(rows, "mod4") + tool.folds(rows, "5x4"):  # type: ignore[attr-defined]
        assert not {r[1] for r in train} & {r[1] for r in test}  # grouped by prediction
    cv = tool.cross_validate(rows, cands, tool.CHOSEN, "mod4")  # type: ignore[attr-defined]
    assert len(cv["fg"]) == 469 and len(cv["late"]) == 1220  # every dev row held out once
    assert cv["fg"].mean() == pytest.approx(0.770, abs=0.0006)
    assert cv["late"].mean() == pytest.approx(0.885, abs=0.0006)
    assert tool.CHOSEN.artifact_weight == 0.5 and tool.CHOSEN.weight == 2.0  # type: ignore[attr-defined]


def test_cli_taxonomy_option(tmp_path: object) -> None:
    from typer.testing import CliRunner

    from errata.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app, ["taxonomy", "export", "--format", "json", "--taxonomy", "peychev2023"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert set(doc) == {"classes", "superclasses", "overlaps"} and len(doc["classes"]) == 1000
    assert any(s["lemmas"] for s in doc["superclasses"])
    res = runner.invoke(app, ["taxonomy", "superclasses", "--taxonomy", "nope"])
    assert res.exit_code != 0
