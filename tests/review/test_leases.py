"""Fair distribution: an item is leased to one annotator at a time, gets exactly its target
number of reviews, and nobody sees it twice, with 50 annotators asking at once (SQLite and
PostgreSQL); skip, back and "item k of n"; the migration of an older project's database."""

from __future__ import annotations

import re
import threading
import time

import pytest
from review_helpers import csrf_of, fresh_database, make_project

N_ANNOTATORS = 50
TARGET = 3
N_ITEMS = 40  # the classify queue holds every image of the synthetic project


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def crowd_project(request, tmp_path):
    """The synthetic project with a 40-item classify queue and 50 annotators on it."""
    from sqlalchemy import insert

    from errata.review.models import Annotator, Assignment

    db_url = None
    if request.param == "postgres":
        db_url = fresh_database(request.getfixturevalue("postgres_server"))
    proj, _ = make_project(
        tmp_path, db_url=db_url, reviews_per_item=TARGET, classify_images=N_ITEMS
    )
    ids = list(range(101, 101 + N_ANNOTATORS))
    with proj.engine.begin() as conn:  # no argon2 here: these accounts never log in
        conn.execute(
            insert(Annotator), [{"id": i, "name": f"crowd{i}", "password_hash": "-"} for i in ids]
        )
        conn.execute(insert(Assignment), [{"annotator_id": i, "queue": "classify"} for i in ids])
    yield proj, ids
    proj.engine.dispose()


def test_fifty_annotators_at_once_never_exceed_the_target(crowd_project):
    from sqlalchemy import func, select

    from errata.review import storage
    from errata.review.models import CORRECT, Item, Review

    proj, ids = crowd_project
    start = threading.Barrier(len(ids))
    first: dict[int, int | None] = {}
    seen: dict[int, list[int]] = {i: [] for i in ids}
    errors: list[BaseException] = []

    def work(aid: int) -> None:
        try:
            start.wait(timeout=60)
            item = storage.next_item(proj, aid, "classify")  # all 50 ask at the same moment
            first[aid] = item
            start.wait(timeout=60)  # nobody answers before everyone got their first item
            idle_since = None
            while True:
                if item is None:
                    if storage.leased_to_others(proj, aid, "classify") == 0:
                        return
                    idle_since = idle_since or time.monotonic()
                    assert time.monotonic() - idle_since < 60, "waited a minute for a lease"
                    time.sleep(0.01)
                else:
                    idle_since = None
                    seen[aid].append(item)
                    storage.save_review(proj, item, aid, {aid % 1000: CORRECT})
                item = storage.next_item(proj, aid, "classify")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    given = [i for i in first.values() if i is not None]
    # the first wave: 40 items for 50 people, one annotator each, the other 10 wait
    assert len(given) == N_ITEMS and len(set(given)) == N_ITEMS
    for aid, items in seen.items():
        assert len(items) == len(set(items)), f"annotator {aid} saw an item twice"
    with proj.session() as s:
        counts = s.execute(select(Item.n_reviews).where(Item.queue == "classify")).scalars().all()
        reviews = s.scalar(select(func.count()).select_from(Review))
        per_item = s.execute(select(Review.item_id, func.count()).group_by(Review.item_id)).all()
    assert sorted(set(counts)) == [TARGET]  # every item exactly its target, none above
    assert reviews == N_ITEMS * TARGET == sum(len(v) for v in seen.values())
    assert max(n for _, n in per_item) == TARGET


def test_a_lapsed_lease_cannot_push_an_item_past_its_target(project):
    """The lease of ann1 lapses, ann2 takes the item and answers it last: ann1's late answer is
    refused with a message, the item keeps its target."""
    from errata.review import storage
    from errata.review.models import CORRECT

    proj, _ = project
    storage.set_meta(proj, "reviews_per_item", "1")
    storage.set_meta(proj, "lease_seconds", "0")  # every lease lapses at once
    item = storage.next_item(proj, 2, "classify")
    assert storage.next_item(proj, 3, "classify") == item  # ann1's lease lapsed: ann2 gets it
    storage.save_review(proj, item, 3, {5: CORRECT})
    with pytest.raises(storage.Refused, match="already has its 1 reviews"):
        storage.save_review(proj, item, 2, {7: CORRECT})
    assert storage.progress(proj)["queues"]["classify"]["reviews"] == 1


def test_a_live_lease_keeps_the_item_for_its_holder(project):
    from errata.review import storage
    from errata.review.models import CORRECT

    proj, _ = project
    storage.set_meta(proj, "reviews_per_item", "1")
    item = storage.next_item(proj, 2, "classify")
    assert storage.next_item(proj, 2, "classify") == item  # asking again: the same item
    other = storage.next_item(proj, 3, "classify")
    assert other not in (None, item)
    # ann2 answers the item ann1 holds, bypassing the queue: refused, ann1's slot is kept
    with pytest.raises(storage.Refused):
        storage.save_review(proj, item, 3, {5: CORRECT})
    assert storage.renew_lease(proj, item, 2) and not storage.renew_lease(proj, item, 3)
    storage.save_review(proj, item, 2, {5: CORRECT})


def _item_id(page) -> int:  # type: ignore[no-untyped-def]
    return int(re.search(r'action="/item/(\d+)"', page.text).group(1))


def test_skip_back_and_position(project, client_for):
    from errata.review import storage

    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/classify", follow_redirects=True)
    first = _item_id(page)
    assert "Item 1 of 10" in page.text and 'id="previous"' not in page.text
    assert c.get("/queue/classify", follow_redirects=True).url.path == f"/item/{first}"
    # skip: the lease goes back and the next item is another one
    r = c.post(f"/item/{first}/skip", data={"csrf_token": csrf_of(page.text)})
    second = _item_id(r)
    assert second != first and "Item 1 of 10" in r.text  # a skipped item stays open to you
    assert storage.next_item(proj, 3, "classify") == first  # ann2 may take the skipped item
    c.post(f"/item/{second}", data={"csrf_token": csrf_of(r.text), "class_index": "281"})
    third = c.get("/queue/classify", follow_redirects=True)
    assert "Item 2 of 9" in third.text  # ann2 holds the skipped item now: one fewer open to you
    # back: the previous item with its answer, which can be edited
    m = re.search(r'id="previous" href="/item/(\d+)"', third.text)
    assert m and int(m.group(1)) == second
    back = c.get(f"/item/{second}")
    assert "Item 1 of 9" in back.text and "281: tabby (n02123045)" in back.text
    r = c.post(
        f"/item/{second}",
        data={"csrf_token": csrf_of(back.text), "class_index": "282"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/queue/classify"
    assert storage.item_view(proj, second, 2)["answers"] == {282: 2}
    assert storage.progress(proj)["queues"]["classify"]["reviews"] == 1  # edited, not added
    # the skipped item comes back only when asked for
    storage.release_lease(proj, first, 3)
    for _ in range(8):
        p = c.get("/queue/classify", follow_redirects=True)
        if "Nothing left" in p.text or "skipped" in p.text:
            break
        c.post(f"/item/{_item_id(p)}", data={"csrf_token": csrf_of(p.text), "class_index": "1"})
    done = c.get("/queue/classify", follow_redirects=True)
    assert "apart from the 1 item you skipped" in done.text
    r = c.post("/queue/classify/unskip", data={"csrf_token": csrf_of(done.text)})
    assert _item_id(r) == first


def test_heartbeat_renews_the_lease(project, client_for):
    from errata.review import storage

    proj, _ = project
    c1, c2 = client_for("ann1"), client_for("ann2")
    page = c1.get("/queue/classify", follow_redirects=True)
    item = _item_id(page)
    assert f'data-lease="/item/{item}/lease"' in page.text
    token = csrf_of(page.text)
    assert c1.post(f"/item/{item}/lease", data={"csrf_token": token}).status_code == 204
    # ann2 cannot open ann1's leased item: sent to another one
    other = c2.get(f"/item/{item}", follow_redirects=True)
    assert _item_id(other) != item
    p2 = c2.get(f"/item/{_item_id(other)}")
    assert c2.post(f"/item/{item}/lease", data={"csrf_token": csrf_of(p2.text)}).status_code == 409
    assert c1.post(f"/item/{item}/lease", data={}).status_code == 403  # CSRF still checked
    assert c1.post("/item/9999/lease", data={"csrf_token": token}).status_code == 404
    assert storage.renew_lease(proj, item, 2)


def test_an_older_database_is_migrated_in_place(tmp_path):
    """A project made before leases existed (no lease columns, no skips table) opens, gets the
    columns, and keeps its data."""
    import sqlalchemy as sa

    from errata.review import storage

    proj, _ = make_project(tmp_path)
    proj.engine.dispose()
    db = tmp_path / "project" / storage.SQLITE_FILE
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_items_lease_annotator")  # older: no such index
        conn.exec_driver_sql("ALTER TABLE items DROP COLUMN lease_annotator")
        conn.exec_driver_sql("ALTER TABLE items DROP COLUMN lease_expires")
        conn.exec_driver_sql("DROP TABLE skips")
    eng.dispose()
    again = storage.open_project(tmp_path / "project")
    cols = {c["name"] for c in sa.inspect(again.engine).get_columns("items")}
    assert {"lease_annotator", "lease_expires"} <= cols
    assert "skips" in sa.inspect(again.engine).get_table_names()
    indexes = {i["name"] for i in sa.inspect(again.engine).get_indexes("items")}
    assert "ix_items_lease_annotator" in indexes  # the index is created with the column
    assert storage.migrate(again.engine) == []  # nothing left to add
    assert storage.next_item(again, 2, "novel") is not None
    again.engine.dispose()
