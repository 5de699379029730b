"""The digital unit: FP32 vector/matrix work, priced by each op's work (socsim.sim.ops.digital)."""

from __future__ import annotations

import simpy

from socsim.base.actions import Action
from socsim.config.soc import SocConfig
from socsim.sim.fabric import SRAM_SPACES, Fabric
from socsim.sim.ledger import Ledger
from socsim.sim.ops.base import Work
from socsim.sim.unit import Job, Unit


class DigitalUnit(Unit):
    """Lanes of FP32 datapath; holds one SRAM port while it streams operands."""

    priority = 1

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger, cfg: SocConfig, fabric: Fabric):
        super().__init__(env, name, ledger)
        self.cfg, self.fabric = cfg, fabric

    def cycles(self, work: Work) -> int:
        """``startup_cycles + ceil((ops + MACs) / lanes) + ceil(specials x special_cycles / lanes)``, 1 for no work."""
        du = self.cfg.du
        ops, macs, special = work
        if ops + macs + special == 0:
            return 1
        return (du.startup_cycles + -(-(ops + macs) // du.lanes)
                + -(-(special * du.special_cycles) // du.lanes))

    def finish(self, job: Job, start: int) -> int:
        work = job.op.work(job.ops.values)
        cycles = self.cycles(work)
        uses_sram = any(space in SRAM_SPACES for space, _, _ in job.ops.mem.values())
        begin = self.fabric.reserve_port(start, cycles) if uses_sram else start
        ops, macs, special = work
        self.record(job, Action.BUSY, 1, cycles)
        self.record(job, Action.DU_OP, ops)
        self.record(job, Action.DU_MAC, macs)
        self.record(job, Action.DU_SPECIAL, special)
        self.record_operand_access(job)
        return begin + cycles
