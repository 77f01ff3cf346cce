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

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from errata.exceptions import require
from errata.review import auth, storage
from errata.review.models import DONT_KNOW
from errata.review.security import signing_key

if TYPE_CHECKING:
    from errata.review.web.middleware import SecurityHeaders

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")  # Host names accepted unless told otherwise
# an annotator's browser keeps its connection while they look at an image (uvicorn's default of
# 5 s closes it under their feet, and a request sent as it closes fails)
KEEP_ALIVE_SECONDS = 75
WORKER_THREADS = 8  # threads running the (synchronous) request handlers


def create_app(
    project: storage.Project,
    *,
    allowed_hosts: tuple[str, ...] | list[str] = DEFAULT_HOSTS,
    trusted_proxy: str | None = None,
    idle_seconds: float = auth.IDLE_SECONDS,
    absolute_seconds: float = auth.ABSOLUTE_SECONDS,
    hash_threads: int = auth.HASH_THREADS,
    hash_queue: int = auth.HASH_QUEUE,
) -> "SecurityHeaders":
    """The ASGI app for one opened project.

    ``allowed_hosts``: the names the ``Host`` header may carry (anything else: 400).
    ``trusted_proxy``: the address(es) of a reverse proxy (comma-separated, CIDR allowed) whose
    forwarded headers are believed; from anyone else they are ignored."""
    require("fastapi", "review")
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    from errata.review.web import admin, errors, images, items, middleware, sessions
    from errata.review.web.state import build_state

    state = build_state(
        project,
        idle_seconds=idle_seconds,
        absolute_seconds=absolute_seconds,
        hash_threads=hash_threads,
        hash_queue=hash_queue,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # few worker threads: the handlers are short and share one GIL and one SQLite writer,
        # so 40 threads (the default) only add switching and stretch the latency tail
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        yield
        state.pool.shutdown()

    app = FastAPI(
        title="errata review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.review = state
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    errors.install(app)
    for module in (sessions, items, images, admin):
        app.include_router(module.router)
    return middleware.wrap(
        app,
        secret=signing_key(project.path),
        max_age=int(absolute_seconds),
        allowed_hosts=list(allowed_hosts),
        trusted_proxy=trusted_proxy,
    )


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
    freeze_heap()
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


def freeze_heap() -> None:
    """Move everything alive once the app is built (imported modules, class tables, templates:
    ~130,000 objects) out of the garbage collector's reach; they stay alive anyway. Under load,
    Python's full collections walked them all every ~8 s, stopping every thread for 90-115 ms
    each time (4-19 ms after; measured in the server of benchmarks/review_load.py)."""
    import gc

    gc.collect()
    gc.freeze()


def served_hosts(host: str) -> list[str]:
    """The default allowed ``Host`` names: loopback, and the bound address unless a wildcard."""
    names = list(DEFAULT_HOSTS)
    if host not in ("0.0.0.0", "::", "") and host not in names:
        names.append(host)
    return names


__all__ = ["create_app", "serve", "DONT_KNOW"]
