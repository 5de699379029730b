"""The DMA engine: DRAM <-> on-chip transfers in bursts, and on-chip copies, gathers and scatters."""

from __future__ import annotations

from typing import Generator

import simpy

from isa.spec import Space
from socsim.base.actions import Action
from socsim.config.soc import SocConfig
from socsim.sim.fabric import Fabric, is_sram
from socsim.sim.ledger import Ledger
from socsim.sim.unit import Job, Unit

WORD_BYTES = 4
_ENDPOINT = {Space.DRAM: ("dram", Action.DRAM_WORD), Space.SRAM: ("sram", None), Space.ACC: ("acc", None),
             Space.TBUF: ("tbuf", Action.TBUF_ACCESS)}


class Dma(Unit):
    """One DMA channel; transfers hold the bus one grant at a time."""

    priority = 0
    fixed_duration = False  # bus grants interleave with other masters' requests

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger, cfg: SocConfig, fabric: Fabric):
        super().__init__(env, name, ledger)
        self.cfg, self.fabric = cfg, fabric
        self.left = 0
        """Bytes of the current transfer still to move (its progress)."""

    def load(self) -> int:
        """Transfers this channel holds: waiting ones plus the one in flight."""
        return self.pending() + (0 if self.last_done is None or self.last_done.triggered else 1)

    def _endpoint(self, job: Job, space: Space, words: int, write: bool) -> None:
        component, action = _ENDPOINT[space]
        if action is None:
            action = Action.SRAM_WRITE if write else Action.SRAM_READ
        self.record(job, action, words, component=component)

    def execute(self, job: Job) -> Generator:
        dst_space, _, _ = job.ops.mem["dst"]
        src_space, _, _ = job.ops.mem["src"]
        words = job.op.words(job.ops.values)
        rate = self.cfg.bus.width_bytes
        lead = self.cfg.dma.setup_cycles  # descriptor setup, then the DRAM's first-word latency
        if Space.DRAM in (dst_space, src_space):
            lead += self.cfg.dram.latency_cycles
            rate = self.cfg.dram.bytes_per_cycle
        self.left = words * WORD_BYTES
        yield self.wait(self.env.timeout(self.started + lead - self.env.now))
        beats, bus_cycles = yield from self.fabric.move(words * WORD_BYTES, rate, self.priority,
                                                        is_sram(dst_space) or is_sram(src_space), self)
        self.record(job, Action.BUSY, 1, self.env.now - self.started)
        self.record(job, Action.BUS_BEAT, beats, component="bus")
        self.record(job, Action.BUSY, 1, bus_cycles, component="bus")
        self._endpoint(job, src_space, words, write=False)
        self._endpoint(job, dst_space, words, write=not job.op.read_modify_write)
        if job.op.read_modify_write:  # read-modify-write of the destination
            self._endpoint(job, dst_space, words, write=True)
