"""End to end in a real browser: log in, annotate five images with the keyboard only, flag one as
problematic, export, and check the exported JSON. Screenshots go to $ERRATA_SCREENSHOTS (or the
test's temporary directory)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from review_helpers import PASSWORD, start_server

# what the annotator types for each candidate row of the five images: c / w / u / d
PLAN = [["c", "c"], ["w", "c"], ["u", "c"], ["c", "w"], ["d", "c"]]
PROBLEMATIC_IMAGE = 2  # the third image is flagged, with a note
ANSWER_OF_KEY = {"c": "correct", "w": "wrong", "u": "unclear", "d": "dont_know"}


@pytest.mark.browser
@pytest.mark.slow
def test_keyboard_only_annotation_and_export(project, chromium_page, tmp_path):
    from _browser import screenshot_dir

    from errata import resources
    from errata.review.export import export_labels

    proj, _ = project
    proj.engine.dispose()
    shots = screenshot_dir(tmp_path / "screenshots")
    proc, url = start_server(proj.path)
    page = chromium_page
    seen: list[tuple[str, list[int]]] = []
    try:
        page.goto(url + "/")  # no session: sent to the log-in page
        assert page.url.endswith("/login")
        _name_field_has_focus(page)
        page.keyboard.type("ann1")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.screenshot(path=str(shots / "01-login.png"))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Your queues" in page.content()
        page.screenshot(path=str(shots / "02-home.png"))
        # key 1 opens the first queue (no mouse, no typed URL)
        with page.expect_navigation():
            page.keyboard.press("1")
        assert "/item/" in page.url, page.url  # /queue/novel redirects to its next item
        for n, keys in enumerate(PLAN):
            page.wait_for_selector("tr.cand.current")
            file_name = page.locator("p.meta").first.inner_text().split("·")[1].strip()
            cands = [
                int(x)
                for x in page.locator("tr.cand").evaluate_all(
                    "rows => rows.map(r => r.dataset.class)"
                )
            ]
            assert len(cands) == len(keys)
            for k in keys:
                page.keyboard.press(k)
            if n == PROBLEMATIC_IMAGE:
                page.keyboard.press("p")
                page.keyboard.press("n")
                page.keyboard.type("two <objects> & a watermark")
                page.keyboard.press("Escape")
            checked = page.locator("input[type=radio]:checked").evaluate_all(
                "xs => xs.map(x => x.value)"
            )
            assert checked == [ANSWER_OF_KEY[k] for k in keys]
            page.screenshot(path=str(shots / f"{n + 3:02d}-image-{n + 1}.png"))
            with page.expect_navigation():
                page.keyboard.press("Enter")
            seen.append((file_name, cands))
        assert len({f for f, _ in seen}) == 5
    finally:
        proc.kill()
        proc.wait(timeout=10)

    out = tmp_path / "labels.json"
    export_labels(proj, out, method="majority")
    doc = json.loads(out.read_text())
    wn = resources.classes().wnids
    for n, ((file_name, cands), keys) in enumerate(zip(seen, PLAN)):
        entry = doc["initial_annots"][file_name]
        for c, k in zip(cands, keys):
            if k == "c":
                assert wn[c] in entry["correct"], (file_name, c)
            elif k == "w":
                assert wn[c] in entry["wrong"] and wn[c] not in entry["correct"]
            elif k == "u":
                assert wn[c] in entry["unclear"]
            # "d" (don't know) leaves the label as it was
        assert (file_name in doc["problematic_images"]) == (n == PROBLEMATIC_IMAGE)
    assert doc["problematic_images"][seen[PROBLEMATIC_IMAGE][0]] == "two <objects> & a watermark"


@pytest.mark.browser
@pytest.mark.slow
def test_blind_classify_skip_back_and_zoom(project, chromium_page):
    """The classify queue from the keyboard: no label shown, a class typed by its name, skip to
    another image, back to the first to see (and keep) the saved answer; the picture zooms."""
    from errata.review import storage

    proj, _ = project
    proj.engine.dispose()
    proc, url = start_server(proj.path)
    page = chromium_page
    try:
        page.goto(url + "/login")
        _name_field_has_focus(page)
        page.keyboard.type("ann1")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Your queues" in page.content()
        with page.expect_navigation():
            page.keyboard.press("3")  # the third queue: classify
        first = page.url
        assert "/item/" in first and page.locator("#position").inner_text() == "Item 1 of 10"
        assert page.locator("#original").count() == 0 and page.locator("#blind-note").count()
        page.keyboard.press("h")  # the hierarchy browser: pick a class from the tree
        page.wait_for_selector("#hierarchy-tree ul.tree")
        page.evaluate(
            "document.querySelectorAll('#hierarchy-tree details').forEach(d => d.open = true)"
        )
        page.locator('button.leaf[data-option="207: golden retriever (n02099601)"]').click()
        assert page.locator("#class-search").input_value() == "207: golden retriever (n02099601)"
        page.locator("#class-search").fill("")
        page.keyboard.press("Escape")
        page.keyboard.press("/")
        page.keyboard.type("tabby")
        page.keyboard.press("Escape")  # leave the field (and its list), then Enter saves
        with page.expect_navigation():
            page.keyboard.press("Enter")
        second = page.url
        assert second != first and page.locator("#position").inner_text() == "Item 2 of 10"
        with page.expect_navigation():
            page.keyboard.press("s")  # skip: a third image
        assert page.url not in (first, second)
        with page.expect_navigation():
            page.keyboard.press("b")  # back to the one answered
        assert page.url == first
        assert page.locator("#class-search").input_value() == "281: tabby (n02123045)"
        assert page.locator("#original").count() == 1  # saved: no longer blind
        page.goto(url + "/item/1")  # the first novel item's image has a file
        page.locator("#picture").click()
        assert "zoomed" in (page.locator("#picture").get_attribute("class") or "")
        page.keyboard.press("z")
        assert "zoomed" not in (page.locator("#picture").get_attribute("class") or "")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    again = storage.open_project(proj.path)
    assert storage.item_view(again, int(first.rsplit("/", 1)[1]), 2)["answers"] == {281: 2}
    again.engine.dispose()


@pytest.mark.browser
@pytest.mark.slow
def test_a_training_task_first_then_its_feedback(project, chromium_page, tmp_path):
    """A new annotator's first item is the training task the admin marked; answered from the
    keyboard, it is followed by feedback showing the picture, the expected answers and the
    class's guide; Enter continues to the regular queue."""
    import shutil

    from _browser import screenshot_dir
    from PIL import Image as PILImage

    from errata import resources
    from errata.review import storage

    proj, _ = project
    from sqlalchemy import select

    from errata.review.models import Item

    with proj.session() as s:
        item_id = s.scalar(
            select(Item.id).where(Item.golden.is_not(None), Item.queue == "novel").limit(1)
        )
    storage.set_training(proj, items=[item_id])
    view = storage.item_view(proj, item_id, 2)
    images = tmp_path / "images"
    shutil.copytree(proj.images, images)
    PILImage.new("RGB", (80, 60), (10, 120, 40)).save(images / view["file_name"], format="PNG")
    conf = json.loads((proj.path / "project.json").read_text())
    (proj.path / "project.json").write_text(json.dumps({**conf, "images": str(images)}))
    right = next(c for c, code in view["golden"].items() if code == 2)
    (proj.path / "guides").mkdir()
    wnid = resources.classes().wnids[right]
    (proj.path / "guides" / f"{wnid}.md").write_text("Check the **fins**.\n")
    proj.engine.dispose()
    shots = screenshot_dir(tmp_path / "screenshots")
    proc, url = start_server(proj.path)
    page = chromium_page
    try:
        page.goto(url + "/login")
        page.fill("input[name=name]", "ann1")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.goto(url + "/queue/novel")
        assert page.url.endswith(f"/item/{item_id}"), page.url
        page.wait_for_selector("tr.cand.current")
        for _ in view["candidates"]:
            page.keyboard.press("c")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Training task: 1 of 2 right" in page.content()
        page.wait_for_function("document.getElementById('picture').naturalWidth === 80")
        assert page.locator(f"#guide-{right} strong").inner_text() == "fins"
        assert page.locator(f"#expected-{right} td").nth(2).inner_text() == "correct"
        page.screenshot(path=str(shots / "training-feedback.png"), full_page=True)
        with page.expect_navigation():
            page.keyboard.press("Enter")  # Continue
        page.wait_for_load_state()
        assert "/item/" in page.url and not page.url.endswith(f"/item/{item_id}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _name_field_has_focus(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the log-in form's autofocus has put the caret in the name field. Chromium
    applies ``autofocus`` at its next rendering update, which on a busy machine comes after the
    page's load event: keys typed before it are lost (the suite once failed so, in CI)."""
    page.wait_for_function(
        "document.activeElement && document.activeElement.name === 'name'", timeout=10_000
    )


def _log_in(page, url: str, name: str, password: str = PASSWORD) -> str:  # type: ignore[no-untyped-def]
    """Submit the log-in form; returns the page's text after it (the home page or the refusal)."""
    page.goto(url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return page.locator("main").inner_text()


def _admin_row(page, name: str):  # type: ignore[no-untyped-def]
    """The annotator's row of the admin page's table."""
    return page.locator("#annotators tbody tr").filter(
        has=page.locator("td.name").get_by_text(name, exact=True)
    )


@contextmanager
def _served(proj) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """``errata review serve`` on the project in a child process (its engine disposed first, so
    the server's connections are the only ones); yields the base URL and stops the server."""
    proj.engine.dispose()
    proc, url = start_server(proj.path)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def admin_and_annotator(project, browser, chromium_page):  # type: ignore[no-untyped-def]
    """The project served, with two pages not yet logged in: the admin's (``chromium_page``)
    and an annotator's in a browser context of its own; yields ``(url, admin, annotator)``."""
    with _served(project[0]) as url:
        ann_ctx = browser.new_context()
        try:
            ann = ann_ctx.new_page()
            ann.set_default_timeout(15_000)
            yield url, chromium_page, ann
        finally:
            ann_ctx.close()


@pytest.mark.browser
@pytest.mark.slow
def test_admin_disables_an_annotator_then_enables_again(admin_and_annotator):
    """The admin clicks Disable: the annotator's open session is refused at its next page, and a
    new log-in is refused as disabled; after Enable the same password logs in again."""
    url, admin, ann = admin_and_annotator
    assert "Your queues" in _log_in(ann, url, "ann1")
    _log_in(admin, url, "admin")
    admin.goto(url + "/admin")
    assert "active: 1 session" in _admin_row(admin, "ann1").locator("td.status").inner_text()
    with admin.expect_navigation():
        _admin_row(admin, "ann1").get_by_role("button", name="Disable").click()
    assert _admin_row(admin, "ann1").locator("td.status").inner_text() == "disabled"
    ann.goto(url + "/")  # the session opened before is no longer accepted
    assert ann.url.endswith("/login"), ann.url
    assert "This account is disabled" in _log_in(ann, url, "ann1")
    with admin.expect_navigation():
        _admin_row(admin, "ann1").get_by_role("button", name="Enable").click()
    assert _admin_row(admin, "ann1").locator("td.status").inner_text() == "not logged in"
    assert "Your queues" in _log_in(ann, url, "ann1")


@pytest.mark.browser
@pytest.mark.slow
def test_admin_resets_a_password(admin_and_annotator):
    """The admin types a new password for an annotator: the annotator's open session ends, the
    old password is refused and the new one logs in."""
    url, admin, ann = admin_and_annotator
    assert "Your queues" in _log_in(ann, url, "ann2")
    _log_in(admin, url, "admin")
    admin.goto(url + "/admin")
    row = _admin_row(admin, "ann2")
    row.get_by_label("new password for ann2").fill("a brand new secret")
    with admin.expect_navigation():
        row.get_by_role("button", name="Reset password").click()
    assert admin.url.endswith("/admin") and admin.locator(".error").count() == 0
    ann.goto(url + "/")
    assert ann.url.endswith("/login"), ann.url
    assert "Unknown name or wrong password" in _log_in(ann, url, "ann2")
    assert "Your queues" in _log_in(ann, url, "ann2", "a brand new secret")


@pytest.mark.browser
@pytest.mark.slow
def test_admin_marks_training_tasks(project, chromium_page):
    """The training-task form: a count that is not a number is refused with the typed text kept;
    "first 1" marks one golden item per queue that has one, and the page's count says so; the
    marks are in the database."""
    from sqlalchemy import func, select

    from errata.review import storage
    from errata.review.models import Item

    proj, _ = project
    with proj.session() as s:
        golden_queues = set(
            s.scalars(select(Item.queue).where(Item.golden.is_not(None)).distinct()).all()
        )
    assert golden_queues
    page = chromium_page
    with _served(proj) as url:
        _log_in(page, url, "admin")
        page.goto(url + "/admin")
        assert "Now: none." in page.locator("#training-tasks").inner_text()
        page.fill("#training-form input[name=first]", "two")
        with page.expect_navigation():
            page.locator("#training-form button").click()
        assert "'two' is not a count" in page.locator(".error").inner_text()
        assert page.locator("#training-form input[name=first]").input_value() == "two"
        page.fill("#training-form input[name=first]", "1")
        with page.expect_navigation():
            page.locator("#training-form button").click()
        assert page.url.endswith("/admin") and page.locator(".error").count() == 0
        text = page.locator("#training-tasks").inner_text()
        assert "none" not in text.split("Now:")[1]
    again = storage.open_project(proj.path)
    with again.session() as s:
        marked = s.execute(
            select(Item.queue, func.count(Item.id))
            .where(Item.training.is_(True))
            .group_by(Item.queue)
        ).all()
    again.engine.dispose()
    assert dict(marked) == {q: 1 for q in golden_queues}


@pytest.mark.browser
@pytest.mark.slow
def test_admin_ends_the_sessions_of_an_annotator(admin_and_annotator):
    """The admin clicks End sessions: the annotator's open session is refused at its next page
    (sent to the log-in page), the row says not logged in, and the account still logs in."""
    url, admin, ann = admin_and_annotator
    assert "Your queues" in _log_in(ann, url, "ann1")
    _log_in(admin, url, "admin")
    admin.goto(url + "/admin")
    assert "active: 1 session" in _admin_row(admin, "ann1").locator("td.status").inner_text()
    assert _admin_row(admin, "ann2").get_by_role("button", name="End sessions").count() == 0
    with admin.expect_navigation():
        _admin_row(admin, "ann1").get_by_role("button", name="End sessions").click()
    assert admin.url.endswith("/admin") and admin.locator(".error").count() == 0
    assert _admin_row(admin, "ann1").locator("td.status").inner_text() == "not logged in"
    ann.goto(url + "/queue/novel")  # the session opened before is no longer accepted
    assert ann.url.endswith("/login"), ann.url
    assert "Your queues" in _log_in(ann, url, "ann1")  # not disabled: a new log-in works
    admin.goto(url + "/admin")  # the admin's own session is untouched
    assert admin.url.endswith("/admin")


@pytest.mark.browser
@pytest.mark.slow
def test_admin_adds_then_deletes_an_account(project, chromium_page):
    """The admin adds an account from the form and deletes it with its Delete button: the row
    goes, its log-in is refused as unknown and the database has no such annotator; an account
    with reviews has no Delete button."""
    from errata.review import storage
    from errata.review.models import CORRECT

    proj, _ = project
    item_id = storage.next_item(proj, 2, "novel")
    view = storage.item_view(proj, item_id, 2)
    storage.save_review(proj, item_id, 2, {c: CORRECT for c in view["candidates"]})  # ann1
    page = chromium_page
    with _served(proj) as url:
        _log_in(page, url, "admin")
        page.goto(url + "/admin")
        assert _admin_row(page, "ann1").get_by_role("button", name="Delete").count() == 0
        page.fill("input[name=name]", "dora")
        page.fill("form.login input[name=password]", "dora's password")
        with page.expect_navigation():
            page.get_by_role("button", name="Add", exact=True).click()
        assert page.url.endswith("/admin") and page.locator(".error").count() == 0
        assert _admin_row(page, "dora").count() == 1
        with page.expect_navigation():
            _admin_row(page, "dora").get_by_role("button", name="Delete").click()
        assert page.url.endswith("/admin") and page.locator(".error").count() == 0
        assert _admin_row(page, "dora").count() == 0
        assert _admin_row(page, "ann1").count() == 1
        page.context.clear_cookies()
        assert "Unknown name or wrong password" in _log_in(page, url, "dora", "dora's password")
    again = storage.open_project(proj.path)
    try:
        assert storage.annotator_by_name(again, "dora") is None
        assert storage.annotator_by_name(again, "ann1") is not None
    finally:
        again.dispose()


@pytest.mark.browser
@pytest.mark.slow
def test_admin_downloads_the_export(project, chromium_page, tmp_path):
    """The admin page's export links download the aggregated label set: the majority-vote file
    is what ``errata review export --method majority`` writes, with the answers applied."""
    from errata import resources
    from errata.review import storage
    from errata.review.export import export_labels
    from errata.review.models import CORRECT, WRONG

    proj, _ = project
    item_id = storage.next_item(proj, 2, "novel")
    view = storage.item_view(proj, item_id, 2)
    novel = view["candidates"][0]
    for aid in (2, 3):  # ann1 and ann2: the novel label is wrong
        storage.save_review(
            proj, item_id, aid, {c: WRONG if c == novel else CORRECT for c in view["candidates"]}
        )
    expected = tmp_path / "cli.json"
    export_labels(proj, expected, method="majority")
    page = chromium_page
    with _served(proj) as url:
        _log_in(page, url, "admin")
        page.goto(url + "/admin")
        with page.expect_download() as dl:
            page.get_by_role("link", name="majority vote").click()
        download = dl.value
        assert download.suggested_filename == "labels-majority.json"
        got = tmp_path / "downloaded.json"
        download.save_as(str(got))
    doc = json.loads(got.read_text())
    assert doc == json.loads(expected.read_text())
    wnid = resources.classes().wnids[novel]
    assert wnid in doc["initial_annots"][view["file_name"]]["wrong"]
    assert wnid not in doc["initial_annots"][view["file_name"]]["correct"]
