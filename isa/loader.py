"""Load a program from a file: assembly text (``.s``) or a binary (``.bin``, or any file with the binary magic)."""

from __future__ import annotations

from pathlib import Path

from isa.asm import assemble_file
from isa.encoding import MAGIC, read_binary
from isa.program import Program


def load_program(path: str | Path) -> Program:
    """The program in ``path``: read as a binary when it ends in ``.bin`` or starts with the binary magic,
    else assembled as text (an older binary format is refused by name). Errors (IsaError, OSError) name the file."""
    p = Path(path)
    if p.suffix == ".bin" or (p.is_file() and p.read_bytes()[:6] == MAGIC[:6]):  # any format version's magic
        return read_binary(p)
    return assemble_file(p)
