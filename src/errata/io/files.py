"""Files in and out, safely: atomic writes of single files and of whole output folders, JSON
reading with one-line errors, and content hashes.

Everything errata writes goes to a temporary name that is renamed into place, so a crash or a
bad input never leaves half a file; an output *folder* (``analyze --out``, ``compare --out``) is
built beside the old one and swapped in as a unit, so a reader sees either the old results or
the new ones, never a mix.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from errata.exceptions import ErrataInputError
from errata.io import jsontext
from errata.io.jsontext import json_default as json_default  # json.dumps(default=...)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

_TMP, _OLD = "tmp", "old"  # markers in the names of a folder's sibling work folders


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    A path that cannot be written (a folder, a read-only place, a full disk) is one
    :class:`ErrataInputError` line naming it, not a traceback.
    """
    path = Path(path)
    _check_name(path, str(path))
    if path.is_dir():
        raise ErrataInputError(f"{path}: is a folder; give a file name to write")
    if path.is_symlink():  # written through the link, as a shell's `>` would: the link stays
        path = Path(os.path.realpath(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale_files(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{sibling_stem(path)}.{os.getpid()}-", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


NAME_MAX = 255  # bytes in a file name on the usual file systems
STEM_MAX = 160  # bytes of a name kept in the names of its work files (they add up to ~40)


def sibling_stem(path: Path) -> str:
    """``path``'s name as the names of its work files and lock carry it: as it is, or, when it
    is long, its start and a hash of the whole (so the work names stay within
    :data:`NAME_MAX`)."""
    name = path.name
    raw = os.fsencode(name)
    if len(raw) <= STEM_MAX:
        return name
    digest = hashlib.sha1(raw).hexdigest()[:12]
    head = os.fsdecode(raw[: STEM_MAX - 13])
    return f"{head}~{digest}"


def _check_name(path: Path, shown: str) -> None:
    """A name longer than the file system allows is one line, before anything is written."""
    if len(os.fsencode(path.name)) > NAME_MAX:
        raise ErrataInputError(
            f"{shown}: the name is {len(os.fsencode(path.name))} bytes long; file names may "
            f"have at most {NAME_MAX}"
        )


def _clean_stale_files(path: Path) -> None:
    """Remove temporary files of ``path`` that a run killed while writing it left behind (their
    name carries the writer's process id; a live writer's file is left alone)."""
    prefix = f".{sibling_stem(path)}."
    for p in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):  # never the whole folder's names
        pid = p.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                p.unlink()


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: object) -> None:
    """``obj`` as indented JSON (``json.dumps(obj, indent=2)``; NaN as ``NaN``), atomically."""
    write_text(path, jsontext.dumps(obj, finite=False) + "\n")


def write_parquet(path: str | Path, table: pa.Table | pd.DataFrame) -> None:
    """Write a pyarrow Table (or a pandas DataFrame) as Parquet (zstd), atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file object: any path's bytes
        pq.write_table(table, fh, compression="zstd")


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``json.load``'s object hook: a key given twice in one object is an error (JSON parsers
    keep the last silently)."""
    out = dict(pairs)
    if len(out) < len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _DuplicateKey(key)
    return out


def read_json(path: str | Path, *, what: str = "a JSON file") -> Any:
    """Parse a JSON file; any failure is one :class:`ErrataInputError` line naming the file: a
    key given twice in one object (the last would win silently), nesting too deep for the
    parser, invalid UTF-8 or JSON."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise ErrataInputError(
            f"{path}: key '{exc}' appears twice in one object (expected {what}; each key once)"
        ) from None
    except RecursionError:
        raise ErrataInputError(f"{path}: nested too deeply to be {what}") from None
    except FileNotFoundError:
        raise ErrataInputError(f"{path}: file not found (expected {what})") from None
    except IsADirectoryError:
        raise ErrataInputError(f"{path}: is a folder (expected {what})") from None
    except PermissionError:
        raise ErrataInputError(f"{path}: permission denied (cannot read {what})") from None
    except UnicodeDecodeError:
        raise ErrataInputError(f"{path}: not UTF-8 text (expected {what})") from None
    except json.JSONDecodeError as exc:
        raise ErrataInputError(f"{path}: not valid JSON ({exc}); expected {what}") from None
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's content (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# a cache of derived arrays

CACHE_ENV = "ERRATA_CACHE_DIR"  # where derived arrays are kept (default: the user cache)


def cache_dir() -> Path:
    """``$ERRATA_CACHE_DIR``, else ``<user cache>/errata/derived``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("errata")) / "derived"


def cached_arrays(
    name: str, key: bytes, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Arrays that take long to derive but depend only on ``key`` (e.g. the hashes of the files
    they come from): built once, kept as ``<cache>/<name>-<hash>.npz``, then loaded. The hash
    also covers errata's version and the code of the module that defines ``build``, so a
    changed derivation never reads a stale cache. A cache that cannot be read or written is
    simply not used."""
    import inspect

    import numpy as np

    from errata import __version__

    digest = hashlib.sha256(key)
    digest.update(__version__.encode())
    module = inspect.getmodule(build)
    try:
        digest.update(inspect.getsource(module).encode() if module else b"")
    except (OSError, TypeError):  # no source (a frozen build): the version alone
        pass
    path = cache_dir() / f"{name}-{digest.hexdigest()[:20]}.npz"
    import zipfile
    import zlib

    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
        pass  # missing, or damaged: derived again
    arrays = build()
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=True, **arrays)
    except (OSError, ErrataInputError):  # atomic_path says "cannot write here" as the latter
        pass
    return arrays


# ---------------------------------------------------------------------------------------------
# output folders as one unit


def _work_name(path: Path, kind: str) -> Path:
    return path.parent / f".{sibling_stem(path)}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_folder(path: str | Path) -> None:
    """Clean up after a run that died while writing ``path``: remove its dead work folders,
    and put the previous folder back if it died between the two renames of a swap."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    stale: list[tuple[str, Path]] = []
    stem = sibling_stem(path)
    for p in path.parent.glob(f".{glob.escape(stem)}.*-*-*"):
        kind, _, rest = p.name[len(stem) + 2 :].partition("-")
        pid = rest.split("-", 1)[0]
        if kind in (_TMP, _OLD) and pid.isdigit() and not _alive(int(pid)):
            stale.append((kind, p))
    for kind, p in stale:
        if kind == _OLD and not path.exists():
            os.rename(p, path)  # the last complete folder
        else:
            shutil.rmtree(p, ignore_errors=True)


def out_folder(path: str | Path) -> Path:
    """The folder an ``--out`` names, checked (:func:`check_out`): a symbolic link to a folder
    stands for the folder it points to (its contents are replaced, the link stays)."""
    path = Path(path)
    _check_name(path, f"--out {path}")
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    check_out(path)
    return path


def check_out(path: Path) -> None:
    """An output folder errata may replace: not a file, not the current folder or one of its
    parents, a name the file system takes, in a writable place (made if missing)."""
    if path.exists() and not path.is_dir():
        raise ErrataInputError(f"--out {path}: is a file; give a folder")
    _check_name(path, f"--out {path}")
    here = Path.cwd().resolve()
    target = path.resolve()
    if target == here or target in here.parents:
        raise ErrataInputError(
            f"--out {path}: is the current folder or one of its parents; give a folder of its "
            "own (errata replaces it as a whole)"
        )
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ErrataInputError(f"--out {path}: cannot create it ({exc.strerror or exc})") from None
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ErrataInputError(f"--out {path}: not writable")


def fault_point(name: str) -> None:
    """A test hook: with ``ERRATA_TEST_KILL_AT=name`` in the environment the process kills
    itself (SIGKILL, as ``kill -9``) here, so the fault tests can stop a run at each step that
    matters for its output and check what a reader then finds."""
    if os.environ.get("ERRATA_TEST_KILL_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    point, _, seconds = os.environ.get("ERRATA_TEST_PAUSE_AT", "").partition(":")
    if point == name:  # the concurrency tests hold a run here while another starts
        import time

        time.sleep(float(seconds or 1))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the system or the file system cannot, and the caller falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    done: int = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return done == 0


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link (else copy) a file or folder."""
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, copy_function=link_or_copy, symlinks=True)
    else:
        link_or_copy(src, dst)


def link_or_copy(src: str | Path, dst: str | Path) -> None:
    """Hard-link ``src`` at ``dst`` (the same file, no copy), or copy it across file systems."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


@contextlib.contextmanager
def atomic_folder(path: str | Path, *, managed: Collection[str]) -> Iterator[Path]:
    """Build the new contents of output folder ``path`` in a sibling work folder and swap it in
    only if the block succeeds.

    ``managed`` names the entries errata writes in such a folder: they are replaced as a set
    (an entry the new run does not write is gone, not stale). Every other entry of the old
    folder (a user's own files) is carried over by hard link. A crash leaves the old folder as
    it was. On Linux the swap is one atomic exchange of the two folders; elsewhere it is two
    renames, and a run that dies between them leaves the old folder aside, which the next run
    (or any errata reader of the folder) puts back. The folder's lock
    (:func:`errata.io.lock.folder_lock`) is held throughout, so two runs never swap at once;
    a ``path`` that is a symbolic link to a folder is written through (the link stays).
    """
    from errata.io.lock import folder_lock

    path = out_folder(path)
    with folder_lock(path):
        recover_folder(path)
        tmp = _work_name(path, _TMP)
        try:
            tmp.mkdir()
        except OSError as exc:
            raise ErrataInputError(f"--out {path}: cannot write ({exc.strerror or exc})") from None
        with _removed_on_failure(tmp):
            try:
                yield tmp
                _swap(tmp, path, managed)
            except OSError as exc:  # a full disk, a folder made read-only meanwhile, …
                raise ErrataInputError(f"{path}: cannot write ({exc.strerror or exc})") from None


@contextlib.contextmanager
def _removed_on_failure(tmp: Path) -> Iterator[None]:
    try:
        yield
    finally:
        if tmp.exists() or tmp.is_symlink():
            if tmp.is_symlink() or not tmp.is_dir():
                tmp.unlink()
            else:
                shutil.rmtree(tmp, ignore_errors=True)


def _swap(tmp: Path, path: Path, managed: Collection[str]) -> None:
    """Put the finished work folder ``tmp`` in place of ``path`` (see :func:`atomic_folder`);
    ``tmp`` then holds the old folder, or nothing."""
    if not path.exists():
        fault_point("folder-built")
        os.rename(tmp, path)
        return
    for entry in path.iterdir():
        if entry.name not in managed and not (tmp / entry.name).exists():
            _link_tree(entry, tmp / entry.name)
    fault_point("folder-built")
    if _exchange(tmp, path):  # tmp now holds the old folder
        fault_point("folder-swapped")
        return
    old = _work_name(path, _OLD)
    os.rename(path, old)
    fault_point("folder-moved-aside")
    os.rename(tmp, path)
    fault_point("folder-swapped")
    shutil.rmtree(old, ignore_errors=True)
