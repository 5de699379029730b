"""The op table's contract: what one registered operation provides, and what its numerics see.

Every instruction of the ISA table has exactly one :class:`Op` (``socsim.sim.ops.OPS``), holding
everything the simulator does with it: how the controller runs it, its numerics over lanes, its cost
(cycles and ledger actions) and what it does in timing-only mode. Numerics functions see their
operands through :class:`Operands`: arrays with a leading lane axis ``L`` (one lane per iteration of
a lane-parallel loop; the sequential engine runs every instruction with L = 1).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import numpy as np

from isa.spec import Hyper, Kind, OpSpec
from socsim.base.actions import Action

F32 = np.float32

Work = tuple[int, int, int]
"""Digital-unit work: (simple FP32 ops, multiply-accumulates, special functions: exp / sqrt / divide)."""
Apply = Callable[[np.ndarray, np.ndarray], None]
"""How an accumulating instruction adds its term to its destination: ``apply(dst (L, size), term (L, ...))``,
elementwise per lane, so applying lane by lane in iteration order equals applying all lanes at once."""


class Exec(enum.Enum):
    """How the controller runs an operation."""

    CONTROL = "controller"
    """Scalar, control flow, address generator, ledger tags: run in the controller, no unit."""
    SCALAR_MEMORY = "controller load/store"
    """lw / sw: the controller reads or writes one on-chip word (waits for its producers)."""
    SYNC = "synchronization"
    """fence, wait, post, waitt, halt: the controller waits on units or semaphores."""
    UNIT = "unit"
    """Issued to a DMA channel, the digital unit or a tile: numerics at issue, timing by the unit."""


class TimingOnly(enum.Enum):
    """What an operation does when the SoC runs without numerics (``Soc(cfg, timing_only=True)``)."""

    SKIP = "numerics skipped"
    EXECUTE = "executed (architectural state, not data)"
    NOMINAL = "nominal programming report (socsim.sim.timing_only)"


class Operands:
    """The operands of one issued instruction as a numerics function sees them (interface).

    ``a(name)`` is an (L, size) float32 array per memory operand (writable where the instruction
    writes), ``v`` the scalar fields and derived sizes, ``pattern`` the address-generator offsets of a
    gather/scatter, ``hyper`` the digital unit's hyperparameter registers, ``regs`` the registers.
    """

    lanes: int
    v: dict[str, Any]
    pattern: np.ndarray | None
    streams: dict[str, np.ndarray] | None = None
    """``mvms``: the word offsets of each streamed operand (its tile's input or output pattern) from its start."""
    hyper: dict[int, float]
    regs: list

    def a(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def put(self, name: str, value: np.ndarray | float) -> None:
        """Write ``value`` (broadcastable to (L, size)) into operand ``name``."""
        self.a(name)[...] = value

    def reduced(self, name: str) -> bool:
        """True if ``name`` lies in a symbol the lanes reduce into (lane-parallel loops only)."""
        return False

    def accumulate(self, name: str, term: np.ndarray, apply: Apply) -> None:
        """Add ``term`` (L, ...) into operand ``name`` with ``apply``; a reduced operand gets the lanes'
        terms in iteration order at the end of the loop, every other one at once."""
        apply(self.a(name), term)

    def same(self, first: str, second: str) -> bool:
        """True if two memory operands are the same words."""
        raise NotImplementedError

    def h(self, name: Hyper) -> np.float32:
        return F32(self.hyper[int(name)])


def add_into(dst: np.ndarray, term: np.ndarray) -> None:
    """dst += term, elementwise (term reshaped to dst's lanes x words)."""
    dst += term.reshape(dst.shape)


class ControlState:
    """What a controller operation reads and changes (interface): registers, address generator, ledger
    tags, the cycle count. The sequential controller holds integers; the lane-parallel control pass
    holds a register as an integer or as an array of one value per lane."""

    regs: list
    agen: list[tuple[int, int]]
    alu_cycles: int

    def set_reg(self, rd: int, value) -> None:
        raise NotImplementedError

    def count(self, mnemonic: str, cycles: int) -> None:
        raise NotImplementedError

    def branch(self, taken, target: int, pc: int, mnemonic: str) -> int:
        """The next pc of a conditional branch (``taken`` may be one flag per lane); counts its cycles."""
        raise NotImplementedError

    def jump(self, target, pc: int, mnemonic: str) -> int:
        """The next pc of an unconditional jump; counts its cycles."""
        raise NotImplementedError

    def tag(self, layer: int, phase: int) -> None:
        """``mark``: the layer and phase of later ledger rows."""
        raise NotImplementedError


class Shadow:
    """How a register's value depends on the registers a lane-parallel loop's iteration starts from: the value is
    its recorded one plus ``sum(coefs[r] * (entry[r] - recorded entry[r]))`` (mod 2^64) while no register of
    ``opaque`` changed; registers ``opaque`` names reach the value through operations that are not linear (and, or,
    compare, a product of two registers). socsim.sim.lanes.relocate re-uses a recorded iteration through these."""

    __slots__ = ("coefs", "opaque")

    def __init__(self, coefs: dict[int, int] | None = None, opaque: frozenset[int] = frozenset()):
        self.coefs = {r: c for r, c in (coefs or {}).items() if c}
        self.opaque = opaque

    @property
    def constant(self) -> bool:
        return not self.coefs and not self.opaque

    def plus(self, other: "Shadow", scale: int = 1) -> "Shadow":
        """The shadow of this value plus ``scale`` times ``other``."""
        coefs = dict(self.coefs)
        for r, c in other.coefs.items():
            coefs[r] = coefs.get(r, 0) + scale * c
        return Shadow(coefs, self.opaque | other.opaque)

    def scaled(self, k: int) -> "Shadow":
        return Shadow({r: c * k for r, c in self.coefs.items()}, self.opaque)

    def unknown(self, *others: "Shadow") -> "Shadow":
        """The shadow of a value computed from these by an operation that is not linear."""
        regs = set(self.coefs) | self.opaque
        for o in others:
            regs |= set(o.coefs) | o.opaque
        return Shadow(None, frozenset(regs))

    def shift(self, delta: list[int]) -> int | None:
        """How much the value moves when the entry registers move by ``delta`` (None: it may change otherwise)."""
        for r in self.opaque:
            if delta[r]:
                return None
        return sum(c * delta[r] for r, c in self.coefs.items())


CONSTANT = Shadow()

Relocate = Callable[[tuple, list, list], tuple[int, Shadow]]
"""A controller op's part in relocating a recorded iteration: (arguments, register shadows, register values) ->
(the register it writes and that register's new shadow) or (-1, a shadow that must not move: a branch's compared
difference)."""


def no_operands(*_: object) -> frozenset[str]:
    """The default of :attr:`Op.reducible` and :attr:`Op.overwrites`: none."""
    return frozenset()


ControlFn = Callable[[ControlState, tuple, int], int]
"""A controller operation: (state, instruction arguments, pc) -> next pc."""


@dataclass(frozen=True)
class Op:
    """One operation: its ISA spec and the simulator's handler parts (only those its kind uses)."""

    spec: OpSpec = None  # type: ignore[assignment]
    """The instruction's row of the ISA table (the op table attaches it: socsim.sim.ops.OPS)."""
    exec: Exec = Exec.UNIT
    control: ControlFn | None = None
    """CONTROL ops: the operation itself, on the controller's state."""
    waits: Callable[[Any, Any, int], Any] | None = None
    """SYNC and SCALAR_MEMORY ops: a generator function (controller, instruction, pc) that may wait."""
    numerics: Callable[[Operands], None] | None = None
    """UNIT ops: the data effect over lanes (None: no data effect, e.g. tcfg)."""
    work: Callable[[dict], Work] | None = None
    """Digital-unit ops: the work of the instruction from its field values."""
    tile_cost: Callable[[Any, dict, Any], tuple[int, list[tuple[Action, int]]]] | None = None
    """Tile ops: (tile, field values, programming report) -> (tile cycles, [(ledger action, count)])."""
    words: Callable[[dict], int] | None = None
    """DMA ops: words moved."""
    read_modify_write: bool = False
    """DMA ops: the destination is read as well as written (scatter-add)."""
    reducible: Callable[[dict, Callable[[str, str], bool]], frozenset[str]] = no_operands
    """Memory operands this instruction may accumulate into across lanes, given its field values and a
    predicate telling whether two of its operands are the same words."""
    overwrites: Callable[[dict], frozenset[str]] = no_operands
    """Read-write operands that these field values only write (``mm`` without ``acc``)."""
    late_reads: frozenset[str] = frozenset()
    """Operands read as the job proceeds (``mvms``'s partial sums): their producers are late dependencies, which the
    job need not wait for to start, only to end (socsim.sim.unit.Job.late)."""
    stream_edges: Callable[[Any, dict], tuple[int, int]] | None = None
    """Streamed tile ops: (tile, field values) -> (the first input's fetch, the last output's add and write) in
    cycles; the fetch is hidden when the tile could make it while its previous job converted."""
    stream_accesses: Callable[[dict, dict], list[tuple[str, bool, int]]] | None = None
    """Streamed tile ops: (field values, operands) -> (operand, written, words) the streams move (priced per
    word instead of each operand's whole span)."""
    timing_only: TimingOnly = TimingOnly.SKIP
    only_moves: bool = False
    """Its outputs are words of its inputs, immediates or constants, so it cannot make NaN or inf from finite
    inputs: the NaN check (``controller.trap_on_nan``) skips it and traps at the arithmetic that made them."""
    reads_array: bool = False
    """Tile ops that read the array: each takes one read number of its tile for its random draws."""
    own_buffer: bool = False
    """Tile ops whose memory operands must lie in their own tile's buffer."""
    needs_weights: bool = False
    """Tile ops that multiply by the array's weights: they trap on a tile no ``tcfg`` configured or no ``wv`` /
    ``pulse`` programmed."""
    transposed: bool = False
    """Tile ops that read the array transposed (need ``tiles.transposed_mvm``)."""
    configures_block: bool = False
    """``tcfg``: sets its tile's active block at issue (socsim.sim.ops.tile.configure)."""
    programs: bool = False
    """Tile ops that write the devices (the tile then holds weights)."""
    lane_shared: bool = False
    """Changes state every later instruction shares (devices, a block's full scale, hyperparameters): never in a
    lane-parallel loop."""
    configures_stream: Callable[[dict, tuple, list], str] | None = None
    """Sets part of its tile's stream state at issue: (the tile's streams, instruction arguments, address-generator
    levels) -> which part ("IN", "OUT" or "EPI")."""
    reads_agen: bool = False
    """Reads the address generator's levels other than through a SPAN operand (``tpat``)."""
    lane_fixed: tuple[str, ...] = ()
    """Register fields whose register must hold one value in every lane of a lane-parallel loop (adamw's step)."""
    relocate: Relocate | None = None
    """Controller ops that read or write registers: how their result depends on the registers a lane-parallel loop's
    iteration starts from (:class:`Shadow`, socsim.sim.lanes.relocate)."""

    @property
    def mnemonic(self) -> str:
        return self.spec.mnemonic

    @property
    def streamed(self) -> bool:
        """Streams its operands through the tile's own address generators (``mvms``)."""
        return self.stream_edges is not None

    @cached_property
    def access(self) -> tuple[tuple[str, bool, bool], ...]:
        """(field name, read, written) of every memory operand, in field order."""
        return tuple((f.name, "r" in f.access, "w" in f.access) for f in self.spec.fields if f.kind is Kind.MEM)
