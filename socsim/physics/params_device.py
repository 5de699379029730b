"""Parameters of the memory devices and their programming: RRAM levels, write-verify, open-loop
pulses, PCM (Joshi et al. 2020 statistical model) and endurance."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from socsim.base.configtools import ConfigError, Params, param

WU2023 = "Wu et al. 2023, arXiv 2305.14547"
LEE2021 = "Lee, Valavi, Tang, Verma, VLSI 2021 (capacitor-based charge-domain SRAM IMC macro, 5-b inputs)"
JOSHI2020 = "Joshi et al. 2020, Nat. Commun. 11:2473, Methods (statistical PCM model)"
NEUROSIM = "Chen, Peng, Yu, NeuroSim+ 2017/2018 (device model)"


class StepModel(enum.Enum):
    """State dependence of one open-loop programming pulse."""

    SOFT_BOUNDS = 1
    """Step shrinks linearly towards the bound it moves to (aihwkit SoftBounds form)."""
    EXPONENTIAL = 2
    """NeuroSim's G(P) = B (1 - exp(-P/A)) + G_min curve, with A = n_states / nonlinearity."""


class PulseGranularity(enum.Enum):
    """Which gradual-SET increment the ``pcm_hic`` transfer takes as its granularity eps (pulses = trunc(acc / eps))."""

    AT_RESET = 1
    """The increment at G = 0, the largest (the earlier model; a device in mid-range moves about half as far)."""
    MEAN = 2
    """The mean increment over the LSB device's range [0, refresh_fraction g_max], where the refresh keeps it."""


MAX_RAMP_PULSES = 10_000
"""Longest write-verify ramp (pulses): each is simulated per device."""


@dataclass(frozen=True)
class DeviceParams(Params):
    """A multi-level RRAM device and the read voltage."""

    g_min_us: float = param(7.6, lo=0.0, unit="uS", doc="lowest programmed conductance level",
                            source=WU2023 + " (16 levels)")
    g_max_us: float = param(31.3, lo=0.0, unit="uS", doc="highest programmed conductance level",
                            source=WU2023 + " (16 levels)")
    levels: int = param(16, lo=0, hi=65536, unit="levels",
                        doc="programmable levels per device, equally spaced; 0 = continuous",
                        source=WU2023)
    v_read_v: float = param(0.1, lo=1e-3, hi=2.0, unit="V",
                            doc="read voltage of a full-amplitude input pulse",
                            source="assumed; the Wu fitted sets read at 0.1 V, as " + WU2023 + " does (verify and VMM)")
    stuck_fraction: float = param(0.0, lo=0.0, hi=1.0, unit="fraction",
                                  doc="devices stuck at fabrication (half at g_min, half at g_max)",
                                  source="assumed")
    endurance_pulses: float = param(0.0, lo=0.0, unit="pulses",
                                    doc="programming pulses a device survives; then it is stuck at its last "
                                        "conductance; 0 = unlimited", source="assumed")

    def validate(self) -> None:
        if self.g_max_us <= self.g_min_us:
            raise ConfigError(f"DeviceParams.g_max_us = {self.g_max_us} uS must exceed "
                              f"DeviceParams.g_min_us = {self.g_min_us} uS")
        if self.levels == 1:
            raise ConfigError("DeviceParams.levels = 1 stores nothing; use 0 (continuous) or >= 2")

    @property
    def level_step_us(self) -> float:
        """Spacing of adjacent levels (uS); for continuous devices, 1/15 of the range."""
        n = self.levels if self.levels >= 2 else 16
        return (self.g_max_us - self.g_min_us) / (n - 1)


@dataclass(frozen=True)
class WriteVerifyParams(Params):
    """Closed-loop write-verify: SET ramp, then RESET ramp, a bounded number of trials."""

    max_trials: int = param(2, lo=1, hi=100, unit="trials", doc="SET/RESET ramps allowed per device",
                            source=WU2023 + " (training)")
    prog_error_levels: float = param(0.5, lo=0.0, unit="level steps",
                                     doc="std of the programmed conductance about the target after a ramp "
                                         "stops", source=WU2023)
    tolerance_levels: float = param(0.5, lo=0.0, unit="level steps",
                                    doc="verify window: |read - target| within it ends programming",
                                    source="assumed: half a level, so a one-level change is always "
                                           "programmed (a window of a level or more would accept the old state)")
    v_start_v: float = param(1.5, lo=0.0, hi=10.0, unit="V", doc="first pulse amplitude of a SET or RESET ramp",
                             source=WU2023)
    v_stop_v: float = param(3.0, lo=0.0, hi=10.0, unit="V", doc="last pulse amplitude of a ramp", source=WU2023)
    v_step_v: float = param(0.1, lo=1e-3, unit="V", doc="amplitude increment between ramp pulses",
                            source="assumed")
    step_levels: float = param(1.0, lo=1e-3, unit="level steps",
                               doc="mean conductance change per ramp pulse while approaching the target",
                               source="assumed")

    def validate(self) -> None:
        if self.v_stop_v < self.v_start_v:
            raise ConfigError(f"WriteVerifyParams.v_stop_v = {self.v_stop_v} V is below "
                              f"WriteVerifyParams.v_start_v = {self.v_start_v} V")
        if self.ramp_pulses > MAX_RAMP_PULSES:
            raise ConfigError(f"WriteVerifyParams.v_step_v = {self.v_step_v} V makes a ramp of {self.ramp_pulses} "
                              f"pulses from v_start_v to v_stop_v; at most {MAX_RAMP_PULSES}")

    @property
    def ramp_pulses(self) -> int:
        """Pulses in one ramp from v_start_v to v_stop_v."""
        return int(round((self.v_stop_v - self.v_start_v) / self.v_step_v)) + 1


@dataclass(frozen=True)
class PulseParams(Params):
    """Open-loop identical pulses with state-dependent, nonlinear, asymmetric steps."""

    step_model: StepModel = param(StepModel.EXPONENTIAL, doc="soft_bounds or exponential",
                                  source=NEUROSIM + "; Gokmen & Vlasov 2016 (soft bounds)")
    n_states: int = param(100, lo=2, hi=100000, unit="pulses",
                          doc="pulses that sweep the full conductance range (nominal step = range/n_states)",
                          source=NEUROSIM + " (maxNumLevel)")
    nl_ltp: float = param(2.0, lo=0.0, hi=50.0, doc="nonlinearity of potentiation, n_states / A (0 = linear)",
                          source=NEUROSIM)
    nl_ltd: float = param(4.0, lo=0.0, hi=50.0, doc="nonlinearity of depression, n_states / A (0 = linear)",
                          source=NEUROSIM)
    asymmetry: float = param(1.0, lo=0.0, hi=100.0, doc="soft_bounds: depression / potentiation step ratio",
                             source="Gokmen & Vlasov 2016")
    c2c_std: float = param(0.1, lo=0.0, hi=10.0, unit="nominal steps",
                           doc="cycle-to-cycle std of each step",
                           source=NEUROSIM + " (sigmaCtoC; assumed value)")
    d2d_std: float = param(0.1, lo=0.0, hi=1.0, unit="fraction",
                           doc="device-to-device std of the step scale and of the upper bound",
                           source=NEUROSIM + " (sigmaDtoD; assumed value)")


@dataclass(frozen=True)
class PcmParams(Params):
    """PCM devices of the hybrid scheme: binary MSB pairs + one multi-level LSB pair."""

    g_max_us: float = param(25.0, lo=1e-3, unit="uS", doc="largest reliably programmed conductance",
                            source=JOSHI2020)
    g_reset_us: float = param(0.1, lo=0.0, unit="uS", doc="conductance after an abrupt RESET",
                              source="assumed")
    n_msb: int = param(2, lo=0, hi=8, unit="slices", doc="binary (MSB) device pairs per weight",
                       source="Joshi et al. 2021 / Nandakumar et al. 2020 (hybrid scheme; count assumed)")
    refresh_fraction: float = param(0.9, lo=0.1, hi=1.0, unit="of g_max",
                                    doc="an LSB device above this is refreshed (carry + RESET + reprogram)",
                                    source="Nandakumar et al. 2020 (refresh; threshold assumed)")
    set_step_us: float = param(0.75, lo=0.0, unit="uS", doc="mean gradual-SET increment at G = 0 (its fall "
                               "with G: set_nonlinearity)",
                               source="Nandakumar et al. 2018 JAP (form; value assumed)")
    set_nonlinearity: float = param(1.0, lo=0.0, hi=1.0, unit="fraction",
                                    doc="state dependence of a gradual-SET increment: dG = set_step_us (1 - "
                                        "set_nonlinearity G / g_max); 1 = falling linearly to 0 at g_max, 0 = "
                                        "the same step at every state (an ideal pulse)",
                                    source="Nandakumar et al. 2018 JAP (form: the increment shrinks as G grows); "
                                           "0 is an idealisation for studies")
    granularity: PulseGranularity = param(PulseGranularity.MEAN,
                                          doc="the transfer's eps, the weight change it expects of one pulse: the "
                                              "mean increment over [0, refresh_fraction g_max] (mean) or the "
                                              "increment at G = 0 (at_reset)",
                                          source="Nandakumar et al. 2020, Front. Neurosci. 14:406 (eps: the "
                                                 "device granularity; which increment: our choice, measured in "
                                                 "docs/results.md)")
    set_step_std: float = param(0.5, lo=0.0, unit="fraction", doc="cycle-to-cycle std of a SET increment, "
                                "relative to its mean",
                                source="Nandakumar et al. 2018 JAP (order of magnitude)")
    binary_set_std_us: float = param(1.0, lo=0.0, unit="uS", doc="spread of a binary device's SET state",
                                     source="assumed")
    prog_noise_scale: float = param(1.0, lo=0.0, doc="multiplies sigma_prog(g_T) of the program-and-verify",
                                    source=JOSHI2020)
    drift: bool = param(True, doc="apply G(t) = G_prog ((t + t0)/t0)^-nu", source=JOSHI2020)
    t0_s: float = param(20.0, lo=1e-9, unit="s", doc="drift reference time after programming",
                        source=JOSHI2020 + " (t_c = 20 s in aihwkit's implementation)")
    read_noise_scale: float = param(1.0, lo=0.0, doc="multiplies the 1/f read-noise std", source=JOSHI2020)
    t_read_s: float = param(250e-9, lo=1e-12, unit="s", doc="read pulse width in the 1/f noise integral",
                            source=JOSHI2020)

    def validate(self) -> None:
        if self.g_reset_us >= self.g_max_us:
            raise ConfigError(f"PcmParams.g_reset_us = {self.g_reset_us} uS must be below "
                              f"PcmParams.g_max_us = {self.g_max_us} uS")


@dataclass(frozen=True)
class SramParams(Params):
    """Charge-domain SRAM in-memory computing: binary bit cells, a weight as a signed integer over bit columns."""

    weight_bits: int = param(4, lo=2, hi=9, unit="bits",
                             doc="signed weight precision: sign + (weight_bits - 1) magnitude bits, each magnitude bit "
                                 "a pair of cells (positive, negative) on its own column pair",
                             source="INT4 weights: Sun et al., NeurIPS 2020; bit cells on columns: " + LEE2021
                                    + " (column mapping assumed)")
    cell_us: float = param(1.0, lo=1e-6, hi=1e6, unit="uS",
                           doc="read-path strength of one set bit cell, written as the conductance that gives the "
                               "same column current at v_read (a charge-domain cell couples a unit capacitor)",
                           source="simulator normalisation: with v_read = 1 V a set cell at full input adds 1 uA")
