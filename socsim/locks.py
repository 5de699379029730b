"""Folder locks: one process at a time trains in a run folder, runs a sweep folder or computes a sweep point.

``FolderLock(folder)`` takes an exclusive ``flock`` on ``folder/.lock`` without waiting and writes its pid
there; the kernel drops the lock when the process exits, however it ends (a SIGKILL included), so a stale
lock file never blocks a later run. Where ``fcntl`` is missing (not POSIX) the lock does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"


class FolderBusy(ValueError):
    """Another process holds the folder's lock; the message names the folder and that process."""


class FolderLock:
    """Context manager holding ``folder/.lock`` (the folder is created if needed)."""

    def __init__(self, folder: str | Path, what: str = "folder"):
        self.folder, self.what = Path(folder), what
        self.fd: int | None = None

    def __enter__(self) -> "FolderLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
