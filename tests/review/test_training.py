"""Training tasks: golden items an admin marks, given to each annotator before any other item of
their queue, followed by feedback with the image, the expected answers and the classes' guides;
a training score per annotator on the admin page. Every test runs on SQLite and on PostgreSQL
(where the Debian binaries are installed), since the training queries differ between them."""

from __future__ import annotations

import dataclasses
import re
import shutil

from review_helpers import csrf_of, login

from errata import resources


def _golden_items(proj) -> dict[int, str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from errata.review.models import Item

    with proj.session() as s:
        return dict(s.execute(select(Item.id, Item.queue).where(Item.golden.is_not(None))).all())


def test_admin_marks_training_tasks_and_bad_input_is_refused(backend_project, backend_client_for):
    from errata.review import storage

    proj, _ = backend_project
    golden = _golden_items(proj)
    assert golden  # the synthetic project has golden items
    admin = backend_client_for("admin")
    token = csrf_of(admin.get("/admin").text)
    r = admin.post("/admin/training", data={"csrf_token": token, "first": "1"})
    assert r.status_code == 200 and r.url.path == "/admin"  # 303 followed
    per_queue = storage.training_count(proj)
    assert sum(per_queue.values()) == len(set(golden.values()))  # one per queue with golden items
    assert "Training tasks" in r.text and f"{sum(per_queue.values())}" in r.text
    regular = max(golden) + 1
    assert regular not in golden
    r = admin.post("/admin/training", data={"csrf_token": token, "items": f"{regular}"})
    assert r.status_code == 400 and f"item {regular} is not a golden item" in r.text
    assert f'value="{regular}"' in r.text  # what was typed is kept
    r = admin.post("/admin/training", data={"csrf_token": token, "first": "x"})
    assert r.status_code == 400 and "&#39;x&#39; is not a count" in r.text
    r = admin.post("/admin/training", data={"csrf_token": token, "first": "0"})
    assert storage.training_count(proj) == {}


def test_training_first_then_feedback_with_image_expected_answer_and_guide(
    backend_project, tmp_path
):
    from fastapi.testclient import TestClient
    from PIL import Image as PILImage

    from errata.review import storage
    from errata.review.app import create_app

    proj, inputs = backend_project
    item_id = next(i for i, q in _golden_items(proj).items() if q == "novel")
    storage.set_training(proj, items=[item_id])
    view = storage.item_view(proj, item_id, 2)
    # a picture for the golden image, in an image folder of this test's own
    images = tmp_path / "test_images"  # (the project's own folder is tmp_path/images)
    shutil.copytree(proj.images, images)
    PILImage.new("RGB", (32, 32), (10, 120, 40)).save(images / view["file_name"], format="PNG")
    (proj.path / "guides").mkdir()
    wnids = resources.classes().wnids
    expected = view["golden"]  # {label: correct, 900: wrong}
    right_class = next(c for c, code in expected.items() if code == 2)
    (proj.path / "guides" / f"{wnids[right_class]}.md").write_text("Look for the *tail*.\n")
    (proj.path / "guides" / f"{wnids[999]}.md").write_text("not asked about\n")
    app = create_app(dataclasses.replace(proj, images=images))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert login(c, "ann1").status_code == 303  # not in training mode
        first = c.get("/queue/novel", follow_redirects=False)
        assert first.headers["location"] == f"/item/{item_id}"  # before item 1 of the queue
        page = c.get(first.headers["location"])
        data = {"csrf_token": csrf_of(page.text)}
        data.update({f"a_{k}": "correct" for k in view["candidates"]})
        fb = c.post(f"/item/{item_id}", data=data)
        assert fb.status_code == 200 and "Training task: 1 of 2 right" in fb.text
        assert f'<img id="picture" src="/item/{item_id}/image"' in fb.text
        assert c.get(f"/item/{item_id}/image").status_code == 200
        rows = dict(
            re.findall(r'id="expected-(\d+)">.*?<td>\w[^<]*</td>\s*<td>(\w+)</td>', fb.text, re.S)
        )
        assert rows == {
            str(k): {0: "wrong", 1: "unclear", 2: "correct"}[v] for k, v in expected.items()
        }
        assert f'id="guide-{right_class}"' in fb.text and "Look for the <em>tail</em>." in fb.text
        assert "not asked about" not in fb.text
        nxt = c.get("/queue/novel", follow_redirects=False).headers["location"]
        assert nxt != f"/item/{item_id}"  # done: the regular queue follows

    prog = storage.progress(proj)["annotators"]["ann1"]
    assert (prog["training_right"], prog["training_total"], prog["training_done"]) == (1, 2, 1)
    assert prog["training_score"] == 0.5


def test_training_score_on_the_admin_page(backend_project, backend_client_for):
    from errata.review import storage

    proj, _ = backend_project
    golden = _golden_items(proj)
    storage.set_training(proj, first=1)
    trained = [i for i in golden if storage.item_view(proj, i, 3)["training"]]
    for item_id in trained:  # ann2 answers every training task wrong everywhere
        view = storage.item_view(proj, item_id, 3)
        storage.save_review(
            proj, item_id, 3, {c: 3 - v if v != 1 else 0 for c, v in view["golden"].items()}
        )
    admin = backend_client_for("admin")
    text = admin.get("/admin").text
    row = re.search(r'<td class="name">ann2</td>.*?</tr>', text, re.S).group(0)
    total = sum(len(storage.item_view(proj, i, 3)["golden"]) for i in trained)
    n = len(trained)
    assert f"0.0 % (0 of {total} answers right in {n} task{'s' if n != 1 else ''})" in row
    row1 = re.search(r'<td class="name">ann1</td>.*?</tr>', text, re.S).group(0)
    assert 'class="training-score">—' in row1  # none done yet


def test_an_older_database_gets_the_training_column(backend_project):
    from errata.review import storage

    proj, _ = backend_project
    with proj.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_items_queue_training")  # older: no such index
        conn.exec_driver_sql("ALTER TABLE items DROP COLUMN training")
    assert storage.migrate(proj.engine) == ["items.training"]
    assert storage.training_count(proj) == {}
    assert storage.set_training(proj, first=1) >= 1
