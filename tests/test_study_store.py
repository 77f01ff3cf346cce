"""The study store under hostile conditions: change detection that a kept size and mtime do not
fool, damaged studies repaired or refused, zoo folders that say what they skip, and queries that
can neither write nor read outside the study."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from errata import resources
from errata.exceptions import ErrataInputError
from errata.study import compare, query

TRUTH = resources.validation_labels().astype(np.int64)
A_WNID = resources.classes().wnids[6]  # stingray, an ImageNet-A class


def model(folder: Path, name: str, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    pred = np.where(rng.random(TRUTH.size) < 0.7, TRUTH, rng.integers(0, 1000, TRUTH.size))
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{name}.npy", pred.astype(np.int16))
    return folder / f"{name}.npy"


def a_model(folder: Path, name: str) -> Path:
    names = np.array([f"imagenet-a/{A_WNID}/img_{i}.jpg" for i in range(20)])
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / f"{name}.npz", top1=np.full(20, 6), file_names=names)
    return folder / f"{name}.npz"


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, Path]:
    zoo, out = tmp_path / "zoo", tmp_path / "study"
    for i in range(3):
        model(zoo, f"m{i}", i)
    compare([zoo], out=out, batch=2)
    return zoo, out


# --- change detection ---------------------------------------------------------------------------


def test_a_rewrite_with_size_and_mtime_kept_is_found(study: tuple[Path, Path]) -> None:
    zoo, out = study
    path = zoo / "m1.npy"
    st = os.stat(path)
    pred = np.load(path)
    pred[:5000] = (pred[:5000] + 1) % 1000  # 5,000 predictions changed, same size
    np.save(path, pred)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (os.stat(path).st_size, os.stat(path).st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    again = compare([zoo], out=out)
    assert again.summary["counts"] | {} == {
        "models": 3,
        "scored": 1,
        "reused": 2,
        "removed": 0,
        "failed": 0,
    }
    row = again.models.set_index("model").loc["m1"]
    assert row["top1"] == pytest.approx((pred == TRUTH).mean())
    record = next(m for m in again.summary["models"] if m["model"] == "m1")
    assert record["ctime_ns"] == os.stat(path).st_ctime_ns and record["inode"] == st.st_ino


def test_a_file_touched_but_not_changed_is_kept(study: tuple[Path, Path]) -> None:
    zoo, out = study
    os.utime(zoo / "m2.npy")  # ctime and mtime move; the content is the same
    again = compare([zoo], out=out)
    assert again.summary["counts"]["reused"] == 3 and again.summary["counts"]["scored"] == 0


# --- damaged studies ----------------------------------------------------------------------------


def _counts(study) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return study.summary["counts"]["scored"], study.summary["counts"]["reused"]


def test_deleted_parts_are_scored_again(study: tuple[Path, Path]) -> None:
    zoo, out = study
    want = query(out, "SELECT model, count(*) AS n FROM errors GROUP BY 1 ORDER BY 1")
    for p in (out / "errors").iterdir():
        p.unlink()
    with pytest.raises(ErrataInputError, match="errors/part-.* is missing"):
        query(out, "SELECT count(*) FROM errors")
    again = compare([zoo], out=out)
    assert _counts(again) == (3, 0)
    assert any("repaired: errors/part-" in n for n in again.summary["notes"])
    got = query(out, "SELECT model, count(*) AS n FROM errors GROUP BY 1 ORDER BY 1")
    assert got.equals(want)  # every model's errors again, none twice
    assert int(query(out, "SELECT sum(errors) AS n FROM models")["n"][0]) == want["n"].sum()


def test_a_part_with_rows_missing_is_scored_again(study: tuple[Path, Path]) -> None:
    import pyarrow.parquet as pq

    zoo, out = study
    part = sorted((out / "errors").iterdir())[0]
    t = pq.read_table(part)
    pq.write_table(t.slice(0, t.num_rows // 2), part)  # half its rows gone
    again = compare([zoo], out=out)
    assert again.summary["counts"]["scored"] == 2  # the two models of that part
    assert any("error rows where its models have" in n for n in again.summary["notes"])


def test_a_missing_models_table_is_rebuilt(study: tuple[Path, Path]) -> None:
    zoo, out = study
    before = query(out, "SELECT model, top1 FROM models ORDER BY 1")
    (out / "models.parquet").unlink()
    again = compare([zoo], out=out)
    assert _counts(again) == (3, 0)
    assert (
        f"{out}: repaired: models.parquet is missing; 3 imagenet-val model(s) scored again"
        in (again.summary["notes"])
    )
    assert query(out, "SELECT model, top1 FROM models ORDER BY 1").equals(before)


def test_lost_models_of_another_test_set_are_refused_then_dropped_with_rebuild(
    study: tuple[Path, Path], tmp_path: Path
) -> None:
    zoo, out = study
    compare([a_model(tmp_path / "a", "a0")], out=out, dataset="imagenet-a")
    meta = json.loads((out / "study.json").read_text())
    a_part = next(m["part"] for m in meta["models"] if m["dataset"] == "imagenet-a")
    (out / "errors" / a_part).unlink()
    with pytest.raises(ErrataInputError) as info:
        compare([zoo], out=out)
    assert str(info.value) == (
        f"{out}: the study has lost the results of 1 imagenet-a model(s) (errors/{a_part} is "
        "missing); run compare on their files with their dataset=, or again with rebuild=True "
        "(which drops them)"
    )
    again = compare([zoo], out=out, rebuild=True)
    assert set(again.models["dataset"]) == {"imagenet-val"}
    assert (
        f"{out}: dropped 1 imagenet-a model(s) (errors/{a_part} is missing)"
        in (again.summary["notes"])
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["models"][0].pop("path"), "models[0]: no 'path'"),
        (
            lambda m: m["models"][1].update(size="big"),
            "models[1]: 'size' is 'big', expected a whole number",
        ),
        (
            lambda m: m["models"].append(m["models"][0]),
            "models[3]: {zoo}/m0.npy (imagenet-val) is listed twice",
        ),
        (
            lambda m: m["models"][0].update(part="../../x.parquet"),
            "models[0]: 'part' is '../../x.parquet', not the name of an error part",
        ),
        (lambda m: m.update(models={}), "'models' is an object, expected a list"),
    ],
)
def test_a_hand_edited_manifest_is_one_line_pointing_to_rebuild(  # type: ignore[no-untyped-def]
    study: tuple[Path, Path], edit, message: str
) -> None:
    zoo, out = study
    meta = json.loads((out / "study.json").read_text())
    edit(meta)
    (out / "study.json").write_text(json.dumps(meta))
    with pytest.raises(ErrataInputError) as info:
        compare([zoo], out=out)
    expected = message.replace("{zoo}", str(zoo))
    assert str(info.value) == (
        f"{out}/study.json: {expected}; the manifest was edited or damaged: run again with "
        "rebuild=True"
    )
    assert _counts(compare([zoo], out=out, rebuild=True)) == (3, 0)


# --- what a zoo folder holds --------------------------------------------------------------------


def test_a_perfect_first_batch_has_no_errors_and_is_fine(tmp_path: Path) -> None:
    names = resources.val_file_names()[:10]
    np.savez(tmp_path / "perfect10.npz", top1=TRUTH[:10], file_names=names)
    np.save(tmp_path / "perfect.npy", TRUTH)
    s = compare([tmp_path / "perfect10.npz"], labels="original", out=tmp_path / "s1")
    assert int(s.models["errors"].iloc[0]) == 0
    s = compare([tmp_path / "perfect.npy"], labels="original", out=tmp_path / "s2", batch=1)
    assert int(s.models["errors"].iloc[0]) == 0


def test_one_file_given_twice_is_one_model(study: tuple[Path, Path], tmp_path: Path) -> None:
    zoo, _ = study
    os.symlink(zoo / "m0.npy", tmp_path / "alias.npy")
    s = compare([zoo, zoo / "m0.npy", tmp_path / "alias.npy"], out=tmp_path / "s")
    assert sorted(s.models["model"]) == ["m0", "m1", "m2"]
    assert s.summary["notes"][:2] == [
        f"{zoo}/m0.npy: given twice; read once",
        f"{tmp_path}/alias.npy: the same file as {zoo}/m0.npy; read once",
    ]


def test_symbolic_links_that_loop_or_dangle_are_listed(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    model(zoo, "m0", 0)
    os.symlink("loop.npy", zoo / "loop.npy")
    os.symlink(tmp_path / "nowhere", zoo / "gone.npy")
    s = compare([zoo], out=tmp_path / "s")
    assert [f["error"] for f in s.failed] == [
        f"{zoo}/gone.npy: cannot read (a symbolic link that loops or points nowhere)",
        f"{zoo}/loop.npy: cannot read (a symbolic link that loops or points nowhere)",
    ]
    assert list(s.models["model"]) == ["m0"]


def test_a_file_name_that_is_not_utf8_is_listed(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    model(zoo, "m0", 0)
    np.save(os.fsdecode(os.fsencode(str(zoo)) + b"/m\xe9.npy"), TRUTH)
    s = compare([zoo], out=tmp_path / "s")
    assert [f["error"] for f in s.failed] == [
        f"{zoo}/m\\xe9.npy: the path is not UTF-8 text; errata writes names into JSON and "
        "Parquet as UTF-8: rename it"
    ]
    assert list(s.models["model"]) == ["m0"]


def test_a_study_inside_its_zoo_does_not_read_its_own_tables(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    for i in range(2):
        model(zoo, f"m{i}", i)
    compare([zoo], out=zoo)
    again = compare([zoo], out=zoo)
    assert again.failed == [] and sorted(again.models["model"]) == ["m0", "m1"]
    assert again.summary["counts"]["reused"] == 2
    assert f"{zoo}: a study folder; its own tables are not models" in again.summary["notes"]


def test_out_given_as_a_symbolic_link_is_written_through(study: tuple[Path, Path]) -> None:
    zoo, out = study
    link = out.parent / "link"
    os.symlink(out, link)
    compare([zoo], out=link)
    assert link.is_symlink() and (link / "study.json").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["link", "study", "zoo"]


def test_an_out_name_of_240_characters_works(tmp_path: Path) -> None:
    out = tmp_path / ("s" * 240)
    compare([model(tmp_path / "zoo", "m0", 0)], out=out)
    compare([tmp_path / "zoo"], out=out)
    assert (out / "study.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s" * 240, "zoo"]


# --- queries: read-only and confined -------------------------------------------------------------

HOSTILE = [
    ("COPY (SELECT 'x') TO '{out}/models.parquet'", "got COPY"),
    ("COPY (SELECT 'x') TO '{out}/models.parquet' (FORMAT parquet, USE_TMP_FILE false)", "COPY"),
    ("COPY models TO '{tmp}/leak.csv'", "got COPY"),
    ("EXPORT DATABASE '{tmp}/dump'", "got EXPORT"),
    ("ATTACH '{tmp}/new.duckdb' AS x", "got ATTACH"),
    ("INSTALL httpfs", "got LOAD"),
    ("LOAD httpfs", "got LOAD"),
    ("SET enable_external_access = true", "got SET"),
    ("CREATE TABLE t AS SELECT 1", "got CREATE"),
    ("SELECT 1; DROP VIEW models", "got DROP"),
    ("PRAGMA database_list", "got PRAGMA"),
    ("SELECT * FROM read_csv('/etc/passwd')", 'Cannot access file "/etc/passwd"'),
    ("SELECT * FROM read_text('{tmp}/secret.txt')", "Cannot access file"),
    ("SELECT * FROM glob('/root/*')", 'Cannot access file "/root/*"'),
    ("SELECT * FROM glob('{out}/*')", "Cannot access file"),
    ("SELECT * FROM read_json('{out}/study.json')", "Cannot access file"),
    ("SELECT * FROM sniff_csv('{tmp}/secret.txt')", "Cannot access file"),
    ("SELECT * FROM read_parquet('https://example.com/x.parquet')", "query: "),
]


@pytest.mark.parametrize(("sql", "match"), HOSTILE, ids=[q for q, _ in HOSTILE])
def test_no_query_writes_or_reads_outside_the_study(
    study: tuple[Path, Path], tmp_path: Path, sql: str, match: str
) -> None:
    from tests.test_bad_input import cli

    _, out = study
    (tmp_path / "secret.txt").write_text("secret")
    before, around = snapshot(out), sorted(os.listdir(tmp_path))
    code, stdout, err = cli(
        ["query", str(out), sql.format(out=out, tmp=tmp_path), "--csv"], tmp_path
    )
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: query: "), err
    assert match in lines[0] and "secret" not in stdout
    assert snapshot(out) == before  # byte-identical
    assert sorted(os.listdir(tmp_path)) == around  # nothing written beside it either


def test_queries_read_the_study_and_load_published_only_when_named(  # type: ignore[no-untyped-def]
    study: tuple[Path, Path], monkeypatch
) -> None:
    from errata import study as study_module

    _, out = study
    before = snapshot(out)

    def refuse():  # type: ignore[no-untyped-def]
        raise AssertionError("the published population was loaded")

    monkeypatch.setattr(study_module, "_published", refuse)
    sql = "SELECT count(*) AS n FROM models WHERE model <> 'published' -- published"
    assert int(query(out, sql)["n"][0]) == 3
    assert len(query(out, "SELECT * FROM read_parquet('" + str(out / "models.parquet") + "')")) == 3
    assert int(query(out, "SELECT count(DISTINCT model) AS n FROM errors")["n"][0]) == 3
    import pandas as pd

    monkeypatch.setattr(study_module, "_published", lambda: pd.DataFrame({"model": ["p"]}))
    got = query(out, "WITH x AS (SELECT * FROM Published) SELECT count(*) AS n FROM x")
    assert int(got["n"][0]) == 1
    assert snapshot(out) == before


def test_a_query_on_a_damaged_manifest_points_to_rebuild(study: tuple[Path, Path]) -> None:
    _, out = study
    (out / "study.json").write_text('{"format": 3, "models": 7}')
    with pytest.raises(ErrataInputError) as info:
        query(out, "SELECT count(*) FROM errors")
    assert str(info.value) == (
        f"{out}/study.json: 'models' is a whole number, expected a list; the manifest was "
        f"edited or damaged: rebuild it with errata.compare(..., out='{out}', rebuild=True)"
    )


def test_the_command_line_names_the_flag_where_python_names_the_keyword(
    study: tuple[Path, Path],
) -> None:
    """Issue 23 item 3: the same damaged study, queried on the command line and in Python."""
    import subprocess
    import sys

    _, out = study
    (out / "study.json").write_text('{"format": 3, "models": 7}')
    res = subprocess.run(
        [sys.executable, "-m", "errata", "query", str(out), "SELECT 1"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    fix = f"rebuild it with `errata compare ... --out {out} --rebuild`"
    assert res.stderr.strip().endswith(fix)
    with pytest.raises(ErrataInputError, match=r"rebuild=True\)$"):
        query(out, "SELECT 1")
