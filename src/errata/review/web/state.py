"""What every route of the review app shares: one :class:`AppState` (the project, the templates,
the log-in throttle and hashing pool, the session timeouts), kept on ``app.state`` and handed to
the handlers by the :data:`State` dependency, and the :data:`Form` dependency (the posted form,
after its CSRF check).

The session's annotator is looked up in the handler's body (:meth:`AppState.current_user`), not
by a dependency of its own: a synchronous dependency would run in a worker thread of its own,
a second wait for the few worker threads on every request (the latency tail under load), and the
order of the checks stays as it was (CSRF token, then the session, then the request's fields).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from errata import resources
from errata.resources import ClassTable
from errata.review import auth, forms, storage
from errata.review.guides import Guides
from errata.review.models import ANSWER_NAMES, Annotator
from errata.review.security import CSRF_FIELD, csrf_ok, new_csrf_token, resolve_image
from errata.review.storage.views import ItemView as ItemView  # re-exported for the handlers

QUEUE_TITLES = {"novel": "Novel predictions", "audit": "Label audit", "classify": "Classify"}
ANSWER_KEYS = {"correct": "c", "wrong": "w", "unclear": "u", "dont_know": "d"}  # shortcuts
ANSWER_LABELS = {
    "correct": "Correct",
    "wrong": "Wrong",
    "unclear": "Unclear",
    "dont_know": "Don't know",
}


class LoginRequired(Exception):
    """No live session: a GET is sent to the log-in page, anything else gets 401."""


class TypedItem(ItemView, total=False):
    """An item with what the annotator typed, shown again when the form comes back."""

    class_text: str


@dataclass(frozen=True)
class AppState:
    """One opened project as the routes need it."""

    project: storage.Project
    env: Environment
    classes: ClassTable
    guides: Guides
    class_options: list[tuple[str, str]]  # the classify queue's autocompletion list
    throttle: auth.Throttle
    pool: auth.HashPool
    idle_seconds: float
    absolute_seconds: float

    def render(
        self, request: Request, template: str, status: int = 200, **ctx: object
    ) -> HTMLResponse:
        """A page from ``template``, with the session's CSRF token for its forms."""
        html = self.env.get_template(template).render(csrf=csrf_token(request), **ctx)
        return HTMLResponse(html, status_code=status)

    def current_user(self, request: Request) -> Annotator:
        """The annotator of the request's live session (raises :class:`LoginRequired`)."""
        user = auth.session_user(
            self.project,
            request.session.get("sid"),
            idle=self.idle_seconds,
            absolute=self.absolute_seconds,
        )
        if user is None:
            request.session.pop("sid", None)
            raise LoginRequired()
        return user

    def admin_user(self, request: Request) -> Annotator:
        """The session's annotator, who must be an admin (403 otherwise)."""
        user = self.current_user(request)
        if not user.is_admin:
            raise HTTPException(status_code=403, detail="admins only")
        return user

    def own_item(self, user: Annotator, item_id: int) -> ItemView:
        """The item as this annotator sees it; 404 when there is none or not in their queues."""
        view = storage.item_view(self.project, item_id, user.id)
        if view is None or view["queue"] not in storage.assigned_queues(self.project, user.id):
            raise HTTPException(status_code=404, detail="no such item")
        return view

    def image_path(self, file_name: str, original: int) -> Path | None:
        """The image file of ``file_name`` (whose label is ``original``), or None."""
        wnid = self.classes.wnids[original] if original >= 0 else None
        return resolve_image(self.project.images, file_name, wnid=wnid)


def build_state(
    project: storage.Project,
    *,
    idle_seconds: float,
    absolute_seconds: float,
    hash_threads: int,
    hash_queue: int,
) -> AppState:
    """The state of a new app: templates, class table, guides, throttle and hashing pool."""
    classes = resources.classes()
    env = Environment(
        loader=PackageLoader("errata.review", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.globals.update(
        QUEUE_TITLES=QUEUE_TITLES,
        ANSWER_NAMES=ANSWER_NAMES,
        ANSWER_KEYS=ANSWER_KEYS,
        ANSWER_LABELS=ANSWER_LABELS,
        classes=classes,
        CSRF_FIELD=CSRF_FIELD,
    )
    return AppState(
        project=project,
        env=env,
        classes=classes,
        guides=Guides(project.path),
        class_options=forms.class_options(),
        throttle=auth.Throttle(project),
        pool=auth.HashPool(hash_threads, hash_queue),
        idle_seconds=idle_seconds,
        absolute_seconds=absolute_seconds,
    )


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return str(token)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def app_state(request: Request) -> AppState:
    """Dependency: the app's :class:`AppState` (``async``: no hop to a worker thread)."""
    state: AppState = request.app.state.review
    return state


async def checked_form(request: Request) -> dict[str, str]:
    """Dependency: the posted form, after checking its CSRF token against the session's."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not csrf_ok(request.session.get("csrf"), given if isinstance(given, str) else None):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    return {k: str(v) for k, v in form.items()}


State = Annotated[AppState, Depends(app_state)]
Form = Annotated[dict[str, str], Depends(checked_form)]
