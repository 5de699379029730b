"""A program of the CIM ISA: instructions, named memory symbols with initial data, labels, layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from isa.inputfile import InputFileError, read_bytes
from isa.spec import Kind, OpSpec, Space

TBUF_STRIDE = 1 << 16
"""Words between the starts of two tiles' buffers in the TBUF space (tile i's buffer: ``tb{i}``)."""

SPACE_NAMES = {"dram": Space.DRAM, "sram": Space.SRAM, "acc": Space.ACC}


class BadOperand(ValueError):
    """An instruction's operand holds a value the instruction does not accept (a label outside the classes, a scale
    of 0, a pooling window larger than its planes, ...): what the program did wrong. The simulator traps on it
    (``TrapKind.BAD_OPERAND``); it is raised by the instructions' numerics and by the physics models they call, and
    any other exception there is a bug of the simulator, which propagates with its traceback."""


class IsaError(ValueError):
    """A malformed program; the message starts with ``file:line:col`` when a source position is known."""

    def __init__(self, message: str, file: str = "", line: int = 0, col: int = 0, expected: str = ""):
        self.file, self.line, self.col, self.expected = file, line, col, expected
        where = f"{file or '<program>'}:{line}:{col}: " if line else (f"{file}: " if file else "")
        tail = f"; expected {expected}" if expected else ""
        super().__init__(f"{where}{message}{tail}")


def read_program_bytes(path: Path, what: str, short: str) -> bytes:
    """The bytes of the program file ``path`` (``what`` it is, ``short`` its name in "cannot read ..."); every
    problem is an :class:`IsaError` naming the file."""
    try:
        return read_bytes(path, what)
    except OSError as exc:
        raise IsaError(f"cannot read {short}: {exc.strerror}", str(path)) from None
    except InputFileError as exc:  # a FIFO, a device, a folder, a file past the limit: the message names it
        raise IsaError(str(exc)) from None


def space_name(space: Space, offset: int) -> tuple[str, int]:
    """Assembly name of the space holding absolute ``offset`` and the offset within it."""
    if space is Space.TBUF:
        return f"tb{offset // TBUF_STRIDE}", offset % TBUF_STRIDE
    return space.name.lower(), offset


def parse_space(name: str) -> tuple[Space, int] | None:
    """(space, base offset) for an assembly space name (``dram``, ``sram``, ``acc``, ``tbN``)."""
    low = name.lower()
    if low in SPACE_NAMES:
        return SPACE_NAMES[low], 0
    if low.startswith("tb") and low[2:].isdigit():
        return Space.TBUF, int(low[2:]) * TBUF_STRIDE
    return None


@dataclass(frozen=True)
class MemRef:
    """A memory operand: word address ``offset`` in ``space`` plus the value of register ``reg``."""

    space: Space
    offset: int
    reg: int = 0


Operand = Union[int, float, MemRef]


@dataclass(frozen=True)
class Instruction:
    """One instruction: its spec and one operand per field (int, float32-valued float, MemRef)."""

    spec: OpSpec
    args: tuple[Operand, ...]
    line: int = field(default=0, compare=False)
    """Source line (0 when not assembled from text); not part of the encoding."""

    def arg(self, name: str) -> Operand:
        for f, a in zip(self.spec.fields, self.args):
            if f.name == name:
                return a
        raise KeyError(f"{self.spec.mnemonic} has no field {name!r}")

    def text(self) -> str:
        """Plain assembly form without symbol names (for traps and traces)."""
        return format_instruction(self, {}, {})


@dataclass(frozen=True)
class DataInit:
    """Initial contents of a symbol: explicit ``values`` (one value fills every word; several are the first words,
    the rest zero) or a seeded random draw."""

    kind: str = "zeros"
    """One of ``zeros``, ``values``, ``uniform`` (lo=a, hi=b), ``normal`` (mean=a, std=b)."""
    values: tuple[float, ...] = ()
    a: float = 0.0
    b: float = 0.0
    seed: int = 0

    KINDS = ("zeros", "values", "uniform", "normal")

    def materialize(self, size: int) -> np.ndarray:
        """The float32 array of ``size`` words this initializer describes (deterministic)."""
        out = np.zeros(size, dtype=np.float32)
        if self.kind == "values":
            if len(self.values) == 1:
                out[:] = np.float32(self.values[0])
            else:
                out[:len(self.values)] = np.asarray(self.values, dtype=np.float32)
        elif self.kind == "uniform":
            out[:] = np.random.default_rng(self.seed).uniform(self.a, self.b, size)
        elif self.kind == "normal":
            out[:] = np.random.default_rng(self.seed).normal(self.a, self.b, size)
        return out


@dataclass(frozen=True)
class Symbol:
    """A named region of ``size`` words at ``addr`` in ``space``, with its initial data."""

    name: str
    space: Space
    addr: int
    size: int
    init: DataInit = DataInit()

    @property
    def end(self) -> int:
        return self.addr + self.size


@dataclass(frozen=True)
class LaneMark:
    """A loop the program declares lane-parallel (``.lanes``): its iterations are independent.

    The loop starts at label ``label`` (instruction ``head``) and ends with the one branch back to it;
    register ``reg`` counts its ``count`` iterations by one from its value at entry. Iteration i writes
    memory only in the ``private`` symbols (each iteration writes them before it reads them) and in the
    ``reduce`` symbols (only by accumulating into them); everything else it only reads.
    """

    label: str
    head: int
    reg: int
    count: int
    private: tuple[str, ...] = ()
    reduce: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceLine:
    """Where an instruction came from: ``file``, 1-based ``line`` and the statement's text (comment stripped)."""

    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Program:
    """Instructions plus the symbol table, label table, layer names and lane-parallel loops of one program."""

    instructions: list[Instruction] = field(default_factory=list)
    symbols: dict[str, Symbol] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    layers: dict[int, str] = field(default_factory=dict)
    source: str = ""
    """File the program came from, for error messages."""
    lanes: list[LaneMark] = field(default_factory=list)
    """Loops declared lane-parallel (the fast engine runs their iterations together)."""
    lines: list[SourceLine] = field(default_factory=list)
    """The line table: each instruction's source line (empty when unknown, e.g. a binary written without it); not
    part of the program's identity (``==``)."""
    warnings: list[str] = field(default_factory=list)
    """What the assembler found legal but suspicious (``file:line:col: ...``, e.g. a write to x0)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Program):
            return NotImplemented
        return (self.instructions == other.instructions and self.symbols == other.symbols
                and self.labels == other.labels and self.layers == other.layers and self.lanes == other.lanes)

    def symbol(self, name: str) -> Symbol:
        try:
            return self.symbols[name]
        except KeyError:
            raise KeyError(f"no symbol {name!r}; the program has: {', '.join(self.symbols)}") from None

    def source_of(self, pc: int) -> SourceLine | None:
        """The source line of instruction ``pc`` (None when the line table does not have it)."""
        return self.lines[pc] if 0 <= pc < len(self.lines) else None

    def describe(self, pc: int) -> str:
        """Instruction ``pc`` as a person reads it: its source text, else its assembly with symbol names."""
        src = self.source_of(pc)
        if src is not None:
            return src.text
        if not 0 <= pc < len(self.instructions):
            return ""
        return format_instruction(self.instructions[pc], self.symbols_by_space(), {})

    def symbols_by_space(self) -> dict:
        """The symbols of each space in address order (for :func:`format_instruction`)."""
        by_space: dict = {}
        for s in sorted(self.symbols.values(), key=lambda s: s.addr):
            by_space.setdefault(s.space, []).append(s)
        return by_space

    def code_bytes(self) -> int:
        """Size of the encoded instructions in bytes (what instruction memory must hold)."""
        return 4 * sum(ins.spec.words for ins in self.instructions)


def _mem_text(ref: MemRef, symbols: dict) -> str:
    sym = None
    for s in symbols.get(ref.space, ()):
        if s.addr <= ref.offset < s.end:
            sym = s
            break
    if sym is not None:
        off = ref.offset - sym.addr
        text = sym.name + (f"+{off}" if off else "")
    else:
        name, off = space_name(ref.space, ref.offset)
        text = f"{name}:{off}"
    return text + (f"(x{ref.reg})" if ref.reg else "")


def format_instruction(ins: Instruction, symbols_by_space: dict, label_at: dict[int, str]) -> str:
    """One instruction as assembly; memory operands by symbol when one covers the address."""
    parts = []
    for f, a in zip(ins.spec.fields, ins.args):
        if f.kind is Kind.REG:
            parts.append(f"x{a}")
        elif f.kind is Kind.FIMM:
            parts.append(str(np.float32(a)))
        elif f.kind is Kind.LABEL:
            parts.append(label_at.get(int(a), str(a)))  # type: ignore[arg-type]
        elif f.kind is Kind.ENUM:
            assert f.enum is not None
            parts.append(f.enum(a).name.lower())
        elif f.kind is Kind.MEM:
            parts.append(_mem_text(a, symbols_by_space))  # type: ignore[arg-type]
        else:
            parts.append(str(a))
    return ins.spec.mnemonic + (" " + ", ".join(parts) if parts else "")
