"""Binary encoding: instructions as little-endian 32-bit words, then the symbol/label/layer tables.

File layout: magic ``SOCSIMB1``; u32 code word count; code words; u32 metadata byte count;
metadata as UTF-8 JSON (symbols with initializers, labels, layers). Floats in the JSON are the
float32 values written as shortest-repr float64, so they round-trip exactly.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from isa.program import DataInit, Instruction, IsaError, LaneMark, MemRef, Program, Symbol
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

MAGIC = b"SOCSIMB1"


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


def _meta(program: Program) -> dict:
    """The tables in a canonical order, so that equal programs encode to equal bytes."""
    return {
        "symbols": [{"name": s.name, "space": s.space.name.lower(), "addr": s.addr, "size": s.size,
                     "init": {"kind": s.init.kind, "values": list(s.init.values), "a": s.init.a,
                              "b": s.init.b, "seed": s.init.seed}}
                    for s in sorted(program.symbols.values(), key=lambda s: (s.space, s.addr, s.name))],
        "labels": dict(sorted(program.labels.items(), key=lambda kv: (kv[1], kv[0]))),
        "layers": {str(k): v for k, v in sorted(program.layers.items())},
        "lanes": [{"label": m.label, "head": m.head, "reg": m.reg, "count": m.count, "private": list(m.private),
                   "reduce": list(m.reduce)} for m in program.lanes],
    }


def encode(program: Program) -> bytes:
    """The program as bytes (validated first)."""
    validate(program)
    words = encode_code(program.instructions)
    meta = json.dumps(_meta(program), separators=(",", ":")).encode()
    return (MAGIC + struct.pack("<I", len(words)) + struct.pack(f"<{len(words)}I", *words)
            + struct.pack("<I", len(meta)) + meta)


def decode(blob: bytes, file: str = "<bytes>") -> Program:
    """Parse bytes written by :func:`encode`; errors name ``file`` and what was expected."""
    if blob[:8] != MAGIC:
        raise IsaError(f"not a socsim binary (magic {blob[:8]!r})", file, expected=f"magic {MAGIC!r}")
    try:
        (n,) = struct.unpack_from("<I", blob, 8)
        words = list(struct.unpack_from(f"<{n}I", blob, 12))
        (m,) = struct.unpack_from("<I", blob, 12 + 4 * n)
        meta = json.loads(blob[16 + 4 * n:16 + 4 * n + m].decode())
        symbols = {d["name"]: Symbol(d["name"], Space[d["space"].upper()], d["addr"], d["size"],
                                     DataInit(d["init"]["kind"], tuple(d["init"]["values"]), d["init"]["a"],
                                              d["init"]["b"], d["init"]["seed"]))
                   for d in meta["symbols"]}
        labels = {k: int(v) for k, v in meta["labels"].items()}
        layers = {int(k): v for k, v in meta["layers"].items()}
        lanes = [LaneMark(str(d["label"]), int(d["head"]), int(d["reg"]), int(d["count"]),
                          tuple(str(n) for n in d["private"]), tuple(str(n) for n in d["reduce"]))
                 for d in meta.get("lanes", [])]
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise IsaError(f"truncated or corrupt binary: {exc}", file) from None
    try:
        instructions = decode_code(words)
        program = Program(instructions, symbols, labels, layers, file, lanes)
        for ins in instructions:
            validate_instruction(ins, len(instructions))
        validate(program)
    except IsaError as exc:
        raise IsaError(str(exc), file) from None
    return program


def write_binary(program: Program, path: str | Path) -> None:
    Path(path).write_bytes(encode(program))


def read_binary(path: str | Path) -> Program:
    p = Path(path)
    try:
        return decode(p.read_bytes(), str(p))
    except OSError as exc:
        raise IsaError(f"cannot read binary: {exc.strerror}", str(p)) from None
