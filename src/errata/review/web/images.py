"""Pictures (by item id, or by file name for those allowed to see them) and the class-hierarchy
browser.

Image paths are resolved inside the project's image folder only
(:func:`errata.review.security.resolve_image`: no ``..``, no absolute path, no symlink out)."""

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from errata.review import forms, hierarchy, storage
from errata.review.security import safe_image_name
from errata.review.web.scoped import ScopedRoute
from errata.review.web.state import State

IMAGE_IN_MEMORY = 8 << 20  # images up to this size are read in one go
IMAGE_CACHE = "private, max-age=3600"  # an image of a name never changes within a project

router = APIRouter(route_class=ScopedRoute)


class TreeContext(TypedDict):
    """What the class-hierarchy templates (``classes.html``, ``_tree.html``) are given."""

    nodes: tuple[hierarchy.Node, ...]
    wanted: set[int]  # the classes matching the query
    query: str
    subtree_has: Callable[[hierarchy.Node, set[int]], bool]
    class_option: Callable[[int], str]
    guides: dict[int, str]  # class index -> its guide as HTML


@router.get("/classes", response_class=HTMLResponse)
def classes_page(request: Request, state: State, q: str = "", fragment: int = 0) -> Response:
    """The class-hierarchy browser (``fragment=1``: the tree alone, for the classify page)."""
    user = state.current_user(request)
    query = q.strip()[:100]
    ctx: TreeContext = {
        "nodes": hierarchy.class_tree(),
        "wanted": hierarchy.matching(query),
        "query": query,
        "subtree_has": hierarchy.subtree_has,
        "class_option": forms.class_option,
        "guides": state.guides.html(),
    }
    if fragment:
        return HTMLResponse(state.env.get_template("_tree.html").render(**ctx))
    return state.render(request, "classes.html", user=user, **ctx)


@router.get("/item/{item_id}/image")
def item_image(request: Request, item_id: int, state: State) -> Response:
    """An item's picture by the item's id: its file name (which may name the class, as in
    ImageNet's train folders) stays out of the blind classify page."""
    user = state.current_user(request)
    view = state.own_item(user, item_id)
    path = state.image_path(view["file_name"], view["original"])
    if path is None:
        raise HTTPException(status_code=404, detail="image file not available")
    return image_response(path)


@router.get("/image/{file_name:path}")
def image(request: Request, file_name: str, state: State) -> Response:
    """A project image by file name, for an admin, an annotator with an item of it in one of
    their queues, or anyone when a labelling guide shows it (an example image: guides are shown
    to every annotator in the hierarchy browser). Anyone else gets the 404 of a missing image,
    which does not reveal that it exists."""
    user = state.current_user(request)
    if not safe_image_name(file_name):
        raise HTTPException(status_code=400, detail="not an image name")
    if user.is_admin:
        orig = storage.image_original(state.project, file_name)
    else:
        orig = storage.image_original_for(state.project, file_name, user.id)
        if orig is None and file_name in state.guides.image_names():
            orig = storage.image_original(state.project, file_name)
    if orig is None:
        raise HTTPException(status_code=404, detail="no such image")
    path = state.image_path(file_name, orig)
    if path is None:
        raise HTTPException(status_code=404, detail="image file not available")
    return image_response(path)


def image_response(path: Path) -> Response:
    """The image in one read, in the handler's own worker thread: FileResponse hops to a thread
    for stat, open and every 64 KB chunk, and each hop queues behind the other handlers for the
    limited worker threads, which stretched the images' latency tail under load."""
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {"Cache-Control": IMAGE_CACHE}
    if path.stat().st_size > IMAGE_IN_MEMORY:
        return FileResponse(path, media_type=kind, headers=headers)
    return Response(path.read_bytes(), media_type=kind, headers=headers)
