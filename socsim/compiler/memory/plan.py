"""The memory plan: what the compiled programs need of each on-chip memory, and whether the target has it.

One plan serves both the compiler and ``socsim compile --mapping``: the lowering declares every buffer it uses
(``Asm.buffers``), the compiler tries micro-batches from the largest and keeps the first whose buffers fit
(:func:`fit`), and the mapping check prints the same plan (:class:`MemoryPlan`). A memory that overflows is named
with the config field that sizes it (:data:`MEMORIES`), so an error says what to raise and to what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from socsim.base.errors import CapacityError as CapacityKind
from socsim.base.errors import ErrorKind
from socsim.compiler.graph import GraphError
from socsim.config.soc import SocConfig

if TYPE_CHECKING:
    from socsim.compiler.emit import Asm


class CapacityError(GraphError, CapacityKind):
    """The graph does not fit a memory of the target; the message names the memory, the need, the capacity and the
    config field that sizes it (a capacity error, :mod:`socsim.base.errors`)."""

    error_kind = ErrorKind.CAPACITY

    def __init__(self, message: str, space: str = ""):
        super().__init__(message)
        self.space = space
        """The plan space that overflowed (``sram``, ``acc``, ``tbuf``, ``imem``; "" when not a plan space)."""
        self.needs: dict[str, int] = {}
        """Every config field to raise and its least value, when socsim.compiler.memory.shortfalls found several."""


@dataclass(frozen=True)
class Memory:
    """One on-chip memory the plan fills: its name, the unit of its size and the config field that sizes it."""

    name: str
    unit: str
    field: str
    """Dotted config field (``controller.dmem_kbit``)."""
    per_kbit: int
    """Units per kbit of the field (32 words: 1024 bits / 32-bit words; 128 bytes), 0: the field counts units."""


MEMORIES = {"sram": Memory("data SRAM", "words", "controller.dmem_kbit", 32),
            "acc": Memory("accumulator SRAM", "words", "sram.acc_kbit", 32),
            "tbuf": Memory("tile buffer", "words", "tiles.buffer_words", 0),
            "imem": Memory("instruction memory", "bytes", "controller.imem_kbit", 128)}
"""Plan space -> the memory (``tbuf``: the fullest tile's buffer; ``imem``: the largest program)."""


@dataclass(frozen=True)
class SpaceUse:
    """What the plan puts in one memory: ``need`` of ``have`` units, and its largest items (name, units)."""

    space: str
    need: int
    have: int
    largest: tuple[tuple[str, int], ...]

    @property
    def ok(self) -> bool:
        return self.need <= self.have

    @property
    def memory(self) -> Memory:
        return MEMORIES[self.space]

    def field_value(self, cfg: SocConfig) -> int:
        section, name = self.memory.field.split(".")
        return getattr(getattr(cfg, section), name)

    def least(self) -> int:
        """The smallest value of the sizing field that holds the need."""
        per = self.memory.per_kbit
        return -(-self.need // per) if per else self.need

    def line(self) -> str:
        items = ", ".join(f"{n} {w}" for n, w in self.largest)
        return (f"{self.space:<5} {self.need:>10} / {self.have:<10} {self.memory.unit:<5} "
                f"{'ok  ' if self.ok else 'OVER'} {self.memory.name} ({self.memory.field}); largest: {items}")

    def problem(self, cfg: SocConfig, microbatch: int) -> str:
        """Why it does not fit, naming the memory and the field to raise."""
        items = ", ".join(f"{n} {w}" for n, w in self.largest)
        m = self.memory
        return (f"the {m.name} ({self.space}) needs {self.need} {m.unit} with a micro-batch of {microbatch} "
                f"(largest: {items}) but {m.field} = {self.field_value(cfg)} gives {self.have}; raise {m.field} to at "
                f"least {self.least()}")


def _largest(items: dict[str, int], k: int = 3) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))[:k])


def space_uses(asm: "Asm", cfg: SocConfig) -> list[SpaceUse]:
    """Data SRAM, accumulator SRAM and the fullest tile buffer as the symbols declared in ``asm`` fill them."""
    words = cfg.space_words()
    by_space: dict[str, dict[str, int]] = {}
    for key, buf in asm.buffers.items():
        if key != buf.name:  # a view into another symbol
            continue
        space = "tbuf" if buf.space.startswith("tb") else buf.space
        by_space.setdefault(space, {})[f"{buf.name}" if space != "tbuf" else f"{buf.space}:{buf.name}"] = buf.words
    out = [SpaceUse(s, sum(by_space.get(s, {}).values()), words[s], _largest(by_space.get(s, {})))
           for s in ("sram", "acc")]
    tiles: dict[str, dict[str, int]] = {}
    for name, w in by_space.get("tbuf", {}).items():
        tiles.setdefault(name.split(":")[0], {})[name] = w
    if tiles:
        tile, items = max(tiles.items(), key=lambda kv: (sum(kv[1].values()), kv[0]))
        out.append(SpaceUse("tbuf", sum(items.values()), words["tbuf"], _largest(items)))
    return out


def imem_use(programs: dict[str, int], cfg: SocConfig) -> SpaceUse:
    """The largest program against the instruction memory (bytes of code by program name)."""
    have = cfg.controller.imem_kbit * 1024 // 8
    name, need = max(programs.items(), key=lambda kv: (kv[1], kv[0]))
    return SpaceUse("imem", need, have, _largest(programs))


@dataclass(frozen=True)
class MemoryPlan:
    """The plan of the compiled programs: the micro-batch, each memory's use, and what did not fit ("" if all)."""

    microbatch: int
    uses: tuple[SpaceUse, ...]
    problem: str = ""
    """Why the graph does not compile ("" if it does)."""
    fits: bool = False
    """With a problem: True when it is not a memory (an unsupported layer, too few tiles)."""
    staged: int = -1
    """Words one micro-batch copies out to DRAM and back (compiler.staging); -1: not staged."""

    @property
    def ok(self) -> bool:
        return not self.problem

    def lines(self) -> list[str]:
        head = (f"memory plan of the compiled programs (micro-batch {self.microbatch}):" if self.microbatch else
                "memory plan of the compiled programs:")
        out = [head] + [u.line() for u in self.uses]
        if self.staged >= 0:
            out.append(f"staged through DRAM: {self.staged} words per micro-batch copied out after their last forward "
                       "use and back before their first backward use; activations and gradients share the SRAM pool "
                       "by liveness")
        if self.problem:
            out.append(f"{'DOES NOT COMPILE' if self.fits else 'DOES NOT FIT'}: {self.problem}")
        return out


def fit(make: Callable[[int], object], candidates: list[int], cfg: SocConfig, name: str, note: str = ""):
    """The first micro-batch of ``candidates`` whose plan fits: ``(lowering, uses)``; raises CapacityError naming the
    memory that overflows (for the last, smallest candidate) and the field to raise.

    ``make(m)`` builds the lowering of micro-batch ``m`` (its ``asm`` holds the declared buffers); it may raise
    CapacityError itself (a tile buffer, an address range), which also moves on to the next candidate. ``note``
    qualifies the error (how the plan was made).
    """
    problem, space = "", ""
    for m in candidates:
        try:
            low = make(m)
        except CapacityError as exc:
            problem, space = str(exc), exc.space
            continue
        uses = space_uses(low.asm, cfg)  # type: ignore[attr-defined]
        over = [u for u in uses if not u.ok]
        if not over:
            return low, uses
        problem, space = over[0].problem(cfg, m), over[0].space
    raise CapacityError(f"graph {name!r} does not fit {cfg.name}{' ' + note if note else ''}: {problem}", space)
