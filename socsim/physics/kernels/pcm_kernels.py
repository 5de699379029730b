"""Numba kernels of the PCM statistical model (Joshi et al. 2020, Nat. Commun. 11:2473, Methods;
Nandakumar et al. 2019 ICECS) and of gradual-SET pulses (Nandakumar et al. 2018, JAP).

With g_T the programmed conductance normalised to g_max (clipped to [1e-3, 1]):

- programming noise  sigma_prog = max(-1.1731 g_T^2 + 1.9650 g_T + 0.2635, 0)  uS (for g_max = 25 uS;
  scaled by g_max / 25 otherwise);
- drift exponent     mu_nu = min(max(-0.0155 ln g_T + 0.0244, 0.049), 0.1),
                     sigma_nu = min(max(-0.0125 ln g_T - 0.0059, 0.008), 0.045),  nu = mu + sigma z;
- drift              G(t) = G_prog ((t - t_prog + t0) / t0)^-nu;
- 1/f read noise     sigma_nG = G(t) Q_s sqrt(ln((t - t_prog + t_read) / (2 t_read))),
                     Q_s = min(0.0088 / g_T^0.65, 0.2)   (the log is floored at 0).
"""

from __future__ import annotations

import numpy as np
from numba import njit

G_REF_US = 25.0
"""g_max of the device population the coefficients were fitted on (Joshi et al. 2020)."""


@njit(cache=True, nogil=True)
def _gnorm(g, g_max):  # pragma: no cover - compiled
    x = g / g_max
    return min(max(x, 1e-3), 1.0)


@njit(cache=True, nogil=True)
def sigma_prog(g, g_max):  # pragma: no cover - compiled
    """Programming-noise std (uS) of a program-and-verify to conductance g (uS)."""
    x = _gnorm(g, g_max)
    return max(-1.1731 * x * x + 1.9650 * x + 0.2635, 0.0) * g_max / G_REF_US


@njit(cache=True, nogil=True)
def drift_nu(g, g_max, z):  # pragma: no cover - compiled
    """Drift exponent of a device programmed to g (uS), z its fabrication draw (standard normal)."""
    lg = np.log(_gnorm(g, g_max))
    mu = min(max(-0.0155 * lg + 0.0244, 0.049), 0.1)
    sd = min(max(-0.0125 * lg - 0.0059, 0.008), 0.045)
    return max(mu + sd * z, 0.0)


@njit(cache=True, nogil=True)
def sigma_prog_many(g, g_max):  # pragma: no cover - compiled
    """sigma_prog of every element of g (1-D, uS) -> float64 array (uS)."""
    out = np.empty(g.size)
    for j in range(g.size):
        out[j] = sigma_prog(g[j], g_max)
    return out


@njit(cache=True, nogil=True)
def drift_nu_many(g, g_max, z):  # pragma: no cover - compiled
    """drift_nu of every element of g (1-D, uS) with its draw z -> float64 array."""
    out = np.empty(g.size)
    for j in range(g.size):
        out[j] = drift_nu(g[j], g_max, z[j])
    return out


@njit(cache=True, nogil=True)
def conductance_at(g_prog, nu, t_prog, t, t0, t_read, read_scale, g_max, drift, out_g, out_var):
    """Drifted conductance and read-noise variance of every device at time t (s).

    All arrays share one shape, flattened; out_g float32 (uS), out_var float32 (uS^2).
    """
    for j in range(g_prog.size):
        dt = max(t - t_prog[j], 0.0)
        gp = g_prog[j]
        gt = gp * ((dt + t0) / t0) ** (-nu[j]) if drift else gp
        qs = min(0.0088 / _gnorm(gp, g_max) ** 0.65, 0.2)
        lg = np.log((dt + t_read) / (2.0 * t_read))
        sd = gt * qs * np.sqrt(lg) * read_scale if lg > 0.0 else 0.0
        out_g[j] = gt
        out_var[j] = sd * sd


@njit(cache=True, nogil=True)
def gradual_set(g, n, frozen, z, offsets, step0, rel_std, g_max, nl):  # pragma: no cover - compiled
    """Apply n[j] >= 0 gradual SET pulses: dG = step0 (1 - nl G/g_max) (1 + rel_std z), G in [0, g_max]."""
    for j in range(g.size):
        if n[j] <= 0 or frozen[j]:
            continue
        gj = np.float64(g[j])
        for p in range(n[j]):
            mean = step0 * (1.0 - nl * gj / g_max)
            gj = gj + mean * (1.0 + rel_std * z[offsets[j] + p])
            gj = min(max(gj, 0.0), g_max)
        g[j] = gj


@njit(cache=True, nogil=True)
def set_pulses_needed(g_from, g_to, step0, g_max, nl, cap):  # pragma: no cover - compiled
    """Mean-model gradual-SET pulses to climb from g_from to g_to (uS), at most cap, per device."""
    out = np.zeros(g_from.size, dtype=np.int64)
    for j in range(g_from.size):
        gj = g_from[j]
        k = 0
        while gj < g_to[j] and k < cap:
            gj = gj + step0 * (1.0 - nl * gj / g_max)
            k += 1
        out[j] = k
    return out
