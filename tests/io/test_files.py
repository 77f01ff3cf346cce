"""Atomic output: single files, and output folders replaced as one unit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from errata.exceptions import ErrataInputError
from errata.io import files


def test_atomic_folder_replaces_managed_files_and_keeps_the_users(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with files.atomic_folder(out, managed=("a.json", "b.json")) as tmp:
        (tmp / "a.json").write_text("1")
        (tmp / "b.json").write_text("1")
    (out / "notes.txt").write_text("mine")
    (out / "figures").mkdir()
    (out / "figures" / "f.svg").write_text("<svg/>")
    with files.atomic_folder(out, managed=("a.json", "b.json")) as tmp:
        (tmp / "a.json").write_text("2")  # b.json is not written this time: it must go
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "figures", "notes.txt"]
    assert (out / "a.json").read_text() == "2" and (out / "notes.txt").read_text() == "mine"
    assert (out / "figures" / "f.svg").read_text() == "<svg/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failure_inside_leaves_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with files.atomic_folder(out, managed=("a",)) as tmp:
        (tmp / "a").write_text("old")
    with pytest.raises(RuntimeError), files.atomic_folder(out, managed=("a",)) as tmp:
        (tmp / "a").write_text("new")
        raise RuntimeError("crash")
    assert (out / "a").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_recovery_after_a_crash_between_the_two_renames(tmp_path: Path) -> None:
    """A run killed after moving the old folder aside and before moving the new one in: the
    next run puts the old one back and removes the dead run's work folder."""
    out = tmp_path / "out"
    dead = 2**22 + 12345  # no such process
    old = tmp_path / f".out.old-{dead}-abcd1234"
    work = tmp_path / f".out.tmp-{dead}-abcd1234"
    old.mkdir()
    (old / "a").write_text("old")
    work.mkdir()
    (work / "a").write_text("half")
    files.recover_folder(out)
    assert (out / "a").read_text() == "old" and not work.exists() and not old.exists()


def test_out_that_cannot_be_a_folder_is_one_line(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_text("x")
    with pytest.raises(ErrataInputError, match="is a file; give a folder"):
        with files.atomic_folder(tmp_path / "f", managed=()):
            pass
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ErrataInputError, match="is the current folder or one of its parents"):
        with files.atomic_folder(Path("."), managed=()):
            pass
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(ErrataInputError, match="not writable"):
            with files.atomic_folder(ro / "out", managed=()):
                pass


def test_read_json_failures_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "latin.json").write_bytes(b'{"a": "\xe9"}')
    for name, match in (
        ("missing.json", "file not found"),
        ("bad.json", "not valid JSON"),
        ("latin.json", "not UTF-8"),
        (".", "is a folder"),
    ):
        with pytest.raises(ErrataInputError, match=match):
            files.read_json(tmp_path / name, what="a label file")


def test_the_taxonomy_cache_equals_the_taxonomy_and_survives_a_bad_file(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from errata import taxonomy
    from errata.io.evidence import load_taxonomy

    monkeypatch.setenv("ERRATA_CACHE_DIR", str(tmp_path))
    direct = taxonomy.load()
    first = load_taxonomy()  # builds and writes
    (cached,) = tmp_path.iterdir()
    second = load_taxonomy()  # reads
    for t in (first, second):
        assert (t.lca_height == direct.lca_height).all()
        assert (t.superclass_members == direct.superclass_members).all()
        assert t.superclass_names.tolist() == list(direct.superclass_names)
        assert {k: v.tolist() for k, v in t.groups.items()} == {
            k: np.asarray(v).tolist() for k, v in direct.groups.items()
        }
    cached.write_bytes(b"not an npz")
    assert (load_taxonomy().overlap == direct.overlap).all()  # rebuilt, not a crash


def test_a_cache_that_cannot_be_written_is_not_used(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    (tmp_path / "afile").write_text("a file, not a folder")
    monkeypatch.setenv("ERRATA_CACHE_DIR", str(tmp_path / "afile" / "cache"))
    built = files.cached_arrays("x", b"key", lambda: {"a": np.arange(3)})
    assert built["a"].tolist() == [0, 1, 2]  # built and returned, not an error


def test_the_cache_key_covers_the_version_and_the_deriving_code(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Same key, other errata version or other code in the module that derives the arrays: a
    new entry is built, never a stale one read."""
    import types

    import numpy as np

    import errata

    monkeypatch.setenv("ERRATA_CACHE_DIR", str(tmp_path))
    calls: list[int] = []

    def build() -> dict:
        calls.append(1)
        return {"a": np.arange(len(calls))}

    assert files.cached_arrays("x", b"key", build)["a"].tolist() == [0]
    assert files.cached_arrays("x", b"key", build)["a"].tolist() == [0] and len(calls) == 1
    monkeypatch.setattr(errata, "__version__", errata.__version__ + ".dev-other")
    assert files.cached_arrays("x", b"key", build)["a"].tolist() == [0, 1]  # rebuilt
    monkeypatch.undo()
    monkeypatch.setenv("ERRATA_CACHE_DIR", str(tmp_path))
    other = types.ModuleType("other_deriver")  # a deriving module whose code differs
    monkeypatch.setattr("inspect.getmodule", lambda obj: other)
    monkeypatch.setattr("inspect.getsource", lambda obj: "def build(): return 'other code'")
    assert files.cached_arrays("x", b"key", build)["a"].tolist() == [0, 1, 2]  # rebuilt
    assert len(list(tmp_path.glob("x-*.npz"))) == 3


def test_a_killed_writers_temporary_file_is_cleaned_up(tmp_path: Path) -> None:
    dead = 2**22 + 4321
    stale = tmp_path / f".report.html.{dead}-abc123.tmp"
    stale.write_text("half a report")
    other = tmp_path / ".other.html.12-x.tmp"
    other.write_text("not ours")
    files.write_text(tmp_path / "report.html", "<html></html>")
    assert not stale.exists() and other.exists()
    assert (tmp_path / "report.html").read_text() == "<html></html>"
