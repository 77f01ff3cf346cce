"""One writer at a time per output folder: an exclusive lock on a lock file beside the folder.

``compare`` holds the lock of its study from reading the manifest to the swap of the new
folder, so a second run on the same study sees the first run's result (and its settings),
never the state before it; ``analyze --out`` and every other folder that errata replaces as a
whole (:func:`errata.io.files.atomic_folder`) take the same lock around their swap.

The lock is ``fcntl.flock`` on ``.<folder name>.lock`` in the folder's parent: the kernel
releases it when the holder's process ends, however it ends (``kill -9`` included), so a lock is
never stale. The file holds the holder's process id for the message a second writer prints;
the holder removes it before it lets go, and a waiting writer that then holds a removed file
opens the new one again (the usual flock-and-unlink protocol), so no lock file is left behind
by a run that ends, and two writers never hold two files. Within one thread the lock is
re-entrant (``compare`` takes it, then its ``atomic_folder`` again). Where ``fcntl`` does not
exist (Windows) there is no lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from errata.exceptions import ErrataInputError

_HELD = threading.local()  # the lock files this thread holds (re-entrance)


def lock_path(folder: str | Path) -> Path:
    """The lock file of ``folder``: ``.<name>.lock`` beside it (a long name shortened as the
    folder's work folders are, :func:`errata.io.files.sibling_stem`)."""
    from errata.io.files import sibling_stem

    folder = Path(folder)
    return folder.parent / f".{sibling_stem(folder)}.lock"


def _holder(fd: int) -> str:
    """Who holds the lock, from what the holder wrote into the file."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
    except OSError:
        return "another errata run"
    if len(text) >= 2 and text[0].isdecimal():
        since = time.strftime("%H:%M:%S", time.localtime(float(text[1])))
        return f"another errata run (process {text[0]}, since {since})"
    return "another errata run"


@contextlib.contextmanager
def folder_lock(
    folder: str | Path,
    *,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the exclusive lock of output folder ``folder`` for the block.

    When another process holds it: with ``wait`` (default) ``on_wait`` is told so in one line
    and the block starts once the other run has finished; without, an
    :class:`~errata.exceptions.ErrataInputError` says who holds it.
    """
    try:
        import fcntl
    except ImportError:  # no flock here: one writer is the user's to keep
        yield
        return
    path = lock_path(folder)
    held: set[str] = getattr(_HELD, "paths", set())
    _HELD.paths = held
    key = str(path.resolve())
    if key in held:
        yield
        return
    fd = _acquire(path, folder, wait, on_wait, fcntl)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {time.time():.0f}\n".encode(), 0)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            with contextlib.suppress(OSError):
                os.unlink(path)  # still held: a waiting writer sees a removed file, retries
    finally:
        os.close(fd)  # closing the file releases the lock


def _acquire(
    path: Path, folder: str | Path, wait: bool, on_wait: Callable[[str], None] | None, fcntl: Any
) -> int:
    """An open descriptor of the lock file ``path`` that holds its lock (see the module
    docstring); a removed file, held after another writer let go, is opened again."""
    told = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise ErrataInputError(
                f"{folder}: cannot lock it for writing ({path}: {exc.strerror or exc})"
            ) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                who = _holder(fd)
                if not wait:
                    raise ErrataInputError(
                        f"{folder}: {who} is writing it; run again when it has finished (or "
                        "without --no-wait, to wait for it)"
                    ) from None
                if on_wait is not None and not told:
                    on_wait(f"waiting: {who} is writing {folder}; this run goes on when it ends")
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            if _same_file(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    here = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino)
