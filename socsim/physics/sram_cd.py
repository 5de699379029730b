"""``sram_cd``: charge-domain SRAM in-memory computing, the kind of macro Grimm, Lee, Verma (2024) train on.

A weight is a signed integer ``q`` in ``[-Q, Q]``, ``Q = 2^(b-1) - 1`` (``sram.weight_bits = b``), times the
step ``w_max / Q``. Its magnitude bits sit on ``b - 1`` slices, each a pair of bit cells (positive, negative:
the set cell of a pair carries the weight's sign), so ``w = sum_s 2^s step (G+_s - G-_s) / cell_us`` with each
cell 0 or ``cell_us`` (:class:`socsim.physics.array.PairArray`, one slice per magnitude bit, each converted on its
own and recombined digitally with weight 2^s).

Capacitor-based compute (Lee et al., VLSI 2021) is taken as free of per-device read noise (an assumption): the
analog noise of a read is the converter's input-referred noise, ``adc.noise_lsb`` (``adc.noise_t_lsb`` for
transposed reads). Programming is an SRAM write: exact, one counted bit flip
per changed cell (``set_pulses`` 0 -> 1, ``reset_pulses`` 1 -> 0), no verify reads; stuck cells
(``device.stuck_fraction``) keep their value.
"""

from __future__ import annotations

import numpy as np

from socsim.physics.array import PairArray
from socsim.physics.draws import Stream
from socsim.physics.flat import flatten
from socsim.physics.interface import ProgramReport
from socsim.physics.mvm import Variance
from socsim.physics.params import PhysicsParams


class ChargeDomainSram(PairArray):
    """Signed integer weights on binary bit-cell pairs, one slice per magnitude bit; exact writes."""

    name = "sram_cd"

    @classmethod
    def weight_level(cls, params: PhysicsParams) -> float:
        """One step of the signed integer weights (weight units)."""
        return params.w_max / (2 ** (params.sram.weight_bits - 1) - 1)

    @classmethod
    def pulse_step(cls, params: PhysicsParams) -> float:
        """A pulse moves a weight by one code."""
        return cls.weight_level(params)

    @classmethod
    def slices(cls, params: PhysicsParams) -> int:
        """One pair per magnitude bit."""
        return params.sram.weight_bits - 1

    def __init__(self, rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream):
        f = flatten(params)
        super().__init__(rows, cols, params, rng, stream, f.sram_bits - 1, 0.0, f.sram_cell_us, 0.0)
        self.qmax = 2 ** (f.sram_bits - 1) - 1
        """Largest weight code Q."""
        self.step = f.w_max / self.qmax
        """Weight of code 1 (weight units)."""
        self.sig[:] = self.step * 2.0 ** np.arange(self.n_slices) / f.sram_cell_us

    def _conductance(self, t_s: float, blk: tuple[slice, ...]) -> tuple[np.ndarray, Variance]:
        return self.g[blk], None

    def codes(self, w: np.ndarray) -> np.ndarray:
        """The integer codes (int64) of weights ``w``: rounded half to even, clipped to [-Q, Q]."""
        return np.clip(np.rint(np.asarray(w, dtype=np.float64) / self.step), -self.qmax, self.qmax).astype(np.int64)

    def cells(self, q: np.ndarray) -> np.ndarray:
        """Cell states (2, S, ...) uS of codes ``q`` (...)."""
        mag = np.abs(q)
        bits = (mag[None] >> np.arange(self.n_slices).reshape(-1, *([1] * q.ndim))) & 1
        on = bits.astype(np.float32) * np.float32(self.f.sram_cell_us)
        zero = np.float32(0)
        return np.stack([np.where(q > 0, on, zero), np.where(q < 0, on, zero)])

    def stored_codes(self, r0: int, c0: int, nr: int, nc: int) -> np.ndarray:
        """The codes the cells of a block hold (int64, (nr, nc))."""
        return self.codes(self.weights_of(self.g[:, :, r0:r0 + nr, c0:c0 + nc]))

    def write_verify(self, target: np.ndarray, mask: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        nr, nc = target.shape
        self._check_block(r0, c0, nr, nc)
        if mask.shape != target.shape:
            raise ValueError(f"mask shape {mask.shape} differs from target shape {target.shape}")
        m = np.asarray(mask, dtype=bool)
        blk = (slice(None), slice(None), slice(r0, r0 + nr), slice(c0, c0 + nc))
        old = self.g[blk]
        want = np.where(m[None, None], self.cells(self.codes(target)), old)
        frozen = self.frozen[blk]
        new = np.where(frozen, old, want)
        up = (new > old)
        down = (new < old)
        flips = (up | down).astype(np.int64)
        worn = self._account(blk, flips, t_s)
        self.g[blk] = new
        self._touched()
        n_set, n_reset = int(up.sum()), int(down.sum())
        return ProgramReport(cells=int(m.sum()), set_pulses=n_set, reset_pulses=n_reset, verify_reads=0,
                             pulse_rounds=1 if n_set + n_reset else 0, worn_out=worn,
                             failed=int(np.count_nonzero(frozen & (want != old))))

    def pulse(self, n_pulses: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        """``n`` pulses move a weight by ``n`` codes (an exact SRAM write of the new code)."""
        nr, nc = n_pulses.shape
        self._check_block(r0, c0, nr, nc)
        n = np.asarray(n_pulses, dtype=np.int64)
        q = self.stored_codes(r0, c0, nr, nc) + n
        return self.write_verify((q * self.step).astype(np.float32), n != 0, r0, c0, t_s)
