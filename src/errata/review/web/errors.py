"""The review app's error answers: a GET without a session goes to the log-in page (anything
else: 401); a refused review (409) and bad input (400) get a message page; other HTTP errors a
line of plain text."""

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from errata.exceptions import ErrataInputError
from errata.review import storage
from errata.review.web.state import AppState, LoginRequired


def _message(request: Request, title: str, exc: Exception, status: int) -> Response:
    state: AppState = request.app.state.review
    html = state.env.get_template("message.html").render(
        title=title, message=str(exc), user=None, csrf=""
    )
    return HTMLResponse(html, status_code=status)


async def _to_login(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse("log-in required", status_code=401)


async def _refused(request: Request, exc: Exception) -> Response:
    return _message(request, "Not saved", exc, 409)


async def _bad_input(request: Request, exc: Exception) -> Response:
    return _message(request, "Bad request", exc, 400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")


def install(app: FastAPI) -> None:
    """Register the error answers on ``app``."""
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(storage.Refused, _refused)
    app.add_exception_handler(ErrataInputError, _bad_input)
    app.add_exception_handler(HTTPException, _http_error)
