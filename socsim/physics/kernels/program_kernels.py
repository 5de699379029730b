"""Numba kernels of RRAM programming: closed-loop write-verify ramps and open-loop pulse steps.

Random numbers come in as arrays drawn from the model's ``np.random.Generator`` (fixed order), so
a kernel and its numpy twin in ``tests/physics/reference.py`` give identical results.
All conductances in uS; devices are flattened to 1-D.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def write_verify(g, target, frozen, z, sigma_read, sigma_prog, tol, ramp, step, max_trials,
                 g_lo, g_hi, n_set, n_reset, n_reads, failed):  # pragma: no cover - compiled
    """Program each device towards ``target`` with at most ``max_trials`` SET/RESET ramps.

    Per trial: a verify read ``r = g + sigma_read z0``; if ``|target - r| <= tol`` the device is
    done. Otherwise a ramp in the needed direction (SET if below, RESET if above) applies pulses of
    growing amplitude, each followed by a verify read; it needs ``ceil(|err| / step)`` pulses. If
    that fits in the ramp (``ramp`` pulses), the device lands at ``target + sigma_prog z1``;
    otherwise the ramp ends at full amplitude having moved ``ramp * step + sigma_prog z2``. A frozen
    (stuck or worn-out) device takes the pulses but does not move. After the last trial one more
    verify read decides ``failed``.

    g (modified), target: (N,) float32; frozen: (N,) bool; z: (N, max_trials + 1, 3) float32.
    Outputs n_set, n_reset, n_reads, failed: (N,) int64, accumulated.
    """
    for j in range(g.size):
        gj = np.float64(g[j])
        tj = np.float64(target[j])
        for trial in range(max_trials + 1):
            err = tj - (gj + sigma_read * z[j, trial, 0])
            if trial == 0:
                n_reads[j] += 1
            if abs(err) <= tol:
                break
            if trial == max_trials:
                failed[j] += 1
                break
            need = int(np.ceil(abs(err) / step))
            npulse = min(need, ramp)
            n_reads[j] += npulse
            if err > 0:
                n_set[j] += npulse
            else:
                n_reset[j] += npulse
            if frozen[j]:
                continue
            if need <= ramp:
                gj = tj + sigma_prog * z[j, trial, 1]
            else:
                sign = 1.0 if err > 0 else -1.0
                gj = gj + sign * ramp * step + sigma_prog * z[j, trial, 2]
            gj = min(max(gj, g_lo), g_hi)
        g[j] = gj


@njit(cache=True, nogil=True)
def pulse_steps(g, n, frozen, scale, g_top, z, offsets, exp_model, g_min, n_states, nl_ltp, nl_ltd,
                asymmetry, c2c):  # pragma: no cover - compiled
    """Apply ``n[j]`` identical pulses to device j (n > 0 potentiates, n < 0 depresses).

    Device j lives in [g_min, g_top[j]] (range R_j; g_top carries the device-to-device spread) and
    its steps are scaled by ``scale[j]``. Mean step, with x = g - g_min:

    - exponential (NeuroSim): potentiation ``(B - x)(1 - exp(-nl/n_states))`` with
      ``B = R / (1 - exp(-nl))``; depression mirrored from the top with nl_ltd; nl = 0 -> R/n_states;
    - soft bounds: potentiation ``2 R/n_states (1 - x/R)``, depression ``2 R/n_states * asymmetry * x/R``.

    Each step adds cycle-to-cycle noise ``c2c * R/n_states * z``; g is clipped to [g_min, g_top].
    z holds sum(|n|) normals, device j's starting at offsets[j].
    """
    for j in range(g.size):
        k = n[j]
        if k == 0 or frozen[j]:
            continue
        top = g_top[j]
        r = top - g_min
        nominal = r / n_states
        gj = np.float64(g[j])
        cnt = abs(k)
        for p in range(cnt):
            x = gj - g_min
            if k > 0:
                if exp_model:
                    if nl_ltp < 1e-9:
                        mean = nominal
                    else:
                        b = r / (1.0 - np.exp(-nl_ltp))
                        mean = (b - x) * (1.0 - np.exp(-nl_ltp / n_states))
                else:
                    mean = 2.0 * nominal * (1.0 - x / r)
            else:
                if exp_model:
                    if nl_ltd < 1e-9:
                        mean = -nominal
                    else:
                        b = r / (1.0 - np.exp(-nl_ltd))
                        mean = -(b - (r - x)) * (1.0 - np.exp(-nl_ltd / n_states))
                else:
                    mean = -2.0 * nominal * asymmetry * x / r
            gj = gj + scale[j] * mean + c2c * nominal * z[offsets[j] + p]
            gj = min(max(gj, g_min), top)
        g[j] = gj
