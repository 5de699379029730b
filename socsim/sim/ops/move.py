"""Data-movement operations (DMA): copies, address-generator gathers and scatters, scatter-add.

Timing lives in :class:`socsim.sim.dma.Dma` (bus grants); here are the numerics over lanes and the
number of words each moves.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from socsim.sim.ops.base import Operands
from socsim.sim.ops.kernels import gather, scatter, scatter_add


def _copy(c: Operands) -> None:
    c.put("dst", c.a("src"))


def _gather(c: Operands) -> None:
    gather(c.a("src"), c.pattern, c.a("dst"))


def _scatter(c: Operands) -> None:
    scatter(c.a("src"), c.pattern, c.a("dst"))


def _scadd(c: Operands) -> None:
    pattern = c.pattern
    c.accumulate("dst", c.a("src"), lambda dst, src: scatter_add(dst, pattern, np.ascontiguousarray(src)))


MOVES: dict[str, tuple[Callable[[Operands], None], Callable[[dict], int], bool]] = {
    "copy": (_copy, lambda v: int(v["n"]), False),
    "gather": (_gather, lambda v: int(v["PATTERN"]), False),
    "scatter": (_scatter, lambda v: int(v["PATTERN"]), False),
    "scadd": (_scadd, lambda v: int(v["PATTERN"]), True),
}
"""mnemonic -> (numerics over lanes, words moved, read-modify-write of the destination)."""
