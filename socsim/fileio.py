"""Files written safely and read with errors that name them.

A write goes to a temporary file beside its target (``.NAME.tmp-XXXXXXXX``), is flushed and fsynced,
renamed into place, and the folder is fsynced, so a kill leaves the old file or the new one, never half
of one; :func:`clean_temporaries` removes what a kill left behind. Files are created readable by the group
and others (0666 minus the umask, 0644 with the usual umask), as ``open`` would. Reads raise ValueError
naming the file for text that is not UTF-8, JSON that does not parse and gzip data that is damaged.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np

TEMP_MARK = ".tmp-"
"""Temporary files are named ``.{target name}{TEMP_MARK}{random}``."""

_UMASK = os.umask(0)
os.umask(_UMASK)  # read once, at import (os.umask has no read-only form; threads may start later)


def temporary_name(path: Path) -> str:
    """The prefix of the temporary files written for ``path``."""
    return f".{path.name}{TEMP_MARK}"


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened or synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[IO[Any]], None], binary: bool = True) -> None:
    """Write via ``write(file)`` into a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temporary_name(path), dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_text(path: str | Path, text: str) -> None:
    """``path`` holds ``text`` (UTF-8), written atomically."""
    atomic_write(path, lambda fh: fh.write(text), binary=False)


def write_bytes(path: str | Path, data: bytes) -> None:
    """``path`` holds ``data``, written atomically."""
    atomic_write(path, lambda fh: fh.write(data))


def clean_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files an interrupted :func:`atomic_write` left in ``folder``; returns them."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        if entry.name.startswith(".") and TEMP_MARK in entry.name and entry.is_file():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed


def read_text(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of ``path``; OSError as is (it names the file), bad UTF-8 as ValueError naming it."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValueError(f"{path}: {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}, "
                         f"line {line})") from None


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """The parsed JSON of ``path``; a decode error names the file, the line and the column."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: {what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") \
            from None


def read_gzip(path: str | Path) -> bytes:
    """The decompressed bytes of a gzip file; damaged or cut-off data is a ValueError naming the file."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: damaged gzip data: {exc}") from None


MAX_NPZ_RATIO = 64
"""A compressed ``.npz`` may expand to at most this many times its file size (plus MAX_NPZ_SLACK): a legitimate
array archive compresses far less; a zip bomb far more."""
MAX_NPZ_SLACK = 64 << 20


def read_npz(path: str | Path, what: str = "array archive", stored_only: bool = False) -> dict[str, Any]:
    """The arrays of an ``.npz`` without running or allocating what the file does not hold: every member must be
    a ``.npy`` of a plain (not object) dtype whose header matches its size, the archive must not expand past
    MAX_NPZ_RATIO x its size (``stored_only``: no member compressed at all), and nothing is unpickled.
    ValueError naming the file otherwise."""

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if stored_only and any(i.compress_type != zipfile.ZIP_STORED for i in infos):
                raise ValueError("a member is compressed (socsim writes this file uncompressed)")
            if total > MAX_NPZ_RATIO * path.stat().st_size + MAX_NPZ_SLACK:
                raise ValueError(f"it would expand to {total} bytes from {path.stat().st_size}")
            out = {}
            for info in infos:
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, fortran, dtype = header(fh)
                    if dtype.hasobject:
                        raise ValueError(f"refused array {name!r}: it holds Python objects (dtype {dtype}), which "
                                         "would be unpickled")
                    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                    if need != info.file_size - fh.tell():
                        raise ValueError(f"array {name!r} claims {need} bytes and holds {info.file_size - fh.tell()}")
                    data = fh.read()
                out[name] = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()
            return out
    except FileNotFoundError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        kind = "" if isinstance(exc, ValueError) else f"{type(exc).__name__}: "
        raise ValueError(f"{path}: not a readable {what} (.npz): {kind}{exc}") from None
