"""Files written safely and read with errors that name them.

A write goes to a temporary file beside its target (``.NAME.tmp-socsim-XXXXXXXX``), is flushed and fsynced,
renamed into place, and the folder is fsynced, so a kill leaves the old file or the new one, never half of one;
:func:`clean_temporaries` removes what a kill left behind (only names of that exact form). A write never replaces
a symbolic link, a device, a FIFO or a socket (:func:`check_output`). Files are created readable by the group and
others (0666 minus the umask, 0644 with the usual umask), as ``open`` would.

Inputs are read only from regular files, at most :data:`MAX_INPUT_BYTES` (:func:`read_bytes`, from
``isa.inputfile``, the bottom layer, which the assembler and the binary reader use too); JSON and TOML
nest at most :data:`MAX_NESTING` deep; gzip data expands at most :data:`MAX_GZIP_RATIO` times. Reads raise
ValueError naming the file for text that is not UTF-8, JSON that does not parse and gzip data that is damaged.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import gzip
import hashlib
import io
import json
import os
import re
import stat
import tempfile
import tomllib
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np

from isa.inputfile import MAX_INPUT_BYTES as MAX_INPUT_BYTES  # re-exported: the limit of every reader here
from isa.inputfile import file_kind, open_input, read_bytes
from socsim.base.errors import HostEnvironmentError, InputError

TEMP_MARK = ".tmp-socsim-"
"""Temporary files are named ``.{target name}{TEMP_MARK}{8 random characters}``."""
_TEMPORARY = re.compile(r"\..+" + re.escape(TEMP_MARK) + r"[a-z0-9_]{8}")
MAX_NESTING = 64
"""JSON and TOML inputs are nested at most this many arrays / tables deep (socsim writes at most 8)."""

_UMASK = os.umask(0)
os.umask(_UMASK)  # read once, at import (os.umask has no read-only form; threads may start later)


def temporary_name(path: Path) -> str:
    """The prefix of the temporary files written for ``path``."""
    return f".{path.name}{TEMP_MARK}"


ON_WRITE: contextvars.ContextVar[Callable[[Path, Path], None] | None] = contextvars.ContextVar("on_write",
                                                                                                default=None)
"""Called by :func:`atomic_write` with (target, the written temporary file) before the rename, when set (a run
folder records what it writes: socsim.runfolder.digests)."""


def file_sha256(path: str | Path) -> str:
    """The SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file :func:`atomic_write` makes (and may delete)."""
    return _TEMPORARY.fullmatch(name) is not None


def check_output(path: str | Path) -> Path:
    """``path`` as a Path when socsim may write it: absent or a regular file. A symbolic link (which would be
    replaced, or followed out of its place), a folder, a device, a FIFO or a socket is a ValueError naming it."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise InputError(f"cannot write here: {exc.strerror}", file=path) from None
    if not stat.S_ISREG(mode):
        raise InputError(f"is {file_kind(mode)}; socsim writes only regular files (give another path)", file=path)
    return path


def output_file(text: str) -> str:
    """An argparse type for a file to write: checked by :func:`check_output` before anything runs."""
    try:
        check_output(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


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
    path = check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temporary_name(path), dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        hook = ON_WRITE.get()
        if hook is not None:
            hook(path, Path(tmp))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # ENOSPC, EIO...: say which file was being written
            failed = HostEnvironmentError(f"cannot write it: {exc.strerror}", file=path)
            failed.errno, failed.strerror = exc.errno, exc.strerror
            raise failed from None
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
        if is_temporary(entry.name) and (entry.is_symlink() or entry.is_file()):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed


def check_nesting(value: Any, where: str, limit: int = MAX_NESTING) -> Any:
    """``value`` (parsed JSON / TOML) unless its lists and tables nest deeper than ``limit``: ValueError naming
    ``where``."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            if level > limit:
                raise InputError(f"nested more than {limit} levels deep", file=where)
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return value


def loads_json(text: str, where: str, what: str = "JSON") -> Any:
    """Parsed JSON text with bounded nesting; errors are ValueErrors naming ``where`` (line and column)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", file=where) \
            from None
    except RecursionError:
        raise InputError(f"{what} is nested more than {MAX_NESTING} levels deep", file=where) from None
    return check_nesting(value, where)


def loads_toml(text: str, where: str) -> Any:
    """Parsed TOML text with bounded nesting; a recursion is a ValueError naming ``where`` (parse errors as
    tomllib raises them)."""
    try:
        value = tomllib.loads(text)
    except RecursionError:
        raise InputError(f"nested more than {MAX_NESTING} levels deep", file=where) from None
    return check_nesting(value, where)


def read_toml(path: str | Path, what: str, error: type[Exception]) -> Any:
    """The parsed TOML file ``path`` (a ``what`` in messages: "config", "sweep file"); any problem reading or
    parsing it raised as ``error`` naming the file."""
    try:
        return loads_toml(read_text(path, what), str(path))
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except ValueError as exc:  # not UTF-8, nested too deep
        raise error(str(exc)) from None


def read_text(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of the regular file ``path``; OSError as is (it names the file), bad UTF-8, a FIFO, a device
    or a file over MAX_INPUT_BYTES as ValueError naming it."""
    path = Path(path)
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}, "
                         f"line {line})", file=path) from None


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """The parsed JSON of ``path``; a decode error names the file, the line and the column."""
    return loads_json(read_text(path, what), str(path), what)


MAX_GZIP_RATIO = 64
"""A ``.gz`` input may expand to at most this many times its size plus MAX_GZIP_SLACK (MNIST's files expand 1.5
to 9 x); a gzip bomb expands about 1000 x."""
MAX_GZIP_SLACK = 64 << 20


def read_gzip(path: str | Path) -> bytes:
    """The decompressed bytes of a regular gzip file, at most MAX_GZIP_RATIO x its size (+ MAX_GZIP_SLACK);
    damaged or cut-off data, or more than that, is a ValueError naming the file."""
    path = Path(path)
    raw = read_bytes(path, "gzip file")
    limit = MAX_GZIP_RATIO * len(raw) + MAX_GZIP_SLACK
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb") as fh:
            data = fh.read(limit + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(f"damaged gzip data: {exc}", file=path) from None
    if len(data) > limit:
        raise InputError(f"gzip data expands past {limit} bytes from {len(raw)} (more than "
                         f"{MAX_GZIP_RATIO} x); refused", file=path)
    return data


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
        with os.fdopen(open_input(path, what), "rb") as raw, zipfile.ZipFile(raw) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if stored_only and any(i.compress_type != zipfile.ZIP_STORED for i in infos):
                raise InputError("a member is compressed (socsim writes this file uncompressed)")
            if total > MAX_NPZ_RATIO * path.stat().st_size + MAX_NPZ_SLACK:
                raise InputError(f"it would expand to {total} bytes from {path.stat().st_size}")
            out = {}
            for info in infos:
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, fortran, dtype = header(fh)
                    if dtype.hasobject:
                        raise InputError(f"refused array {name!r}: it holds Python objects (dtype {dtype}), which "
                                         "would be unpickled")
                    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                    if need != info.file_size - fh.tell():
                        raise InputError(f"array {name!r} claims {need} bytes and holds {info.file_size - fh.tell()}")
                    data = fh.read()
                out[name] = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()
            return out
    except FileNotFoundError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        kind = "" if isinstance(exc, ValueError) else f"{type(exc).__name__}: "
        raise InputError(f"not a readable {what} (.npz): {kind}{exc}", file=path) from None
