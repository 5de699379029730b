"""The ideal array: exact float32 weights, linear noiseless programming, ideal converters."""

from __future__ import annotations

import numpy as np

from socsim.physics.draws import Stream
from socsim.physics.interface import Crossbar, ProgramReport
from socsim.physics.params import PhysicsParams


class IdealCrossbar(Crossbar):
    """Weights stored exactly; MVM is a float32 matmul; one pulse moves a weight by dw_per_pulse."""

    name = "ideal"
    exact = True
    STATE = (*Crossbar.STATE, "w")

    def __init__(self, rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream):
        self.rows, self.cols = rows, cols
        self.params, self.stream = params, stream
        self.w = np.zeros((rows, cols), dtype=np.float32)

    def mvm_lanes(self, x: np.ndarray, r0: int, c0: int, n_out: int, in_bits: int, t_s: np.ndarray,
                  counters: np.ndarray, transposed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        n_in = x.shape[2]
        nr, nc = (n_out, n_in) if transposed else (n_in, n_out)
        self._check_block(r0, c0, nr, nc)
        w = self.w[r0:r0 + nr, c0:c0 + nc]
        return np.matmul(x, w.T if transposed else w), np.zeros(len(x), np.int64)

    def write_verify(self, target: np.ndarray, mask: np.ndarray, r0: int, c0: int,
                     t_s: float) -> ProgramReport:
        nr, nc = target.shape
        self._check_block(r0, c0, nr, nc)
        block = self.w[r0:r0 + nr, c0:c0 + nc]
        m = mask.astype(bool)
        up = int(np.count_nonzero(m & (target > block)))
        down = int(np.count_nonzero(m & (target < block)))
        block[m] = target[m]
        n = int(np.count_nonzero(m))
        return ProgramReport(cells=n, set_pulses=up, reset_pulses=down, verify_reads=n,
                             pulse_rounds=1 if n else 0)

    def pulse(self, n_pulses: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        nr, nc = n_pulses.shape
        self._check_block(r0, c0, nr, nc)
        self.w[r0:r0 + nr, c0:c0 + nc] += n_pulses.astype(np.float32) * np.float32(self.params.dw_per_pulse)
        pos = int(n_pulses[n_pulses > 0].sum())
        neg = int(-n_pulses[n_pulses < 0].sum())
        return ProgramReport(cells=int(np.count_nonzero(n_pulses)), set_pulses=pos,
                             reset_pulses=neg, pulse_rounds=int(np.abs(n_pulses).max(initial=0)))

    def read_weights_at(self, r0: int, c0: int, nr: int, nc: int, t_s: float, counter: int) -> np.ndarray:
        self._check_block(r0, c0, nr, nc)
        return self.w[r0:r0 + nr, c0:c0 + nc].copy()

    def load_weights(self, w: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        return self.write_verify(w, np.ones(w.shape, dtype=bool), r0, c0, t_s)
