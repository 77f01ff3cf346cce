"""Opening a review project and every read or write the app makes, as plain functions.

A project is a directory holding ``project.json`` (database URL, image directory) and, by
default, the SQLite database ``review.sqlite``. PostgreSQL is used when the URL says so
(``postgresql+psycopg://user@host:port/db``). SQLite runs in WAL mode with ``synchronous=FULL``
so that an answer acknowledged to the browser survives a killed server.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from errata.core.checks import choice
from errata.exceptions import ErrataInputError, require
from errata.io.files import read_json
from errata.review.models import (
    CORRECT,
    DONT_KNOW,
    QUEUES,
    Annotator,
    Answer,
    Assignment,
    Base,
    Image,
    Item,
    Meta,
    Review,
    Skip,
)
from errata.review.security import (
    DB_PASSWORD_ENV,
    DB_PASSWORD_FILE_ENV,
    KEY_FILE,
    db_password_from_env,
    make_private,
    make_private_dir,
    new_secret_key,
    normalise_name,
    read_private_text,
    signing_key,
    split_db_password,
    touch_private,
    with_db_password,
    write_private_text,
)
from errata.review.upgrade import novel_originals

log = logging.getLogger("errata.review")

PROJECT_FILE = "project.json"  # per-project settings, beside the SQLite database
SQLITE_FILE = "review.sqlite"  # default database file name
BUSY_TIMEOUT_MS = 10_000  # how long a SQLite writer waits for the lock before failing
DEFAULT_REVIEWS_PER_ITEM = 3  # annotators per non-golden item before it leaves the queue
LEASE_SECONDS = 600  # how long an item stays reserved for the annotator it was given to
# settings (reviews per item, lease length) are read from the database at most this often per
# process: they are set when the project is made (and by tests); one query less per request
SETTINGS_SECONDS = 5.0
# PostgreSQL connections per engine: the app's 8 worker threads and its hashing thread each hold
# at most one at a time; the overflow covers scripts and tests that run more threads
POOL_SIZE = 10
POOL_OVERFLOW = 20


@dataclass(frozen=True)
class Project:
    """An opened review project: its directory, settings and a SQLAlchemy engine."""

    path: Path
    db_url: str
    images: Path | None
    engine: Any
    # SQLite allows one writer; queueing writers on a lock here avoids its busy-wait back-off
    # (sleeps of up to 100 ms), which otherwise dominates the latency tail under load
    write_lock: Any = field(default_factory=threading.Lock, compare=False, repr=False)
    # SQLite: the same database with synchronous=NORMAL, for leases only (a lease lost in a
    # crash costs nothing, and WAL commits without an fsync each); answers keep synchronous=FULL
    lease_engine: Any = field(default=None, compare=False, repr=False)
    autocommit_engine: Any = field(default=None, compare=False, repr=False)
    # settings read from the meta table: key -> (value or None, monotonic time read)
    settings_cache: dict[str, tuple[str | None, float]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def session(self):  # type: ignore[no-untyped-def]
        from sqlalchemy.orm import Session

        return Session(self.engine, expire_on_commit=False)

    def read_session(self):  # type: ignore[no-untyped-def]
        """A session for reads only. On PostgreSQL it runs in autocommit: no ``BEGIN`` and no
        ``ROLLBACK`` round trip around the reads (at PostgreSQL's READ COMMITTED each statement
        sees its own snapshot either way); on SQLite it is :meth:`session` (one snapshot)."""
        from sqlalchemy.orm import Session

        if self.sqlite:
            return Session(self.engine, expire_on_commit=False)
        if self.autocommit_engine is None:  # the same pool, connections in autocommit
            engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            object.__setattr__(self, "autocommit_engine", engine)
        return Session(self.autocommit_engine, expire_on_commit=False)

    def lease_session(self):  # type: ignore[no-untyped-def]
        """A session for lease writes, which need not survive a crash (see ``lease_engine``)."""
        from sqlalchemy.orm import Session

        return Session(self.lease_engine or self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        """Close every database connection of the project."""
        self.engine.dispose()
        if self.lease_engine is not None:
            self.lease_engine.dispose()

    @property
    def sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def writing(self):  # type: ignore[no-untyped-def]
        """Context for a write transaction: the process-wide lock on SQLite, nothing elsewhere."""
        return self.write_lock if self.sqlite else nullcontext()


class Refused(ErrataInputError):
    """A review that is not stored, for a reason the annotator should read (HTTP 409)."""


def _begin_write(project: Project, s: Any, *, durable: bool = True) -> None:
    """Start a write transaction: on SQLite ``BEGIN IMMEDIATE`` (the one writer, also against
    other processes); on PostgreSQL rows are locked by the statements themselves, and a
    transaction that need not survive a crash (``durable=False``: leases) does not wait for
    its commit to reach the disk."""
    if project.sqlite:
        s.connection().exec_driver_sql("BEGIN IMMEDIATE")
    elif not durable and project.lease_engine is None:
        s.connection().exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def migrate(engine: Any) -> list[str]:
    """Bring an existing database up to the current tables: create missing tables, add
    missing nullable columns (``ALTER TABLE ... ADD COLUMN``) and missing indexes; returns the
    columns added.

    Raises
    ------
    ErrataInputError
        When a missing column cannot be added in place (not nullable and without a default).
    """
    sa = require("sqlalchemy", "review")
    Base.metadata.create_all(engine)  # missing tables; a no-op on existing ones
    inspector = sa.inspect(engine)
    added: list[str] = []
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for col in table.columns:
                if col.name in have:
                    continue
                if not col.nullable:
                    raise ErrataInputError(
                        f"database: table {table.name} lacks column {col.name}, which cannot "
                        "be added in place; create a new project with `errata review init`"
                    )
                kind = col.type.compile(dialect=engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {kind}")
                added.append(f"{table.name}.{col.name}")
    for table in Base.metadata.sorted_tables:  # indexes added since (create_all skips them)
        for index in table.indexes:
            index.create(engine, checkfirst=True)
    return added


def _engine(url: str, password: str | None = None, *, durable: bool = True):  # type: ignore[no-untyped-def]
    sa = require("sqlalchemy", "review")
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # leases need not survive a crash: their connections commit without waiting for the disk
    # (set once per connection, not by a statement in every transaction)
    args = {} if durable else {"options": "-c synchronous_commit=off"}
    return sa.create_engine(
        with_db_password(url, password),
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_pre_ping=True,
        connect_args=args,
    )


def _write_private_json(path: Path, obj: Any) -> None:
    """Write ``obj`` atomically, readable by its owner only."""
    write_private_text(path, json.dumps(obj, indent=2) + "\n")


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    db = make_url(url).database
    return Path(db) if db and db != ":memory:" else None


def _private_files(path: Path, url: str) -> None:
    """Make the project's folder 0700 and its files 0600 (projects made before they were)."""
    make_private(path)
    names = [PROJECT_FILE, KEY_FILE]
    db = _sqlite_file(url)
    files = [path / n for n in names]
    if db is not None:
        files += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    for f in files:
        make_private(f)


def create_project(
    path: str | Path,
    *,
    db_url: str | None = None,
    images: str | Path | None = None,
    settings: dict[str, str] | None = None,
    db_password: str | None = None,
) -> Project:
    """Create the project directory (0700), its settings file, its signing key (0600 files) and
    an empty database. A password in ``db_url`` is used but never written: ``project.json`` keeps
    the URL without it (see :func:`open_project` for where it comes from next time).

    Raises
    ------
    ErrataInputError
        When the directory already holds a project or the image directory does not exist.
    """
    path = Path(path).absolute()
    if (path / PROJECT_FILE).exists():
        raise ErrataInputError(
            f"{path}: already a review project ({PROJECT_FILE} exists); choose a new directory"
        )
    if images is not None and not Path(images).is_dir():
        raise ErrataInputError(f"--images {images}: not a directory")
    stored_url, in_url = split_db_password(db_url) if db_url else (None, None)
    make_private_dir(path)
    url = stored_url or f"sqlite:///{path / SQLITE_FILE}"
    db_file = _sqlite_file(url)
    if db_file is not None and not db_file.exists():
        touch_private(db_file)  # SQLite gives its -wal and -shm files the same mode
    password = in_url or db_password or db_password_from_env()
    engine = _engine(url, password)
    Base.metadata.create_all(engine)
    project = Project(
        path,
        url,
        None if images is None else Path(images).resolve(),
        engine,
        lease_engine=_engine(url, password, durable=False),
    )
    signing_key(path)  # secret.key, 0600 (or $ERRATA_REVIEW_SECRET_KEY, never written)
    meta = {"reviews_per_item": str(DEFAULT_REVIEWS_PER_ITEM), **(settings or {})}
    with project.session() as s:
        for k, v in meta.items():
            s.merge(Meta(key=k, value=v))
        s.commit()
    # the default database is found relative to the project, so the directory can be moved
    _write_private_json(
        path / PROJECT_FILE,
        {"db": stored_url, "images": None if project.images is None else str(project.images)},
    )
    return project


def open_project(
    path: str | Path, *, db_url: str | None = None, db_password: str | None = None
) -> Project:
    """Open an existing project directory (``db_url`` overrides the stored URL).

    The database password is taken from ``db_url`` itself, else ``db_password``, else
    ``$ERRATA_REVIEW_DB_PASSWORD`` or the 0600 file named by ``$ERRATA_REVIEW_DB_PASSWORD_FILE``,
    else libpq's own ``PGPASSWORD`` / ``~/.pgpass``. A project made before these rules is brought
    up to them here: its files made private, a password found in ``project.json`` removed from
    it (used for this run; a warning says where to put it), and a signing key found in the
    database moved out of it *and replaced* by a new one in ``secret.key``, so that cookies
    signed with the old key (which anyone who could read the database had) no longer open.
    """
    path = Path(path).absolute()
    if not (path / PROJECT_FILE).exists():
        raise ErrataInputError(
            f"{path}: not a review project (no {PROJECT_FILE}); create it with `errata review init`"
        )
    conf = read_json(path / PROJECT_FILE, what="the settings of a review project")
    if not isinstance(conf, dict):
        raise ErrataInputError(f"{path / PROJECT_FILE}: expected a JSON object of settings")
    stored = conf.get("db")
    if stored is not None and not isinstance(stored, str):
        raise ErrataInputError(f"{path / PROJECT_FILE}: field 'db' must be a database URL")
    in_file = None
    if stored:
        conf["db"], in_file = split_db_password(stored)
        if in_file is not None:
            _write_private_json(path / PROJECT_FILE, conf)
            log.warning(
                "%s: the database password was stored in clear; it is removed from the file "
                "(give it next time in $%s, a 0600 file named by $%s, ~/.pgpass or the prompt)",
                path / PROJECT_FILE,
                DB_PASSWORD_ENV,
                DB_PASSWORD_FILE_ENV,
            )
    given_url, in_url = split_db_password(db_url) if db_url else (None, None)
    url = given_url or conf.get("db") or f"sqlite:///{path / SQLITE_FILE}"
    _private_files(path, url)
    password = in_url or db_password or in_file or db_password_from_env()
    engine = _engine(url, password)
    migrate(engine)  # a project made by an older version gets the new tables and columns
    novel_originals(engine)  # and the original label among its novel items' candidates
    images = conf.get("images")
    project = Project(
        path,
        url,
        None if not images else Path(images),
        engine,
        lease_engine=_engine(url, password, durable=False),
    )
    _migrate_secrets(project)
    return project


def _migrate_secrets(project: Project) -> None:
    """Move a signing key out of the database (rotating it) and normalise annotator names."""
    from sqlalchemy import delete, select

    with project.writing(), project.session() as s:
        old = s.get(Meta, "secret_key")
        if old is not None:
            key_file = project.path / KEY_FILE
            if not key_file.exists() or read_private_text(key_file, "the key") == old.value:
                write_private_text(key_file, new_secret_key() + "\n")
            s.execute(delete(Meta).where(Meta.key == "secret_key"))
            log.warning(
                "%s: the session signing key was in the database; a new one is in %s (every "
                "earlier log-in has ended)",
                project.path,
                KEY_FILE,
            )
        taken: set[str] = set()
        for a in s.scalars(select(Annotator).order_by(Annotator.id)).all():
            norm = normalise_name(a.name)
            if norm in taken:
                # a look-alike of an earlier account: kept, disabled, renamed for the admin
                a.name, a.disabled = f"{norm}#{a.id}"[:64], True
                log.warning("annotator %d: a look-alike of '%s', disabled and renamed", a.id, norm)
            elif norm != a.name:
                a.name = norm
            taken.add(normalise_name(a.name))
        s.commit()


def get_meta(project: Project, key: str, default: str | None = None) -> str | None:
    with project.read_session() as s:
        row = s.get(Meta, key)
        return default if row is None else row.value


def set_meta(project: Project, key: str, value: str) -> None:
    with project.session() as s:
        s.merge(Meta(key=key, value=value))
        s.commit()
    project.settings_cache.pop(key, None)


def _setting(project: Project, key: str, default: int) -> int:
    """An integer setting of the meta table, read at most every ``SETTINGS_SECONDS`` (call it
    before opening a session: a read here takes a connection of its own)."""
    import time

    now = time.monotonic()
    cached = project.settings_cache.get(key)
    if cached is None or now - cached[1] > SETTINGS_SECONDS:
        cached = (get_meta(project, key), now)
        project.settings_cache[key] = cached
    return int(cached[0]) if cached[0] is not None else default


# ---------------------------------------------------------------------------------------------
# annotators


def add_annotator(
    project: Project,
    name: str,
    password: str,
    *,
    admin: bool = False,
    queues: Iterable[str] = QUEUES,
    training: bool = False,
) -> int:
    """Create an annotator with an argon2-hashed password and assign ``queues``; returns the id."""
    from errata.review.security import hash_password

    name = normalise_name(name)
    if not name or len(name) > 64:
        raise ErrataInputError(f"annotator name: expected 1-64 visible characters, got {len(name)}")
    if len(password) < 8:
        raise ErrataInputError("password: expected at least 8 characters")
    queues = [choice(q, QUEUES, keyword="queue") for q in queues]
    from sqlalchemy import select

    with project.session() as s:
        if s.scalar(select(Annotator.id).where(Annotator.name == name)) is not None:
            raise ErrataInputError(
                f"annotator '{name}' already exists (names are compared case-folded, NFKC, "
                "without invisible characters)"
            )
        a = Annotator(
            name=name, password_hash=hash_password(password), is_admin=admin, training=training
        )
        s.add(a)
        s.flush()
        s.add_all([Assignment(annotator_id=a.id, queue=q) for q in queues])
        s.commit()
        return int(a.id)


def set_assignments(
    project: Project, annotator_id: int, queues: Iterable[str], *, training: bool | None = None
) -> bool:
    """Set the queues (and training mode) of one annotator; False when there is no such one."""
    from sqlalchemy import delete

    queues = [q for q in queues if q in QUEUES]
    with project.session() as s:
        if s.get(Annotator, annotator_id) is None:
            return False
        s.execute(delete(Assignment).where(Assignment.annotator_id == annotator_id))
        s.add_all([Assignment(annotator_id=annotator_id, queue=q) for q in queues])
        if training is not None:
            a = s.get(Annotator, annotator_id)
            if a is not None:
                a.training = training
        s.commit()
        return True


def annotators(project: Project) -> list[dict[str, Any]]:
    from sqlalchemy import select

    with project.read_session() as s:
        rows = s.scalars(select(Annotator).order_by(Annotator.id)).all()
        assign = s.execute(select(Assignment.annotator_id, Assignment.queue)).all()
    queues: dict[int, list[str]] = {}
    for aid, q in assign:
        queues.setdefault(aid, []).append(q)
    return [
        {
            "id": a.id,
            "name": a.name,
            "is_admin": a.is_admin,
            "training": a.training,
            "disabled": bool(a.disabled),
            "queues": sorted(queues.get(a.id, []), key=QUEUES.index),
        }
        for a in rows
    ]


def assigned_queues(project: Project, annotator_id: int) -> list[str]:
    """The queues one annotator works on."""
    from sqlalchemy import select

    with project.read_session() as s:
        return list(
            s.scalars(select(Assignment.queue).where(Assignment.annotator_id == annotator_id)).all()
        )


def annotator_by_name(project: Project, name: str) -> Annotator | None:
    from sqlalchemy import select

    with project.read_session() as s:
        return s.scalar(select(Annotator).where(Annotator.name == normalise_name(name)))


def annotator_by_id(project: Project, annotator_id: int) -> Annotator | None:
    with project.read_session() as s:
        return s.get(Annotator, annotator_id)


# ---------------------------------------------------------------------------------------------
# queues and items


def _target(project: Project) -> int:
    return _setting(project, "reviews_per_item", DEFAULT_REVIEWS_PER_ITEM)


def _lease_seconds(project: Project) -> int:
    return _setting(project, "lease_seconds", LEASE_SECONDS)


def _open_to(annotator_id: int, target: int, now: datetime) -> Any:
    """SQL condition: an item this annotator may be given now (golden items go to everyone;
    a regular item still needs reviews and nobody else holds a live lease on it)."""
    from sqlalchemy import and_, exists, or_

    mine = exists().where(Review.item_id == Item.id, Review.annotator_id == annotator_id)
    free = or_(
        Item.lease_annotator.is_(None),
        Item.lease_annotator == annotator_id,
        Item.lease_expires <= now,
    )
    return and_(~mine, or_(Item.golden.is_not(None), and_(Item.n_reviews < target, free)))


def next_item(project: Project, annotator_id: int, queue: str) -> int | None:
    """The item this annotator works on next in ``queue``, leased to them; None when nothing
    is left for them.

    The item they already hold (a live lease) comes first, its lease renewed; otherwise the
    first item by position that they have neither reviewed nor skipped, that still needs
    reviews and that nobody else holds. The lease is taken in the same transaction as the
    choice (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two
    annotators asking at once never get the same regular item and no item is given out more
    often than it needs reviews. Golden items are shown to everyone and take no lease.
    """
    from datetime import timedelta

    from sqlalchemy import exists, select

    # the settings first: a session open while they are read would hold a second connection
    target, lease_s = _target(project), _lease_seconds(project)
    with project.read_session() as s:
        training = _next_training(s, annotator_id, queue)
        if training is not None:  # training tasks first (golden: no lease, found by a read)
            return training
        fresh = _held_fresh(s, annotator_id, target, lease_s, queue=queue)
        if fresh is not None:  # the item they hold, far from expiry: no write needed
            return fresh
    with project.writing(), project.lease_session() as s:
        _begin_write(project, s, durable=False)
        if (
            s.scalar(
                select(Assignment.queue).where(
                    Assignment.annotator_id == annotator_id, Assignment.queue == queue
                )
            )
            is None
        ):
            return None
        now = datetime.now(timezone.utc)
        until = now + timedelta(seconds=lease_s)
        skipped = exists().where(Skip.item_id == Item.id, Skip.annotator_id == annotator_id)
        held = s.scalar(
            select(Item)
            .where(
                Item.queue == queue,
                Item.lease_annotator == annotator_id,
                Item.lease_expires > now,
                _open_to(annotator_id, target, now),
            )
            .order_by(Item.position)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        item = held
        for _ in range(5):  # a row another transaction changed under us is re-checked, not given
            if item is not None:
                break
            item = s.scalar(
                select(Item)
                .where(Item.queue == queue, ~skipped, _open_to(annotator_id, target, now))
                .order_by(Item.position)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if item is None and project.sqlite:
                break
        if item is None:
            return None
        if item.golden is None:
            item.lease_annotator, item.lease_expires = annotator_id, until
        item_id = int(item.id)
        s.commit()
        return item_id


def _next_training(s: Any, annotator_id: int, queue: str) -> int | None:
    """The first training task of ``queue`` this annotator has neither answered nor skipped."""
    from sqlalchemy import exists, select, true

    mine = exists().where(Review.item_id == Item.id, Review.annotator_id == annotator_id)
    skipped = exists().where(Skip.item_id == Item.id, Skip.annotator_id == annotator_id)
    assigned = exists().where(Assignment.annotator_id == annotator_id, Assignment.queue == queue)
    found = s.scalar(
        select(Item.id)
        .where(
            Item.queue == queue,
            Item.training == true(),  # '= true', which the (queue, training) index serves
            Item.golden.is_not(None),
            ~mine,
            ~skipped,
            assigned,
        )
        .order_by(Item.position)
        .limit(1)
    )
    return None if found is None else int(found)


def set_training(
    project: Project, *, first: int | None = None, items: list[int] | None = None
) -> int:
    """Mark training tasks: the ``first`` golden items (by position) of each queue, replacing
    the marks there were, and/or the golden ``items`` given by id; returns how many items are
    training tasks now.

    Raises
    ------
    ErrataInputError
        A negative count, or an item id that is not a golden item (naming it).
    """
    from sqlalchemy import func, select, update

    with project.writing(), project.session() as s:
        _begin_write(project, s)
        if first is not None:
            if first < 0:
                raise ErrataInputError(f"training tasks: {first} is not a count (0 or more)")
            s.execute(update(Item).values(training=False))
            for queue in QUEUES:
                ids = s.scalars(
                    select(Item.id)
                    .where(Item.queue == queue, Item.golden.is_not(None))
                    .order_by(Item.position)
                    .limit(first)
                ).all()
                if ids:
                    s.execute(update(Item).where(Item.id.in_(ids)).values(training=True))
        for item_id in items or []:
            item = s.get(Item, item_id)
            if item is None or item.golden is None:
                raise ErrataInputError(
                    f"training tasks: item {item_id} is not a golden item (only golden items, "
                    "whose expected answers are known, can be training tasks)"
                )
            item.training = True
        n = int(s.scalar(select(func.count(Item.id)).where(Item.training.is_(True))) or 0)
        s.commit()
    return n


def training_count(project: Project) -> dict[str, int]:
    """Training tasks per queue."""
    from sqlalchemy import func, select

    with project.read_session() as s:
        rows = s.execute(
            select(Item.queue, func.count(Item.id))
            .where(Item.training.is_(True))
            .group_by(Item.queue)
        ).all()
    return {str(q): int(n) for q, n in rows}


def _held_fresh(
    s: Any,
    annotator_id: int,
    target: int,
    lease_s: int,
    *,
    queue: str | None = None,
    item_id: int | None = None,
) -> int | None:
    """The item (of ``queue``, or ``item_id``) this annotator holds with more than half of its
    lease left, found by a read alone (in the read session ``s``); None otherwise."""
    from datetime import timedelta

    from sqlalchemy import exists, select

    now = datetime.now(timezone.utc)
    half = now + timedelta(seconds=lease_s / 2)
    mine = exists().where(Review.item_id == Item.id, Review.annotator_id == annotator_id)
    q = select(Item.id).where(
        Item.lease_annotator == annotator_id,
        Item.lease_expires > half,
        Item.n_reviews < target,
        ~mine,
    )
    q = q.where(Item.queue == queue) if queue is not None else q.where(Item.id == item_id)
    found = s.scalar(q.order_by(Item.position).limit(1))
    return None if found is None else int(found)


def renew_lease(project: Project, item_id: int, annotator_id: int) -> bool:
    """Renew (or take back, when nobody else took it meanwhile) this annotator's lease on a
    regular item; True while the item is theirs to answer. Golden items and items they already
    reviewed need no lease (True)."""
    from datetime import timedelta

    from sqlalchemy import select, update

    target, lease_s = _target(project), _lease_seconds(project)  # before any session is open
    with project.read_session() as s:
        if _held_fresh(s, annotator_id, target, lease_s, item_id=item_id) is not None:
            return True  # held, and far from expiry: no write needed
    with project.writing(), project.lease_session() as s:
        _begin_write(project, s, durable=False)
        item = s.get(Item, item_id)
        if item is None:
            return False
        mine = s.scalar(
            select(Review.id).where(Review.item_id == item_id, Review.annotator_id == annotator_id)
        )
        if item.golden is not None or mine is not None:
            return True
        now = datetime.now(timezone.utc)
        res = s.execute(
            update(Item)
            .where(Item.id == item_id, _open_to(annotator_id, target, now))
            .values(
                lease_annotator=annotator_id,
                lease_expires=now + timedelta(seconds=lease_s),
            )
        )
        s.commit()
        return bool(res.rowcount)


def release_lease(project: Project, item_id: int, annotator_id: int, *, skip: bool = False) -> None:
    """Give an item back (its lease, if this annotator holds it); with ``skip`` it is also not
    offered to them again until :func:`unskip`."""
    from sqlalchemy import select, update

    with project.writing(), project.lease_session() as s:
        _begin_write(project, s, durable=False)
        s.execute(
            update(Item)
            .where(Item.id == item_id, Item.lease_annotator == annotator_id)
            .values(lease_annotator=None, lease_expires=None)
        )
        if skip and s.get(Item, item_id) is not None:
            have = s.scalar(
                select(Skip.item_id).where(
                    Skip.item_id == item_id, Skip.annotator_id == annotator_id
                )
            )
            if have is None:
                s.add(Skip(item_id=item_id, annotator_id=annotator_id))
        s.commit()


def leased_to_others(project: Project, annotator_id: int, queue: str) -> int:
    """Items of ``queue`` this annotator could still review that others hold right now (they
    come back when those annotators finish, skip, or let the lease lapse)."""
    from sqlalchemy import exists, func, select

    target, now = _target(project), datetime.now(timezone.utc)
    with project.read_session() as s:
        mine = exists().where(Review.item_id == Item.id, Review.annotator_id == annotator_id)
        return int(
            s.scalar(
                select(func.count())
                .select_from(Item)
                .where(
                    Item.queue == queue,
                    Item.golden.is_(None),
                    ~mine,
                    Item.n_reviews < target,
                    Item.lease_annotator != annotator_id,
                    Item.lease_expires > now,
                )
            )
            or 0
        )


def skipped_count(project: Project, annotator_id: int, queue: str) -> int:
    from sqlalchemy import func, select

    with project.read_session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Skip)
                .join(Item, Item.id == Skip.item_id)
                .where(Skip.annotator_id == annotator_id, Item.queue == queue)
            )
            or 0
        )


def unskip(project: Project, annotator_id: int, queue: str) -> int:
    """Offer this annotator's skipped items of ``queue`` again; returns how many."""
    from sqlalchemy import delete, select

    with project.writing(), project.lease_session() as s:
        _begin_write(project, s, durable=False)
        ids = select(Item.id).where(Item.queue == queue)
        res = s.execute(
            delete(Skip).where(Skip.annotator_id == annotator_id, Skip.item_id.in_(ids))
        )
        s.commit()
        return int(res.rowcount or 0)


def queue_position(project: Project, item_id: int, annotator_id: int) -> dict[str, Any]:
    """Where an item stands in this annotator's work on its queue: ``k`` of ``n`` (``n`` = the
    items they reviewed plus those still open to them, which shrinks as others finish items),
    and the items they reviewed just before and after it (for going back and forth)."""
    from sqlalchemy import func, or_, select

    target, now = _target(project), datetime.now(timezone.utc)
    with project.read_session() as s:
        queue = s.scalar(select(Item.queue).where(Item.id == item_id))
        if queue is None:
            return {"k": 0, "n": 0, "previous": None, "next": None}
        done = s.execute(
            select(Review.id, Review.item_id)
            .join(Item, Item.id == Review.item_id)
            .where(Review.annotator_id == annotator_id, Item.queue == queue)
            .order_by(Review.id)
        ).all()
        # items open to anyone (still needing reviews, or golden; not held by someone else),
        # minus those of them this annotator already reviewed: two aggregates, no per-row probe
        open_to_all = (
            Item.queue == queue,
            or_(Item.golden.is_not(None), Item.n_reviews < target),
            or_(
                Item.lease_annotator.is_(None),
                Item.lease_annotator == annotator_id,
                Item.lease_expires <= now,
            ),
        )
        n_open = select(func.count()).select_from(Item).where(*open_to_all)
        n_mine = (
            select(func.count())
            .select_from(Review)
            .join(Item, Item.id == Review.item_id)
            .where(Review.annotator_id == annotator_id, *open_to_all)
        )
        counts = s.execute(select(n_open.scalar_subquery(), n_mine.scalar_subquery())).one()
        open_now = int(counts[0] or 0) - int(counts[1] or 0)
    order = [int(i) for _, i in done]
    if item_id in order:
        at = order.index(item_id)
        return {
            "k": at + 1,
            "n": len(order) + open_now,
            "previous": order[at - 1] if at > 0 else None,
            "next": order[at + 1] if at + 1 < len(order) else None,
        }
    return {
        "k": len(order) + 1,
        "n": len(order) + max(open_now, 1),
        "previous": order[-1] if order else None,
        "next": None,
    }


def item_view(project: Project, item_id: int, annotator_id: int) -> dict[str, Any] | None:
    """Everything the item page shows, with only this annotator's own answers."""
    from sqlalchemy import select

    with project.read_session() as s:
        row = s.execute(
            select(Item, Image).join(Image, Image.id == Item.image_id).where(Item.id == item_id)
        ).first()
        if row is None:
            return None
        item, image = row
        review = s.scalar(
            select(Review).where(Review.item_id == item_id, Review.annotator_id == annotator_id)
        )
        # answers are written with their review in one transaction: none without a review
        mine = (
            {}
            if review is None
            else dict(
                s.execute(
                    select(Answer.class_index, Answer.answer).where(
                        Answer.item_id == item_id, Answer.annotator_id == annotator_id
                    )
                ).all()
            )
        )
    return {
        "id": item.id,
        "queue": item.queue,
        "file_name": image.file_name,
        "original": int(image.original),
        "labels": _ints(image.labels),
        "candidates": _ints(item.candidates),
        "golden": parse_golden(item.golden),
        "training": bool(item.training),
        "answers": {int(k): int(v) for k, v in mine.items()},
        "problematic": bool(review.problematic) if review else False,
        "note": review.note if review else "",
        "done": review is not None,
    }


def _ints(text: str | None) -> list[int]:
    return [int(t) for t in (text or "").split()]


def parse_golden(text: str | None) -> dict[int, int] | None:
    """``"12:2 40:0"`` → ``{12: CORRECT, 40: WRONG}`` (expected answers of a golden item)."""
    if text is None:
        return None
    return {int(c): int(a) for c, a in (t.split(":") for t in text.split())}


def save_review(
    project: Project,
    item_id: int,
    annotator_id: int,
    answers: dict[int, int],
    *,
    problematic: bool = False,
    note: str = "",
) -> dict[str, int]:
    """Store one annotator's answers for one item and mark it reviewed, in one transaction.

    ``answers`` maps class index → answer code. For *novel* and *audit* items only candidate
    classes are accepted; for *classify* items any class. A first review of a regular item is
    counted only while the item still needs reviews and no one else holds a live lease on its
    last one (so no item gets more than its target); a second save of the same item replaces the
    first (editing), except on golden items, whose answers are final. Saves of one item are
    serialised (the item's row is locked), and a duplicate that still reaches the unique
    constraint is answered as the review already stored. Returns the golden score
    ``{"right": r, "total": t}`` (zero for non-golden items).

    Raises
    ------
    ErrataInputError
        Unknown item, no answer, a class that is not a candidate, or an unknown answer code.
    Refused
        A golden item answered before, or a regular item that already has its reviews.
    """
    from sqlalchemy import delete, select
    from sqlalchemy.exc import IntegrityError

    if not answers:
        raise ErrataInputError(f"item {item_id}: no answer given; nothing was saved")
    target = _target(project)  # before the transaction: reading it takes a connection
    with project.writing(), project.session() as s:
        _begin_write(project, s)
        item = s.scalar(select(Item).where(Item.id == item_id).with_for_update())
        if item is None:
            raise ErrataInputError(f"item {item_id}: no such item")
        allowed = set(_ints(item.candidates)) if item.queue != "classify" else set(range(1000))
        for c, a in answers.items():
            if c not in allowed:
                raise ErrataInputError(f"item {item_id}: class {c} is not a candidate")
            if a not in (0, 1, 2, 3):
                raise ErrataInputError(f"item {item_id}: answer code {a} is not 0-3")
        golden = parse_golden(item.golden) or {}
        right = sum(1 for c, exp in golden.items() if answers.get(c) == exp)
        total = len(golden)
        now = datetime.now(timezone.utc)
        review = s.scalar(
            select(Review).where(Review.item_id == item_id, Review.annotator_id == annotator_id)
        )
        if review is not None and item.golden is not None:
            raise Refused(
                f"item {item_id}: your answer to this golden question was already saved "
                "(golden answers are final once given)"
            )
        if review is None and item.golden is None:
            other_lease = (
                item.lease_annotator is not None
                and item.lease_annotator != annotator_id
                and _aware(item.lease_expires) > now
            )
            if item.n_reviews >= target or (other_lease and item.n_reviews + 1 >= target):
                raise Refused(
                    f"item {item_id}: this image already has its {target} reviews (your lease "
                    "on it had expired and others answered it); your answer was not saved"
                )
        if review is not None:  # an edit: the answers saved with the review are replaced
            s.execute(
                delete(Answer).where(Answer.item_id == item_id, Answer.annotator_id == annotator_id)
            )
        s.add_all(
            [
                Answer(
                    item_id=item_id,
                    annotator_id=annotator_id,
                    class_index=c,
                    answer=a,
                    updated_at=now,
                )
                for c, a in answers.items()
            ]
        )
        if review is None:
            s.add(
                Review(
                    item_id=item_id,
                    annotator_id=annotator_id,
                    problematic=problematic,
                    note=note[:2000],
                    golden_right=right,
                    golden_total=total,
                    updated_at=now,
                )
            )
            item.n_reviews = item.n_reviews + 1
            if item.lease_annotator == annotator_id:
                item.lease_annotator, item.lease_expires = None, None
        else:
            review.problematic, review.note, review.updated_at = problematic, note[:2000], now
            review.golden_right, review.golden_total = right, total
        try:
            s.commit()
        except IntegrityError:  # the same review saved at the same moment by a second request
            s.rollback()
            stored = s.scalar(
                select(Review).where(Review.item_id == item_id, Review.annotator_id == annotator_id)
            )
            if stored is None:
                raise
            return {"right": int(stored.golden_right), "total": int(stored.golden_total)}
    return {"right": right, "total": total}


def _aware(t: datetime | None) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives them back naive)."""
    if t is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def progress(project: Project) -> dict[str, Any]:
    """Per queue: items, items with at least one review, reviews; per annotator: reviews per
    queue and golden accuracy."""
    from sqlalchemy import case, func, select

    with project.session() as s:
        per_queue = s.execute(
            select(
                Item.queue,
                func.count(Item.id),
                func.sum(case((Item.n_reviews > 0, 1), else_=0)),
                func.sum(Item.n_reviews),
            ).group_by(Item.queue)
        ).all()
        per_ann = s.execute(
            select(
                Annotator.name,
                Item.queue,
                func.count(Review.id),
                func.sum(Review.golden_right),
                func.sum(Review.golden_total),
                func.sum(case((Item.training.is_(True), Review.golden_right), else_=0)),
                func.sum(case((Item.training.is_(True), Review.golden_total), else_=0)),
                func.sum(case((Item.training.is_(True), 1), else_=0)),
            )
            .join(Review, Review.annotator_id == Annotator.id)
            .join(Item, Item.id == Review.item_id)
            .group_by(Annotator.name, Item.queue)
        ).all()
    queues = {q: {"items": 0, "started": 0, "reviews": 0} for q in QUEUES}
    for q, n, started, reviews in per_queue:
        queues[q] = {"items": int(n), "started": int(started or 0), "reviews": int(reviews or 0)}
    people: dict[str, dict[str, Any]] = {}
    zero = {"golden_right": 0, "golden_total": 0, "training_right": 0, "training_total": 0}
    for name, q, n, right, total, t_right, t_total, t_done in per_ann:
        p = people.setdefault(name, {"reviews": {}, **zero, "training_done": 0})
        p["reviews"][q] = int(n)
        p["golden_right"] += int(right or 0)
        p["golden_total"] += int(total or 0)
        p["training_right"] += int(t_right or 0)
        p["training_total"] += int(t_total or 0)
        p["training_done"] += int(t_done or 0)
    for p in people.values():
        p["golden_accuracy"] = (
            (p["golden_right"] / p["golden_total"]) if p["golden_total"] else None
        )
        # the training score: right answers over the questions of the training tasks done
        p["training_score"] = (
            (p["training_right"] / p["training_total"]) if p["training_total"] else None
        )
    return {"queues": queues, "annotators": people}


def answer_rows(project: Project) -> dict[str, Any]:
    """All answers as parallel lists (image file name, class, annotator, answer code), plus the
    problematic votes per image, for aggregation and export."""
    from sqlalchemy import select

    with project.session() as s:
        rows = s.execute(
            select(
                Image.file_name, Item.queue, Answer.class_index, Answer.annotator_id, Answer.answer
            )
            .join(Item, Item.id == Answer.item_id)
            .join(Image, Image.id == Item.image_id)
        ).all()
        flags = s.execute(
            select(Image.file_name, Review.problematic, Review.note)
            .join(Item, Item.id == Review.item_id)
            .join(Image, Image.id == Item.image_id)
        ).all()
    return {"answers": rows, "reviews": flags}


__all__ = [
    "Project",
    "create_project",
    "open_project",
    "add_annotator",
    "save_review",
    "next_item",
    "item_view",
    "progress",
    "answer_rows",
    "CORRECT",
    "DONT_KNOW",
]


def image_original(project: Project, file_name: str) -> int | None:
    """Original label of a project image, None when the project has no such image."""
    from sqlalchemy import select

    with project.read_session() as s:
        return s.scalar(select(Image.original).where(Image.file_name == file_name))
