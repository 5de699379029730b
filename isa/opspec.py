"""The vocabulary of the opcode table (:mod:`isa.spec`): what an instruction is made of.

The enums an instruction and its operands take values from (group, unit, memory space, phase, ...), the field kinds
and the encoding's bit widths, and the two records of the table: :class:`Field` (one operand) and :class:`OpSpec`
(one instruction). ``isa.spec`` imports all of them, so ``from isa.spec import Space`` keeps working.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Group(enum.Enum):
    """Instruction groups (DESIGN.md, 'The ISA')."""

    CONTROL = "control"
    MOVE = "data movement"
    CIM = "CIM"
    DIGITAL = "digital unit"
    SYNC = "synchronization"


class Unit(enum.Enum):
    """The unit that executes an instruction; TILE instructions name their tile in field ``tile``."""

    CTRL = "controller"
    DMA = "dma"
    TILE = "tile"
    DU = "digital unit"


class Space(enum.IntEnum):
    """Address spaces; every address is a word (one float32 element) index within its space."""

    DRAM = 0
    SRAM = 1
    ACC = 2
    TBUF = 3


class Phase(enum.IntEnum):
    """Training phase a ``mark`` instruction attaches to later ledger rows."""

    OTHER = 0
    FORWARD = 1
    BACKWARD = 2
    UPDATE = 3
    EVAL = 4
    CALIBRATE = 5


class Hyper(enum.IntEnum):
    """Digital-unit hyperparameter registers set by ``hp``."""

    LR = 0
    BETA1 = 1
    BETA2 = 2
    EPS = 3
    WD = 4
    MOMENTUM = 5


class WaitUnit(enum.IntEnum):
    """Unit kinds named by ``wait`` and ``post``."""

    DMA = 0
    DU = 1
    TILE = 2


class TileStream(enum.IntEnum):
    """A tile's two address generators, which ``tpat`` sets: where ``mvms`` reads its inputs and writes its outputs."""

    IN = 0
    OUT = 1


class Kind(enum.Enum):
    """Operand kinds: how a field is written in assembly and how its bits are read."""

    REG = "register x0..x31"
    SIMM = "signed integer"
    UIMM = "unsigned integer"
    FIMM = "float32 immediate"
    LABEL = "label (absolute instruction index)"
    MEM = "memory operand: SYMBOL[+OFF][(xN)] or SPACE:OFF[(xN)]"
    ENUM = "name"


MEM_SPACE_BITS = 3
MEM_REG_BITS = 5
MEM_OFFSET_BITS = 24
MEM_BITS = MEM_SPACE_BITS + MEM_REG_BITS + MEM_OFFSET_BITS
SYMBOL_ADDRESS_BITS = 32
"""Symbols may lie anywhere in the first 2^32 words of a space (their space's capacity is checked when a
program is loaded); an operand reaches words past the 24-bit offset through a base register."""
OPCODE_BITS = 8
WORD_BITS = 32


@dataclass(frozen=True)
class Field:
    """One operand field: name, kind, width in bits, and for memory operands how it is accessed.

    ``access`` is "r", "w" or "rw"; ``size`` is a Python expression over the instruction's other
    fields (and, for tile instructions, ``ROWS``/``COLS`` of the tile's active block, for gathers
    ``PATTERN``) giving the number of words touched. ``enum`` names the values of an ENUM field.
    """

    name: str
    kind: Kind
    bits: int
    access: str = ""
    size: str = ""
    enum: type[enum.IntEnum] | None = None

    @property
    def lo(self) -> int:
        """Smallest encodable value of an integer field."""
        return -(1 << (self.bits - 1)) if self.kind is Kind.SIMM else 0

    @property
    def hi(self) -> int:
        """Largest encodable value of an integer field."""
        return (1 << (self.bits - 1)) - 1 if self.kind is Kind.SIMM else (1 << self.bits) - 1


@dataclass(frozen=True)
class OpSpec:
    """One instruction: mnemonic, opcode, group, executing unit, fields, meaning, cost formula."""

    mnemonic: str
    opcode: int
    group: Group
    unit: Unit
    fields: tuple[Field, ...]
    doc: str
    formula: str = ""
    """Its cycles and energy in terms of its operands and config fields, as the simulator computes them (the
    ``latency / energy`` column of docs/isa.md). A digital-unit instruction gives its work, ``ops A; MACs B;
    specials C`` (Python expressions of its fields), which the digital unit's rule turns into cycles and pJ."""
    offsets: tuple[int, ...] = field(default=(), compare=False)

    @property
    def bits(self) -> int:
        return OPCODE_BITS + sum(f.bits for f in self.fields)

    @property
    def words(self) -> int:
        """Encoded length in 32-bit words."""
        return -(-self.bits // WORD_BITS)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.mnemonic} has no field {name!r}")
