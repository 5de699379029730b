"""``rram_pulse``: RRAM differential pairs updated by open-loop identical pulses.

Each requested pulse on a weight is a push-pull pair: n > 0 gives G+ one potentiating (SET) pulse
and G- one depressing (RESET) pulse; n < 0 the reverse. A pulse's step depends on the device state
(soft bounds or NeuroSim's exponential curve, asymmetric between potentiation and depression), has
cycle-to-cycle noise, and a device-to-device spread of step scale and upper bound drawn once at
fabrication (kernel :func:`socsim.physics.kernels.program_kernels.pulse_steps`).

Initial programming and ``write_verify`` use the same closed-loop write-verify as ``rram_wv``.
"""

from __future__ import annotations

import numpy as np

from socsim.physics.draws import Site, Stream
from socsim.physics.interface import ProgramReport
from socsim.physics.kernels.program_kernels import pulse_steps
from socsim.physics.params import PhysicsParams
from socsim.physics.rram_wv import RramWriteVerify


class RramPulse(RramWriteVerify):
    """Open-loop nonlinear, asymmetric, noisy pulse updates on a differential RRAM pair."""

    name = "rram_pulse"

    @classmethod
    def pulse_step(cls, params: PhysicsParams) -> float:
        """The nominal step of one pulse, ``dw_per_pulse`` (NeuroSim / soft bounds)."""
        return params.dw_per_pulse

    def __init__(self, rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream):
        super().__init__(rows, cols, params, rng, stream)
        f = self.f
        # fabrication maps, drawn after the stuck map, in this order
        self.step_scale = np.clip(1.0 + f.d2d_std * rng.standard_normal(self.g.shape), 0.0, None)
        """Device-to-device scale of the pulse step (dimensionless)."""
        top = f.g_max + f.d2d_std * (f.g_max - f.g_min) * rng.standard_normal(self.g.shape)
        self.g_top = np.clip(top, f.g_min + 0.1 * (f.g_max - f.g_min), self.g_hi)
        """Device-to-device upper bound of the pulse response (uS)."""

    def pulse(self, n_pulses: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        nr, nc = n_pulses.shape
        self._check_block(r0, c0, nr, nc)
        f = self.f
        n = np.asarray(n_pulses, dtype=np.int64)
        both = np.stack([n, -n])                                  # (2, nr, nc): G+ gets n, G- gets -n
        blk = (slice(None), 0, slice(r0, r0 + nr), slice(c0, c0 + nc))
        g = np.ascontiguousarray(self.g[blk]).ravel()
        counts = both.ravel()
        offsets = np.concatenate([[0], np.cumsum(np.abs(counts))[:-1]]).astype(np.int64)
        z = self.stream.normals(Site.PULSE, self.stream.next_program(), (int(np.abs(counts).sum()),), np.float32)
        pulse_steps(g, counts, np.ascontiguousarray(self.frozen[blk]).ravel(),
                    np.ascontiguousarray(self.step_scale[blk]).ravel(),
                    np.ascontiguousarray(self.g_top[blk]).ravel(), z, offsets, f.exp_model, f.g_min,
                    f.n_states, f.nl_ltp, f.nl_ltd, f.asymmetry, f.c2c_std)
        self.g[blk] = g.reshape(2, nr, nc)
        moved = np.broadcast_to(n != 0, (2, nr, nc))
        self.g_target[blk][moved] = self.g[blk][moved]
        worn = self._account(blk, np.abs(both), t_s)
        self._touched()
        return ProgramReport(cells=int(np.count_nonzero(n)), set_pulses=int(np.abs(n).sum()),
                             reset_pulses=int(np.abs(n).sum()), pulse_rounds=int(np.abs(n).max(initial=0)),
                             worn_out=worn)
