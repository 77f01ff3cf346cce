"""Content hashes of files, memoised on what the file system says of them (the edge).

Verifying a registry file's sha256 each time it is used would cost a run a few milliseconds
per megabyte; :func:`sha256_of` hashes a file once and remembers the hash under the file's
identity — its path, size, modification time, status-change time (``ctime``, which any write,
``touch``, ``os.utime`` or ``chmod`` moves and no user can set back) and inode, on its device —
in a small JSON file in errata's cache folder (:func:`errata.io.files.cache_dir`). A file
changed in any way, even rewritten with its old size and modification time restored, has
another ``ctime`` or inode, so it is hashed again. A memo that cannot be read or written is not
used (the file is hashed every time).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from errata.exceptions import ErrataInputError
from errata.io import files

MEMO_NAME = "sha256-memo.json"
MEMO_SIZE = 4096  # files remembered (the oldest are forgotten first)


def identity(st: os.stat_result) -> list[int]:
    """What says a file is unchanged: size, modification and status-change times (ns), inode
    and device."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _memo_path() -> Path:
    return files.cache_dir() / MEMO_NAME


def _load() -> dict[str, Any]:
    try:
        with open(_memo_path(), encoding="utf-8") as fh:
            memo = json.load(fh)
        return memo if isinstance(memo, dict) else {}
    except (OSError, ValueError, RecursionError):
        return {}


def _store(memo: dict[str, Any]) -> None:
    while len(memo) > MEMO_SIZE:
        memo.pop(next(iter(memo)))
    try:
        files.write_json(_memo_path(), memo)
    except (OSError, ErrataInputError):
        pass


def sha256_of(path: str | Path) -> str:
    """The hex sha256 of ``path``'s content, from the memo when the file is unchanged (see the
    module docstring), else read and remembered. Raises ``OSError`` when it cannot be read."""
    path = Path(path).resolve()
    st = os.stat(path)
    key = os.fsencode(path).decode("utf-8", "surrogateescape")
    memo = _load()
    entry = memo.get(key)
    if isinstance(entry, list) and len(entry) == 6 and entry[:5] == identity(st):
        return str(entry[5])
    digest = files.sha256_file(path)
    if identity(os.stat(path)) == identity(st):  # not changed while it was read
        memo.pop(key, None)
        memo[key] = [*identity(st), digest]
        _store(memo)
    return digest
