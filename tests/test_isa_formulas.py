"""The latency / energy column of docs/isa.md: every opcode states one, and the digital unit's work formulas and a
few simple ones match what the simulator computes."""

from __future__ import annotations

import math
import random
import re

import pytest

import isa
from isa.spec import _POOL_OUT, OPCODES, Kind, Unit
from socsim.config.soc import load_config
from socsim.sim import Soc
from socsim.sim.ops import OPS

_WORK = re.compile(r"^ops (?P<ops>.+); MACs (?P<macs>.+); specials (?P<special>.+)$")
_FUNCS = {"ceil": math.ceil, "log2": math.log2, "max": max}


def test_every_opcode_states_its_latency_and_energy():
    for spec in OPCODES:
        assert spec.formula.strip(), f"{spec.mnemonic}: no latency / energy formula in isa/spec.py"
        if spec.unit is not Unit.DU:
            assert "cycles" in spec.formula, f"{spec.mnemonic}: the formula names no cycles: {spec.formula!r}"


def _work(spec, values: dict) -> tuple[int, int, int]:
    m = _WORK.match(spec.formula)
    assert m, f"{spec.mnemonic}: a digital-unit formula reads 'ops A; MACs B; specials C', not {spec.formula!r}"
    env = {**_FUNCS, **values}
    if "planes" in values:
        env["OUT"] = eval(_POOL_OUT, {}, dict(values))  # noqa: S307 -- the table's own size expression
    return tuple(int(eval(m.group(k), {"__builtins__": {}}, env)) for k in ("ops", "macs", "special"))  # noqa: S307


@pytest.mark.parametrize("spec", [s for s in OPCODES if s.unit is Unit.DU], ids=lambda s: s.mnemonic)
def test_digital_unit_work_formula_is_the_simulators(spec):
    rng = random.Random(spec.opcode)
    for _ in range(20):
        values = {f.name: rng.randint(1, 40) for f in spec.fields if f.kind in (Kind.UIMM, Kind.SIMM)}
        if "k" in values and "h" in values:  # a pooling window fits its plane
            values["k"] = min(values["k"], values["h"], values["w"])
        assert _work(spec, values) == tuple(OPS[spec.mnemonic].work(values)), (spec.mnemonic, values)


def _busy(result, component: str) -> int:
    led = result.ledger
    rows = led[(led.component == component) & (led.action == "busy")]
    return int(rows["cycles"].sum())


def test_measured_cycles_follow_the_formulas():
    """A vadd of 100 words on the digital unit, a 64 x 32 mvm of 3 vectors and a tcfg on tile 0 (wu2023)."""
    cfg = load_config("wu2023")
    prog = isa.assemble("""
.sym a sram 100 = 1.0
.sym c sram 100
.sym w sram 2048 = 0.01
.sym m sram 2048 = 1.0
.sym x tb0 192 = 0.5
.sym y tb0 96
    vadd c, a, a, 100
    tcfg 0, 0, 0, 64, 32, 8
    wv 0, w, m
    mvm 0, y, x, 3
    halt
""")
    result = Soc.from_config(cfg).run(prog)
    du = cfg.du
    assert _busy(result, "du") == du.startup_cycles + math.ceil(100 / du.lanes)
    tile_busy = _busy(result, "tile0")
    programming = tile_busy - cfg.tiles.config_cycles - 3 * 8 * (cfg.tiles.physics.adc.bits + 1)
    # tcfg: tiles.config_cycles; the mvm: n x min(8 bit lines per ADC, 64 bit lines of 32 weight columns)
    # x (adc.bits + 1); what is left is the write-verify's rounds
    assert programming % cfg.tiles.program_round_cycles == 0 and programming > 0


@pytest.mark.parametrize("src_space", ["sram", "dram"])
def test_measured_copy_cycles_follow_the_dma_formula(src_space):
    """copy of 1000 words (4000 bytes, two bus grants of at most bus.grant_bytes) from sram or dram into sram:
    dma.setup_cycles (+ dram.latency_cycles) + per grant bus.grant_cycles + ceil(bytes / rate)."""
    cfg = load_config("wu2023")
    prog = isa.assemble(f".sym a {src_space} 1000 = 1.0\n.sym b sram 1000\n    copy b, a, 1000\n    halt\n")
    result = Soc.from_config(cfg).run(prog)
    bus, dram = cfg.bus, cfg.dram
    lead, rate = cfg.dma.setup_cycles, bus.width_bytes
    if src_space == "dram":
        lead, rate = lead + dram.latency_cycles, min(bus.width_bytes, dram.bytes_per_cycle)
    left, grants = 4000, 0
    while left > 0:
        chunk = min(left, bus.grant_bytes)
        grants += bus.grant_cycles + math.ceil(chunk / rate)
        left -= chunk
    assert _busy(result, "dma0") == lead + grants
