"""Security helpers of the review app: password hashing, CSRF tokens, safe image paths.

Passwords are hashed with argon2id (argon2-cffi's defaults). CSRF tokens are a random value per
session, echoed in every form and compared in constant time. Image requests are resolved inside
the project's image directory only, and only for file names the project knows.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from errata.exceptions import ErrataInputError, require
from errata.io.images import is_image

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from sqlalchemy.engine import URL

CSRF_FIELD = "csrf_token"  # name of the hidden form field


def _hasher() -> PasswordHasher:
    hasher: PasswordHasher = require("argon2", "review").PasswordHasher()
    return hasher


def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$...``) of ``password``."""
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises on a wrong password or a malformed hash."""
    argon2 = require("argon2", "review")
    try:
        return bool(_hasher().verify(stored_hash, password))
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def safe_image_name(name: str) -> bool:
    """A bare file name: no directory parts, no ``..``, not absolute, no NUL or backslash."""
    if not name or "\x00" in name or "\\" in name or name.startswith(("/", "~")):
        return False
    parts = PurePosixPath(name).parts
    return len(parts) == 1 and parts[0] not in ("..", ".")


def resolve_image(root: Path | None, file_name: str, *, wnid: str | None = None) -> Path | None:
    """The image file for ``file_name`` inside ``root`` (flat, or ImageFolder ``root/<wnid>/``),
    or None. The resolved path must stay inside ``root`` (symlinks included)."""
    if root is None or not safe_image_name(file_name):
        return None
    root = root.resolve()
    cands = [root / file_name]
    if wnid and safe_image_name(wnid):
        cands += [root / wnid / file_name, root / "val" / wnid / file_name]
    for cand in cands:
        try:
            real = cand.resolve()
        except OSError:
            continue
        if real.is_file() and real.is_relative_to(root) and is_image(real.name):  # served types
            return real
    return None


# ---------------------------------------------------------------------------------------------
# the project's secrets and file modes

KEY_FILE = "secret.key"  # the session signing key, beside project.json (0600)
KEY_ENV = "ERRATA_REVIEW_SECRET_KEY"  # or the key itself in the environment (never written)
DB_PASSWORD_ENV = "ERRATA_REVIEW_DB_PASSWORD"  # the database password, never in project.json
DB_PASSWORD_FILE_ENV = "ERRATA_REVIEW_DB_PASSWORD_FILE"  # or a file holding it (0600)
PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it private to its owner (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)


def touch_private(path: Path) -> None:
    """Create an empty file readable by its owner only, or make an existing one so (SQLite
    gives its ``-wal`` and ``-shm`` files the mode of the database file)."""
    import os

    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    path.chmod(PRIVATE_FILE)


def make_private(path: Path) -> None:
    """Take group and other permissions off an existing file or folder of the project (for
    projects made before they were created private); silent where it is not ours to change."""
    import stat

    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except (FileNotFoundError, PermissionError):
        pass


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` atomically into a file readable by its owner only."""
    from errata.io.files import atomic_path

    with atomic_path(path) as tmp:
        tmp.chmod(PRIVATE_FILE)
        tmp.write_text(text, encoding="utf-8")


def read_private_text(path: Path, what: str) -> str:
    """The content of a secret file, refused (one line) when others can read it."""
    import stat

    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise ErrataInputError(
            f"{path}: {what} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"`chmod 600 {path}`"
        )
    if not text:
        raise ErrataInputError(f"{path}: {what} is empty")
    return text


def new_secret_key() -> str:
    return secrets.token_urlsafe(48)


def signing_key(project_dir: Path) -> str:
    """The session signing key: ``$ERRATA_REVIEW_SECRET_KEY`` when set (at least 32 characters),
    else the project's 0600 ``secret.key``, created on first use."""
    import os

    env = os.environ.get(KEY_ENV)
    if env is not None:
        if len(env) < 32:
            raise ErrataInputError(f"${KEY_ENV}: expected at least 32 characters, got {len(env)}")
        return env
    path = project_dir / KEY_FILE
    if not path.exists():
        write_private_text(path, new_secret_key() + "\n")
    return read_private_text(path, "the session signing key")


def split_db_password(url: str) -> tuple[str, str | None]:
    """``(url without its password, the password or None)``; a URL that is not a database URL
    is a one-line error."""
    sa = require("sqlalchemy", "review")
    try:
        parsed = sa.engine.make_url(url)
    except Exception:  # noqa: BLE001 - SQLAlchemy raises ArgumentError, ValueError, ...
        raise ErrataInputError(f"database URL '{_redacted(url)}': not a SQLAlchemy URL") from None
    if parsed.password is None:
        return url, None
    bare = sa.engine.URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False), str(parsed.password)


def _redacted(url: str) -> str:
    import re

    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def with_db_password(url: str, password: str | None) -> URL:
    """The SQLAlchemy URL object for ``url`` with ``password`` (kept out of any string that
    could be logged or written)."""
    sa = require("sqlalchemy", "review")
    parsed: URL = sa.engine.make_url(url)
    return parsed if password is None else parsed.set(password=password)


def db_password_from_env() -> str | None:
    """``$ERRATA_REVIEW_DB_PASSWORD``, else the content of the 0600 file named by
    ``$ERRATA_REVIEW_DB_PASSWORD_FILE``, else None (libpq's own ``PGPASSWORD`` and
    ``~/.pgpass`` still apply)."""
    import os

    if os.environ.get(DB_PASSWORD_ENV):
        return os.environ[DB_PASSWORD_ENV]
    file = os.environ.get(DB_PASSWORD_FILE_ENV)
    if file:
        return read_private_text(Path(file), "the database password")
    return None


# ---------------------------------------------------------------------------------------------
# annotator names

_INVISIBLE = ("C",)  # Unicode categories removed from names: control, format (zero-width), ...


def normalise_name(name: str) -> str:
    """An annotator name as it is stored and compared: NFKC, case-folded, without control or
    format characters (zero-width spaces, joiners, direction marks), whitespace collapsed.
    ``Alice``, ``alice\\u200b`` and ``ａｌｉｃｅ`` are all ``alice``."""
    import unicodedata

    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] not in _INVISIBLE)
    text = unicodedata.normalize("NFKC", text.casefold())
    return " ".join(text.split())


def name_skeleton(name: str) -> str:
    """The UTS #39 skeleton of a normalised name: NFD, every character replaced by its
    prototype in Unicode's confusables table, NFD again. Two names with one skeleton look alike
    (``alice``, Cyrillic ``аlice`` and Greek ``αlice``; ``kim`` and ``kirn``), while distinct
    names in any one script (``иван``, ``ivan``; ``王伟``, ``王芳``) keep distinct skeletons."""
    import unicodedata

    from errata.resources import confusables

    table = confusables()
    text = unicodedata.normalize("NFD", normalise_name(name))
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in text))


def differing_characters(name: str, other: str) -> str:
    """The characters of ``name`` that ``other`` lacks, as ``U+0430 CYRILLIC SMALL LETTER A``
    (at most three, comma-separated): what tells two look-alike names apart."""
    import unicodedata

    seen = [ch for ch in dict.fromkeys(name) if ch not in other][:3]
    return ", ".join(f"U+{ord(ch):04X} {unicodedata.name(ch, '?')}" for ch in seen)
