"""One database connection for the reads of a request, few statements per page, and the one
retry of a request whose connection died (errata.review.storage.scope)."""

import re
import threading

import pytest
from review_helpers import csrf_of

from errata.review.storage.scope import request_scope, run_with_retry


class Counts:
    """Statements and pool check-outs of every engine in the process, while installed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements = self.checkouts = 0

    def __enter__(self) -> "Counts":
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool

        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Pool, "checkout", self._checkout)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool

        event.remove(Engine, "before_cursor_execute", self._statement)
        event.remove(Pool, "checkout", self._checkout)

    def _statement(self, *_a: object) -> None:
        with self.lock:
            self.statements += 1

    def _checkout(self, *_a: object) -> None:
        with self.lock:
            self.checkouts += 1

    def take(self) -> tuple[int, int]:
        with self.lock:
            out = (self.statements, self.checkouts)
            self.statements = self.checkouts = 0
        return out


def test_a_page_reads_through_one_connection(backend_project, backend_client_for):
    """The item page (session, item, lease, position), its image and the answer each check out
    one pooled connection for their reads (on main: 3-5 check-outs, 7-9 statements)."""
    c = backend_client_for("ann1")
    with Counts() as n:
        r = c.get("/queue/audit", follow_redirects=False)
        assert r.status_code == 303
        n.take()
        page = c.get(r.headers["location"])
        item_page = n.take()
        item_id = int(re.search(r'action="/item/(\d+)"', page.text).group(1))
        c.get(f"/item/{item_id}/image")
        image = n.take()
        cands = re.findall(r'data-class="(\d+)"', page.text)
        answers = {f"a_{k}": "correct" for k in cands}
        r = c.post(
            f"/item/{item_id}",
            data={"csrf_token": csrf_of(page.text), **answers},
            follow_redirects=False,
        )
        assert r.status_code == 303
        answer = n.take()
    assert item_page == (2, 1)  # item, own review and lease; k of n; session cached
    assert image == (1, 1)
    assert answer[1] == 2  # the reads, and the answer's own transaction


def test_item_k_of_n_is_one_query(project, client_for):
    from errata.review import storage

    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/classify", follow_redirects=True)
    first = int(re.search(r'action="/item/(\d+)"', page.text).group(1))
    with Counts() as n:
        pos = storage.queue_position(proj, first, 2)
        assert n.take() == (1, 1)
    assert pos == {"k": 1, "n": 10, "previous": None, "next": None}
    assert storage.queue_position(proj, 10**6, 2) == {
        "k": 0,
        "n": 0,
        "previous": None,
        "next": None,
    }


def _lost_connection() -> Exception:
    from sqlalchemy.exc import DBAPIError

    return DBAPIError(
        "SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True
    )


def test_a_request_is_run_again_once_after_a_lost_connection():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise _lost_connection()
        return "ok"

    assert run_with_retry(flaky) == "ok" and len(calls) == 2


def test_a_request_that_committed_is_not_run_again():
    from sqlalchemy.exc import DBAPIError

    from errata.review.storage.scope import note_commit

    calls = []

    def wrote_then_lost() -> None:
        calls.append(1)
        note_commit()
        raise _lost_connection()

    with pytest.raises(DBAPIError):
        run_with_retry(wrote_then_lost)
    assert len(calls) == 1

    def always_lost() -> None:
        calls.append(1)
        raise _lost_connection()

    with pytest.raises(DBAPIError):  # once more, not forever
        run_with_retry(always_lost)
    assert len(calls) == 3


def test_nested_scopes_share_the_outer_one():
    with request_scope() as outer, request_scope() as inner:
        assert inner is outer


@pytest.mark.postgres
def test_pages_survive_a_database_that_dropped_every_connection(postgres_server, tmp_path):
    """PostgreSQL closes every connection of the app (as at a server restart); the next pages
    work, on fresh connections, with no ping at each check-out."""
    import sqlalchemy as sa
    from fastapi.testclient import TestClient
    from review_helpers import fresh_database, login, make_project

    from errata.review.app import create_app

    url = fresh_database(postgres_server)
    proj, _ = make_project(tmp_path, db_url=url)
    assert not getattr(proj.engine.pool, "_pre_ping", True)
    c = TestClient(create_app(proj), base_url="http://127.0.0.1")
    assert login(c, "ann1").status_code == 303
    assert c.get("/queue/audit", follow_redirects=True).status_code == 200
    admin = sa.create_engine(postgres_server + "/postgres", poolclass=sa.NullPool)
    with admin.connect() as conn:
        ended = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": url.rsplit("/", 1)[1]},
        ).scalar()
    admin.dispose()
    assert ended
    for queue in ("audit", "audit", "classify"):
        page = c.get(f"/queue/{queue}", follow_redirects=True)
        assert page.status_code == 200 and "Item" in page.text
    c.close()
    proj.dispose()
