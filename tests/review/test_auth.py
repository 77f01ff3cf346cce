"""Secrets, sessions and log-in (issue 21 items 2 and 3): the signing key outside the database,
private files, server-side sessions that end, throttling, the hashing pool, Host and proxy
checks, normalised names."""

from __future__ import annotations

import json
import stat
import threading
import time

import pytest
from review_helpers import PASSWORD, csrf_of, login

from errata.exceptions import ErrataInputError


def _mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


def _app(project, **kw):  # type: ignore[no-untyped-def]
    from errata.review.app import create_app

    return create_app(project, **kw)


def _client(app, **kw):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    return TestClient(app, base_url=kw.pop("base_url", "http://127.0.0.1"), **kw)


def _signed_cookie(key: str, data: dict) -> str:
    """A session cookie as Starlette signs it, with ``key``."""
    from base64 import b64encode

    import itsdangerous

    return itsdangerous.TimestampSigner(key).sign(b64encode(json.dumps(data).encode())).decode()


# --- the key and the files ------------------------------------------------------------------


def test_files_and_folder_are_private_and_the_key_is_not_in_the_database(project, client_for):
    from errata.review import storage

    proj, _ = project
    c = client_for("ann1")  # a write: SQLite's -wal and -shm exist now
    c.get("/item/1")
    assert _mode(proj.path) == 0o700
    files = ["project.json", "secret.key", "review.sqlite"]
    files += ["review.sqlite-wal", "review.sqlite-shm"]
    for name in files:
        assert (proj.path / name).exists(), name
        assert _mode(proj.path / name) == 0o600, name
    assert storage.get_meta(proj, "secret_key") is None
    key = (proj.path / "secret.key").read_text().strip()
    assert len(key) >= 48 and key.encode() not in (proj.path / "review.sqlite").read_bytes()


def test_new_project_is_created_private(tmp_path):
    from review_helpers import synthetic_inputs

    from errata.review import init_project

    inputs = synthetic_inputs(tmp_path)
    init_project(
        tmp_path / "p", labels=inputs["labels"], predictions=inputs["models"], classify_images=2
    )
    assert _mode(tmp_path / "p") == 0o700
    for f in (tmp_path / "p").iterdir():
        assert _mode(f) == 0o600, f.name


def test_old_project_key_in_database_is_moved_out_and_rotated(project):
    """A project made before: key in the meta table, files 0644. Opening it moves the key out
    and replaces it, so a cookie forged with the key read from the database opens nothing."""
    from errata.review import storage
    from errata.review.models import Meta

    proj, _ = project
    old_key = "k" * 43
    with proj.session() as s:
        s.merge(Meta(key="secret_key", value=old_key))
        s.commit()
    proj.engine.dispose()
    (proj.path / "secret.key").unlink()
    for f in [proj.path, *proj.path.iterdir()]:
        f.chmod(0o755 if f.is_dir() else 0o644)
    reopened = storage.open_project(proj.path)
    try:
        assert storage.get_meta(reopened, "secret_key") is None
        new_key = (proj.path / "secret.key").read_text().strip()
        assert new_key != old_key and _mode(proj.path / "secret.key") == 0o600
        assert _mode(proj.path) == 0o700 and _mode(proj.path / "review.sqlite") == 0o600
        c = _client(_app(reopened))
        # the old attack: a cookie {"uid": 1} signed with the key read from the database
        c.cookies.set("errata_review", _signed_cookie(old_key, {"uid": 1, "csrf": "x"}))
        assert c.get("/admin", follow_redirects=False).headers["location"] == "/login"
        # even signed with the new key, a cookie without a live server-side session is nothing
        c.cookies.set("errata_review", _signed_cookie(new_key, {"uid": 1, "sid": "guess"}))
        assert c.get("/admin", follow_redirects=False).headers["location"] == "/login"
        assert login(c, "admin").status_code == 303  # the real log-in still works
        assert c.get("/admin").status_code == 200
    finally:
        reopened.engine.dispose()


def test_key_from_the_environment_and_a_readable_key_file_is_refused(project, monkeypatch):
    from errata.review.security import signing_key

    proj, _ = project
    monkeypatch.setenv("ERRATA_REVIEW_SECRET_KEY", "short")
    with pytest.raises(ErrataInputError, match="at least 32"):
        signing_key(proj.path)
    monkeypatch.setenv("ERRATA_REVIEW_SECRET_KEY", "e" * 40)
    assert signing_key(proj.path) == "e" * 40
    monkeypatch.delenv("ERRATA_REVIEW_SECRET_KEY")
    (proj.path / "secret.key").chmod(0o644)
    with pytest.raises(ErrataInputError, match="readable by others.*chmod 600"):
        signing_key(proj.path)


def test_database_password_is_split_off_the_url():
    from errata.review.security import split_db_password

    url, pw = split_db_password("postgresql+psycopg://ann:s%40cret@db.example:5432/review")
    assert pw == "s@cret" and "cret" not in url and url.startswith("postgresql+psycopg://ann@")
    assert split_db_password("sqlite:////tmp/x.sqlite") == ("sqlite:////tmp/x.sqlite", None)
    with pytest.raises(ErrataInputError, match="not a SQLAlchemy URL") as err:
        split_db_password("not a url :// x:pw@")
    assert "pw" not in str(err.value)


@pytest.mark.postgres
def test_postgres_password_is_never_written(tmp_path, postgres_server, monkeypatch):
    """The test server trusts every password, so a password in the URL must be accepted and
    must not reach project.json; an old project.json holding one is rewritten without it."""
    import uuid

    from review_helpers import fresh_database, make_project

    from errata.review import storage

    name = fresh_database(postgres_server).rsplit("/", 1)[1]
    secret = "pw-" + uuid.uuid4().hex
    url = postgres_server.replace("postgres@", f"postgres:{secret}@") + "/" + name
    proj, _ = make_project(tmp_path, db_url=url)
    proj.engine.dispose()
    on_disk = b"".join(f.read_bytes() for f in (tmp_path / "project").iterdir())
    assert secret.encode() not in on_disk
    conf = json.loads((tmp_path / "project" / "project.json").read_text())
    assert conf["db"] == postgres_server + "/" + name
    conf["db"] = url  # as an older version wrote it
    (tmp_path / "project" / "project.json").write_text(json.dumps(conf))
    reopened = storage.open_project(tmp_path / "project")
    assert storage.annotator_by_name(reopened, "ann1") is not None
    reopened.engine.dispose()
    assert secret not in (tmp_path / "project" / "project.json").read_text()


# --- sessions -------------------------------------------------------------------------------


def test_cookie_replayed_after_logout_fails(client_for):
    c = client_for("ann1")
    assert c.get("/", follow_redirects=False).status_code == 200
    stolen = c.cookies.get("errata_review")
    page = c.get("/")
    assert c.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 200
    thief = client_for(None)
    thief.cookies.set("errata_review", stolen)
    assert thief.get("/", follow_redirects=False).headers["location"] == "/login"


def test_password_change_ends_every_other_session(client_for, project):
    from errata.review import storage

    a, b = client_for("ann1"), client_for("ann1")
    page = a.get("/account")
    r = a.post(
        "/account/password",
        data={
            "csrf_token": csrf_of(page.text),
            "password": PASSWORD,
            "new_password": "a new password",
            "confirm_password": "a new password",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert a.get("/", follow_redirects=False).status_code == 200  # this browser: a new session
    assert b.get("/", follow_redirects=False).headers["location"] == "/login"
    assert login(client_for(None), "ann1").status_code == 401
    assert login(client_for(None), "ann1", "a new password").status_code == 303
    # a wrong current password changes nothing
    page = a.get("/account")
    r = a.post(
        "/account/password",
        data={
            "csrf_token": csrf_of(page.text),
            "password": "wrong",
            "new_password": "third password",
            "confirm_password": "third password",
        },
    )
    assert r.status_code == 400 and "current password is wrong" in r.text
    assert storage.annotator_by_name(project[0], "ann1") is not None


def _admin_post(admin, url: str, **data):  # type: ignore[no-untyped-def]
    token = csrf_of(admin.get("/admin").text)
    return admin.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def test_admin_disables_enables_and_resets(client_for, project):
    from errata.review import storage

    proj, _ = project
    uid = storage.annotator_by_name(proj, "ann2").id
    admin, ann = client_for("admin"), client_for("ann2")
    html = admin.get("/admin").text
    assert "active: 1 session" in html  # who is logged in
    assert _admin_post(admin, f"/admin/account/{uid}/disable").status_code == 303
    assert ann.get("/", follow_redirects=False).headers["location"] == "/login"
    r = login(client_for(None), "ann2")
    assert r.status_code == 403 and "disabled" in r.text
    assert "disabled" in admin.get("/admin").text
    assert _admin_post(admin, f"/admin/account/{uid}/enable").status_code == 303
    ann = client_for("ann2")
    r = _admin_post(admin, f"/admin/account/{uid}/password", password="reset by admin")
    assert r.status_code == 303
    assert ann.get("/", follow_redirects=False).headers["location"] == "/login"
    assert login(client_for(None), "ann2").status_code == 401
    assert login(client_for(None), "ann2", "reset by admin").status_code == 303
    # refused: a short password, an unknown id, an unknown action, disabling oneself
    assert _admin_post(admin, f"/admin/account/{uid}/password", password="short").status_code == 400
    assert _admin_post(admin, "/admin/account/9999/disable").status_code == 404
    assert _admin_post(admin, f"/admin/account/{uid}/explode").status_code == 404
    me = storage.annotator_by_name(proj, "admin").id
    assert _admin_post(admin, f"/admin/account/{me}/disable").status_code == 400
    # annotators cannot do any of it
    r = ann.post(f"/admin/account/{me}/disable", data={"csrf_token": "x"})
    assert r.status_code in (303, 401, 403)
    assert not storage.annotator_by_name(proj, "admin").disabled


def test_idle_and_absolute_timeouts(project):
    from errata.review import auth

    proj, _ = project
    t0 = 1_000_000.0
    tok = auth.create_session(proj, 2, "127.0.0.1", now=t0)
    assert auth.session_user(proj, tok, idle=600, absolute=3000, now=t0 + 500) is not None
    # each use within the idle time keeps it alive ...
    for t in (t0 + 1000, t0 + 1500, t0 + 2000, t0 + 2500, t0 + 2900):
        assert auth.session_user(proj, tok, idle=600, absolute=3000, now=t) is not None, t
    # ... but not past the absolute limit, and an ended session stays ended
    assert auth.session_user(proj, tok, idle=600, absolute=3000, now=t0 + 3001) is None
    assert auth.session_user(proj, tok, idle=600, absolute=3000, now=t0 + 2950) is None
    tok = auth.create_session(proj, 2, "127.0.0.1", now=t0)
    assert auth.session_user(proj, tok, idle=600, absolute=3000, now=t0 + 601) is None
    # sessions left behind are deleted when the next one is made
    from sqlalchemy import func, select

    from errata.review.models import AuthSession

    auth.create_session(proj, 2, "127.0.0.1", now=t0)
    auth.create_session(proj, 3, "127.0.0.1", now=t0 + auth.ABSOLUTE_SECONDS + 1)
    with proj.session() as s:
        assert s.scalar(select(func.count()).select_from(AuthSession)) == 1


def test_cached_sessions_end_at_once_in_the_process(project):
    """A session read in the last seconds is not read again (one query less per request), but
    every revocation made in the process, by any Project of the database, holds at once."""
    from sqlalchemy import event

    from errata.review import auth, storage

    proj, _ = project
    reads: list[str] = []
    queue_reads: list[str] = []

    def count(_c, _cur, statement, *_a):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM sessions" in statement:
            reads.append(statement)
        if statement.lstrip().upper().startswith("SELECT") and "FROM assignments" in statement:
            queue_reads.append(statement)

    event.listen(proj.engine, "before_cursor_execute", count)
    uid = storage.annotator_by_name(proj, "ann1").id
    tok = auth.create_session(proj, uid, "127.0.0.1")
    assert auth.session_user(proj, tok) is not None and auth.session_user(proj, tok) is not None
    assert len(reads) == 1  # the second came from the cache
    queues = storage.assigned_queues(proj, uid)
    assert storage.assigned_queues(proj, uid) == queues and len(queue_reads) == 1
    # queues and training mode set by the admin: the cached ones are not used
    assert not auth.session_user(proj, tok).training and queues != ["novel"]
    storage.set_assignments(proj, uid, ["novel"], training=True)
    assert auth.session_user(proj, tok).training
    assert storage.assigned_queues(proj, uid) == ["novel"]
    # log-out, disable, password reset, delete: each at once
    auth.revoke(proj, tok)
    assert auth.session_user(proj, tok) is None
    tok = auth.create_session(proj, uid, "127.0.0.1")
    assert auth.session_user(proj, tok) is not None
    auth.set_disabled(proj, uid, True)
    assert auth.session_user(proj, tok) is None
    auth.set_disabled(proj, uid, False)
    tok = auth.create_session(proj, uid, "127.0.0.1")
    assert auth.session_user(proj, tok) is not None
    other = storage.open_project(proj.path)  # another opening of the database, same process
    try:
        auth.set_password(other, uid, "another password")
    finally:
        other.dispose()
    assert auth.session_user(proj, tok) is None
    new = storage.add_annotator(proj, "newcomer", PASSWORD)
    tok = auth.create_session(proj, new, "127.0.0.1")
    assert auth.session_user(proj, tok) is not None
    auth.delete_annotator(proj, new)
    assert auth.session_user(proj, tok) is None


def test_cached_session_ended_elsewhere_ends_within_the_cache_time(project):
    """A session deleted behind the process's back (another process) is believed at most
    ``seconds`` longer; a look-up that read the database while the cache was emptied does not
    store what it read."""
    from sqlalchemy import delete

    from errata.review import auth
    from errata.review.models import AuthSession
    from errata.review.storage.session_cache import (
        SESSION_CACHE_SECONDS,
        CachedSession,
        SessionCache,
    )

    proj, _ = project
    proj.session_cache.seconds = 0.3
    try:
        tok = auth.create_session(proj, 2, "127.0.0.1")
        assert auth.session_user(proj, tok) is not None
        with proj.session() as s:
            s.execute(delete(AuthSession))
            s.commit()
        assert auth.session_user(proj, tok) is not None  # still believed, for 0.3 s at most
        time.sleep(0.4)
        assert auth.session_user(proj, tok) is None
    finally:
        proj.session_cache.seconds = SESSION_CACHE_SECONDS
    cache = SessionCache()
    entry = CachedSession(None, 0.0, 0.0, time.monotonic())  # type: ignore[arg-type]
    before = cache.generation
    cache.invalidate()  # a revocation while the look-up was reading
    cache.put("k", entry, before)
    assert cache.get("k") is None
    cache.put("k", entry, cache.generation)
    assert cache.get("k") is entry


def test_idle_timeout_through_the_app(project):
    proj, _ = project
    c = _client(_app(proj, idle_seconds=1))
    assert login(c, "ann1").status_code == 303
    assert c.get("/", follow_redirects=False).status_code == 200
    time.sleep(1.3)
    assert c.get("/", follow_redirects=False).headers["location"] == "/login"


# --- throttling and the hashing pool ---------------------------------------------------------


def test_account_throttling_kicks_in_and_the_admin_sees_it(client_for, monkeypatch):
    from errata.review import auth

    # a first lock of a minute (1 s in use: an argon2 check on a busy machine can outlast it)
    monkeypatch.setattr(auth, "LOCK_BASE_SECONDS", 60.0)
    monkeypatch.setattr(auth, "REFUSE_DELAY_SECONDS", 0.0)
    anon = client_for(None)
    for _ in range(5):
        assert login(anon, "ann1", "wrong password").status_code == 401
    r = login(anon, "ann1")  # even the right password: locked for now
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    assert "Too many failed log-ins" in r.text
    other = client_for(None)  # the lock is the account's, not the browser's
    assert login(other, "ann1").status_code == 429
    assert login(other, "ann2").status_code == 303  # other accounts are not locked
    admin = client_for("admin")
    html = admin.get("/admin").text
    assert 'account <span class="name">ann1</span>' in html and "<td>5</td>" in html
    assert _admin_post(admin, "/admin/unlock", key="account:ann1").status_code == 303
    assert login(client_for(None), "ann1").status_code == 303


def test_back_off_grows_exponentially_to_a_15_minute_lock(project):
    from errata.review import auth

    t = auth.Throttle(project[0])
    key = [auth.account_key("ann1")]
    locks = []
    for i in range(20):
        now = 1_000_000.0 + i
        t.failed(key, now=now)
        locks.append(round(t.retry_after(key, now=now)))
    assert locks[:4] == [0, 0, 0, 0]
    assert locks[4:10] == [1, 2, 4, 8, 16, 32]
    assert max(locks) == 900 and locks[-1] == 900
    # kept in the database: a restart keeps the lock
    assert auth.Throttle(project[0]).retry_after(key, now=1_000_019.0) == pytest.approx(900)


def test_address_throttling_across_names(client_for, monkeypatch):
    from errata.review import auth

    monkeypatch.setattr(auth, "LOCK_BASE_SECONDS", 60.0)
    anon = client_for(None)
    for i in range(auth.ADDRESS_FREE):
        assert login(anon, f"nobody{i}", "wrong").status_code == 401
    assert login(anon, "ann2").status_code == 429  # this address is locked, whatever the name


def test_full_hashing_pool_answers_503(project, monkeypatch):
    from errata.review import auth

    proj, _ = project
    gate, entered = threading.Event(), threading.Event()
    real = auth.check_password

    def slow(*args):  # type: ignore[no-untyped-def]
        entered.set()
        gate.wait(10)
        return real(*args)

    monkeypatch.setattr(auth, "check_password", slow)
    app = _app(proj, hash_threads=1, hash_queue=0)
    first, second = _client(app), _client(app)
    token1, token2 = csrf_of(first.get("/login").text), csrf_of(second.get("/login").text)
    result = {}

    def slow_login() -> None:
        data = {"name": "ann1", "password": PASSWORD, "csrf_token": token1}
        result["r"] = first.post("/login", data=data, follow_redirects=False)

    th = threading.Thread(target=slow_login)
    th.start()
    assert entered.wait(10)
    r = second.post("/login", data={"name": "ann2", "password": PASSWORD, "csrf_token": token2})
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    # the annotators' pages do not wait for the hashing pool
    t = time.perf_counter()
    assert second.get("/login").status_code == 200
    assert time.perf_counter() - t < 5
    gate.set()
    th.join(10)
    assert result["r"].status_code == 303


# --- Host, proxy, names ----------------------------------------------------------------------


def test_host_header_must_be_an_allowed_name(project):
    proj, _ = project
    app = _app(proj)
    assert _client(app).get("/login").status_code == 200
    assert _client(app, base_url="http://localhost:8000").get("/login").status_code == 200
    r = _client(app, base_url="http://evil.example").get("/login")
    assert r.status_code == 400 and "content-security-policy" in r.headers
    named = _app(proj, allowed_hosts=["review.example.org"])
    assert _client(named, base_url="https://review.example.org").get("/login").status_code == 200
    assert _client(named).get("/login").status_code == 400


def test_secure_cookie_and_client_address_only_from_the_trusted_proxy(project):
    proj, _ = project
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"}
    # no proxy configured: the headers are ignored (a client cannot fake HTTPS or its address)
    c = _client(_app(proj))
    r = c.get("/login", headers=forwarded)
    assert "secure" not in r.headers["set-cookie"].lower()
    # behind the trusted proxy (TestClient's address is 'testclient'): Secure, real address
    app = _app(proj, trusted_proxy="testclient")
    c = _client(app, headers=forwarded, base_url="https://127.0.0.1")  # sends Secure cookies
    r = c.get("/login")
    assert "; secure" in r.headers["set-cookie"].lower()
    assert "httponly" in r.headers["set-cookie"].lower()
    for _ in range(5):
        assert login(c, "nobody", "wrong").status_code == 401
    admin = _client(_app(proj))
    assert login(admin, "admin").status_code == 303
    assert "203.0.113.7" in admin.get("/admin").text  # the address the proxy reported
    # a proxy that is not the trusted one is not believed
    c = _client(_app(proj, trusted_proxy="10.0.0.1"), headers=forwarded)
    assert "secure" not in c.get("/login").headers["set-cookie"].lower()


def test_look_alike_names_are_refused(project, client_for):
    from errata.review import storage

    proj, _ = project
    storage.add_annotator(proj, "Alice", "longenough1")
    assert storage.annotator_by_name(proj, "alice").name == "alice"
    for look_alike in ["alice", "ALICE", "alice\u200b", "\u200dalice", "ａｌｉｃｅ", " alice\x07"]:
        with pytest.raises(ErrataInputError, match="already exists"):
            storage.add_annotator(proj, look_alike, "longenough1")
    with pytest.raises(ErrataInputError, match="visible characters"):
        storage.add_annotator(proj, "\u200b\u200c", "longenough1")
    assert login(client_for(None), "ALİCE".replace("İ", "I"), "longenough1").status_code == 303
    assert login(client_for(None), "alice\u200b", "longenough1").status_code == 303
    admin = client_for("admin")
    r = _admin_post(admin, "/admin/annotators", name="Alice\u200b", password="longenough1")
    assert r.status_code == 400 and "already exists" in r.text


def test_existing_look_alike_accounts_are_disabled_on_open(project):
    from sqlalchemy import update

    from errata.review import storage
    from errata.review.models import Annotator

    proj, _ = project
    with proj.session() as s:  # as an older version let them in
        s.execute(update(Annotator).where(Annotator.name == "ann2").values(name="ANN1\u200b"))
        s.execute(update(Annotator).where(Annotator.name == "ann3").values(name="Ann3"))
        s.commit()
    proj.engine.dispose()
    reopened = storage.open_project(proj.path)
    try:
        people = {p["name"]: p for p in storage.annotators(reopened)}
        assert "ann3" in people and not people["ann3"]["disabled"]
        assert not people["ann1"]["disabled"]
        clash = [p for n, p in people.items() if n.startswith("ann1#")]
        assert len(clash) == 1 and clash[0]["disabled"]
    finally:
        reopened.engine.dispose()


def test_cli_account_resets_disables_and_enables(project, client_for):
    from typer.testing import CliRunner

    from errata.cli import app as cli
    from errata.review import storage

    proj, _ = project
    ann = client_for("ann1")

    def run(*args, env=None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, ["review", "account", str(proj.path), *args], env=env)

    r = run("ANN1", "password", env={"ERRATA_REVIEW_PASSWORD": "from the cli"})
    assert r.exit_code == 0, r.output
    assert ann.get("/", follow_redirects=False).headers["location"] == "/login"
    assert login(client_for(None), "ann1", "from the cli").status_code == 303
    assert run("ann1", "disable").exit_code == 0
    assert storage.annotator_by_name(proj, "ann1").disabled
    assert run("ann1", "enable").exit_code == 0
    assert not storage.annotator_by_name(proj, "ann1").disabled
    r = run("nobody", "disable")
    assert r.exit_code != 0 and "no such annotator" in str(r.exception or r.output)


def test_admin_deletes_only_accounts_without_reviews_and_exports(client_for, project):
    from errata.review import storage

    proj, _ = project
    storage.add_annotator(proj, "newcomer", "longenough1")
    new_id = storage.annotator_by_name(proj, "newcomer").id
    ann1 = client_for("ann1")
    page = ann1.get("/queue/novel")
    cands = [int(c) for c in __import__("re").findall(r'data-class="(\d+)"', page.text)]
    r = ann1.post(
        str(page.url.path),
        data={"csrf_token": csrf_of(page.text), **{f"a_{c}": "correct" for c in cands}},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    admin = client_for("admin")
    uid1 = storage.annotator_by_name(proj, "ann1").id
    r = _admin_post(admin, f"/admin/account/{uid1}/delete")
    assert r.status_code == 400 and "disable the account instead" in r.text
    assert storage.annotator_by_name(proj, "ann1") is not None
    assert _admin_post(admin, f"/admin/account/{new_id}/delete").status_code == 303
    assert storage.annotator_by_name(proj, "newcomer") is None
    r = admin.get("/admin/export.json?method=majority&scope=reviewed")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc = r.json()
    assert len(doc["initial_annots"]) == 1  # the one reviewed image
    assert admin.get("/admin/export.json?method=nonsense").status_code == 400
    assert ann1.get("/admin/export.json").status_code == 403
