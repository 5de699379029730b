"""The Numba boundary: :class:`PhysicsParams` -> plain scalars, in one function.

Kernels never see a dataclass or an enum; array models call :func:`flatten` once in their
constructor and pass fields of the returned :class:`Flat` to kernels.
"""

from __future__ import annotations

from typing import NamedTuple

from socsim.physics.params import DacEncoding, DacParams, NoiseDraw, PairReadout, PhysicsParams, SignedMode, StepModel


class DacFlat(NamedTuple):
    """One input DAC (word lines or bit lines) as plain scalars."""

    levels: int
    bits_per_pulse: int
    sign_split: bool
    analog_fs: float
    radix4_exps: int
    """Exponents per pulse of the radix-4 encoding; 0 = integer encoding."""
    sign_magnitude: bool
    """Signed codes as magnitude digits driven at the input's polarity (one train)."""


def flatten_dac(d: DacParams) -> DacFlat:
    radix4 = d.encoding is DacEncoding.RADIX4
    return DacFlat(levels=d.levels_per_pulse, bits_per_pulse=d.levels_per_pulse.bit_length() - 1,
                   sign_split=d.signed_mode is SignedMode.SIGN_SPLIT, analog_fs=d.analog_full_scale,
                   radix4_exps=d.radix4_exponents_per_pulse if radix4 else 0,
                   sign_magnitude=d.signed_mode is SignedMode.SIGN_MAGNITUDE)


class Flat(NamedTuple):
    """Every number a kernel needs, in kernel units (uS, uA, V, s, level steps converted to uS)."""

    w_max: float
    dw_per_pulse: float
    # device
    g_min: float
    g_max: float
    levels: int
    level_us: float
    v_read: float
    stuck_fraction: float
    endurance: float
    # DACs of the word lines (forward) and of the bit lines (transposed)
    dac: DacFlat
    dac_t: DacFlat
    # ADC / read path
    adc_kind: str
    adc_bits: int
    adc_lo: float
    adc_hi: float
    adc_noise_lsb: float
    adc_noise_t_lsb: float
    """The transposed reads' converter noise (LSB)."""
    tia_max: float
    pair_digital: bool
    read_sigma_us: float
    read_per_pulse: bool
    """Device read noise drawn per pulse (ReadParams.noise_draw = pulse), not once per read."""
    r_wire_ohm: float
    exact_slices: bool
    # write-verify
    wv_trials: int
    wv_sigma_us: float
    wv_tol_us: float
    wv_ramp: int
    wv_step_us: float
    # open-loop pulses
    exp_model: bool
    n_states: int
    nl_ltp: float
    nl_ltd: float
    asymmetry: float
    c2c_std: float
    d2d_std: float
    # PCM
    pcm_g_max: float
    pcm_g_reset: float
    pcm_n_msb: int
    pcm_refresh: float
    pcm_set_step: float
    pcm_set_std: float
    pcm_set_nl: float
    pcm_bin_std: float
    pcm_prog_scale: float
    pcm_drift: bool
    pcm_t0: float
    pcm_read_scale: float
    pcm_t_read: float
    # charge-domain SRAM
    sram_bits: int
    sram_cell_us: float


def flatten(p: PhysicsParams) -> Flat:
    """Turn the nested parameter tables into kernel scalars (units converted here, nowhere else)."""
    d, wv, pu, pc = p.device, p.write_verify, p.pulse, p.pcm
    step = d.level_step_us
    return Flat(
        w_max=p.w_max, dw_per_pulse=p.dw_per_pulse,
        g_min=d.g_min_us, g_max=d.g_max_us, levels=d.levels, level_us=step, v_read=d.v_read_v,
        stuck_fraction=d.stuck_fraction, endurance=d.endurance_pulses,
        dac=flatten_dac(p.dac), dac_t=flatten_dac(p.dac_t),
        adc_kind=p.adc.kind, adc_bits=p.adc.bits, adc_lo=p.adc.i_min_ua, adc_hi=p.adc.i_max_ua,
        adc_noise_lsb=p.adc.noise_lsb, tia_max=p.adc.tia_max_ua,
        adc_noise_t_lsb=p.adc.noise_lsb if p.adc.noise_t_lsb < 0 else p.adc.noise_t_lsb,
        pair_digital=p.adc.pair_readout is PairReadout.DIGITAL,
        read_sigma_us=p.read.noise_levels * step, read_per_pulse=p.read.noise_draw is NoiseDraw.PULSE,
        r_wire_ohm=p.read.r_wire_ohm,
        exact_slices=p.read.exact_slices,
        wv_trials=wv.max_trials, wv_sigma_us=wv.prog_error_levels * step,
        wv_tol_us=wv.tolerance_levels * step,
        wv_ramp=wv.ramp_pulses, wv_step_us=wv.step_levels * step,
        exp_model=pu.step_model is StepModel.EXPONENTIAL, n_states=pu.n_states, nl_ltp=pu.nl_ltp,
        nl_ltd=pu.nl_ltd, asymmetry=pu.asymmetry, c2c_std=pu.c2c_std, d2d_std=pu.d2d_std,
        pcm_g_max=pc.g_max_us, pcm_g_reset=pc.g_reset_us, pcm_n_msb=pc.n_msb, pcm_refresh=pc.refresh_fraction,
        pcm_set_step=pc.set_step_us, pcm_set_std=pc.set_step_std, pcm_set_nl=pc.set_nonlinearity,
        pcm_bin_std=pc.binary_set_std_us,
        pcm_prog_scale=pc.prog_noise_scale, pcm_drift=pc.drift, pcm_t0=pc.t0_s,
        pcm_read_scale=pc.read_noise_scale, pcm_t_read=pc.t_read_s,
        sram_bits=p.sram.weight_bits, sram_cell_us=p.sram.cell_us,
    )
