"""One database connection for the reads of a request, and its one retry after a lost
connection.

Within :func:`request_scope` (the app runs every synchronous handler in one: see
:mod:`errata.review.web.scoped`) each :meth:`Project.read_session
<errata.review.storage.project.Project.read_session>` is a new ORM session — a fresh identity
map, objects detached when it closes, as before — bound to one connection per engine that the
scope checks out on its first read and gives back at its end: one pool check-out per request
for all its reads instead of one per helper. Writes keep their own sessions and transactions.
On PostgreSQL that connection is in autocommit, so each statement sees the latest commits (the
request's own writes included); on SQLite the driver begins no transaction for a ``SELECT``.

The pool no longer pings a connection at every check-out (``pool_pre_ping``: a round trip
each). Liveness is handled optimistically, as SQLAlchemy's "Dealing with Disconnects"
describes: connections are replaced after ``POOL_RECYCLE_SECONDS``, and a request whose
connection turns out to be dead (``DBAPIError.connection_invalidated``: the server restarted,
or closed it) is run once more, on fresh connections, if nothing was committed in it yet — the
dead connection's transaction is gone with it, so the second run starts from the same state.
A request that had committed is not run again: its error is answered as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("errata.review")

T = TypeVar("T")

POOL_RECYCLE_SECONDS = 1800  # a pooled connection older than this is replaced at check-out


@dataclass
class Scope:
    """The connections of one request (engine -> connection) and whether it committed."""

    connections: dict[Engine, Connection] = field(default_factory=dict)
    committed: bool = False
    # called before the second run (the project's pools emptied: their other connections died
    # with the one that failed)
    on_retry: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()


_SCOPE: ContextVar[Scope | None] = ContextVar("errata_review_scope", default=None)


@contextmanager
def request_scope() -> Iterator[Scope]:
    """The scope of one request (nested: the enclosing one)."""
    outer = _SCOPE.get()
    if outer is not None:
        yield outer
        return
    scope = Scope()
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)
        scope.close()


def shared_connection(engine: Engine, on_retry: Callable[[], None]) -> Connection | None:
    """The request's connection to ``engine`` (checked out on first use), None outside a
    request scope."""
    scope = _SCOPE.get()
    if scope is None:
        return None
    conn = scope.connections.get(engine)
    if conn is None:
        conn = scope.connections[engine] = engine.connect()
        if on_retry not in scope.on_retry:
            scope.on_retry.append(on_retry)
    return conn


def note_commit(*_args: object) -> None:
    """Engine ``commit`` listener: the request in progress has committed (no retry now)."""
    scope = _SCOPE.get()
    if scope is not None:
        scope.committed = True


def note_use(on_retry: Callable[[], None]) -> None:
    """A write session of a project is opened in the request: its pools are emptied too
    before a second run."""
    scope = _SCOPE.get()
    if scope is not None and on_retry not in scope.on_retry:
        scope.on_retry.append(on_retry)


def run_with_retry(call: Callable[[], T]) -> T:
    """``call()`` in a request scope; once more in a new one when it failed on a dead
    connection before committing anything (see the module's docstring). Within a scope
    already: ``call()`` alone (the outer scope retries)."""
    from sqlalchemy.exc import DBAPIError

    if _SCOPE.get() is not None:
        return call()
    with request_scope() as scope:
        try:
            return call()
        except DBAPIError as exc:
            if not exc.connection_invalidated or scope.committed:
                raise
            log.warning("database connection lost (%s); the request is run again", exc.orig)
            retry = list(scope.on_retry)
    for reset in retry:
        reset()
    with request_scope():
        return call()
