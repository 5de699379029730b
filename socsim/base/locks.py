"""Folder locks: one process at a time trains in a run folder, runs a sweep folder or computes a sweep point.

``FolderLock(folder)`` takes an exclusive ``flock`` on ``folder/.lock`` without waiting and writes its pid
there. The lock file is created exclusively and never through a symbolic link (``O_CREAT | O_EXCL |
O_NOFOLLOW``); an existing one is opened without following a link and must be a regular file, so a ``.lock``
planted as a link to another file is refused, not truncated. The kernel drops the lock when the process exits,
however it ends (a SIGKILL included), so a stale lock file never blocks a later run.
Where ``fcntl`` is missing (not POSIX) the lock does nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from types import TracebackType

from socsim.base.errors import HostEnvironmentError, InputError, MissingInput

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"


class FolderBusy(HostEnvironmentError, ValueError):
    """Another process holds the folder's lock; the message names the folder and that process."""


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_lock_file(path: Path) -> int:
    """A read-write descriptor of the regular file ``path``, created exclusively when absent; a link, a device or
    a FIFO there is a ValueError naming it (nothing is opened through it)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_RDWR | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise InputError("the lock file is a symbolic link; socsim does not follow it (remove it)", file=path) \
                from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError("the lock file is not a regular file (remove it)", file=path)
    os.set_blocking(fd, True)
    return fd


class FolderLock:
    """Context manager holding ``folder/.lock`` (the folder is created if needed; with ``create=False`` a missing
    folder is a FileNotFoundError naming it: readers lock a folder that must exist)."""

    def __init__(self, folder: str | Path, what: str = "folder", create: bool = True):
        self.folder, self.what, self.create = Path(folder), what, create
        self.fd: int | None = None

    def __enter__(self) -> "FolderLock":
        if self.create:
            self.folder.mkdir(parents=True, exist_ok=True)
        elif not self.folder.is_dir():
            raise MissingInput(f"not a {self.what} (no such folder)", file=self.folder)
        fd = open_lock_file(self.folder / LOCK)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise FolderBusy(f"{self.folder}: this {self.what} is in use by another socsim process (pid "
                                 f"{holder}); wait for it to finish or stop it") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.fd is not None:
            if fcntl is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def reader_lock(folder: str | Path, what: str = "folder") -> contextlib.AbstractContextManager:
    """The folder's lock for a process that only reads it (``infer --weights``): held so that no writer replaces
    the files meanwhile; nothing when the folder is read-only for this user (no writer can be there either)."""
    folder = Path(folder)
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return contextlib.nullcontext()
    return FolderLock(folder, what, create=False)
