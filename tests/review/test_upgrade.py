"""Data upgrades of projects made by older versions (errata.review.upgrade), on SQLite and
PostgreSQL: novel items made before the original label was among their candidates get it."""

from __future__ import annotations

from errata.review.models import CORRECT


def _novel(proj):  # type: ignore[no-untyped-def]
    """Item id -> (candidates as text, the image's original label) of every novel item."""
    from sqlalchemy import select

    from errata.review.models import Image, Item

    with proj.session() as s:
        rows = s.execute(
            select(Item.id, Item.candidates, Image.original)
            .join(Image, Image.id == Item.image_id)
            .where(Item.queue == "novel")
        ).all()
    return {i: (c, int(o)) for i, c, o in rows}


def test_old_novel_items_get_the_original_label_on_open(backend_project):
    from sqlalchemy import delete, update

    from errata.review import storage, upgrade
    from errata.review.models import Item, Meta

    proj, _ = backend_project
    novel = _novel(proj)
    # every novel item of a new project has it: the upgrade found nothing to do
    assert all(str(o) in c.split() for c, o in novel.values() if o >= 0)
    assert storage.get_meta(proj, upgrade.NOVEL_ORIGINALS_DONE) == "0"
    # as a project made before: the original label left out of the candidates
    old = {
        i: " ".join(t for t in c.split() if t != str(o)) for i, (c, o) in novel.items() if o >= 0
    }
    assert len(old) >= 10
    with proj.session() as s:
        for i, c in old.items():
            s.execute(update(Item).where(Item.id == i).values(candidates=c))
        s.execute(delete(Meta).where(Meta.key == upgrade.NOVEL_ORIGINALS_DONE))
        s.commit()
    reviewed = next(iter(old))
    view = storage.item_view(proj, reviewed, 2)
    assert novel[reviewed][1] not in view["candidates"]
    answers = {c: CORRECT for c in view["candidates"]}
    storage.save_review(proj, reviewed, 2, answers, note="before the upgrade")
    proj.dispose()

    again = storage.open_project(proj.path, db_url=proj.db_url)
    try:
        now = _novel(again)
        for i, (c, o) in now.items():
            if i in old:  # appended after the candidates it had, their order kept
                assert c.split() == old[i].split() + [str(o)], (i, c)
            else:
                assert c == novel[i][0]
        assert storage.get_meta(again, upgrade.NOVEL_ORIGINALS_DONE) == str(len(old))
        view = storage.item_view(again, reviewed, 2)  # the review made before is kept
        assert view["done"] and view["answers"] == answers and view["note"] == "before the upgrade"
        assert view["candidates"][-1] == novel[reviewed][1]
        assert upgrade.novel_originals(again.engine) == 0  # once only
    finally:
        again.dispose()
    third = storage.open_project(proj.path, db_url=proj.db_url)
    try:
        assert _novel(third) == now
    finally:
        third.dispose()
