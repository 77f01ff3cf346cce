"""The review web app: FastAPI, server-rendered Jinja2 pages, one small script for shortcuts.

Every page except ``/login`` needs a session: a server-side one (:mod:`errata.review.auth`) whose
random token rides in a cookie signed with the project's key (``secret.key``, outside the
database), beside the CSRF token. Every POST carries the CSRF token. Requests must name one of
the allowed hosts (``Host``); behind a trusted reverse proxy its ``X-Forwarded-Proto`` and
``X-Forwarded-For`` are believed (from that proxy only) and cookies get ``Secure`` over HTTPS.
An annotator only ever sees and writes their own answers: the annotator id comes from the
session, never from the form. Handlers are plain ``def`` functions, so FastAPI runs them in its
thread pool while the database serialises writes; log-in, whose argon2 check is slow by design,
runs on a small pool of its own.
"""

import asyncio
import time
from pathlib import Path
from typing import Any

from errata.exceptions import ErrataInputError, require
from errata.review import auth, forms, storage
from errata.review.models import ANSWER_CODES, ANSWER_NAMES, DONT_KNOW, QUEUES
from errata.review.security import (
    CSRF_FIELD,
    csrf_ok,
    new_csrf_token,
    resolve_image,
    safe_image_name,
    signing_key,
)

LEASE_MINUTES = storage.LEASE_SECONDS // 60  # shown on the item page
DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")  # Host names accepted unless told otherwise
COOKIE = "errata_review"
# an annotator's browser keeps its connection while they look at an image (uvicorn's default of
# 5 s closes it under their feet, and a request sent as it closes fails)
KEEP_ALIVE_SECONDS = 75
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


def create_app(  # type: ignore[no-untyped-def]
    project: storage.Project,
    *,
    allowed_hosts: tuple[str, ...] | list[str] = DEFAULT_HOSTS,
    trusted_proxy: str | None = None,
    idle_seconds: float = auth.IDLE_SECONDS,
    absolute_seconds: float = auth.ABSOLUTE_SECONDS,
    hash_threads: int = auth.HASH_THREADS,
    hash_queue: int = auth.HASH_QUEUE,
):
    """The ASGI app for one opened project.

    ``allowed_hosts``: the names the ``Host`` header may carry (anything else: 400).
    ``trusted_proxy``: the address(es) of a reverse proxy (comma-separated, CIDR allowed) whose
    forwarded headers are believed; from anyone else they are ignored."""
    fastapi = require("fastapi", "review")
    from fastapi import Depends, Request
    from fastapi.responses import HTMLResponse, RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles
    from jinja2 import Environment, PackageLoader, select_autoescape
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    from errata import resources
    from errata.review.guides import Guides

    classes = resources.classes()
    guides = Guides(project.path)
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
    class_options = forms.class_options()
    secret = signing_key(project.path)
    throttle = auth.Throttle(project)
    pool = auth.HashPool(hash_threads, hash_queue)

    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_app):  # type: ignore[no-untyped-def]
        import anyio.to_thread

        # few worker threads: the handlers are short and share one GIL and one SQLite writer,
        # so 40 threads (the default) only add switching and stretch the latency tail
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        yield
        pool.shutdown()

    app = fastapi.FastAPI(
        title="errata review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
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
        user = auth.session_user(
            project, request.session.get("sid"), idle=idle_seconds, absolute=absolute_seconds
        )
        if user is None:
            request.session.pop("sid", None)
            raise _LoginRequired()
        return user

    def client_address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

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

    def login_refused(request: Request, status: int, error: str, retry: int | None = None):  # type: ignore[no-untyped-def]
        resp = render(request, "login.html", status=status, user=None, error=error)
        if retry is not None:
            resp.headers["Retry-After"] = str(retry)
        return resp

    def attempt(name: str, password: str, keys: list[str], address: str):  # type: ignore[no-untyped-def]
        """On the hashing pool: check the password, count a failure, or open a session."""
        user = auth.check_password(project, name, password)
        if user is None:
            throttle.failed(keys)
            return None, None
        if user.disabled:
            return user, None
        throttle.clear(keys[:1])  # the account's failures; the address keeps its count
        return user, auth.create_session(project, user.id, address)

    @app.post("/login")
    async def login(
        request: Request,
        form: dict = form_dep,
    ):
        import math

        name, password = form.get("name", ""), form.get("password", "")
        address = client_address(request)
        keys = [auth.account_key(name), auth.address_key(address)]
        wait = throttle.retry_after(keys)
        if wait > 0:
            await asyncio.sleep(auth.REFUSE_DELAY_SECONDS)
            return login_refused(
                request,
                429,
                f"Too many failed log-ins. Try again in {math.ceil(wait)} s.",
                retry=math.ceil(wait),
            )
        try:
            user, token = await pool.run(attempt, name, password, keys, address)
        except auth.PoolFull:
            await asyncio.sleep(auth.REFUSE_DELAY_SECONDS)
            return login_refused(
                request, 503, "The server is busy with other log-ins; try again shortly.", retry=2
            )
        if user is None:
            return login_refused(request, 401, "Unknown name or wrong password.")
        if token is None:
            return login_refused(request, 403, "This account is disabled; ask your admin.")
        request.session.clear()
        request.session.update(sid=token, csrf=new_csrf_token())
        return RedirectResponse("/", status_code=303)

    @app.post("/logout")
    def logout(
        request: Request,
        form: dict = form_dep,
    ):
        current_user(request)
        auth.revoke(project, str(request.session.get("sid")))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @app.get("/account", response_class=HTMLResponse)
    def account_page(request: Request):  # type: ignore[no-untyped-def]
        return render(request, "account.html", user=current_user(request), error=None)

    @app.post("/account/password")
    def account_password(
        request: Request,
        form: dict = form_dep,
    ):
        """The annotator's own password: every session of the account ends; this browser gets a
        new one."""
        user = current_user(request)
        new = form.get("new_password", "")
        error = None
        if new != form.get("confirm_password", ""):
            error = "The two new passwords differ."
        else:
            try:
                if pool.call(auth.check_password, project, user.name, form.get("password", "")):
                    pool.call(auth.set_password, project, user.id, new)
                else:
                    error = "The current password is wrong."
            except auth.PoolFull:
                error = "The server is busy with log-ins; try again shortly."
            except ErrataInputError as exc:
                error = str(exc)
        if error:
            return render(request, "account.html", status=400, user=user, error=error)
        token = auth.create_session(project, user.id, client_address(request))
        request.session.clear()
        request.session.update(sid=token, csrf=new_csrf_token())
        return RedirectResponse("/", status_code=303)

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
        queue: str,
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
        # the guides of the candidate classes; none on a blind classify page (its candidates
        # would give the label away), the answered class's once it is saved
        if view["queue"] != "classify":
            shown = view["candidates"]
        else:
            shown = list(view["answers"]) if view["done"] else []
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
            class_option=forms.class_option,
            guides=guides.html(shown),
            **{"error": None, "missing": [], **extra},
        )

    def render_feedback(  # type: ignore[no-untyped-def]
        request: Request, user, view: dict[str, Any], answers: dict[int, int], score: Any
    ) -> HTMLResponse:
        """After a golden item (a training task, or any golden item in training mode): the
        image, each question's expected answer beside the annotator's, and the guides of the
        classes asked about."""
        orig = view["original"]
        wnid = classes.wnids[orig] if orig >= 0 else None
        return render(
            request,
            "feedback.html",
            user=user,
            item=view,
            answers=answers,
            score=score,
            has_image=resolve_image(project.images, view["file_name"], wnid=wnid) is not None,
            guides=guides.html(list(view["golden"])),
        )

    @app.post("/item/{item_id}/lease")
    def item_lease(
        request: Request,
        item_id: int,
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
        item_id: int,
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
        item_id: int,
        form: dict = form_dep,
    ):
        user = current_user(request)
        view = _own_item(user, item_id)
        problematic = form.get("problematic") in ("on", "1", "true")
        note = form.get("note", "")[:2000]
        # what was typed, shown again when the form comes back with a message
        typed = dict(view, note=note, problematic=problematic)
        typed["class_text"] = form.get("class_index", "").strip()
        try:
            if view["queue"] == "classify":
                answers = {forms.parse_class(typed["class_text"]): ANSWER_CODES["correct"]}
            else:
                answers = typed["answers"] = forms.parse_answers(form, view["candidates"])
                if not answers:
                    raise ErrataInputError(
                        "Nothing was saved: no candidate label has an answer. Answer each one "
                        "(Don't know is an answer too)."
                    )
                missing = [c for c in view["candidates"] if c not in answers]
                if missing and form.get("partial_ok") != "1":
                    n = len(view["candidates"])
                    return render_item(
                        request,
                        user,
                        typed,
                        status=400,
                        missing=missing,
                        error=f"Not saved yet: {len(missing)} of {n} candidate labels have no "
                        "answer (marked below). Answer them, or press Save again to save "
                        "without them.",
                    )
        except ErrataInputError as exc:
            return render_item(request, user, typed, status=400, error=str(exc))
        score = storage.save_review(
            project, item_id, user.id, answers, problematic=problematic, note=note
        )
        if view["golden"] is not None and (user.training or view["training"]):
            return render_feedback(request, user, view, answers, score)
        if view["done"]:  # an edit (reached with Back): on to the item answered after it
            after = storage.queue_position(project, item_id, user.id)["next"]
            if after is not None:
                return RedirectResponse(f"/item/{after}", status_code=303)
        return RedirectResponse(f"/queue/{view['queue']}", status_code=303)

    def _assigned(annotator_id: int) -> list[str]:
        return storage.assigned_queues(project, annotator_id)

    @app.get("/classes", response_class=HTMLResponse)
    def classes_page(request: Request, q: str = "", fragment: int = 0):  # type: ignore[no-untyped-def]
        """The class-hierarchy browser (``fragment=1``: the tree alone, for the classify page)."""
        from errata.review import hierarchy

        user = current_user(request)
        query = q.strip()[:100]
        ctx: dict[str, Any] = {
            "nodes": hierarchy.class_tree(),
            "wanted": hierarchy.matching(query),
            "query": query,
            "subtree_has": hierarchy.subtree_has,
            "class_option": forms.class_option,
            "guides": guides.html(),
        }
        if fragment:
            return HTMLResponse(env.get_template("_tree.html").render(**ctx))
        return render(request, "classes.html", user=user, **ctx)

    @app.get("/item/{item_id}/image")
    def item_image(request: Request, item_id: int):  # type: ignore[no-untyped-def]
        """An item's picture by the item's id: its file name (which may name the class, as in
        ImageNet's train folders) stays out of the blind classify page."""
        user = current_user(request)
        view = _own_item(user, item_id)
        orig = view["original"]
        path = resolve_image(
            project.images, view["file_name"], wnid=classes.wnids[orig] if orig >= 0 else None
        )
        if path is None:
            raise fastapi.HTTPException(status_code=404, detail="image file not available")
        return _image_response(path)

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
        return _image_response(path)

    # --- admin -----------------------------------------------------------------------------
    def admin_user(request: Request):  # type: ignore[no-untyped-def]
        user = current_user(request)
        if not user.is_admin:
            raise fastapi.HTTPException(status_code=403, detail="admins only")
        return user

    def admin_page(  # type: ignore[no-untyped-def]
        request: Request,
        user,
        status: int = 200,
        error: str | None = None,
        typed: dict[str, str] | None = None,
        training_typed: dict[str, str] | None = None,
    ):
        return render(
            request,
            "admin.html",
            status=status,
            user=user,
            people=storage.annotators(project),
            progress=storage.progress(project),
            active=auth.active_sessions(project, idle=idle_seconds, absolute=absolute_seconds),
            throttled=throttle.report(),
            training=storage.training_count(project),
            now=time.time(),
            queues=QUEUES,
            error=error,
            typed=typed,
            training_typed=training_typed or {},
        )

    @app.get("/admin", response_class=HTMLResponse)
    def admin(request: Request):  # type: ignore[no-untyped-def]
        return admin_page(request, admin_user(request))

    @app.post("/admin/annotators")
    def admin_add(
        request: Request,
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
            return admin_page(
                request,
                user,
                status=400,
                error=str(exc),
                typed={k: v for k, v in form.items() if k != "password"},  # kept for the retry
            )
        return RedirectResponse("/admin", status_code=303)

    def _annotator(annotator_id: int):  # type: ignore[no-untyped-def]
        other = storage.annotator_by_id(project, annotator_id)
        if other is None:
            raise fastapi.HTTPException(status_code=404, detail="no such annotator")
        return other

    @app.post("/admin/account/{annotator_id}/{action}")
    def admin_account(
        request: Request,
        annotator_id: int,
        action: str,
        form: dict = form_dep,
    ):
        """Disable or re-enable an account, set a new password for it (every session of the
        account ends), or end its sessions."""
        user = admin_user(request)
        other = _annotator(annotator_id)
        if action not in ("disable", "enable", "password", "logout", "delete"):
            raise fastapi.HTTPException(status_code=404, detail="no such action")
        if other.id == user.id and action in ("disable", "logout", "delete"):
            return admin_page(
                request,
                user,
                status=400,
                error="You cannot disable, delete or log out your own account.",
            )
        try:
            if action in ("disable", "enable"):
                auth.set_disabled(project, other.id, action == "disable")
                if action == "enable":
                    throttle.clear([auth.account_key(other.name)])
            elif action == "logout":
                auth.revoke_all(project, other.id)
            elif action == "delete":
                auth.delete_annotator(project, other.id)
                throttle.clear([auth.account_key(other.name)])
            else:
                pool.call(auth.set_password, project, other.id, form.get("password", ""))
                throttle.clear([auth.account_key(other.name)])
        except auth.PoolFull:
            return admin_page(
                request, user, status=503, error="The server is busy with log-ins; try again."
            )
        except ErrataInputError as exc:
            return admin_page(request, user, status=400, error=f"{other.name}: {exc}")
        return RedirectResponse("/admin", status_code=303)

    @app.get("/admin/export.json")
    def admin_export(  # type: ignore[no-untyped-def]
        request: Request, method: str = "dawid-skene", scope: str = "all"
    ):
        """The label set as ``errata review export`` writes it (Shankar et al.'s schema), for
        download."""
        import json

        from errata.review.export import aggregate_answers, reviewed_labels, to_shankar_json

        admin_user(request)
        if method not in ("dawid-skene", "majority") or scope not in ("all", "reviewed"):
            raise fastapi.HTTPException(
                status_code=400, detail="method: dawid-skene or majority; scope: all or reviewed"
            )
        agg = aggregate_answers(project, method=method)  # type: ignore[arg-type]
        labels, wrong = reviewed_labels(project, method=method, scope=scope, agg=agg)  # type: ignore[arg-type]
        doc = to_shankar_json(labels, wrong, agg["problematic"])
        return Response(
            json.dumps(doc),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="labels-{method}.json"'},
        )

    @app.post("/admin/training")
    def admin_training(
        request: Request,
        form: dict = form_dep,
    ):
        """Mark training tasks: the first N golden items of each queue, and/or golden items by
        id (space- or comma-separated)."""
        user = admin_user(request)
        first_text = form.get("first", "").strip()
        ids_text = form.get("items", "").replace(",", " ").split()
        try:
            if not first_text and not ids_text:
                raise ErrataInputError("training tasks: give a count, item ids, or both")
            if first_text and not first_text.isdigit():
                raise ErrataInputError(f"training tasks: '{first_text}' is not a count")
            bad = [t for t in ids_text if not t.isdigit()]
            if bad:
                raise ErrataInputError(f"training tasks: '{bad[0]}' is not an item id")
            storage.set_training(
                project,
                first=int(first_text) if first_text else None,
                items=[int(t) for t in ids_text],
            )
        except ErrataInputError as exc:
            return admin_page(request, user, status=400, error=str(exc), training_typed=form)
        return RedirectResponse("/admin", status_code=303)

    @app.post("/admin/unlock")
    def admin_unlock(
        request: Request,
        form: dict = form_dep,
    ):
        """Forget the failed log-ins of one account or address (its lock ends)."""
        admin_user(request)
        key = form.get("key", "")
        if key.startswith(("account:", "address:")):
            throttle.clear([key])
        return RedirectResponse("/admin", status_code=303)

    @app.post("/admin/assign/{annotator_id}")
    def admin_assign(
        request: Request,
        annotator_id: int,
        form: dict = form_dep,
    ):
        admin_user(request)
        if not storage.set_assignments(
            project,
            annotator_id,
            [q for q in QUEUES if form.get(f"q_{q}") == "on"],
            training=form.get("training") == "on",
        ):
            raise fastapi.HTTPException(status_code=404, detail="no such annotator")
        return RedirectResponse("/admin", status_code=303)

    @app.exception_handler(fastapi.HTTPException)
    async def _http_error(request, exc):  # type: ignore[no-untyped-def]
        return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain")

    def sessions(secure: bool):  # type: ignore[no-untyped-def]
        return SessionMiddleware(
            app,
            secret_key=secret,
            session_cookie=COOKIE,
            max_age=int(absolute_seconds),
            same_site="strict",
            https_only=secure,
        )

    plain, secure = sessions(False), sessions(True)

    async def by_scheme(scope, receive, send):  # type: ignore[no-untyped-def]
        """``Secure`` cookies over HTTPS (as a trusted proxy reports it), plain ones over HTTP."""
        mw = secure if scope.get("scheme") in ("https", "wss") else plain
        await mw(scope, receive, send)

    stack: Any = TrustedHostMiddleware(by_scheme, allowed_hosts=list(allowed_hosts))
    if trusted_proxy:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        stack = ProxyHeadersMiddleware(stack, trusted_hosts=trusted_proxy)
    wrapped = _with_headers(stack)
    wrapped.app = app
    return wrapped


IMAGE_IN_MEMORY = 8 << 20  # images up to this size are read in one go
IMAGE_CACHE = "private, max-age=3600"  # an image of a name never changes within a project


def _image_response(path: Path):  # type: ignore[no-untyped-def]
    """The image in one read, in the handler's own worker thread: FileResponse hops to a thread
    for stat, open and every 64 KB chunk, and each hop queues behind the other handlers for the
    limited worker threads, which stretched the images' latency tail under load."""
    import mimetypes

    from fastapi.responses import FileResponse, Response

    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {"Cache-Control": IMAGE_CACHE}
    if path.stat().st_size > IMAGE_IN_MEMORY:
        return FileResponse(path, media_type=kind, headers=headers)
    return Response(path.read_bytes(), media_type=kind, headers=headers)


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


def serve(
    project_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    db_url: str | None = None,
    db_password: str | None = None,
    allowed_hosts: list[str] | None = None,
    trusted_proxy: str | None = None,
) -> None:
    """Run the app with uvicorn (blocking). Uvicorn's own forwarded-header handling is off:
    only ``trusted_proxy``'s headers are believed."""
    uvicorn = require("uvicorn", "review")
    project = storage.open_project(project_path, db_url=db_url, db_password=db_password)
    app = create_app(
        project, allowed_hosts=allowed_hosts or served_hosts(host), trusted_proxy=trusted_proxy
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


def served_hosts(host: str) -> list[str]:
    """The default allowed ``Host`` names: loopback, and the bound address unless a wildcard."""
    names = list(DEFAULT_HOSTS)
    if host not in ("0.0.0.0", "::", "") and host not in names:
        names.append(host)
    return names


__all__ = ["create_app", "serve", "DONT_KNOW"]
