"""Security: sessions, CSRF, path traversal, password hashing, isolation, escaping."""

from __future__ import annotations

import re

import pytest
from review_helpers import PASSWORD, csrf_of, login

PAGES = [
    "/",
    "/queue/novel",
    "/queue/audit",
    "/queue/classify",
    "/item/1",
    "/admin",
    "/image/ILSVRC2012_val_00000001.JPEG",
]
POSTS = ["/item/1", "/admin/annotators", "/admin/assign/2", "/logout"]


def test_every_page_but_login_needs_a_session(client_for):
    anon = client_for(None)
    assert anon.get("/login").status_code == 200
    for url in PAGES:
        r = anon.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", url
    token = csrf_of(anon.get("/login").text)  # even with a valid CSRF token
    for url in POSTS:
        r = anon.post(url, data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code in (401, 403), url


def test_forms_carry_csrf_tokens_and_posts_without_them_fail(project, client_for):
    c = client_for("admin")
    for url in ["/", "/admin", "/item/1", "/login"]:
        html = c.get(url, follow_redirects=True).text
        forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", html, flags=re.S)
        assert forms, url
        for f in forms:
            assert 'name="csrf_token"' in f, (url, f[:80])
    r = c.post("/item/1", data={"a_500": "correct"}, follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/item/1", data={"a_500": "correct", "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/admin/annotators", data={"name": "evil", "password": "evilevil1"})
    assert r.status_code == 403
    from errata.review import storage

    assert storage.item_view(project[0], 1, 1)["answers"] == {}
    assert storage.annotator_by_name(project[0], "evil") is None
    # log-in itself needs the token (login CSRF)
    anon = client_for(None)
    anon.get("/login")
    r = anon.post("/login", data={"name": "ann1", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "..",
        "images/../secret.txt",
        "..%5Csecret.txt",
        "secret.txt",
        "ILSVRC2012_val_00000001.JPEG%00",
    ],
)
def test_image_paths_outside_the_project_are_refused(client_for, path):
    c = client_for("ann1")
    r = c.get("/image/" + path, follow_redirects=False)
    if r.url.path.startswith("/image/"):
        assert r.status_code in (400, 404), path
    else:  # the client itself normalised the dots away: whatever answered, it is no file
        assert "image" not in r.headers.get("content-type", "")
    assert b"root:" not in r.content and b"top secret" not in r.content


def test_passwords_are_hashed_with_argon2(project):
    from sqlalchemy import select

    from errata.review.models import Annotator

    with project[0].session() as s:
        hashes = s.scalars(select(Annotator.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)
    assert len(set(hashes)) == len(hashes)  # salted


def test_wrong_password_is_refused(client_for):
    anon = client_for(None)
    assert login(anon, "ann1", "wrong password").status_code == 401
    assert login(anon, "nobody", PASSWORD).status_code == 401
    assert anon.get("/", follow_redirects=False).status_code == 303


def test_annotators_cannot_read_or_change_each_others_answers(project, client_for):
    from errata.review import storage

    proj, _ = project
    a, b = client_for("ann1"), client_for("ann2")
    page = a.get("/item/1").text
    cands = [int(c) for c in re.findall(r'data-class="(\d+)"', page)]
    a.post(
        "/item/1",
        data={
            "csrf_token": csrf_of(page),
            "note": "ann1 private note",
            **{f"a_{c}": "wrong" for c in cands},
        },
    )
    # ann2 sees the same item with nothing filled in and without ann1's note
    page_b = b.get("/item/1").text
    assert "checked" not in re.search(r'<table class="candidates">.*?</table>', page_b, re.S).group(
        0
    )
    assert "ann1 private note" not in page_b
    # ann2's answers (even with a smuggled annotator id) are written as ann2's own
    b.post(
        "/item/1",
        data={
            "csrf_token": csrf_of(page_b),
            "annotator_id": "2",
            **{f"a_{c}": "correct" for c in cands},
        },
    )
    assert set(storage.item_view(proj, 1, 2)["answers"].values()) == {0}  # ann1: all wrong
    assert set(storage.item_view(proj, 1, 3)["answers"].values()) == {2}  # ann2: all correct
    # ann2 is not an admin: no admin page, no re-assigning ann1
    assert b.get("/admin").status_code == 403
    r = b.post("/admin/assign/2", data={"csrf_token": csrf_of(page_b)})
    assert r.status_code == 403
    assert storage.annotators(proj)[1]["queues"] == ["novel", "audit", "classify"]


def test_rendered_data_is_escaped(project, client_for):
    from errata.review import storage

    proj, _ = project
    evil = '<script>alert("x")</script>'
    storage.add_annotator(proj, evil, "longenough1")
    admin = client_for("admin")
    html = admin.get("/admin").text
    assert evil not in html and "&lt;script&gt;" in html
    c = client_for("ann1")
    page = c.get("/item/1").text
    cands = re.findall(r'data-class="(\d+)"', page)
    c.post(
        "/item/1",
        data={
            "csrf_token": csrf_of(page),
            "note": evil + '"><img src=x>',
            **{f"a_{k}": "correct" for k in cands},
        },
    )
    html = c.get("/item/1").text
    assert evil not in html and '"><img src=x>' not in html
    assert "&lt;script&gt;" in html
    # security headers forbid inline script
    assert "script-src 'self'" in c.get("/").headers["content-security-policy"]


def test_image_resolution_stays_inside_the_image_directory(tmp_path):
    """The same checks below the HTTP layer, where no client normalises the path."""
    from errata.review.security import resolve_image, safe_image_name

    root = tmp_path / "images"
    (root / "n01440764").mkdir(parents=True)
    (root / "n01440764" / "a.JPEG").write_bytes(b"x")
    (tmp_path / "outside.JPEG").write_bytes(b"secret")
    (root / "link.JPEG").symlink_to(tmp_path / "outside.JPEG")
    for bad in [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        ".",
        "a/../../outside.JPEG",
        "..\\outside.JPEG",
        "~root",
        "a.JPEG\x00",
        "",
    ]:
        assert not safe_image_name(bad), bad
        assert resolve_image(root, bad) is None, bad
    assert (
        resolve_image(root, "a.JPEG", wnid="n01440764") == (root / "n01440764" / "a.JPEG").resolve()
    )
    assert resolve_image(root, "a.JPEG", wnid="../n01440764") is None
    assert resolve_image(root, "link.JPEG") is None  # symlink out of the directory
    assert resolve_image(None, "a.JPEG") is None
