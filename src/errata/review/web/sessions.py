"""Log-in, log-out and the annotator's own account (password change).

Log-in is the one ``async`` handler: the argon2 check runs on the small hashing pool
(:class:`errata.review.auth.HashPool`), never in the worker threads that serve the pages, and a
refused attempt (locked, pool full) is answered after an ``asyncio`` sleep."""

import asyncio
import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from errata.exceptions import ErrataInputError
from errata.review import auth
from errata.review.models import Annotator
from errata.review.security import new_csrf_token
from errata.review.storage.scope import run_with_retry
from errata.review.web.scoped import ScopedRoute
from errata.review.web.state import AppState, Form, State, client_address

router = APIRouter(route_class=ScopedRoute)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: State) -> Response:
    return state.render(request, "login.html", user=None, error=None)


def _refused(
    state: AppState, request: Request, status: int, error: str, retry: int | None = None
) -> Response:
    resp = state.render(request, "login.html", status=status, user=None, error=error)
    if retry is not None:
        resp.headers["Retry-After"] = str(retry)
    return resp


def _attempt(
    state: AppState, name: str, password: str, keys: list[str], address: str
) -> tuple[Annotator | None, str | None]:
    """On the hashing pool: check the password, count a failure, or open a session (in a
    request scope of its own: run again if a dead database connection failed it first)."""
    return run_with_retry(lambda: _attempt_once(state, name, password, keys, address))


def _attempt_once(
    state: AppState, name: str, password: str, keys: list[str], address: str
) -> tuple[Annotator | None, str | None]:
    user = auth.check_password(state.project, name, password)
    if user is None:
        state.throttle.failed(keys)
        return None, None
    if user.disabled:
        return user, None
    state.throttle.clear(keys[:1])  # the account's failures; the address keeps its count
    return user, auth.create_session(state.project, user.id, address)


@router.post("/login")
async def login(request: Request, form: Form, state: State) -> Response:
    name, password = form.get("name", ""), form.get("password", "")
    address = client_address(request)
    keys = [auth.account_key(name), auth.address_key(address)]
    wait = state.throttle.retry_after(keys)
    if wait > 0:
        await asyncio.sleep(auth.REFUSE_DELAY_SECONDS)
        return _refused(
            state,
            request,
            429,
            f"Too many failed log-ins. Try again in {math.ceil(wait)} s.",
            retry=math.ceil(wait),
        )
    try:
        user, token = await state.pool.run(_attempt, state, name, password, keys, address)
    except auth.PoolFull:
        await asyncio.sleep(auth.REFUSE_DELAY_SECONDS)
        return _refused(
            state,
            request,
            503,
            "The server is busy with other log-ins; try again shortly.",
            retry=2,
        )
    if user is None:
        return _refused(state, request, 401, "Unknown name or wrong password.")
    if token is None:
        return _refused(state, request, 403, "This account is disabled; ask your admin.")
    request.session.clear()
    request.session.update(sid=token, csrf=new_csrf_token())
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, form: Form, state: State) -> Response:
    state.current_user(request)
    auth.revoke(state.project, str(request.session.get("sid")))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, state: State) -> Response:
    return state.render(request, "account.html", user=state.current_user(request), error=None)


@router.post("/account/password")
def account_password(request: Request, form: Form, state: State) -> Response:
    """The annotator's own password: every session of the account ends; this browser gets a
    new one."""
    user = state.current_user(request)
    project = state.project
    new = form.get("new_password", "")
    error = None
    if new != form.get("confirm_password", ""):
        error = "The two new passwords differ."
    else:
        try:
            if state.pool.call(auth.check_password, project, user.name, form.get("password", "")):
                state.pool.call(auth.set_password, project, user.id, new)
            else:
                error = "The current password is wrong."
        except auth.PoolFull:
            error = "The server is busy with log-ins; try again shortly."
        except ErrataInputError as exc:
            error = str(exc)
    if error:
        return state.render(request, "account.html", status=400, user=user, error=error)
    token = auth.create_session(project, user.id, client_address(request))
    request.session.clear()
    request.session.update(sid=token, csrf=new_csrf_token())
    return RedirectResponse("/", status_code=303)
