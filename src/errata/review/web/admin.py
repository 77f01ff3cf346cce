"""The admin page and its actions: add an annotator, disable / re-enable / delete an account,
reset its password or end its sessions, assign queues, mark training tasks, unlock a throttled
log-in, and download the label set. Every route needs an admin's session."""

import json
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from errata.exceptions import ErrataInputError
from errata.review import auth, storage
from errata.review.aggregation import Method
from errata.review.export import Scope, aggregate_answers, reviewed_labels, to_shankar_json
from errata.review.models import QUEUES, Annotator
from errata.review.web.scoped import ScopedRoute
from errata.review.web.state import AppState, Form, State

ACTIONS = ("disable", "enable", "password", "logout", "delete")  # /admin/account/<id>/<action>
NOT_ON_ONESELF = ("disable", "logout", "delete")
METHODS: dict[str, Method] = {"dawid-skene": "dawid-skene", "majority": "majority"}
SCOPES: dict[str, Scope] = {"all": "all", "reviewed": "reviewed"}

router = APIRouter(prefix="/admin", route_class=ScopedRoute)


def admin_page(
    state: AppState,
    request: Request,
    user: Annotator,
    status: int = 200,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    training_typed: dict[str, str] | None = None,
) -> HTMLResponse:
    """The admin page (``error``: a message; ``typed``: the add-annotator form as typed)."""
    project = state.project
    return state.render(
        request,
        "admin.html",
        status=status,
        user=user,
        people=storage.annotators(project),
        progress=storage.progress(project),
        active=auth.active_sessions(
            project, idle=state.idle_seconds, absolute=state.absolute_seconds
        ),
        throttled=state.throttle.report(),
        training=storage.training_count(project),
        now=time.time(),
        queues=QUEUES,
        error=error,
        typed=typed,
        training_typed=training_typed or {},
    )


@router.get("", response_class=HTMLResponse)
def admin(request: Request, state: State) -> Response:
    return admin_page(state, request, state.admin_user(request))


def _chosen_queues(form: dict[str, str]) -> list[str]:
    return [q for q in QUEUES if form.get(f"q_{q}") == "on"]


@router.post("/annotators")
def admin_add(request: Request, form: Form, state: State) -> Response:
    user = state.admin_user(request)
    try:
        storage.add_annotator(
            state.project,
            form.get("name", ""),
            form.get("password", ""),
            admin=form.get("is_admin") == "on",
            queues=_chosen_queues(form),
            training=form.get("training") == "on",
        )
    except ErrataInputError as exc:
        return admin_page(
            state,
            request,
            user,
            status=400,
            error=str(exc),
            typed={k: v for k, v in form.items() if k != "password"},  # kept for the retry
        )
    return RedirectResponse("/admin", status_code=303)


def _apply(state: AppState, other: Annotator, action: str, form: dict[str, str]) -> None:
    """One account action on ``other`` (raises ErrataInputError, auth.PoolFull)."""
    project, forget = state.project, [auth.account_key(other.name)]
    if action in ("disable", "enable"):
        auth.set_disabled(project, other.id, action == "disable")
        if action == "enable":
            state.throttle.clear(forget)
    elif action == "logout":
        auth.revoke_all(project, other.id)
    elif action == "delete":
        auth.delete_annotator(project, other.id)
        state.throttle.clear(forget)
    else:
        state.pool.call(auth.set_password, project, other.id, form.get("password", ""))
        state.throttle.clear(forget)


@router.post("/account/{annotator_id}/{action}")
def admin_account(
    request: Request, annotator_id: int, action: str, form: Form, state: State
) -> Response:
    """Disable or re-enable an account, set a new password for it (every session of the
    account ends), delete it, or end its sessions."""
    user = state.admin_user(request)
    other = storage.annotator_by_id(state.project, annotator_id)
    if other is None:
        raise HTTPException(status_code=404, detail="no such annotator")
    if action not in ACTIONS:
        raise HTTPException(status_code=404, detail="no such action")
    if other.id == user.id and action in NOT_ON_ONESELF:
        return admin_page(
            state,
            request,
            user,
            status=400,
            error="You cannot disable, delete or log out your own account.",
        )
    try:
        _apply(state, other, action, form)
    except auth.PoolFull:
        return admin_page(
            state, request, user, status=503, error="The server is busy with log-ins; try again."
        )
    except ErrataInputError as exc:
        return admin_page(state, request, user, status=400, error=f"{other.name}: {exc}")
    return RedirectResponse("/admin", status_code=303)


@router.get("/export.json")
def admin_export(
    request: Request, state: State, method: str = "dawid-skene", scope: str = "all"
) -> Response:
    """The label set as ``errata review export`` writes it (Shankar et al.'s schema), for
    download."""
    state.admin_user(request)
    how, which = METHODS.get(method), SCOPES.get(scope)
    if how is None or which is None:
        raise HTTPException(
            status_code=400, detail="method: dawid-skene or majority; scope: all or reviewed"
        )
    agg = aggregate_answers(state.project, method=how)
    labels, wrong = reviewed_labels(state.project, method=how, scope=which, agg=agg)
    doc = to_shankar_json(labels, wrong, agg["problematic"])
    return Response(
        json.dumps(doc),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="labels-{method}.json"'},
    )


def _training_request(form: dict[str, str]) -> tuple[int | None, list[int]]:
    """The count of first golden items and the item ids of the training form."""
    first_text = form.get("first", "").strip()
    ids_text = form.get("items", "").replace(",", " ").split()
    if not first_text and not ids_text:
        raise ErrataInputError("training tasks: give a count, item ids, or both")
    if first_text and not first_text.isdigit():
        raise ErrataInputError(f"training tasks: '{first_text}' is not a count")
    bad = [t for t in ids_text if not t.isdigit()]
    if bad:
        raise ErrataInputError(f"training tasks: '{bad[0]}' is not an item id")
    return (int(first_text) if first_text else None), [int(t) for t in ids_text]


@router.post("/training")
def admin_training(request: Request, form: Form, state: State) -> Response:
    """Mark training tasks: the first N golden items of each queue, and/or golden items by
    id (space- or comma-separated)."""
    user = state.admin_user(request)
    try:
        first, items = _training_request(form)
        storage.set_training(state.project, first=first, items=items)
    except ErrataInputError as exc:
        return admin_page(state, request, user, status=400, error=str(exc), training_typed=form)
    return RedirectResponse("/admin", status_code=303)


@router.post("/unlock")
def admin_unlock(request: Request, form: Form, state: State) -> Response:
    """Forget the failed log-ins of one account or address (its lock ends)."""
    state.admin_user(request)
    key = form.get("key", "")
    if key.startswith(("account:", "address:")):
        state.throttle.clear([key])
    return RedirectResponse("/admin", status_code=303)


@router.post("/assign/{annotator_id}")
def admin_assign(request: Request, annotator_id: int, form: Form, state: State) -> Response:
    state.admin_user(request)
    if not storage.set_assignments(
        state.project,
        annotator_id,
        _chosen_queues(form),
        training=form.get("training") == "on",
    ):
        raise HTTPException(status_code=404, detail="no such annotator")
    return RedirectResponse("/admin", status_code=303)
