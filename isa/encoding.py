"""Binary encoding: instructions as little-endian 32-bit words, then the symbol/label/layer tables.

File layout: magic ``SOCSIMB2``; u32 code word count; code words; u32 metadata byte count;
metadata as UTF-8 JSON (symbols with initializers, labels, layers, lane-parallel loops, and optionally the line
table: each instruction's source file, line and text); u32 CRC-32 of everything before it.
Floats in the JSON are the float32 values written as shortest-repr float64, so they round-trip exactly.
The checksum makes a damaged file an error instead of a different program that runs (format 1, without
it, is refused).
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from isa.program import (
    DataInit,
    Instruction,
    IsaError,
    LaneMark,
    MemRef,
    Program,
    SourceLine,
    Symbol,
    read_program_bytes,
)
from isa.spec import (
    BY_OPCODE,
    MAX_WORDS,
    MEM_REG_BITS,
    MEM_SPACE_BITS,
    OPCODE_BITS,
    WORD_BITS,
    Kind,
    OpSpec,
    Space,
)
from isa.validate import validate, validate_instruction

MAGIC = b"SOCSIMB2"
OLD_MAGIC = b"SOCSIMB1"
"""Format 1: no checksum; refused (assemble the source again)."""


def _field_bits(kind: Kind, bits: int, value: object) -> int:
    if kind is Kind.MEM:
        assert isinstance(value, MemRef)
        return (int(value.space) | (value.reg << MEM_SPACE_BITS)
                | (value.offset << (MEM_SPACE_BITS + MEM_REG_BITS)))
    if kind is Kind.FIMM:
        return int(np.array(value, dtype=np.float32).view(np.uint32))
    return int(value) & ((1 << bits) - 1)  # type: ignore[call-overload]


def _field_value(kind: Kind, bits: int, raw: int) -> object:
    if kind is Kind.MEM:
        space = raw & ((1 << MEM_SPACE_BITS) - 1)
        reg = (raw >> MEM_SPACE_BITS) & ((1 << MEM_REG_BITS) - 1)
        offset = raw >> (MEM_SPACE_BITS + MEM_REG_BITS)
        if space not in {int(s) for s in Space}:
            raise IsaError(f"memory operand names space {space}, which does not exist")
        return MemRef(Space(space), offset, reg)
    if kind is Kind.FIMM:
        return float(np.array(raw, dtype=np.uint32).view(np.float32))
    if kind is Kind.SIMM and raw >> (bits - 1):
        return raw - (1 << bits)
    return raw


def encode_instruction(ins: Instruction) -> list[int]:
    """The instruction's 32-bit words (LSB-first packing, opcode in bits 0..7)."""
    value = ins.spec.opcode
    for f, off, a in zip(ins.spec.fields, ins.spec.offsets, ins.args):
        value |= _field_bits(f.kind, f.bits, a) << off
    return [(value >> (WORD_BITS * i)) & 0xFFFFFFFF for i in range(ins.spec.words)]


def decode_instruction(words: list[int], pc: int = 0) -> Instruction:
    """Decode one instruction from its words (extra trailing words are ignored)."""
    opcode = words[0] & ((1 << OPCODE_BITS) - 1)
    spec: OpSpec | None = BY_OPCODE.get(opcode)
    if spec is None:
        raise IsaError(f"illegal opcode 0x{opcode:02x} at instruction {pc}")
    value = sum(w << (WORD_BITS * i) for i, w in enumerate(words[:spec.words]))
    args = tuple(_field_value(f.kind, f.bits, (value >> off) & ((1 << f.bits) - 1))
                 for f, off in zip(spec.fields, spec.offsets))
    return Instruction(spec, args)  # type: ignore[arg-type]


def encode_code(instructions: list[Instruction]) -> list[int]:
    words: list[int] = []
    for ins in instructions:
        words.extend(encode_instruction(ins))
    return words


def decode_code(words: list[int]) -> list[Instruction]:
    out, i = [], 0
    while i < len(words):
        ins = decode_instruction(words[i:i + MAX_WORDS], len(out))
        if i + ins.spec.words > len(words):
            raise IsaError(f"instruction {len(out)} ({ins.spec.mnemonic}) is cut off at the end of the code")
        out.append(ins)
        i += ins.spec.words
    return out


def _field(table: Any, key: str, kinds: tuple[type, ...], where: str) -> Any:
    """``table[key]`` if it has one of ``kinds`` (bool is not an int here), else ValueError naming it."""
    if not isinstance(table, dict) or key not in table:
        raise ValueError(f"metadata {where or '(top level)'}: missing {key!r}")
    value = table[key]
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ValueError(f"metadata {where}.{key}: expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    return value


def _tables(meta: Any) -> tuple[dict[str, Symbol], dict[str, int], dict[int, str]]:
    """Symbols, labels and layers of the metadata JSON, every value's type checked (ValueError names it)."""
    if not isinstance(meta, dict):
        raise ValueError(f"metadata is a {type(meta).__name__}, expected an object")
    symbols = {}
    for i, d in enumerate(_field(meta, "symbols", (list,), "")):
        where = f"symbols[{i}]"
        init = _field(d, "init", (dict,), where)
        values = _field(init, "values", (list,), f"{where}.init")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ValueError(f"metadata {where}.init.values: expected numbers")
        space = _field(d, "space", (str,), where)
        if space.upper() not in Space.__members__:
            raise ValueError(f"metadata {where}.space: unknown space {space!r}")
        name = _field(d, "name", (str,), where)
        symbols[name] = Symbol(name, Space[space.upper()], _field(d, "addr", (int,), where),
                               _field(d, "size", (int,), where),
                               DataInit(_field(init, "kind", (str,), f"{where}.init"), tuple(float(v) for v in values),
                                        float(_field(init, "a", (int, float), f"{where}.init")),
                                        float(_field(init, "b", (int, float), f"{where}.init")),
                                        _field(init, "seed", (int,), f"{where}.init")))
    labels_in = _field(meta, "labels", (dict,), "")
    labels = {k: _field(labels_in, k, (int,), "labels") for k in labels_in}
    layers_in = _field(meta, "layers", (dict,), "")
    layers = {}
    for k in layers_in:
        if not k.lstrip("-").isdigit():
            raise ValueError(f"metadata layers: key {k!r} is not a layer id")
        layers[int(k)] = _field(layers_in, k, (str,), "layers")
    return symbols, labels, layers


def _lanes(meta: dict) -> list[LaneMark]:
    """The lane-parallel loops of the metadata JSON, every value's type checked (ValueError names it)."""
    out = []
    for i, d in enumerate(_field(meta, "lanes", (list,), "")):
        where = f"lanes[{i}]"
        names = {k: _field(d, k, (list,), where) for k in ("private", "reduce")}
        for k, v in names.items():
            if not all(isinstance(n, str) for n in v):
                raise ValueError(f"metadata {where}.{k}: expected symbol names")
        out.append(LaneMark(_field(d, "label", (str,), where), _field(d, "head", (int,), where),
                            _field(d, "reg", (int,), where), _field(d, "count", (int,), where),
                            tuple(names["private"]), tuple(names["reduce"])))
    return out


def _lines(meta: dict, n: int) -> list[SourceLine]:
    """The optional line table of the metadata JSON (empty when absent: binaries written without it)."""
    if "lines" not in meta:
        return []
    table = _field(meta, "lines", (dict,), "")
    files = _field(table, "files", (list,), "lines")
    rows = _field(table, "rows", (list,), "lines")
    if not all(isinstance(f, str) for f in files):
        raise ValueError("metadata lines.files: expected file names")
    if len(rows) != n:
        raise ValueError(f"metadata lines.rows: {len(rows)} rows for {n} instructions")
    out = []
    for i, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                  for v in row[:2]) and isinstance(row[2], str)
                and 0 <= row[0] < len(files)):
            raise ValueError(f"metadata lines.rows[{i}]: expected [file index, line, text]")
        out.append(SourceLine(files[row[0]], row[1], row[2]))
    return out


def _line_table(program: Program) -> dict:
    files = list(dict.fromkeys(src.file for src in program.lines))
    index = {f: i for i, f in enumerate(files)}
    return {"files": files, "rows": [[index[src.file], src.line, src.text] for src in program.lines]}


def _meta(program: Program, lines: bool = False) -> dict:
    """The tables in a canonical order, so that equal programs encode to equal bytes; ``lines`` adds the line
    table (when the program has one for every instruction)."""
    table = {"lines": _line_table(program)} if lines and len(program.lines) == len(program.instructions) else {}
    return {
        "symbols": [{"name": s.name, "space": s.space.name.lower(), "addr": s.addr, "size": s.size,
                     "init": {"kind": s.init.kind, "values": list(s.init.values), "a": s.init.a,
                              "b": s.init.b, "seed": s.init.seed}}
                    for s in sorted(program.symbols.values(), key=lambda s: (s.space, s.addr, s.name))],
        "labels": dict(sorted(program.labels.items(), key=lambda kv: (kv[1], kv[0]))),
        "layers": {str(k): v for k, v in sorted(program.layers.items())},
        "lanes": [{"label": m.label, "head": m.head, "reg": m.reg, "count": m.count, "private": list(m.private),
                   "reduce": list(m.reduce)} for m in program.lanes],
        **table,
    }


def encode(program: Program, lines: bool = False) -> bytes:
    """The program as bytes (validated first); ``lines`` keeps its line table (source file, line and text of each
    instruction), so that traps and listings of the binary cite the source."""
    validate(program)
    words = encode_code(program.instructions)
    meta = json.dumps(_meta(program, lines), separators=(",", ":")).encode()
    return seal(MAGIC + struct.pack("<I", len(words)) + struct.pack(f"<{len(words)}I", *words)
                + struct.pack("<I", len(meta)) + meta)


def seal(body: bytes) -> bytes:
    """``body`` (magic, code, metadata) with its CRC-32 appended: a complete binary."""
    return body + struct.pack("<I", zlib.crc32(body))


def decode(blob: bytes, file: str = "<bytes>") -> Program:
    """Parse bytes written by :func:`encode`; errors name ``file`` and what was expected."""
    if blob[:8] == OLD_MAGIC:
        raise IsaError("a binary of format 1 (SOCSIMB1, without a checksum) from an older socsim; assemble its "
                       "source again with 'socsim asm'", file)
    if blob[:8] != MAGIC:
        raise IsaError(f"not a socsim binary (magic {blob[:8]!r})", file, expected=f"magic {MAGIC!r}")
    if len(blob) < 20:
        raise IsaError(f"truncated or corrupt binary: {len(blob)} bytes, shorter than any binary", file)
    body, (crc,) = blob[:-4], struct.unpack("<I", blob[-4:])
    if zlib.crc32(body) != crc:
        raise IsaError(f"truncated or corrupt binary: checksum mismatch (CRC-32 {zlib.crc32(body):08x}, the file "
                       f"says {crc:08x}): the file is damaged", file)
    try:
        (n,) = struct.unpack_from("<I", body, 8)
        words = list(struct.unpack_from(f"<{n}I", body, 12))
        (m,) = struct.unpack_from("<I", body, 12 + 4 * n)
        if len(body) != 16 + 4 * n + m:
            raise ValueError(f"{len(body)} bytes before the checksum, the header says {16 + 4 * n + m}")
        meta = json.loads(body[16 + 4 * n:].decode())
        symbols, labels, layers = _tables(meta)
        lanes = _lanes(meta)
        instructions = decode_code(words)
        lines = _lines(meta, len(instructions))
    except RecursionError:
        raise IsaError("corrupt binary: metadata nested too deeply", file) from None
    except IsaError as exc:
        raise IsaError(str(exc), file) from None
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise IsaError(f"truncated or corrupt binary: {exc}", file) from None
    try:
        program = Program(instructions, symbols, labels, layers, file, lanes, lines=lines)
        for ins in instructions:
            validate_instruction(ins, len(instructions))
        validate(program)
    except IsaError as exc:
        raise IsaError(str(exc), file) from None
    return program


def write_binary(program: Program, path: str | Path, lines: bool = False) -> None:
    """Write the encoded program atomically: a temporary file beside ``path``, fsynced, renamed into place;
    ``lines`` keeps the line table (:func:`encode`)."""
    path = Path(path)
    blob = encode(program, lines)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_binary(path: str | Path) -> Program:
    p = Path(path)
    return decode(read_program_bytes(p, "program binary", "binary"), str(p))
