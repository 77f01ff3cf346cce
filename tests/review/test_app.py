"""The review app through its HTTP interface: annotating, progress, training mode, admin."""

from __future__ import annotations

import re

from review_helpers import PASSWORD, csrf_of


def answer_item(client, *, answers=None, problematic=False, note=""):  # type: ignore[no-untyped-def]
    """Open the next novel item and answer every candidate (default: correct)."""
    page = client.get("/queue/novel", follow_redirects=True)
    assert page.status_code == 200
    item_id = int(re.search(r'action="/item/(\d+)"', page.text).group(1))
    cands = [int(c) for c in re.findall(r'data-class="(\d+)"', page.text)]
    data = {"csrf_token": csrf_of(page.text), "note": note}
    for c in cands:
        data[f"a_{c}"] = (answers or {}).get(c, "correct")
    if problematic:
        data["problematic"] = "on"
    r = client.post(f"/item/{item_id}", data=data, follow_redirects=False)
    return item_id, cands, r


def test_novel_queue_starts_with_models_agreeing(client_for):
    c = client_for("ann1")
    page = c.get("/queue/novel", follow_redirects=True).text
    # planted: images 1-5 have a novel class (500+) predicted by both models
    assert re.search(r'data-class="50\d"', page)
    assert "cliff dwelling" in page  # class 500's name, with its WordNet definition below
    assert "rock and adobe dwelling" in page
    assert "Original label" in page


def test_answers_are_stored_and_progress_counts(project, client_for):
    from errata.review import storage

    proj, _ = project
    c = client_for("ann1")
    item_id, cands, r = answer_item(c, answers={}, problematic=True, note="blurry")
    assert r.status_code == 303 and r.headers["location"] == "/queue/novel"
    view = storage.item_view(proj, item_id, 2)  # ann1 is annotator 2
    assert view["answers"] == {c_: 2 for c_ in cands}
    assert view["problematic"] and view["note"] == "blurry"
    home = c.get("/").text
    assert "Novel predictions" in home
    prog = storage.progress(proj)
    assert prog["queues"]["novel"]["started"] == 1
    assert prog["annotators"]["ann1"]["reviews"] == {"novel": 1}
    # the next item is a different one
    item2, _, _ = answer_item(c)
    assert item2 != item_id


def test_items_leave_the_queue_after_enough_reviews(project, client_for):
    from errata.review import storage

    proj, _ = project
    storage.set_meta(proj, "reviews_per_item", "1")
    first, _, _ = answer_item(client_for("ann1"))
    second, _, _ = answer_item(client_for("ann2"))
    assert first != second  # ann2 does not get the item ann1 completed


def test_training_mode_shows_golden_answers(project, client_for):
    """ann3 is in training mode; the golden item sits after the first 10 novel items."""
    c = client_for("ann3")
    for _ in range(10):
        _, _, r = answer_item(c)
        assert r.status_code == 303
    _, cands, r = answer_item(c, answers={900: "correct"})  # expert said: wrong
    assert r.status_code == 200
    assert "Golden question: 1 of 2 right" in r.text
    assert set(cands) == {900, 0 + 20 * 7 % 100}
    # non-training annotators get no feedback page, but their golden accuracy is kept
    c1 = client_for("ann1")
    for _ in range(11):
        _, _, r = answer_item(c1)
        assert r.status_code == 303
    from errata.review import storage

    prog = storage.progress(project[0])["annotators"]
    assert prog["ann3"]["golden_accuracy"] == 0.5
    assert prog["ann1"]["golden_accuracy"] == 0.5  # answered "correct" for the wrong label too


def test_classify_queue_records_the_chosen_class(project, client_for):
    from errata.review import storage

    c = client_for("ann1")
    page = c.get("/queue/classify", follow_redirects=True)
    item_id = int(re.search(r'action="/item/(\d+)"', page.text).group(1))
    assert 'list="class-list"' in page.text and "207: golden retriever" in page.text
    r = c.post(
        f"/item/{item_id}",
        data={"csrf_token": csrf_of(page.text), "class_index": "207: golden retriever (n02099601)"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert storage.item_view(project[0], item_id, 2)["answers"] == {207: 2}
    bad = c.post(
        f"/item/{item_id}", data={"csrf_token": csrf_of(page.text), "class_index": "not a class"}
    )
    assert bad.status_code == 400 and "not a class" in bad.text


def test_admin_adds_annotator_and_assigns_queues(project, client_for):
    from errata.review import storage

    admin = client_for("admin")
    page = admin.get("/admin")
    assert page.status_code == 200 and "ann1" in page.text
    r = admin.post(
        "/admin/annotators",
        data={
            "csrf_token": csrf_of(page.text),
            "name": "newbie",
            "password": PASSWORD,
            "q_audit": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    newbie = [a for a in storage.annotators(project[0]) if a["name"] == "newbie"][0]
    assert newbie["queues"] == ["audit"]
    c = client_for("newbie")
    assert c.get("/queue/novel", follow_redirects=True).text.count("Nothing left") == 1
    assert c.get("/queue/audit", follow_redirects=False).status_code == 303
    r = admin.post(
        f"/admin/assign/{newbie['id']}",
        data={"csrf_token": csrf_of(page.text), "q_novel": "on", "training": "on"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    newbie = [a for a in storage.annotators(project[0]) if a["name"] == "newbie"][0]
    assert newbie["queues"] == ["novel"] and newbie["training"]
    short = admin.post(
        "/admin/annotators",
        data={"csrf_token": csrf_of(page.text), "name": "x", "password": "short"},
    )
    assert short.status_code == 400 and "at least 8 characters" in short.text


def test_images_are_served_or_replaced_by_a_placeholder(client_for):
    c = client_for("ann1")
    r = c.get("/image/ILSVRC2012_val_00000001.JPEG")
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    page = c.get("/item/3").text  # image 3 has no file: placeholder
    assert "Image not available" in page
