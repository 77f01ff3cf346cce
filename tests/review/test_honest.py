"""Honest answers: a blind classify queue, class entry by name, synonym or WordNet id, empty and
partial submissions, final golden answers, one review per double submit on SQLite and
PostgreSQL, 404 for unknown ids; and what annotators expect: a full-size view, the original
label among the novel candidates, a note for an empty label set, forms that keep what was
typed."""

from __future__ import annotations

import json
import re
import threading

import pytest
from review_helpers import PASSWORD, csrf_of

from errata.exceptions import ErrataInputError
from errata.review.forms import parse_class


def _item_id(page) -> int:  # type: ignore[no-untyped-def]
    return int(re.search(r'action="/item/(\d+)"', page.text).group(1))


def _reviews(proj) -> int:  # type: ignore[no-untyped-def]
    from errata.review import storage

    return sum(q["reviews"] for q in storage.progress(proj)["queues"].values())


@pytest.mark.parametrize(
    "text",
    ["tabby", "Tabby", "tabby cat", "  TABBY_CAT ", "n02123045", "281", "281: tabby (n02123045)"],
)
def test_a_class_by_name_synonym_wordnet_id_or_index(text):
    assert parse_class(text) == 281


def test_class_entry_errors_name_the_problem():
    with pytest.raises(ErrataInputError, match="nothing typed"):
        parse_class("  ")
    with pytest.raises(ErrataInputError, match="'crane' names 2 classes .*134: crane"):
        parse_class("crane")
    with pytest.raises(ErrataInputError, match="'zebra cat' is not one of the 1000 classes"):
        parse_class("zebra cat")
    assert parse_class("red panda") == 387 and parse_class("lesser panda") == 387


def test_the_classify_queue_is_blind_until_the_answer_is_saved(project, client_for):
    from errata.review import storage

    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/classify", follow_redirects=True)
    item = _item_id(page)
    assert "Original label" not in page.text and 'id="blind-note"' in page.text
    name = storage.item_view(proj, item, 2)["file_name"]
    assert name not in page.text  # a file name may name the class (n01440764_10026.JPEG)
    assert 'class="tag"' not in page.text  # no current / original tags
    assert 'label="tabby, tabby cat"' in page.text  # synonyms in the autocompletion list
    r = c.post(
        f"/item/{item}",
        data={"csrf_token": csrf_of(page.text), "class_index": "tabby"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert storage.item_view(proj, item, 2)["answers"] == {281: 2}
    back = c.get(f"/item/{item}")  # saved: now the label may be shown
    assert "Original label" in back.text and 'value="281: tabby (n02123045)"' in back.text


def test_empty_submissions_are_refused_and_not_counted(project, client_for):
    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/classify", follow_redirects=True)
    r = c.post(
        f"/item/{_item_id(page)}",
        data={"csrf_token": csrf_of(page.text), "class_index": "", "note": "hard one"},
    )
    assert r.status_code == 400 and "nothing typed" in r.text
    assert 'value="hard one"' in r.text  # the note is kept
    page = c.get("/queue/novel", follow_redirects=True)
    r = c.post(
        f"/item/{_item_id(page)}",
        data={"csrf_token": csrf_of(page.text), "problematic": "on"},
    )
    assert r.status_code == 400 and "Nothing was saved" in r.text
    assert re.search(r'id="problematic" checked', r.text)
    assert _reviews(proj) == 0


def test_partly_answered_candidates_are_pointed_out_before_saving(project, client_for):
    from errata.review import storage

    proj, _ = project
    c = client_for("ann1")
    page = c.get("/queue/novel", follow_redirects=True)
    item = _item_id(page)
    cands = [int(x) for x in re.findall(r'data-class="(\d+)"', page.text)]
    assert len(cands) == 2
    data = {"csrf_token": csrf_of(page.text), f"a_{cands[0]}": "wrong", "note": "n1"}
    r = c.post(f"/item/{item}", data=data)
    assert r.status_code == 400 and "1 of 2 candidate labels have no answer" in r.text
    assert f'class="cand missing" data-class="{cands[1]}"' in r.text
    assert re.search(rf'name="a_{cands[0]}" value="wrong"[^>]*checked', r.text)  # kept
    assert 'name="partial_ok" value="1"' in r.text and _reviews(proj) == 0
    r = c.post(f"/item/{item}", data={**data, "partial_ok": "1"}, follow_redirects=False)
    assert r.status_code == 303
    assert storage.item_view(proj, item, 2)["answers"] == {cands[0]: 0}


def test_golden_answers_are_final_after_feedback(project, client_for):
    from errata.review import storage

    proj, inputs = project
    c = client_for("ann3")  # training mode
    golden = storage.item_view(proj, 11, 4)
    assert golden["golden"] is not None  # the golden item of the novel queue
    page = c.get("/item/11")
    data = {"csrf_token": csrf_of(page.text)}
    data.update({f"a_{k}": "correct" for k in golden["candidates"]})
    r = c.post("/item/11", data=data)
    assert r.status_code == 200 and "Golden question: 1 of 2 right" in r.text
    data.update({f"a_{k}": v for k, v in zip(sorted(golden["golden"]), ["wrong", "correct"])})
    again = c.post("/item/11", data=data)
    assert again.status_code == 409 and "golden answers are final" in again.text
    prog = storage.progress(proj)["annotators"]["ann3"]
    assert (prog["golden_right"], prog["golden_total"]) == (1, 2)
    assert "<fieldset disabled>" in c.get("/item/11").text


def test_a_double_submit_is_one_review(backend_project):
    """Eight identical saves at the same moment (a double click, a retried POST): one review,
    counted once, no error; on a golden item the first is kept and the others refused."""
    from errata.review import storage
    from errata.review.models import CORRECT

    proj, _ = backend_project
    item = storage.next_item(proj, 2, "audit")
    cands = storage.item_view(proj, item, 2)["candidates"]
    golden = 11  # the golden item of the novel queue
    outcomes: list[str] = []
    start = threading.Barrier(16)

    def save(item_id: int, answers: dict[int, int]) -> None:
        start.wait(timeout=30)
        try:
            storage.save_review(proj, item_id, 2, answers)
            outcomes.append(f"{item_id}:saved")
        except storage.Refused:
            outcomes.append(f"{item_id}:refused")
        except BaseException as exc:  # pragma: no cover - reported below
            outcomes.append(f"{item_id}:{type(exc).__name__}: {exc}")

    gold = storage.item_view(proj, golden, 2)["candidates"]
    threads = [
        threading.Thread(target=save, args=(item, {c: CORRECT for c in cands})) for _ in range(8)
    ] + [threading.Thread(target=save, args=(golden, {c: CORRECT for c in gold})) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == sorted(
        [f"{item}:saved"] * 8 + [f"{golden}:saved"] + [f"{golden}:refused"] * 7
    )
    prog = storage.progress(proj)["queues"]
    assert prog["audit"]["reviews"] == 1 and prog["novel"]["reviews"] == 1
    assert storage.item_view(proj, item, 2)["answers"] == {c: CORRECT for c in cands}


def test_four_identical_posts_at_once(backend_project):
    """The issue's probe: 4 identical POSTs at once gave HTTP 500 on PostgreSQL."""
    from fastapi.testclient import TestClient
    from review_helpers import login

    from errata.review import storage
    from errata.review.app import create_app

    proj, _ = backend_project
    app = create_app(proj)
    first = TestClient(app, base_url="http://127.0.0.1")
    assert login(first, "ann1").status_code == 303
    page = first.get("/queue/novel", follow_redirects=True)
    item = _item_id(page)
    data = {"csrf_token": csrf_of(page.text)}
    data.update({f"a_{c}": "correct" for c in re.findall(r'data-class="(\d+)"', page.text)})
    clients = [TestClient(app, base_url="http://127.0.0.1", cookies=first.cookies) for _ in "1234"]
    codes: list[int] = []
    start = threading.Barrier(len(clients))

    def post(c) -> None:  # type: ignore[no-untyped-def]
        start.wait(timeout=30)
        codes.append(c.post(f"/item/{item}", data=data, follow_redirects=False).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes == [303] * 4
    assert storage.progress(proj)["queues"]["novel"]["reviews"] == 1


def test_unknown_ids_are_404(client_for):
    admin = client_for("admin")
    token = csrf_of(admin.get("/admin").text)
    assert admin.post("/admin/assign/9999", data={"csrf_token": token}).status_code == 404
    assert admin.get("/item/9999").status_code == 404
    for url in ("/item/9999", "/item/9999/skip", "/item/9999/lease", "/queue/nope/unskip"):
        assert admin.post(url, data={"csrf_token": token}).status_code == 404, url
    assert admin.get("/queue/nope").status_code == 404
    assert admin.get("/item/abc").status_code in (404, 422)  # never 500


def test_full_size_view_and_zoom(client_for):
    c = client_for("ann1")
    page = c.get("/item/1").text  # image 1 has a file
    assert 'id="picture"' in page
    assert 'id="full-size" href="/item/1/image" target="_blank"' in page
    r = c.get("/item/1/image")
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    assert c.get("/item/3/image").status_code == 404  # no file for that image
    assert c.get("/item/9999/image").status_code == 404


def test_the_original_label_is_among_the_novel_candidates(tmp_path):
    """An image whose label set lacks its original label (ReaL found it wrong, or found no label
    at all): the novel item asks about the original label too, and the page explains 'none'."""
    from fastapi.testclient import TestClient
    from review_helpers import login, synthetic_inputs

    from errata.review import init_project, storage
    from errata.review.app import create_app

    inputs = synthetic_inputs(tmp_path)
    doc = json.loads(inputs["labels"].read_text())
    first, second = inputs["names"][0], inputs["names"][1]
    doc["images"][first]["correct"] = []  # no label at all
    doc["images"][second]["correct"] = [999]  # a label, but not the original one
    inputs["labels"].write_text(json.dumps(doc))
    init_project(
        tmp_path / "p",
        labels=inputs["labels"],
        predictions=inputs["models"],
        images=inputs["images"],
        queues=("novel",),
    )
    proj = storage.open_project(tmp_path / "p")
    storage.add_annotator(proj, "ann", PASSWORD)
    orig = inputs["label_of"]
    with proj.session() as s:
        from sqlalchemy import select

        from errata.review.models import Image, Item

        cands = dict(
            s.execute(
                select(Image.file_name, Item.candidates).join(Item, Item.image_id == Image.id)
            ).all()
        )
    assert cands[first].split() == ["500", str(orig[0])]
    assert cands[second].split() == ["501", "999", str(orig[1])]
    c = TestClient(create_app(proj), base_url="http://127.0.0.1")
    assert login(c, "ann").status_code == 303
    seen = ""
    for _ in range(3):
        page = c.get("/queue/novel", follow_redirects=True)
        if first in page.text:
            seen = page.text
            break
        storage.release_lease(proj, _item_id(page), 1, skip=True)
    assert 'id="no-labels-note"' in seen and "none of the 1000 classes fits" in seen
    assert f'data-class="{orig[0]}"' in seen
    proj.engine.dispose()


def test_the_admin_form_keeps_what_was_typed(client_for):
    admin = client_for("admin")
    token = csrf_of(admin.get("/admin").text)
    r = admin.post(
        "/admin/annotators",
        data={"csrf_token": token, "name": "newbie", "password": "short", "q_audit": "on"},
    )
    assert r.status_code == 400 and "at least 8 characters" in r.text
    assert 'name="name" required maxlength="64" value="newbie"' in r.text
    assert re.search(r'name="q_audit" checked', r.text)
    assert not re.search(r'name="q_novel" checked', r.text)
    assert "short" not in r.text.split("at least 8 characters")[1]  # never the password


def test_the_class_hierarchy_browser(client_for):
    c = client_for("ann1")
    page = c.get("/classes")
    assert page.status_code == 200
    assert page.text.count('class="leaf"') >= 1000  # every class is reachable
    assert 'data-option="281: tabby (n02123045)"' in page.text
    found = c.get("/classes", params={"q": "tabby"}).text
    assert found.count('class="leaf"') == 1 and "carnivore" in found and "feline" in found
    none = c.get("/classes", params={"q": "no such thing at all"}).text
    assert 'id="no-match"' in none and 'class="leaf"' not in none
    frag = c.get("/classes", params={"fragment": 1, "q": "<script>"}).text
    assert "<html" not in frag and "<script>" not in frag  # the tree alone, escaped
    assert 'id="hierarchy"' in c.get("/queue/classify", follow_redirects=True).text
    anon = client_for(None)
    assert anon.get("/classes", follow_redirects=False).status_code == 303
