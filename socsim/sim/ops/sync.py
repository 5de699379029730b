"""Controller operations that wait: load/store of one on-chip word, fence, wait, post, waitt, halt.

Each is a generator function on the controller (it may yield SimPy events until the units it
observes are done); cycles: ``sram.access_cycles`` for lw / sw, ``alu_cycles`` for the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Protocol

import numpy as np
import simpy

from isa.program import Instruction
from isa.spec import Space, WaitUnit
from socsim.base.actions import Action
from socsim.sim.ops.base import Exec, Op
from socsim.sim.traps import TrapKind
from socsim.sim.unit import wait_for

if TYPE_CHECKING:
    from socsim.sim.machine import Machine
    from socsim.sim.operands import Plan, Resolved
    from socsim.sim.traps import Trap
    from socsim.sim.unit import Unit


class Waiter(Protocol):
    """What a waiting operation reads and changes of the controller (:class:`socsim.sim.controller.Controller`,
    interface): the SoC, the registers and ledger tags, and the controller's ways to wait."""

    soc: Machine
    regs: list
    layer: str
    phase: str
    alu_cycles: int
    waiting_on: str
    """What the controller waits on (a deadlock's message)."""
    halted: bool

    def resolve(self, p: Plan, env: dict[str, int], pattern: Any = None, offsets: bool = True,
                streams: Any = None) -> Resolved:
        """The instruction's operands (traps when they are out of range)."""
        ...

    def trap(self, kind: TrapKind, detail: str, ins: Instruction | None = None) -> Trap:
        ...

    def count(self, mnemonic: str, cycles: int) -> None:
        """One executed controller instruction of ``cycles``."""
        ...

    def sync(self) -> Generator:
        """Bring the SimPy clock up to the controller's local time."""
        ...

    def units_of(self, kind: WaitUnit, index: int, ins: Instruction) -> list[Unit]:
        """The units a wait or post names."""
        ...

    def wait_all(self, ins: Instruction, units: list[Unit] | None = None) -> Generator:
        """Wait until ``units`` (all units: None) finished every job issued to them."""
        ...

    def semaphore(self, tag: int) -> simpy.Container:
        ...


def _scalar_memory(c: Waiter, ins: Instruction, pc: int) -> Generator:
    ops = c.resolve(c.soc.plans[pc], {}, None)
    if any(space is Space.DRAM for space, _, _ in ops.mem.values()):
        raise c.trap(TrapKind.OUT_OF_RANGE, "lw/sw reach on-chip memory only, not dram", ins)
    deps = c.soc.scoreboard.dependencies(ops.reads, ops.writes)
    if deps:
        yield from c.sync()
        c.waiting_on = f"operands of pc {pc}"
        yield wait_for(c.soc.env, deps)
    mn = ins.spec.mnemonic
    space, start, _ = next(iter(ops.mem.values()))
    word = c.soc.memory.arrays[space][start:start + 1]
    if mn == "lw":
        if ins.args[0]:
            value = float(word[0])
            if not np.isfinite(value):
                raise c.trap(TrapKind.NAN, f"lw loads {value}", ins)
            c.regs[ins.args[0]] = int(value)
    else:
        word[0] = np.float32(c.regs[ins.args[0]])
    component, action = ("tbuf", Action.TBUF_ACCESS) if space is Space.TBUF else (
        space.name.lower(), Action.SRAM_READ if mn == "lw" else Action.SRAM_WRITE)
    c.soc.ledger.record(component, action, mn, c.layer, c.phase, 1)
    if c.soc.profile is not None:
        c.soc.profile.energy(pc, component, action, 1)
    c.count(mn, c.soc.cfg.sram.access_cycles)


def _fence(c: Waiter, ins: Instruction, pc: int) -> Generator:
    yield from c.wait_all(ins)
    c.count("fence", c.alu_cycles)


def _wait(c: Waiter, ins: Instruction, pc: int) -> Generator:
    yield from c.wait_all(ins, c.units_of(WaitUnit(ins.args[0]), ins.args[1], ins))
    c.count("wait", c.alu_cycles)


def _post(c: Waiter, ins: Instruction, pc: int) -> Generator:
    units = c.units_of(WaitUnit(ins.args[0]), ins.args[1], ins)
    events = [u.last_done for u in units if u.last_done is not None]
    sem = c.semaphore(ins.args[2])
    yield from c.sync()
    c.soc.env.process(_post_when(c.soc.env, events, sem))
    c.count("post", c.alu_cycles)


def _waitt(c: Waiter, ins: Instruction, pc: int) -> Generator:
    sem = c.semaphore(ins.args[0])
    yield from c.sync()
    c.waiting_on = f"semaphore {ins.args[0]} (waitt at pc {pc})"
    yield sem.get(1)
    c.waiting_on = ""
    c.count("waitt", c.alu_cycles)


def _halt(c: Waiter, ins: Instruction, pc: int) -> Generator:
    yield from c.wait_all(ins)
    c.count("halt", c.alu_cycles)
    yield from c.sync()
    c.halted = True


def _post_when(env: simpy.Environment, events: list, sem: simpy.Container) -> Generator:
    pending = [e for e in events if not e.triggered]
    if pending:
        yield wait_for(env, pending)
    yield sem.put(1)


WAITING: dict[str, Op] = {
    "lw": Op(exec=Exec.SCALAR_MEMORY, waits=_scalar_memory), "sw": Op(exec=Exec.SCALAR_MEMORY, waits=_scalar_memory),
    **{mn: Op(exec=Exec.SYNC, waits=fn) for mn, fn in (("fence", _fence), ("wait", _wait), ("post", _post),
                                                       ("waitt", _waitt), ("halt", _halt))},
}
"""mnemonic -> the controller operation that may wait: a load/store of one on-chip word, or a synchronisation."""
