"""Log-in of the review app: server-side sessions, throttling of failed log-ins, and the small
bounded pool that runs password hashing apart from the annotation handlers.

* **Sessions** live in the ``sessions`` table: the cookie carries a random token (inside the
  signed session cookie), the table only its SHA-256. A session ends at log-out, at a password
  change or reset, when the account is disabled, after ``IDLE_SECONDS`` without a request and
  ``ABSOLUTE_SECONDS`` after the log-in, whichever comes first.
* **Throttling**: every failed log-in counts against the account name and the client address.
  From the ``ACCOUNT_FREE``-th failure of an account (``ADDRESS_FREE``-th of an address) on, the
  key is locked for 1 s, then 2, 4, 8 ... up to ``LOCK_CAP_SECONDS`` (15 minutes) after each
  further failure; while locked, attempts are refused (HTTP 429, ``Retry-After``) without
  checking the password. A success clears the account's count; counts are forgotten after
  ``FORGET_SECONDS`` without a failure. State is kept in memory for the checks and written to the
  ``login_throttle`` table (the admin page shows it; a restart keeps the locks); every lock is
  logged on the ``errata.review.auth`` logger. The counts are per process: ``errata review
  serve`` runs one; several worker processes serving one project would each count (and lock)
  apart, seeing the others' locks only when they start.
* **Hashing pool**: argon2 takes 64 MiB and a few hundred ms per check, by design. Log-ins run in
  ``HASH_THREADS`` threads of their own (one on a 2-core machine) with at most ``HASH_QUEUE``
  waiting; beyond that a log-in is answered 503 with ``Retry-After``, so a flood of log-ins
  never takes the threads that serve the annotators' pages. A refused log-in (locked or pool
  full) is answered only after ``REFUSE_DELAY_SECONDS`` (an ``asyncio`` sleep: no thread, no
  CPU), so that a client that ignores ``Retry-After`` cannot make the server render refusals as
  fast as it can ask. The hashing threads run ``HASH_NICE`` steps nicer than the server (Linux
  keeps a niceness per thread), so that they get the CPU the annotators leave.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from contextvars import copy_context
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypedDict, TypeVar

from errata.exceptions import ErrataInputError
from errata.review.models import Annotator, AuthSession, LoginThrottle
from errata.review.security import hash_password, normalise_name, verify_password
from errata.review.storage.session_cache import CachedSession, SessionCache

log = logging.getLogger("errata.review.auth")

IDLE_SECONDS = 3600  # a session without a request for this long has ended
ABSOLUTE_SECONDS = 12 * 3600  # and every session ends this long after its log-in
TOUCH_SECONDS = 60  # last_seen is written at most this often per session
ACCOUNT_FREE = 5  # failed log-ins of one account before the back-off starts
ADDRESS_FREE = 20  # failed log-ins from one address before the back-off starts (offices, NAT)
LOCK_BASE_SECONDS = 1.0  # the first lock; each further failure doubles it
LOCK_CAP_SECONDS = 900  # the longest lock: 15 minutes
FORGET_SECONDS = 3600  # a key's failures are forgotten after this long without one
# threads hashing passwords (log-in, password change): 2, but on a 2-core machine 1, so that a
# log-in flood leaves a core to the pages (measured: benchmarks/review_load.py, flood)
HASH_THREADS = max(1, min(2, (os.cpu_count() or 2) - 1))
HASH_QUEUE = 8  # log-ins waiting for a hashing thread before the next is answered 503
MAX_KEYS = 100_000  # throttle keys kept in memory (the oldest are dropped beyond)
REFUSE_DELAY_SECONDS = 1.0  # a refused log-in (locked, pool full) is answered after this long

T = TypeVar("T")
P = ParamSpec("P")

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Database(Protocol):
    """What log-in needs of a project (:class:`errata.review.storage.Project`)."""

    @property
    def session_cache(self) -> SessionCache: ...

    def session(self) -> Session: ...

    def read_session(self) -> Session: ...  # for reads only (the request's connection)

    def writing(self) -> AbstractContextManager[object]: ...  # a write transaction's context


class ActiveSession(TypedDict):
    """The live sessions of one annotator (the admin page's "active" column)."""

    sessions: int
    last_seen: float  # the last request of any of them, seconds since the epoch
    address: str  # the client address of that request


class ThrottleRow(TypedDict):
    """One throttled account or address as the admin page shows it."""

    key: str  # "account:<name>" or "address:<ip>"
    kind: str  # "account" or "address"
    who: str
    failures: int
    ago_s: int  # seconds since the last failure
    locked_s: int  # seconds the lock still lasts (0: not locked)
    refused: int  # attempts refused while locked, since the server started


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# sessions


def create_session(
    project: Database, annotator_id: int, address: str, now: float | None = None
) -> str:
    """Store a new session for ``annotator_id``; returns the token for the cookie."""
    from sqlalchemy import delete, or_

    token = secrets.token_urlsafe(32)
    now = time.time() if now is None else now
    with project.writing(), project.session() as s:
        # sessions nobody came back to are deleted here (a used one is checked when used)
        s.execute(
            delete(AuthSession).where(
                or_(
                    AuthSession.created < now - ABSOLUTE_SECONDS,
                    AuthSession.last_seen < now - IDLE_SECONDS,
                )
            )
        )
        s.add(
            AuthSession(
                token_hash=token_hash(token),
                annotator_id=annotator_id,
                created=now,
                last_seen=now,
                address=address[:64],
            )
        )
        s.commit()
    return token


def session_user(
    project: Database,
    token: str | None,
    *,
    idle: float = IDLE_SECONDS,
    absolute: float = ABSOLUTE_SECONDS,
    now: float | None = None,
) -> Annotator | None:
    """The annotator of a live session, or None (an ended session's row is deleted); a session
    read in the last seconds comes from ``project.session_cache``, timeouts checked either way."""
    if not token or not isinstance(token, str):
        return None
    from sqlalchemy import select, update

    now = time.time() if now is None else now
    key, cache = token_hash(token), project.session_cache
    generation, entry = cache.generation, cache.get(key)
    if entry is None:
        with project.read_session() as s:
            row = s.execute(
                select(AuthSession, Annotator)
                .join(Annotator, Annotator.id == AuthSession.annotator_id)
                .where(AuthSession.token_hash == key)
            ).first()
        if row is None:
            return None
        entry = CachedSession(row[1], row[0].created, row[0].last_seen, time.monotonic())
    if entry.user.disabled or now - entry.created > absolute or now - entry.last_seen > idle:
        revoke(project, token)
        return None
    if now - entry.last_seen > TOUCH_SECONDS:
        with project.writing(), project.session() as s:
            s.execute(
                update(AuthSession).where(AuthSession.token_hash == key).values(last_seen=now)
            )
            s.commit()
        entry = replace(entry, last_seen=now)
    cache.put(key, entry, generation)
    return entry.user


def revoke(project: Database, token: str) -> None:
    from sqlalchemy import delete

    with project.writing(), project.session() as s:
        s.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash(token)))
        s.commit()
    project.session_cache.invalidate()


def revoke_all(project: Database, annotator_id: int) -> int:
    """End every session of one annotator; returns how many there were."""
    from sqlalchemy import delete
    from sqlalchemy.engine import CursorResult

    with project.writing(), project.session() as s:
        n = s.execute(delete(AuthSession).where(AuthSession.annotator_id == annotator_id))
        s.commit()
    project.session_cache.invalidate()
    assert isinstance(n, CursorResult)  # what a DELETE returns
    return int(n.rowcount or 0)


def active_sessions(
    project: Database, *, idle: float = IDLE_SECONDS, absolute: float = ABSOLUTE_SECONDS
) -> dict[int, ActiveSession]:
    """Per annotator id with a live session: how many, the last request (epoch s), its address."""
    from sqlalchemy import select

    now = time.time()
    with project.session() as s:
        rows = s.scalars(
            select(AuthSession).where(
                AuthSession.last_seen >= now - idle, AuthSession.created >= now - absolute
            )
        ).all()
    out: dict[int, ActiveSession] = {}
    for r in rows:
        a = out.setdefault(r.annotator_id, {"sessions": 0, "last_seen": 0.0, "address": ""})
        a["sessions"] += 1
        if r.last_seen >= a["last_seen"]:
            a["last_seen"], a["address"] = r.last_seen, r.address
    return out


# ---------------------------------------------------------------------------------------------
# accounts

_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
    "RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
)  # checked against when a name is unknown, so the time does not tell which names exist


def check_password(project: Database, name: str, password: str) -> Annotator | None:
    """The annotator whose (normalised) name and password match, else None; the argon2 check
    runs whether or not the name exists. A disabled account is returned: the caller says so."""
    from sqlalchemy import select

    with project.session() as s:
        user = s.scalar(select(Annotator).where(Annotator.name == normalise_name(name)))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    return user if user is not None and ok else None


def set_password(project: Database, annotator_id: int, password: str) -> None:
    """A new password for an annotator (admin reset or the annotator's own change): every session
    of the account ends and its failed log-ins are forgotten."""
    if len(password) < 8:
        raise ErrataInputError("password: expected at least 8 characters")
    hashed = hash_password(password)
    with project.writing(), project.session() as s:
        user = s.get(Annotator, annotator_id)
        if user is None:
            raise ErrataInputError(f"annotator {annotator_id}: no such annotator")
        user.password_hash = hashed
        name = user.name
        s.commit()
    revoke_all(project, annotator_id)
    log.warning("password of '%s' changed; its sessions ended", name)


def set_disabled(project: Database, annotator_id: int, disabled: bool) -> str:
    """Disable (every session ends, no log-in) or re-enable an account; returns its name."""
    with project.writing(), project.session() as s:
        user = s.get(Annotator, annotator_id)
        if user is None:
            raise ErrataInputError(f"annotator {annotator_id}: no such annotator")
        user.disabled = disabled
        name = str(user.name)
        s.commit()
    if disabled:
        revoke_all(project, annotator_id)
    log.warning("account '%s' %s", name, "disabled" if disabled else "enabled")
    return name


def delete_annotator(project: Database, annotator_id: int) -> str:
    """Delete an account that never reviewed anything (its sessions, assignments, skips and
    leases go with it); one with reviews is refused: disable it, so its answers keep an author."""
    from sqlalchemy import delete, func, select, update

    from errata.review.models import Answer, Assignment, Item, Review, Skip

    with project.writing(), project.session() as s:
        user = s.get(Annotator, annotator_id)
        if user is None:
            raise ErrataInputError(f"annotator {annotator_id}: no such annotator")
        n = s.scalar(select(func.count(Review.id)).where(Review.annotator_id == annotator_id))
        n = int(n or 0) + int(
            s.scalar(select(func.count(Answer.id)).where(Answer.annotator_id == annotator_id)) or 0
        )
        if n:
            raise ErrataInputError(
                f"'{user.name}' has reviews; disable the account instead (its answers keep "
                "their author)"
            )
        name = str(user.name)
        s.execute(delete(AuthSession).where(AuthSession.annotator_id == annotator_id))
        s.execute(delete(Assignment).where(Assignment.annotator_id == annotator_id))
        s.execute(delete(Skip).where(Skip.annotator_id == annotator_id))
        s.execute(
            update(Item)
            .where(Item.lease_annotator == annotator_id)
            .values(lease_annotator=None, lease_expires=None)
        )
        s.delete(user)
        s.commit()
    project.session_cache.invalidate()
    log.warning("account '%s' deleted", name)
    return name


# ---------------------------------------------------------------------------------------------
# throttling


@dataclass
class _Key:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0
    refused: int = 0  # attempts refused while locked (since the server started)


def account_key(name: str) -> str:
    return "account:" + normalise_name(name)[:100]


def address_key(address: str) -> str:
    return "address:" + address[:100]


class Throttle:
    """Failed log-ins per key with exponential back-off, kept in memory and in the database."""

    def __init__(self, project: Database) -> None:
        self.project = project
        self._keys: dict[str, _Key] = {}
        self._lock = threading.Lock()
        self.load()

    def load(self) -> None:
        from sqlalchemy import select

        with self.project.session() as s:
            rows = s.scalars(select(LoginThrottle)).all()
        with self._lock:
            self._keys = {r.key: _Key(r.failures, r.last_failure, r.locked_until) for r in rows}

    @staticmethod
    def _free(key: str) -> int:
        return ACCOUNT_FREE if key.startswith("account:") else ADDRESS_FREE

    def retry_after(self, keys: list[str], now: float | None = None) -> float:
        """Seconds until every key may try again (0: now); counts a refusal on locked keys."""
        now = time.time() if now is None else now
        wait = 0.0
        with self._lock:
            for k in keys:
                st = self._keys.get(k)
                if st is not None and st.locked_until > now:
                    st.refused += 1
                    wait = max(wait, st.locked_until - now)
        return wait

    def failed(self, keys: list[str], now: float | None = None) -> None:
        """Count one failed log-in against each key (and lock the keys past their free tries)."""
        now = time.time() if now is None else now
        changed: list[tuple[str, _Key]] = []
        with self._lock:
            for k in keys:
                st = self._keys.get(k)
                if st is None or now - st.last_failure > FORGET_SECONDS:
                    st = self._keys[k] = _Key(refused=st.refused if st else 0)
                st.failures += 1
                st.last_failure = now
                over = st.failures - self._free(k)
                if over >= 0:
                    st.locked_until = now + min(LOCK_BASE_SECONDS * 2.0**over, LOCK_CAP_SECONDS)
                    log.warning(
                        "log-in locked for %s: %d failures, next try in %.0f s",
                        k,
                        st.failures,
                        st.locked_until - now,
                    )
                changed.append((k, _Key(st.failures, st.last_failure, st.locked_until)))
            if len(self._keys) > MAX_KEYS:  # drop the longest quiet
                for k in sorted(self._keys, key=lambda k: self._keys[k].last_failure)[
                    : len(self._keys) - MAX_KEYS
                ]:
                    del self._keys[k]
        with self.project.writing(), self.project.session() as s:
            for k, st in changed:
                s.merge(
                    LoginThrottle(
                        key=k,
                        failures=st.failures,
                        last_failure=st.last_failure,
                        locked_until=st.locked_until,
                    )
                )
            s.commit()

    def clear(self, keys: list[str]) -> None:
        """Forget the failures of ``keys`` (a successful log-in, an admin's reset or unlock)."""
        from sqlalchemy import delete

        with self._lock:
            present = [k for k in keys if k in self._keys]
            for k in present:
                del self._keys[k]
        if not present:  # every stored key is in memory (loaded at start, written through)
            return
        with self.project.writing(), self.project.session() as s:
            s.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
            s.commit()

    def report(self, now: float | None = None) -> list[ThrottleRow]:
        """Keys with failures not yet forgotten, most recent first (for the admin page)."""
        now = time.time() if now is None else now
        with self._lock:
            items = [
                (k, st)
                for k, st in self._keys.items()
                if st.failures and now - st.last_failure <= FORGET_SECONDS
            ]
        items.sort(key=lambda kv: -kv[1].last_failure)
        return [
            {
                "key": k,
                "kind": k.split(":", 1)[0],
                "who": k.split(":", 1)[1],
                "failures": st.failures,
                "ago_s": round(now - st.last_failure),
                "locked_s": max(0, round(st.locked_until - now)),
                "refused": st.refused,
            }
            for k, st in items[:200]
        ]


# ---------------------------------------------------------------------------------------------
# the hashing pool


class PoolFull(Exception):
    """Every hashing thread is busy and the queue is full: answer 503, try again shortly."""


HASH_NICE = 10  # the hashing threads' niceness above the server's: they get the idle CPU


def _lower_priority() -> None:
    """Make the calling thread (and the threads it starts) yield the CPU to the annotation
    handlers: Linux keeps a niceness per thread. Elsewhere a no-op."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + HASH_NICE)
    except (AttributeError, OSError):
        pass


class HashPool:
    """Threads for argon2 work, run in the caller's context (its request scope, storage.scope),
    with a bounded queue (refusing beyond it at once)."""

    def __init__(self, threads: int = HASH_THREADS, queue: int = HASH_QUEUE) -> None:
        self._executor = ThreadPoolExecutor(
            threads, thread_name_prefix="errata-auth", initializer=_lower_priority
        )
        self._slots = threading.BoundedSemaphore(threads + queue)

    def _submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        if not self._slots.acquire(blocking=False):
            raise PoolFull()
        try:
            fut = self._executor.submit(partial(copy_context().run, fn, *args, **kwargs))
        except BaseException:
            self._slots.release()
            raise
        fut.add_done_callback(lambda _f: self._slots.release())
        return fut

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args)`` on the pool from the event loop (raises :class:`PoolFull`)."""
        return await asyncio.wrap_future(self._submit(fn, *args, **kwargs))

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args)`` on the pool from a worker thread and wait for it."""
        return self._submit(fn, *args, **kwargs).result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
