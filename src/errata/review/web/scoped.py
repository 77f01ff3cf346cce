"""The route class of every router: each synchronous handler runs in one request scope
(:mod:`errata.review.storage.scope`) — one database connection for all the reads of the
request, checked out once, and one more run of the handler when a dead connection failed it
before anything was committed. ``async`` handlers (log-in) are left as they are."""

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute

from errata.review.storage.scope import run_with_retry


def scoped(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` run in a request scope (itself when it is a coroutine function). FastAPI
    reads the handler's parameters through ``functools.wraps``."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        return run_with_retry(lambda: endpoint(*args, **kwargs))

    return run


class ScopedRoute(APIRoute):
    """An ``APIRoute`` whose handler is :func:`scoped`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, scoped(endpoint), **kwargs)
