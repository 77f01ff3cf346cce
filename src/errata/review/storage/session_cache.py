"""The server process's short-lived memory of live sessions and of the annotators' queues, so
that the requests of one page (the next item, the item page, its image, the answer) do not each
look them up in the database: a query and a pooled-connection check-out less for each.

An entry is the session's annotator and times as the database last gave them, kept for at most
``SESSION_CACHE_SECONDS``; the timeouts are still checked on every request against those times
(:func:`errata.review.auth.session_user`). There is one cache per database URL in the process,
whichever :class:`errata.review.storage.Project` opened it. Every change made in the process to a
session or an account (log-out, password change or reset, disable, delete, queues, training
mode) empties it once its transaction has committed, and a look-up that was reading the database
meanwhile does not store what it read: within the process a revocation holds from the next
request on. A change made by another process (``errata review account NAME disable`` run while
the server runs) reaches the server within ``SESSION_CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from errata.review.models import Annotator

SESSION_CACHE_SECONDS = 2.0  # how long a session read from the database is believed
MAX_ENTRIES = 10_000  # beyond this many sessions the cache starts again empty


@dataclass(frozen=True)
class CachedSession:
    """A live session as the database gave it, ``read_at`` (monotonic seconds)."""

    user: Annotator
    created: float  # seconds since the epoch, as in the ``sessions`` table
    last_seen: float
    read_at: float


class SessionCache:
    """Token hash -> :class:`CachedSession`, emptied by :meth:`invalidate`. Thread-safe."""

    def __init__(self, seconds: float = SESSION_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._entries: dict[str, CachedSession] = {}
        self._queues: dict[int, tuple[tuple[str, ...], float]] = {}  # annotator id -> queues
        self._generation = 0  # how many times the cache was emptied

    @property
    def generation(self) -> int:
        """Take it before reading the database, give it to :meth:`put` after."""
        return self._generation

    def get(self, key: str) -> CachedSession | None:
        """The entry of ``key`` if it is younger than ``seconds``, else None."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry.read_at > self.seconds:
            return None
        return entry

    def put(self, key: str, entry: CachedSession, generation: int) -> None:
        """Keep ``entry`` unless the cache was emptied since ``generation`` was taken (what was
        read may predate the change that emptied it)."""
        with self._lock:
            if generation != self._generation or self.seconds <= 0:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = entry

    def queues(self, annotator_id: int) -> list[str] | None:
        """The queues of an annotator read in the last ``seconds``, else None."""
        hit = self._queues.get(annotator_id)
        if hit is None or time.monotonic() - hit[1] > self.seconds:
            return None
        return list(hit[0])

    def put_queues(self, annotator_id: int, queues: list[str], generation: int) -> None:
        """Keep an annotator's queues, as :meth:`put` keeps a session."""
        with self._lock:
            if generation != self._generation or self.seconds <= 0:
                return
            if len(self._queues) >= MAX_ENTRIES:
                self._queues.clear()
            self._queues[annotator_id] = (tuple(queues), time.monotonic())

    def invalidate(self) -> None:
        """Forget every entry; call it after committing a change to an account, its queues or a
        session."""
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._queues.clear()


_CACHES: dict[str, SessionCache] = {}
_CACHES_LOCK = threading.Lock()


def cache_of(db_url: str) -> SessionCache:
    """The process's cache of the database at ``db_url`` (made on first use)."""
    cache = _CACHES.get(db_url)
    if cache is None:
        with _CACHES_LOCK:
            cache = _CACHES.setdefault(db_url, SessionCache())
    return cache
