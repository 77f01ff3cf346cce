"""Opening and creating a review project: its settings file, its private files, the database
engines and the :class:`Project` every other storage module works on.

A project is a directory holding ``project.json`` (database URL, image directory) and, by
default, the SQLite database ``review.sqlite``. PostgreSQL is used when the URL says so
(``postgresql+psycopg://user@host:port/db``). SQLite runs in WAL mode with ``synchronous=FULL``
so that an answer acknowledged to the browser survives a killed server.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from errata.exceptions import ErrataInputError, require
from errata.io.files import read_json
from errata.review.models import Annotator, Base, Meta
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
from errata.review.storage.scope import (
    POOL_RECYCLE_SECONDS,
    note_commit,
    note_use,
    shared_connection,
)
from errata.review.storage.session_cache import SessionCache, cache_of
from errata.review.upgrade import novel_originals

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

log = logging.getLogger("errata.review")


PROJECT_FILE = "project.json"  # per-project settings, beside the SQLite database


SQLITE_FILE = "review.sqlite"  # default database file name


BUSY_TIMEOUT_MS = 10_000  # how long a SQLite writer waits for the lock before failing


DEFAULT_REVIEWS_PER_ITEM = 3  # annotators per non-golden item before it leaves the queue


LEASE_SECONDS = 600  # how long an item stays reserved for the annotator it was given to
# settings (reviews per item, lease length) are read from the database at most this often per
# process: they are set when the project is made (and by tests); one query less per request


SETTINGS_SECONDS = 5.0
# connections per engine: the app's 8 worker threads and its hashing thread each hold at most
# two at a time (a request's reads and one write); the overflow covers scripts and tests that
# run more threads


POOL_SIZE = 10


POOL_OVERFLOW = 20


@dataclass(frozen=True)
class Project:
    """An opened review project: its directory, settings and a SQLAlchemy engine."""

    path: Path
    db_url: str
    images: Path | None
    engine: Engine
    # SQLite allows one writer; queueing writers on a lock here avoids its busy-wait back-off
    # (sleeps of up to 100 ms), which otherwise dominates the latency tail under load
    write_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    # SQLite: the same database with synchronous=NORMAL, for leases only (a lease lost in a
    # crash costs nothing, and WAL commits without an fsync each); answers keep synchronous=FULL
    lease_engine: Engine | None = field(default=None, compare=False, repr=False)
    autocommit_engine: Engine | None = field(default=None, compare=False, repr=False)
    # settings read from the meta table: key -> (value or None, monotonic time read)
    settings_cache: dict[str, tuple[str | None, float]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def session(self) -> Session:
        from sqlalchemy.orm import Session

        note_use(self.dispose)
        return Session(self.engine, expire_on_commit=False)

    def read_session(self) -> Session:
        """A session for reads only. On PostgreSQL it runs in autocommit: no ``BEGIN`` and no
        ``ROLLBACK`` round trip around the reads (at PostgreSQL's READ COMMITTED each statement
        sees its own snapshot either way). Within a request (:mod:`.scope`) it is bound to the
        request's one connection, checked out once for all its reads."""
        from sqlalchemy.orm import Session

        engine = self.engine
        if not self.sqlite:
            if self.autocommit_engine is None:  # the same pool, connections in autocommit
                autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
                object.__setattr__(self, "autocommit_engine", autocommit)
            engine = self.autocommit_engine or engine
        conn = shared_connection(engine, self.dispose)
        if conn is None or conn.in_transaction():  # outside a request, or a read in a read
            return Session(engine, expire_on_commit=False)
        return Session(conn, expire_on_commit=False)

    def lease_session(self) -> Session:
        """A session for lease writes, which need not survive a crash (see ``lease_engine``)."""
        from sqlalchemy.orm import Session

        note_use(self.dispose)
        return Session(self.lease_engine or self.engine, expire_on_commit=False)

    def dispose(self) -> None:
        """Close every database connection of the project."""
        self.engine.dispose()
        if self.lease_engine is not None:
            self.lease_engine.dispose()

    @property
    def session_cache(self) -> SessionCache:
        """Live sessions read in the last seconds, one memory for every :class:`Project` of this
        database in the process (:mod:`errata.review.storage.session_cache`)."""
        return cache_of(self.db_url)

    @property
    def sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def writing(self) -> AbstractContextManager[object]:
        """Context for a write transaction: the process-wide lock on SQLite, nothing elsewhere."""
        return self.write_lock if self.sqlite else nullcontext()


class Refused(ErrataInputError):
    """A review that is not stored, for a reason the annotator should read (HTTP 409)."""


def begin_write(project: Project, s: Session, *, durable: bool = True) -> None:
    """Start a write transaction: on SQLite ``BEGIN IMMEDIATE`` (the one writer, also against
    other processes); on PostgreSQL rows are locked by the statements themselves, and a
    transaction that need not survive a crash (``durable=False``: leases) does not wait for
    its commit to reach the disk."""
    if project.sqlite:
        s.connection().exec_driver_sql("BEGIN IMMEDIATE")
    elif not durable and project.lease_engine is None:
        s.connection().exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _engine(url: str, password: str | None = None, *, durable: bool = True) -> Engine:
    require("sqlalchemy", "review")  # a one-line error naming the extra when it is missing
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        # a file's pool as PostgreSQL's: a request holds its read connection while it writes
        sizes = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW} if _sqlite_file(url) else {}
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **sizes,
        )

        def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        event.listen(engine, "connect", _pragmas)
        event.listen(engine, "commit", note_commit)
        return engine
    # leases need not survive a crash: their connections commit without waiting for the disk
    # (set once per connection, not by a statement in every transaction). No ping at every
    # check-out (pool_pre_ping: a round trip each): connections are recycled, and a request
    # that meets a dead one is run again (storage.scope)
    args = {} if durable else {"options": "-c synchronous_commit=off"}
    engine = create_engine(
        with_db_password(url, password),
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=args,
    )
    event.listen(engine, "commit", note_commit)
    return engine


def _write_private_json(path: Path, obj: object) -> None:
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
    from errata.review.storage.schema import migrate

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
