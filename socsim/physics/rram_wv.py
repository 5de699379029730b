"""``rram_wv``: multi-level RRAM differential pairs programmed by write-verify (Wu et al. 2023).

Weight mapping: ``w = sig (G+ - G-)`` with ``sig = w_max / (g_max - g_min)``; a target w >= 0 puts
G+ at ``g_min + w / sig`` rounded to the nearest of ``levels`` equally spaced levels and G- at g_min
(mirrored for w < 0); |w| clips at w_max.

Programming (kernel :func:`socsim.physics.kernels.program_kernels.write_verify`): verify read with
read noise; outside the verify window a SET ramp (below target) or RESET ramp (above) of
``ramp_pulses`` pulses from v_start to v_stop; a ramp that reaches the target leaves the device at
``target + N(0, prog_error)``; at most ``max_trials`` ramps. Pulses, verify reads and failures are
counted per device; endurance counters advance by one per pulse.

Open-loop ``pulse(n)`` on this model means "move n level steps": the controller's intended weight
changes by ``n * sig * level_step`` and the affected cells are write-verified to it.
"""

from __future__ import annotations

import numpy as np

from socsim.physics.array import PairArray
from socsim.physics.draws import Site, Stream
from socsim.physics.flat import flatten
from socsim.physics.interface import ProgramReport
from socsim.physics.kernels.program_kernels import write_verify as wv_kernel
from socsim.physics.params import PhysicsParams

SET_OVERSHOOT = 0.1
"""A SET (RESET) can take a device this fraction of its range above g_max (below g_min)."""


class RramWriteVerify(PairArray):
    """Differential pair of multi-level RRAM devices per weight, programmed by write-verify."""

    name = "rram_wv"
    STATE = (*PairArray.STATE, "g_target")

    @classmethod
    def weight_level(cls, params: PhysicsParams) -> float:
        """One level of a multi-level device pair (weight units); 0 for continuous devices."""
        return params.w_max / (params.device.levels - 1) if params.device.levels >= 2 else 0.0

    @classmethod
    def pulse_step(cls, params: PhysicsParams) -> float:
        """A pulse moves one level (``dw_per_pulse`` for continuous devices)."""
        return cls.weight_level(params) or params.dw_per_pulse

    def __init__(self, rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream):
        f = flatten(params)
        super().__init__(rows, cols, params, rng, stream, 1, f.g_min, f.g_max, f.g_min)
        span = f.g_max - f.g_min
        self.sig[0] = f.w_max / span
        self.g_lo = max(0.0, f.g_min - SET_OVERSHOOT * span)
        """Lowest conductance a RESET can reach (uS)."""
        self.g_hi = f.g_max + SET_OVERSHOOT * span
        self.g_ceiling = max(self.g_ceiling, self.g_hi)
        """Highest conductance a SET can reach (uS)."""
        self.g_target = np.full(self.g.shape, f.g_min, dtype=np.float32)
        """The controller's intended conductance of every device (uS)."""

    # ---- mapping -----------------------------------------------------------------------------
    def targets(self, w: np.ndarray) -> np.ndarray:
        """Target conductances (2, nr, nc) uS of weights ``w`` (nr, nc), on the level grid."""
        f = self.f
        mag = np.clip(np.abs(np.asarray(w, dtype=np.float64)), 0.0, f.w_max) / self.sig[0]
        if f.levels >= 2:
            mag = np.round(mag / f.level_us) * f.level_us
        gp = np.where(w >= 0, f.g_min + mag, f.g_min)
        gm = np.where(w < 0, f.g_min + mag, f.g_min)
        return np.stack([gp, gm]).astype(np.float32)

    def intended_weights(self, r0: int, c0: int, nr: int, nc: int) -> np.ndarray:
        """The weights the controller last asked for (no device error): (nr, nc) float32."""
        t = self.g_target[:, 0, r0:r0 + nr, c0:c0 + nc]
        return ((t[0] - t[1]) * self.sig[0]).astype(np.float32)

    # ---- programming -------------------------------------------------------------------------
    def write_verify(self, target: np.ndarray, mask: np.ndarray, r0: int, c0: int,
                     t_s: float) -> ProgramReport:
        nr, nc = target.shape
        self._check_block(r0, c0, nr, nc)
        if mask.shape != target.shape:
            raise ValueError(f"mask shape {mask.shape} differs from target shape {target.shape}")
        m = np.asarray(mask, dtype=bool)
        tg = self.targets(target)
        self.g_target[:, 0, r0:r0 + nr, c0:c0 + nc][:, m] = tg[:, m]
        return self._program_devices(np.broadcast_to(m, (2, nr, nc)), tg, r0, c0, t_s, int(m.sum()))

    def _program_devices(self, sel2: np.ndarray, tg: np.ndarray, r0: int, c0: int, t_s: float,
                         cells: int) -> ProgramReport:
        """Write-verify the devices ``sel2`` (2, nr, nc) of slice 0 to ``tg`` (2, nr, nc) uS."""
        f = self.f
        nr, nc = sel2.shape[1:]
        blk = (slice(None), 0, slice(r0, r0 + nr), slice(c0, c0 + nc))
        g_blk = self.g[blk]
        g = np.ascontiguousarray(g_blk[sel2])
        tgt = np.ascontiguousarray(tg[sel2])
        frozen = np.ascontiguousarray(self.frozen[blk][sel2])
        n = g.size
        z = self.stream.normals(Site.WRITE_VERIFY, self.stream.next_program(), (n, f.wv_trials + 1, 3), np.float32)
        n_set = np.zeros(n, np.int64)
        n_reset = np.zeros(n, np.int64)
        n_reads = np.zeros(n, np.int64)
        failed = np.zeros(n, np.int64)
        wv_kernel(g, tgt, frozen, z, f.read_sigma_us, f.wv_sigma_us, f.wv_tol_us, f.wv_ramp, f.wv_step_us,
                  f.wv_trials, self.g_lo, self.g_hi, n_set, n_reset, n_reads, failed)
        g_blk[sel2] = g
        pulses = np.zeros(sel2.shape, np.int64)
        pulses[sel2] = n_set + n_reset
        worn = self._account(blk, pulses, t_s)
        self._touched()
        return ProgramReport(cells=cells, set_pulses=int(n_set.sum()), reset_pulses=int(n_reset.sum()),
                             verify_reads=int(n_reads.sum()), pulse_rounds=int(pulses.max(initial=0)),
                             worn_out=worn, failed=int(failed.sum()))

    def pulse(self, n_pulses: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        nr, nc = n_pulses.shape
        self._check_block(r0, c0, nr, nc)
        n = np.asarray(n_pulses, dtype=np.int64)
        w_new = self.intended_weights(r0, c0, nr, nc) + n * np.float32(self.sig[0] * self.f.level_us)
        return self.write_verify(w_new.astype(np.float32), n != 0, r0, c0, t_s)
