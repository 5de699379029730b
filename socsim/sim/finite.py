"""The NaN check: which operand an instruction left holding NaN or inf (``controller.trap_on_nan``)."""

from __future__ import annotations

import numpy as np

from isa.spec import Space
from socsim.sim.ops.kernels import first_nonfinite


def nonfinite_operand(arrays: dict[Space, np.ndarray], access: tuple[tuple[str, bool, bool], ...],
                      mem: dict[str, tuple[Space, int, int]], span: str, pattern: np.ndarray | None,
                      streams: dict[str, np.ndarray] | None = None) -> str:
    """The first written memory operand holding NaN or inf in memory ("" if none); a scatter-add's span (or a
    streamed operand) is checked at its pattern's words only (the others are not written)."""
    for name, _, written in access:
        if written:
            space, start, size = mem[name]
            if streams and name in streams:
                bad = not np.isfinite(arrays[space][start:start + size][streams[name]]).all()
            elif name == span and pattern is not None:
                bad = not np.isfinite(arrays[space][start:start + size][pattern]).all()
            else:
                bad = first_nonfinite(arrays[space][None], start, size) >= 0
            if bad:
                return name
    return ""
