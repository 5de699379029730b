"""Event-engine speed: simulated instructions and cycles per wall-clock second on trivial numerics.

Run: .venv/bin/python benchmarks/engine_speed.py [--iterations N]
Two programs: a scalar loop (controller only) and a loop that issues a tiny digital-unit
instruction every iteration (one SimPy process per unit instruction). Prints the machine and command.
"""

from __future__ import annotations

import argparse
import time

import isa
from socsim.config.soc import load_config
from socsim.sim import Soc
from socsim.tools.benchmarking import print_header

SCALAR = """
    li x1, {n}
loop:
    addi x2, x2, 3
    xor x3, x2, x1
    addi x1, x1, -1
    bne x1, x0, loop
    halt
"""
UNIT = """
.sym a sram 4
    li x1, {n}
loop:
    vadd a, a, a, 4
    addi x1, x1, -1
    bne x1, x0, loop
    halt
"""


def measure(name: str, text: str, n: int) -> None:
    program = isa.assemble(text.format(n=n), name)
    soc = Soc.from_config(load_config("wu2023"))
    t0 = time.perf_counter()
    result = soc.run(program)
    wall = time.perf_counter() - t0
    print(f"{name:<14} {result.instructions:>10} instr  {result.cycles:>11} cycles  {wall:8.3f} s  "
          f"{result.instructions / wall:>12,.0f} instr/s  {result.cycles / wall:>14,.0f} cycles/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iterations", type=int, default=50_000)
    args = ap.parse_args()
    print_header()
    measure("scalar loop", SCALAR, args.iterations)
    measure("unit loop", UNIT, args.iterations // 5)


if __name__ == "__main__":
    main()
