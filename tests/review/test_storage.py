"""Storage on both backends (SQLite and a real PostgreSQL server started by the test session):
queues, answers, progress, concurrent writers and the export path."""

from __future__ import annotations

import threading

import pytest

from errata.review.models import CORRECT, UNCLEAR, WRONG


def test_project_roundtrip(backend_project):
    from errata.review import storage

    proj, inputs = backend_project
    assert proj.db_url.startswith(("sqlite", "postgresql"))
    prog = storage.progress(proj)
    assert prog["queues"]["novel"]["items"] == 11  # 10 planted novel images + 1 golden
    assert prog["queues"]["classify"]["items"] == 10
    item = storage.next_item(proj, 2, "novel")
    view = storage.item_view(proj, item, 2)
    assert view["candidates"][0] >= 500
    answers = {c: CORRECT for c in view["candidates"]}
    storage.save_review(proj, item, 2, answers, problematic=True, note="ünïcode ✓")
    # re-saving replaces, never duplicates
    storage.save_review(proj, item, 2, {view["candidates"][0]: UNCLEAR}, note="changed")
    again = storage.item_view(proj, item, 2)
    assert again["answers"] == {view["candidates"][0]: UNCLEAR}
    assert again["note"] == "changed" and not again["problematic"]
    assert storage.progress(proj)["queues"]["novel"]["reviews"] == 1
    assert storage.next_item(proj, 2, "novel") != item
    from errata.exceptions import ErrataInputError

    with pytest.raises(ErrataInputError, match="not a candidate"):
        storage.save_review(proj, item, 2, {999: CORRECT})
    with pytest.raises(ErrataInputError, match="already exists"):
        storage.add_annotator(proj, "ann1", "longenough1")


def test_concurrent_annotators_lose_nothing(backend_project):
    """Four annotators write at once; every review and answer is stored exactly once."""
    from errata.review import storage

    proj, _ = backend_project
    errors: list[BaseException] = []
    done: dict[int, list[int]] = {}

    def work(aid: int) -> None:
        try:
            done[aid] = []
            while True:
                item = storage.next_item(proj, aid, "audit")
                if item is None:
                    return
                view = storage.item_view(proj, item, aid)
                storage.save_review(proj, item, aid, {c: WRONG for c in view["candidates"]})
                done[aid].append(item)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    from sqlalchemy import func, select

    from errata.review.models import Answer, Review

    total = sum(len(v) for v in done.values())
    assert total > 20
    with proj.session() as s:
        assert s.scalar(select(func.count()).select_from(Review)) == total
        assert (
            s.scalar(
                select(
                    func.count(func.distinct(Answer.item_id * 10 + Answer.annotator_id))
                ).select_from(Answer)
            )
            == total
        )


def test_export_from_either_backend(backend_project, tmp_path):
    import json

    from errata.review import storage
    from errata.review.export import export_labels

    proj, _ = backend_project
    item = storage.next_item(proj, 2, "novel")
    view = storage.item_view(proj, item, 2)
    for aid in (2, 3, 4):
        storage.save_review(proj, item, aid, {view["candidates"][0]: CORRECT}, problematic=aid > 2)
    counts = export_labels(proj, tmp_path / "out.json", method="dawid-skene")
    assert counts["problematic"] == 1 and counts["questions"] == 1
    doc = json.loads((tmp_path / "out.json").read_text())
    assert view["file_name"] in doc["problematic_images"]
