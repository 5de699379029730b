"""The digital unit: FP32 vector/matrix work priced by a per-mnemonic cost table."""

from __future__ import annotations

from typing import Callable

import simpy

from socsim.config import SocConfig
from socsim.sim.fabric import SRAM_SPACES, Fabric
from socsim.sim.ledger import Ledger
from socsim.sim.unit import Job, Unit

Work = tuple[int, int, int]
"""(simple FP32 ops, multiply-accumulates, special functions: exp / sqrt / divide)."""


def _n(v: dict) -> int:
    return int(v["n"])


def _pool_out(v: dict) -> int:
    return v["planes"] * ((v["h"] - v["k"]) // v["s"] + 1) * ((v["w"] - v["k"]) // v["s"] + 1)


COST: dict[str, Callable[[dict], Work]] = {
    "vadd": lambda v: (_n(v), 0, 0), "vsub": lambda v: (_n(v), 0, 0), "vmul": lambda v: (0, _n(v), 0),
    "vmax": lambda v: (_n(v), 0, 0), "vmin": lambda v: (_n(v), 0, 0), "vcmpeq": lambda v: (_n(v), 0, 0),
    "vscl": lambda v: (0, _n(v), 0), "vaxpy": lambda v: (0, _n(v), 0), "vfill": lambda v: (_n(v), 0, 0),
    "vclamp": lambda v: (2 * _n(v), 0, 0),
    "vrelu": lambda v: (_n(v), 0, 0), "vdrelu": lambda v: (_n(v), 0, 0),
    "vaddr": lambda v: (v["rows"] * v["cols"], 0, 0), "vsumr": lambda v: (v["rows"] * v["cols"], 0, 0),
    "vsum": lambda v: (_n(v), 0, 0),
    "maxpool": lambda v: (_pool_out(v) * v["k"] * v["k"], 0, 0),
    "avgpool": lambda v: (_pool_out(v) * v["k"] * v["k"], _pool_out(v), 0),
    "maxpoolb": lambda v: (2 * _pool_out(v) * v["k"] * v["k"], 0, 0),
    "avgpoolb": lambda v: (_pool_out(v) * v["k"] * v["k"], _pool_out(v), 0),
    "sxent": lambda v: (3 * v["n"] * v["classes"], 0, v["n"] * v["classes"] + v["n"]),
    "mm": lambda v: (0, v["m"] * v["k"] * v["n"], 0),
    "opacc": lambda v: (0, v["k"] * v["m"] * v["n"] + v["m"] * v["n"], 0),
    "xferwv": lambda v: (4 * _n(v), 0, 0),
    "xferp": lambda v: (_n(v), _n(v), _n(v)),
    "hp": lambda v: (0, 0, 0),
    "adamw": lambda v: (3 * _n(v), 6 * _n(v), 2 * _n(v)),
    "sgd": lambda v: (0, 3 * _n(v), 0),
    "quant": lambda v: (2 * _n(v), 0, _n(v)),
    "argmax": lambda v: (v["n"] * v["classes"], 0, 0),
    "bnfwd": lambda v: (3 * v["n"] * v["c"] * v["hw"], 2 * v["n"] * v["c"] * v["hw"] + 4 * v["c"], 2 * v["c"]),
    "bnbwd": lambda v: (4 * v["n"] * v["c"] * v["hw"], 3 * v["n"] * v["c"] * v["hw"], v["c"]),
    "bneval": lambda v: (v["n"] * v["c"] * v["hw"], v["n"] * v["c"] * v["hw"], 2 * v["c"]),
}


class DigitalUnit(Unit):
    """Lanes of FP32 datapath; holds one SRAM port while it streams operands."""

    priority = 1

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger, cfg: SocConfig, fabric: Fabric):
        super().__init__(env, name, ledger)
        self.cfg, self.fabric = cfg, fabric

    def cycles(self, work: Work) -> int:
        du = self.cfg.du
        ops, macs, special = work
        if ops + macs + special == 0:
            return 1
        return (du.startup_cycles + -(-(ops + macs) // du.lanes)
                + -(-(special * du.special_cycles) // du.lanes))

    def finish(self, job: Job, start: int) -> int:
        work = COST[job.ins.spec.mnemonic](job.ops.values)
        cycles = self.cycles(work)
        begin = start
        for space, _, _ in job.ops.mem.values():
            if space in SRAM_SPACES:
                begin = self.fabric.reserve_port(start, cycles)
                break
        ops, macs, special = work
        name = self.name
        items = [(name, "busy", 1, cycles)]
        if ops:
            items.append((name, "du_op", ops, 0))
        if macs:
            items.append((name, "du_mac", macs, 0))
        if special:
            items.append((name, "du_special", special, 0))
        self.record_operand_access(job, items)
        return begin + cycles
