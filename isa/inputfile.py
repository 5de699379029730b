"""Inputs are regular files read to a bound: the one check, at the bottom layer (the assembler and the binary
reader use it; socsim.base.fileio builds its readers on it). A FIFO, a device (``/dev/zero``) or a folder is refused at
once (the open does not block on a FIFO), and a file is read up to :data:`MAX_INPUT_BYTES`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_INPUT_BYTES = 1 << 30
"""An input file (a program, run.json, a config, a graph, a dataset file) is read up to this many bytes (1 GiB)."""

_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


class InputFileError(ValueError):
    """An input that is no regular file, or one over the size limit; the message names the file. socsim counts it as
    bad input (``socsim.base.errors.error_kind``); a ValueError, as before."""

    def __init__(self, message: str, file: str | Path = ""):
        self.file = str(file)
        super().__init__(f"{file}: {message}" if str(file) else message)


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, as an error message says it ("a FIFO", ...)."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_input(path: str | Path, what: str = "file") -> int:
    """A read-only descriptor of ``path``, which must be a regular file (a FIFO, a device or a folder is a
    :class:`InputFileError` naming it, refused at once: the open does not block on a FIFO)."""
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputFileError(f"{what} is {file_kind(mode)}; expected a regular file", path)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return fd


def read_bytes(path: str | Path, what: str = "file", limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` (a larger file is an :class:`InputFileError` naming
    it)."""
    fd = open_input(path, what)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(f"{what} is larger than {limit} bytes", path)
    return data
