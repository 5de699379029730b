"""Data-movement operations (DMA): copies, address-generator gathers and scatters, scatter-add.

Timing lives in :class:`socsim.sim.dma.Dma` (bus grants); here are the numerics over lanes and the
number of words each moves.
"""

from __future__ import annotations

import numpy as np

from socsim.sim.ops.base import Op, Operands
from socsim.sim.ops.kernels import gather, scatter, scatter_add

_INTO_DST = frozenset({"dst"})


def _copy(c: Operands) -> None:
    c.put("dst", c.a("src"))


def _gather(c: Operands) -> None:
    gather(c.a("src"), c.pattern, c.a("dst"))


def _scatter(c: Operands) -> None:
    scatter(c.a("src"), c.pattern, c.a("dst"))


def _scadd(c: Operands) -> None:
    pattern = c.pattern
    c.accumulate("dst", c.a("src"), lambda dst, src: scatter_add(dst, pattern, np.ascontiguousarray(src)))


MOVES: dict[str, Op] = {
    "copy": Op(numerics=_copy, words=lambda v: int(v["n"]), only_moves=True),
    "gather": Op(numerics=_gather, words=lambda v: int(v["PATTERN"]), only_moves=True),
    "scatter": Op(numerics=_scatter, words=lambda v: int(v["PATTERN"]), only_moves=True),
    "scadd": Op(numerics=_scadd, words=lambda v: int(v["PATTERN"]), read_modify_write=True,
                reducible=lambda v, same: _INTO_DST),
}
"""mnemonic -> its op (numerics over lanes, words moved, whether it reads its destination too: scatter-add, which a
lane-parallel loop may reduce into)."""
