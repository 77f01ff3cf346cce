"""The review web app: FastAPI, server-rendered Jinja2 pages, one small script for shortcuts.

Every page except ``/login`` needs a session (a signed cookie holding the annotator id and a CSRF
token). Every POST carries the CSRF token. An annotator only ever sees and writes their own
answers: the annotator id comes from the session, never from the form. Handlers are plain
``def`` functions, so FastAPI runs them in its thread pool while the database serialises writes.
"""

from pathlib import Path
from typing import Any

from errata.exceptions import ErrataInputError, require
from errata.review import storage
from errata.review.models import ANSWER_CODES, ANSWER_NAMES, DONT_KNOW, QUEUES
from errata.review.security import (
    CSRF_FIELD,
    csrf_ok,
    new_csrf_token,
    resolve_image,
    safe_image_name,
    verify_password,
)

SESSION_MAX_AGE = 12 * 3600  # seconds a log-in lasts
LEASE_MINUTES = storage.LEASE_SECONDS // 60  # shown on the item page
WORKER_THREADS = 8  # threads running the (synchronous) request handlers
QUEUE_TITLES = {"novel": "Novel predictions", "audit": "Label audit", "classify": "Classify"}
ANSWER_KEYS = {"correct": "c", "wrong": "w", "unclear": "u", "dont_know": "d"}  # shortcuts
ANSWER_LABELS = {
    "correct": "Correct",
    "wrong": "Wrong",
    "unclear": "Unclear",
    "dont_know": "Don't know",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; script-src 'self'; "
    "style-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class _LoginRequired(Exception):
    pass


def create_app(project: storage.Project):  # type: ignore[no-untyped-def]
    """The ASGI app for one opened project."""
    fastapi = require("fastapi", "review")
    from fastapi import Depends, Request
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles
    from jinja2 import Environment, PackageLoader, select_autoescape
    from starlette.middleware.sessions import SessionMiddleware

    from errata import resources

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
    class_options = [f"{i}: {classes.names[i]} ({classes.wnids[i]})" for i in range(1000)]
    secret = storage.get_meta(project, "secret_key")
    assert secret, "project has no secret key"

    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_app):  # type: ignore[no-untyped-def]
        import anyio.to_thread

        # few worker threads: the handlers are short and share one GIL and one SQLite writer,
        # so 40 threads (the default) only add switching and stretch the latency tail
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        yield

    app = fastapi.FastAPI(
        title="errata review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="errata_review",
        max_age=SESSION_MAX_AGE,
        same_site="strict",
        https_only=False,
    )
    static_dir = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static_dir), name="static")

    @app.exception_handler(_LoginRequired)
    async def _to_login(request, exc):  # type: ignore[no-untyped-def]
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return HTMLResponse("log-in required", status_code=401)

    @app.exception_handler(storage.Refused)
    async def _refused(request, exc):  # type: ignore[no-untyped-def]
        return HTMLResponse(
            env.get_template("message.html").render(
                title="Not saved", message=str(exc), user=None, csrf=""
            ),
            status_code=409,
        )

    @app.exception_handler(ErrataInputError)
    async def _bad_input(request, exc):  # type: ignore[no-untyped-def]
        return HTMLResponse(
            env.get_template("message.html").render(
                title="Bad request", message=str(exc), user=None, csrf=""
            ),
            status_code=400,
        )

    def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(template).render(csrf=_csrf(request), **ctx)
        return HTMLResponse(html, status_code=status)

    def _csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = request.session["csrf"] = new_csrf_token()
        return str(token)

    def current_user(request: Request):  # type: ignore[no-untyped-def]
        uid = request.session.get("uid")
        user = storage.annotator_by_id(project, int(uid)) if uid is not None else None
        if user is None:
            raise _LoginRequired()
        return user

    async def checked_form(request: Request) -> dict[str, str]:
        """Dependency: the posted form, after checking its CSRF token against the session's."""
        form = await request.form()
        if not csrf_ok(request.session.get("csrf"), form.get(CSRF_FIELD)):  # type: ignore[arg-type]
            raise fastapi.HTTPException(status_code=403, detail="missing or wrong CSRF token")
        return {k: str(v) for k, v in form.items()}

    form_dep = Depends(checked_form)

    # --- log-in ----------------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request):  # type: ignore[no-untyped-def]
        return render(request, "login.html", user=None, error=None)

    @app.post("/login")
    def login(
        request: Request,  # type: ignore[no-untyped-def]
        form: dict = form_dep,
    ):
        user = storage.annotator_by_name(project, form.get("name", ""))
        # verify even for unknown names so timing does not reveal which names exist
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, form.get("password", ""))
        if user is None or not ok:
            return render(
                request,
                "login.html",
                status=401,
                user=None,
                error="Unknown name or wrong password.",
            )
        request.session.clear()
        request.session.update(uid=user.id, csrf=new_csrf_token())
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    def logout(
        request: Request,  # type: ignore[no-untyped-def]
        form: dict = form_dep,
    ):
        current_user(request)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # --- annotating ------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):  # type: ignore[no-untyped-def]
        user = current_user(request)
        prog = storage.progress(project)
        mine = [a for a in storage.annotators(project) if a["id"] == user.id][0]
        own = prog["annotators"].get(user.name, {"reviews": {}, "golden_accuracy": None})
        return render(
            request, "home.html", user=user, queues=mine["queues"], progress=prog["queues"], own=own
        )

    @app.get("/queue/{queue}")
    def queue_next(request: Request, queue: str):  # type: ignore[no-untyped-def]
        user = current_user(request)
        if queue not in QUEUES:
            raise fastapi.HTTPException(status_code=404, detail="no such queue")
        item_id = storage.next_item(project, user.id, queue)
        if item_id is None:
            skipped = storage.skipped_count(project, user.id, queue)
            busy = storage.leased_to_others(project, user.id, queue)
            message = "Nothing left for you in this queue. Thank you!"
            if busy:
                message = (
                    f"The {busy} item{'s' if busy != 1 else ''} still open to you "
                    f"{'are' if busy != 1 else 'is'} being reviewed by others right now; "
                    "try again in a few minutes (an item comes back when its reviewer skips "
                    "it or leaves it)."
                )
            elif skipped:
                message = (
                    f"Nothing left for you in this queue apart from the {skipped} "
                    f"item{'s' if skipped != 1 else ''} you skipped."
                )
            return render(
                request,
                "message.html",
                user=user,
                title=QUEUE_TITLES[queue],
                message=message,
                unskip=queue if skipped else None,
            )
        return RedirectResponse(f"/item/{item_id}", status_code=303)

    @app.post("/queue/{queue}/unskip")
    def queue_unskip(
        request: Request,
        queue: str,  # type: ignore[no-untyped-def]
        form: dict = form_dep,
    ):
        user = current_user(request)
        if queue not in QUEUES:
            raise fastapi.HTTPException(status_code=404, detail="no such queue")
        storage.unskip(project, user.id, queue)
        return RedirectResponse(f"/queue/{queue}", status_code=303)

    def _own_item(user, item_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        """The item as this annotator sees it; 404 when there is none or not in their queues."""
        view = storage.item_view(project, item_id, user.id)
        if view is None or view["queue"] not in _assigned(user.id):
            raise fastapi.HTTPException(status_code=404, detail="no such item")
        return view

    @app.get("/item/{item_id}", response_class=HTMLResponse)
    def item_page(request: Request, item_id: int):  # type: ignore[no-untyped-def]
        user = current_user(request)
        view = _own_item(user, item_id)
        # an item not yet answered is shown only while it is leased to this annotator (taken
        # here when it is free); otherwise the queue gives them another
        if not view["done"] and not storage.renew_lease(project, item_id, user.id):
            return RedirectResponse(f"/queue/{view['queue']}", status_code=303)
        return render_item(request, user, view)

    def render_item(  # type: ignore[no-untyped-def]
        request: Request, user, view: dict[str, Any], status: int = 200, **extra: Any
    ) -> HTMLResponse:
        orig = view["original"]
        wnid = classes.wnids[orig] if orig >= 0 else None
        has_image = resolve_image(project.images, view["file_name"], wnid=wnid) is not None
        return render(
            request,
            "item.html",
            status=status,
            user=user,
            item=view,
            has_image=has_image,
            position=storage.queue_position(project, view["id"], user.id),
            lease_minutes=LEASE_MINUTES,
            class_options=class_options if view["queue"] == "classify" else [],
            **extra,
        )

    @app.post("/item/{item_id}/lease")
    def item_lease(
        request: Request,
        item_id: int,  # type: ignore[no-untyped-def]
        form: dict = form_dep,
    ):
        """Heartbeat of an open item page: renews the lease (204), or 409 when it was lost."""
        user = current_user(request)
        _own_item(user, item_id)
        ok = storage.renew_lease(project, item_id, user.id)
        return Response(status_code=204 if ok else 409)

    @app.post("/item/{item_id}/skip")
    def item_skip(
        request: Request,
        item_id: int,  # type: ignore[no-untyped-def]
        form: dict = form_dep,
    ):
        """Give the item back (others may take it) and move on; it is not offered again to
        this annotator until they ask for their skipped items."""
        user = current_user(request)
        view = _own_item(user, item_id)
        if not view["done"]:
            storage.release_lease(project, item_id, user.id, skip=True)
        return RedirectResponse(f"/queue/{view['queue']}", status_code=303)

    @app.post("/item/{item_id}")
    def item_submit(
        request: Request,
        item_id: int,  # type: ignore[no-untyped-def]
        form: dict = form_dep,
    ):
        user = current_user(request)
        view = _own_item(user, item_id)
        answers: dict[int, int] = {}
        if view["queue"] == "classify":
            choice = form.get("class_index", "").strip()
            if choice:
                answers[_parse_class(choice)] = ANSWER_CODES["correct"]
        else:
            for c in view["candidates"]:
                value = form.get(f"a_{c}")
                if value:
                    if value not in ANSWER_CODES:
                        raise ErrataInputError(
                            f"field a_{c}: '{value}' is not one of {', '.join(ANSWER_CODES)}"
                        )
                    answers[c] = ANSWER_CODES[value]
        score = storage.save_review(
            project,
            item_id,
            user.id,
            answers,
            problematic=form.get("problematic") in ("on", "1", "true"),
            note=form.get("note", ""),
        )
        if view["golden"] is not None and user.training:
            return render(
                request, "feedback.html", user=user, item=view, answers=answers, score=score
            )
        if view["done"]:  # an edit (reached with Back): on to the item answered after it
            after = storage.queue_position(project, item_id, user.id)["next"]
            if after is not None:
                return RedirectResponse(f"/item/{after}", status_code=303)
        return RedirectResponse(f"/queue/{view['queue']}", status_code=303)

    def _assigned(annotator_id: int) -> list[str]:
        return storage.assigned_queues(project, annotator_id)

    def _parse_class(text: str) -> int:
        head = text.split(":", 1)[0].strip()
        if head.isdigit() and 0 <= int(head) < 1000:
            return int(head)
        try:
            return classes.index_of(text.strip())
        except KeyError:
            raise ErrataInputError(
                f"field class_index: '{text}' is not a class (pick one of the "
                "1000 classes from the list)"
            ) from None

    @app.get("/image/{file_name:path}")
    def image(request: Request, file_name: str):  # type: ignore[no-untyped-def]
        current_user(request)
        if not safe_image_name(file_name):
            raise fastapi.HTTPException(status_code=400, detail="not an image name")
        orig = storage.image_original(project, file_name)
        if orig is None:
            raise fastapi.HTTPException(status_code=404, detail="no such image")
        path = resolve_image(
            project.images, file_name, wnid=classes.wnids[orig] if orig >= 0 else None
        )
        if path is None:
            raise fastapi.HTTPException(status_code=404, detail="image file not available")
        return FileResponse(path)

    # --- admin -----------------------------------------------------------------------------
    def admin_user(request: Request):  # type: ignore[no-untyped-def]
        user = current_user(request)
        if not user.is_admin:
            raise fastapi.HTTPException(status_code=403, detail="admins only")
        return user

    @app.get("/admin", response_class=HTMLResponse)
    def admin(request: Request):  # type: ignore[no-untyped-def]
        user = admin_user(request)
        return render(
            request,
            "admin.html",
            user=user,
            people=storage.annotators(project),
            progress=storage.progress(project),
            queues=QUEUES,
            error=None,
        )

    @app.post("/admin/annotators")
    def admin_add(
        request: Request,  # type: ignore[no-untyped-def]
        form: dict = form_dep,
    ):
        user = admin_user(request)
        try:
            storage.add_annotator(
                project,
                form.get("name", ""),
                form.get("password", ""),
                admin=form.get("is_admin") == "on",
                queues=[q for q in QUEUES if form.get(f"q_{q}") == "on"],
                training=form.get("training") == "on",
            )
        except ErrataInputError as exc:
            return render(
                request,
                "admin.html",
                status=400,
                user=user,
                people=storage.annotators(project),
                progress=storage.progress(project),
                queues=QUEUES,
                error=str(exc),
            )
        return RedirectResponse("/admin", status_code=303)

    @app.post("/admin/assign/{annotator_id}")
    def admin_assign(
        request: Request,
        annotator_id: int,  # type: ignore[no-untyped-def]
        form: dict = form_dep,
    ):
        admin_user(request)
        storage.set_assignments(
            project,
            annotator_id,
            [q for q in QUEUES if form.get(f"q_{q}") == "on"],
            training=form.get("training") == "on",
        )
        return RedirectResponse("/admin", status_code=303)

    @app.exception_handler(fastapi.HTTPException)
    async def _http_error(request, exc):  # type: ignore[no-untyped-def]
        return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")

    return _with_headers(app)


def _with_headers(app):  # type: ignore[no-untyped-def]
    """Add the security headers to every HTTP response (a plain ASGI wrapper: Starlette's
    ``BaseHTTPMiddleware`` costs a task and a stream copy per request)."""
    extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def wrapped(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_with_headers(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in have
                ]
            await send(message)

        await app(scope, receive, send_with_headers)

    wrapped.app = app  # type: ignore[attr-defined]
    return wrapped


_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
    "RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
)  # compared against when a name is unknown


def serve(
    project_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    db_url: str | None = None,
) -> None:
    """Run the app with uvicorn (blocking)."""
    uvicorn = require("uvicorn", "review")
    project = storage.open_project(project_path, db_url=db_url)
    uvicorn.run(create_app(project), host=host, port=port, log_level="warning", access_log=False)


__all__ = ["create_app", "serve", "DONT_KNOW"]
