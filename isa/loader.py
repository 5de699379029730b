"""Load a program from a file: assembly text (``.s``) or a binary (``.bin``, or any file with the binary magic)."""

from __future__ import annotations

import os
from pathlib import Path

from isa.asm import assemble_file
from isa.encoding import MAGIC, read_binary
from isa.inputfile import open_input
from isa.program import Program


def _head(path: Path) -> bytes:
    """The first 6 bytes of the regular file ``path`` (b"" when it cannot be read: the reader then says why)."""
    try:
        with os.fdopen(open_input(path, "program"), "rb") as fh:
            return fh.read(6)
    except (OSError, ValueError):
        return b""


def load_program(path: str | Path) -> Program:
    """The program in ``path``: read as a binary when it ends in ``.bin`` or starts with the binary magic,
    else assembled as text (an older binary format is refused by name). Errors (IsaError, OSError) name the file."""
    p = Path(path)
    if p.suffix == ".bin" or (p.is_file() and _head(p) == MAGIC[:6]):  # any format version's magic
        return read_binary(p)
    return assemble_file(p)
