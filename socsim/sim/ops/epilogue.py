"""A streamed tile's output stage (``tepi`` latches it, ``mvms`` applies it): the epilogue's function and how it
applies, in the sequential datapath's order and float32 operations (socsim.sim.ops.stream)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socsim.sim.ops.base import F32


@dataclass(frozen=True)
class Epilogue:
    """The output stage's function, latched by ``tepi``: per lane (L, COLS) arrays, None where the step is off."""

    f: np.ndarray
    """(L, 1): the dequantisation factor (tepi's f times its scale in memory)."""
    bias: np.ndarray | None
    bn_scale: np.ndarray | None
    bn_mean: np.ndarray | None
    bn_beta: np.ndarray | None
    relu: bool

    def arrays(self) -> tuple[np.ndarray | None, ...]:
        """Its per-lane arrays in field order (``Epilogue(*arrays, relu)`` rebuilds it)."""
        return self.f, self.bias, self.bn_scale, self.bn_mean, self.bn_beta

    def lanes(self, lanes: int) -> "Epilogue":
        """The epilogue for an instruction of ``lanes`` lanes (set by a loop of others: its last lane's)."""
        arrays = self.arrays()
        if all(a is None or a.shape[0] in (1, lanes) for a in arrays):
            return self
        return Epilogue(*(None if a is None else a[-1:] for a in arrays), self.relu)


IDENTITY = Epilogue(np.ones((1, 1), F32), None, None, None, None, False)
"""The epilogue of a tile no ``tepi`` has configured."""


def apply_epilogue(ep: Epilogue, y: np.ndarray, res: np.ndarray | None) -> np.ndarray:
    """y (L, n, COLS) through the epilogue, in the sequential datapath's order: vscl, vaddr, bneval, vadd, vrelu."""
    y = ep.f[:, :, None] * y
    if ep.bias is not None:
        y = y + ep.bias[:, None, :]
    if ep.bn_scale is not None:
        y = ep.bn_scale[:, None, :] * (y - ep.bn_mean[:, None, :]) + ep.bn_beta[:, None, :]
    if res is not None:
        y = y + res
    if ep.relu:
        y = np.maximum(y, F32(0))
    return y
