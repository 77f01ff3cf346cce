"""Security helpers of the review app: password hashing, CSRF tokens, safe image paths.

Passwords are hashed with argon2id (argon2-cffi's defaults). CSRF tokens are a random value per
session, echoed in every form and compared in constant time. Image requests are resolved inside
the project's image directory only, and only for file names the project knows.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path, PurePosixPath

from errata.exceptions import require
from errata.io.images import is_image

CSRF_FIELD = "csrf_token"  # name of the hidden form field


def _hasher():  # type: ignore[no-untyped-def]
    return require("argon2", "review").PasswordHasher()


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
