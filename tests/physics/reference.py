"""Slow, obvious numpy twins of the physics kernels and of the analog MVM pipeline.

They are written for clarity (Python loops, float64, one pulse at a time), never for speed, and
take the same random draws as the kernels so deterministic results can be compared exactly.
"""

from __future__ import annotations

import math

import numpy as np


# ---- DAC ---------------------------------------------------------------------------------------
def digits_ref(code: int, n_pulses: int, bits_per_pulse: int, signed_top: bool) -> list[int]:
    """Digits of one integer code, least significant pulse first (two's complement top digit)."""
    radix = 2 ** bits_per_pulse
    out = []
    c = int(code)
    for p in range(n_pulses):
        if signed_top and p == n_pulses - 1:
            out.append(c)          # what is left after removing the lower digits (may be negative)
        else:
            d = c % radix           # Python % is the non-negative remainder, like & (radix - 1)
            out.append(d)
            c = (c - d) // radix
    return out


def radix4_digits_ref(code: int, n_exp: int, per_pulse: int) -> list[int]:
    """Pulse digits of one radix-4 code (0 or +-4^j, j < n_exp), least significant pulse first: the exponents are
    grouped from the top, ``per_pulse`` to a pulse, the top exponent of a pulse at digit 4^(per_pulse - 1)."""
    n_p = -(-n_exp // per_pulse)
    out = [0] * n_p
    if code == 0:
        return out
    j = 0
    while 4 ** j < abs(code):
        j += 1
    assert 4 ** j == abs(code) and j < n_exp, f"{code} is not a radix-4 code below 4^{n_exp}"
    top_down = n_exp - 1 - j                         # 0 for the largest exponent
    pulse = n_p - 1 - top_down // per_pulse
    out[pulse] = (1 if code > 0 else -1) * 4 ** (per_pulse - 1 - top_down % per_pulse)
    return out


def radix4_mvm_ref(x: np.ndarray, gmat: np.ndarray, n_exp: int, per_pulse: int, v_read: float,
                   bits: int, lo: float, hi: float) -> np.ndarray:
    """Noiseless radix-4 MVM with one shift-and-add conversion per pulse, float64: codes ``x`` (B, n) through
    ``gmat`` (n, K) uS -> the estimate of x @ gmat (code x uS)."""
    n_p = -(-n_exp // per_pulse)
    v_unit = v_read / 4 ** (per_pulse - 1)
    lsb = (hi - lo) / 2 ** bits
    out = np.zeros((x.shape[0], gmat.shape[1]))
    for b in range(x.shape[0]):
        digs = [radix4_digits_ref(int(c), n_exp, per_pulse) for c in x[b]]
        total = np.zeros(gmat.shape[1])
        for p in range(n_p):
            d = np.array([dd[p] for dd in digs], dtype=np.float64)
            current = v_unit * (d @ gmat.astype(np.float64))
            current = np.array([convert_ref(c, 0, 0, 0, lo, hi, lsb, 2 ** bits - 1) for c in current])
            # pulse p's digit 4^(per_pulse - 1) stands for code 4^(n_exp - 1 - per_pulse (n_p - 1 - p))
            total += current * 4.0 ** (n_exp - 1 - per_pulse * (n_p - 1 - p)) / 4.0 ** (per_pulse - 1)
        out[b] = total / v_unit
    return out


# ---- ADC ---------------------------------------------------------------------------------------
def convert_ref(a: float, z: float, var: float, extra_var: float, lo: float, hi: float, lsb: float,
                qmax: int) -> float:
    """One noisy, clipped, quantised conversion."""
    v = a + math.sqrt(var + extra_var) * z
    v = min(max(v, lo), hi)
    if lsb > 0:
        q = min(math.floor((v - lo) / lsb + 0.5), qmax)
        v = lo + lsb * q
    return v


# ---- programming -------------------------------------------------------------------------------
def write_verify_ref(g, target, frozen, z, sigma_read, sigma_prog, tol, ramp, step, max_trials, g_lo, g_hi):
    """Write-verify of each device; returns (g, n_set, n_reset, n_reads, failed) as lists."""
    g_out, n_set, n_reset, n_reads, failed = [], [], [], [], []
    for j in range(len(g)):
        gj, tj = float(g[j]), float(target[j])
        s = r = rd = fl = 0
        rd += 1                                   # the first verify read
        for trial in range(max_trials + 1):
            err = tj - (gj + sigma_read * float(z[j, trial, 0]))
            if abs(err) <= tol:
                break
            if trial == max_trials:
                fl = 1
                break
            need = math.ceil(abs(err) / step)
            k = min(need, ramp)
            rd += k                               # a verify read after every ramp pulse
            if err > 0:
                s += k
            else:
                r += k
            if frozen[j]:
                continue
            if need <= ramp:
                gj = tj + sigma_prog * float(z[j, trial, 1])
            else:
                gj = gj + math.copysign(ramp * step, err) + sigma_prog * float(z[j, trial, 2])
            gj = min(max(gj, g_lo), g_hi)
        g_out.append(gj)
        n_set.append(s)
        n_reset.append(r)
        n_reads.append(rd)
        failed.append(fl)
    return g_out, n_set, n_reset, n_reads, failed


def pulse_step_mean_ref(g: float, up: bool, exp_model: bool, g_min: float, g_top: float, n_states: int,
                        nl_ltp: float, nl_ltd: float, asymmetry: float) -> float:
    """Mean conductance change of one pulse, written from the curve G(P) itself for the exponential
    model: find the pulse index P of the current state and step to P + 1."""
    r = g_top - g_min
    if exp_model:
        nl = nl_ltp if up else nl_ltd
        if nl < 1e-9:
            return r / n_states if up else -r / n_states
        a = n_states / nl
        b = r / (1 - math.exp(-n_states / a))
        if up:
            p = -a * math.log(1 - (g - g_min) / b)              # G(P) = B (1 - exp(-P/A)) + G_min
            return (b * (1 - math.exp(-(p + 1) / a)) + g_min) - g
        p = -a * math.log(1 - (g_top - g) / b)                   # mirrored from the top
        return (g_top - b * (1 - math.exp(-(p + 1) / a))) - g
    x = (g - g_min) / r
    return 2 * r / n_states * (1 - x) if up else -2 * r / n_states * asymmetry * x


def pulse_steps_ref(g, n, frozen, scale, g_top, z, offsets, exp_model, g_min, n_states, nl_ltp, nl_ltd,
                    asymmetry, c2c):
    out = []
    for j in range(len(g)):
        gj = float(g[j])
        if n[j] != 0 and not frozen[j]:
            for p in range(abs(int(n[j]))):
                mean = pulse_step_mean_ref(gj, n[j] > 0, exp_model, g_min, g_top[j], n_states, nl_ltp,
                                           nl_ltd, asymmetry)
                gj += scale[j] * mean + c2c * (g_top[j] - g_min) / n_states * float(z[offsets[j] + p])
                gj = min(max(gj, g_min), g_top[j])
        out.append(gj)
    return out


# ---- PCM (Joshi et al. 2020, Methods) ------------------------------------------------------------
def pcm_gnorm(g: float, g_max: float) -> float:
    return min(max(g / g_max, 1e-3), 1.0)


def pcm_sigma_prog_ref(g: float, g_max: float) -> float:
    x = pcm_gnorm(g, g_max)
    return max(-1.1731 * x ** 2 + 1.9650 * x + 0.2635, 0.0) * g_max / 25.0


def pcm_nu_ref(g: float, g_max: float, z: float) -> float:
    x = pcm_gnorm(g, g_max)
    mu = min(max(-0.0155 * math.log(x) + 0.0244, 0.049), 0.1)
    sd = min(max(-0.0125 * math.log(x) - 0.0059, 0.008), 0.045)
    return max(mu + sd * z, 0.0)


def pcm_state_ref(g_prog: float, nu: float, dt: float, t0: float, t_read: float, g_max: float) -> tuple:
    """(drifted G, 1/f read-noise std) after dt seconds."""
    gt = g_prog * ((dt + t0) / t0) ** (-nu)
    qs = min(0.0088 / pcm_gnorm(g_prog, g_max) ** 0.65, 0.2)
    lg = math.log((dt + t_read) / (2 * t_read))
    return gt, (gt * qs * math.sqrt(lg) if lg > 0 else 0.0)


# ---- the analog MVM, pulse by pulse ---------------------------------------------------------------
def mvm_ref(x: np.ndarray, gmat: np.ndarray, in_bits: int, levels: int, v_read: float, adc: str,
            bits: int, lo: float, hi: float) -> np.ndarray:
    """Noiseless two's-complement MVM of codes ``x`` (B, n) through ``gmat`` (n, K) uS, pulse by
    pulse, in float64; returns the estimate of x @ gmat (code x uS)."""
    m = int(math.log2(levels))
    n_p = -(-in_bits // m)
    v_unit = v_read / (levels - 1)
    xc = np.clip(np.rint(x), -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1)
    lsb = (hi - lo) / 2 ** bits
    out = np.zeros((x.shape[0], gmat.shape[1]))
    for b in range(x.shape[0]):
        digs = [digits_ref(int(c), n_p, m, True) for c in xc[b]]
        total = np.zeros(gmat.shape[1])
        for p in range(n_p):
            d = np.array([dd[p] for dd in digs], dtype=np.float64)
            current = v_unit * (d @ gmat.astype(np.float64))              # uA, one pulse
            w = float(levels) ** (p - (n_p - 1))
            if adc == "shift_add":
                current = np.array([convert_ref(c, 0, 0, 0, lo, hi, lsb, 2 ** bits - 1) for c in current])
            total += w * current
        if adc == "bwmcs":
            total = np.array([convert_ref(c, 0, 0, 0, lo, hi, lsb, 2 ** bits - 1) for c in total])
        out[b] = total * float(levels) ** (n_p - 1) / v_unit
    return out
