"""Who may see an image by its file name (``/image/NAME``): an admin, an annotator with an item
of it in one of their queues, or anyone when a labelling guide shows it; everyone else gets the
404 of an image that does not exist. SQLite and PostgreSQL."""

from __future__ import annotations

from errata.review import storage
from errata.review.models import QUEUES

MISSING = "/image/ILSVRC2012_val_99999999.JPEG"  # no such image in the project


def _queues_of(proj, file_name: str) -> set[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from errata.review.models import Image, Item

    with proj.read_session() as s:
        return set(
            s.scalars(
                select(Item.queue)
                .join(Image, Image.id == Item.image_id)
                .where(Image.file_name == file_name)
            ).all()
        )


def _id(proj, name: str) -> int:  # type: ignore[no-untyped-def]
    user = storage.annotator_by_name(proj, name)
    assert user is not None
    return int(user.id)


def _an_image_not_in_every_queue(proj, inputs):  # type: ignore[no-untyped-def]
    """A project image with a file whose items leave out at least one queue."""
    for name in inputs["names"][:2]:  # the two images that have a file
        held = _queues_of(proj, name)
        if held and set(QUEUES) - held:
            return name, held
    raise AssertionError("the synthetic project has no image missing from some queue")


def test_only_those_assigned_to_its_queue_see_an_image(backend_project, backend_client_for):
    proj, inputs = backend_project
    name, held = _an_image_not_in_every_queue(proj, inputs)
    others = sorted(set(QUEUES) - held)
    assert storage.set_assignments(proj, _id(proj, "ann2"), others)
    assert storage.set_assignments(proj, _id(proj, "admin"), [])  # an admin needs no queue

    outsider = backend_client_for("ann2")
    refused = outsider.get("/image/" + name)
    missing = outsider.get(MISSING)
    assert refused.status_code == 404 and b"\x89PNG" not in refused.content
    assert (refused.status_code, refused.content) == (missing.status_code, missing.content)

    assigned = backend_client_for("ann1")  # every queue (the default)
    r = assigned.get("/image/" + name)
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    r = backend_client_for("admin").get("/image/" + name)
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"

    # assignments are looked up on each request: given one of the image's queues, ann2 sees it
    assert storage.set_assignments(proj, _id(proj, "ann2"), [*others, sorted(held)[0]])
    r = outsider.get("/image/" + name)
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"


def test_an_image_a_guide_shows_is_served_to_every_annotator(backend_project, backend_client_for):
    proj, inputs = backend_project
    name, held = _an_image_not_in_every_queue(proj, inputs)
    assert storage.set_assignments(proj, _id(proj, "ann2"), sorted(set(QUEUES) - held))
    outsider = backend_client_for("ann2")
    assert outsider.get("/image/" + name).status_code == 404
    guides = proj.path / "guides"
    guides.mkdir(exist_ok=True)
    (guides / "n01440764.md").write_text(f"Not a tench: ![a look-alike](/image/{name})\n")
    r = outsider.get("/image/" + name)
    assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    # a guide naming the image in its text (not showing it) does not open it
    (guides / "n01440764.md").write_text(f"Not a tench: see {name}, or [this](/image/{name})\n")
    assert outsider.get("/image/" + name).status_code == 404


def test_the_classify_pages_never_name_their_images(backend_project, backend_client_for):
    from sqlalchemy import select

    from errata.review.models import Item

    proj, inputs = backend_project
    with proj.read_session() as s:
        items = s.scalars(select(Item.id).where(Item.queue == "classify")).all()
    assert items
    c = backend_client_for("ann1")
    for item in items:
        page = c.get(f"/item/{item}")
        assert page.status_code == 200 and 'id="blind-note"' in page.text
        assert "/image/" not in page.text  # the picture comes by item id: /item/ID/image
        assert not [n for n in inputs["names"] if n in page.text], item
        picture = c.get(f"/item/{item}/image")  # nor in the headers of the picture
        assert not [n for n in inputs["names"] if n in str(picture.headers)], item
