"""Parameters of the array's periphery: input DAC, read path (noise, IR drop) and output ADC.

Every field carries its unit, allowed range, meaning and source. Values marked "assumed" are
engineering choices where the cited papers give no number; the fitted TOML files under
``socsim/physics/fitted/`` override them per paper.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from socsim.base.configtools import ConfigError, Params, param
from socsim.physics.adc import adc_class, adc_models

WU2023 = "Wu et al. 2023, arXiv 2305.14547"


class SignedMode(enum.Enum):
    """How the DAC drives signed input codes."""

    TWOS_COMPLEMENT = 1
    """The most significant digit is driven with negative polarity (one pulse train)."""
    SIGN_SPLIT = 2
    """Positive and negative parts are driven in two pulse trains and subtracted digitally."""
    SIGN_MAGNITUDE = 3
    """One pulse train of the magnitude's digits, each line driven with the polarity of its input's sign (the
    read voltage reversed for a negative input): a code of ``n`` bits is ``n - 1`` magnitude bits, so a small
    negative input drives few pulses (two's complement: all of them)."""


class NoiseDraw(enum.Enum):
    """How often a device's read noise is drawn."""

    READ = 1
    """Once per device per read: the pulses of one (bit-serial) read see the same conductance fluctuation (1/f
    noise integrated over the read, Joshi et al. 2020)."""
    PULSE = 2
    """Independently for every input pulse (a sensitivity variant: the older model)."""


class DacEncoding(enum.Enum):
    """How the DAC turns an input code into pulses."""

    INTEGER = 1
    """Integer codes as radix-L digits of L-level pulses (``levels_per_pulse``; 2 = bit-serial)."""
    RADIX4 = 2
    """Radix-4 values: a code is 0 or a signed power of 4 (a radix-4 FP4 value in units of its smallest
    magnitude); groups of ``radix4_exponents_per_pulse`` exponents share one multi-level pulse whose amplitudes
    are 4^-i of full scale, the sign driven by polarity."""


class PairReadout(enum.Enum):
    """Where the two devices of a differential pair are subtracted."""

    ANALOG = 1
    """The pair's currents are subtracted before the ADC (one bipolar conversion per weight column)."""
    DIGITAL = 2
    """Each bit line is converted on its own and the pair is subtracted after the ADC."""


@dataclass(frozen=True)
class DacParams(Params):
    """Input path: integer codes -> read pulses on the word lines."""

    levels_per_pulse: int = param(2, lo=2, hi=256, unit="levels",
                                  doc="amplitude levels of one input pulse (2 = bit-serial 1-bit pulses, "
                                      "4 = radix-4 digits); must be a power of two",
                                  source="bit-serial: " + WU2023 + "; radix-4: Grimm, Lee, Verma 2024")
    signed_mode: SignedMode = param(SignedMode.TWOS_COMPLEMENT,
                                    doc="twos_complement: top digit driven with negative polarity; "
                                        "sign_split: positive and negative parts in two pulse trains; "
                                        "sign_magnitude: the magnitude's digits, each line at its input's "
                                        "polarity (one train). dac_t (the bit lines: backward errors) is "
                                        "sign_magnitude unless a config sets it",
                                    source="assumed; sign_magnitude: docs/physics.md (signed inputs)")
    analog_full_scale: float = param(1.0, lo=1e-12, unit="code",
                                     doc="input magnitude driven at v_read when in_bits = 0 (analog input); "
                                         "larger magnitudes clip", source="assumed")
    encoding: DacEncoding = param(DacEncoding.INTEGER,
                                  doc="integer: codes as radix-L digits of levels_per_pulse-level pulses; radix4: "
                                      "codes are 0 or signed powers of 4, several exponents per multi-level pulse",
                                  source="radix4: Grimm, Lee, Verma 2024 (multi-level radix-4 inputs)")
    radix4_exponents_per_pulse: int = param(3, lo=1, hi=8, unit="exponents",
                                            doc="radix4 encoding: radix-4 exponents one pulse carries, at amplitudes "
                                                "4^-i of full scale (i < this); the top exponent of each pulse is "
                                                "driven at full scale",
                                            source="assumed: a 5-bit input DAC (Lee et al., VLSI 2021) makes 1, 4 and "
                                                   "16 sixteenths of full scale exactly")

    def validate(self) -> None:
        n = self.levels_per_pulse
        if n & (n - 1):
            raise ConfigError(f"DacParams.levels_per_pulse = {n} must be a power of two (2, 4, 8, ...)")


@dataclass(frozen=True)
class AdcParams(Params):
    """Column readout: transimpedance stage and analog-to-digital converter."""

    kind: str = param("bwmcs", doc="ADC model: " + ", ".join(f"{k} ({adc_class(k).summary})" for k in adc_models())
                                   + "; see socsim.physics.adc.adc_models()",
                      source=WU2023 + " (bwmcs)")
    bits: int = param(8, lo=1, hi=16, unit="bit", doc="ADC resolution", source=WU2023)
    i_min_ua: float = param(0.0, unit="uA", doc="current at code 0 of the forward ADC", source=WU2023)
    i_max_ua: float = param(70.0, unit="uA", doc="full-scale current of the forward ADC", source=WU2023)
    noise_lsb: float = param(2.0, lo=0.0, unit="LSB", doc="input-referred ADC noise, standard deviation",
                             source=WU2023 + " (256x64 array)")
    noise_t_lsb: float = param(-1.0, lo=-1.0, unit="LSB",
                               doc="input-referred noise of the converters of transposed reads (the backward errors), "
                                   "standard deviation; negative: noise_lsb",
                               source="simulator option: separates the backward pass's analog noise from the forward's")
    tia_max_ua: float = param(0.0, lo=0.0, unit="uA",
                              doc="per-pulse TIA current limit (|I| clips there); 0 = no limit",
                              source="assumed")
    pair_readout: PairReadout = param(PairReadout.DIGITAL,
                                      doc="analog: pair subtracted on chip before the ADC; digital: each "
                                          "bit line converted, pair subtracted after", source=WU2023)
    fs_bits: int = param(0, lo=0, hi=16, unit="bit",
                         doc="resolution of the programmable full-scale current of the forward converter (TIA "
                             "gain / ADC reference), one setting per block, set by tgain; 0 = fixed at "
                             "[i_min_ua, i_max_ua]",
                         source="assumed (Wu et al.'s chip sets the cell current per tile with a 10-bit word-line "
                                "DAC; modelled as the converter's full scale, docs/physics.md)")
    fs_min_ua: float = param(1.0, lo=1e-6, unit="uA", doc="smallest settable full-scale current (fs_bits > 0)",
                             source="assumed")
    fs_max_ua: float = param(256.0, lo=1e-6, unit="uA",
                             doc="largest settable full-scale current; settings are multiples of "
                                 "fs_max_ua / 2^fs_bits", source="assumed")
    fs_settle_cycles: int = param(10, lo=0, hi=1 << 20, unit="cycles",
                                  doc="tgain: the reference and TIA gain settle to a new full scale",
                                  source="estimate: 100 ns at 100 MHz")

    def validate(self) -> None:
        if self.i_max_ua <= self.i_min_ua:
            raise ConfigError(f"AdcParams.i_max_ua = {self.i_max_ua} uA must exceed "
                              f"AdcParams.i_min_ua = {self.i_min_ua} uA")
        if self.fs_max_ua < self.fs_min_ua:
            raise ConfigError(f"AdcParams.fs_max_ua = {self.fs_max_ua} uA is below "
                              f"AdcParams.fs_min_ua = {self.fs_min_ua} uA")
        if self.kind not in adc_models():
            raise ConfigError(f"AdcParams.kind = {self.kind!r} is unknown; valid: {', '.join(adc_models())}")

    @property
    def full_scale_ua(self) -> float:
        """The nominal full-scale current: the largest magnitude of [i_min_ua, i_max_ua] (uA)."""
        return max(abs(self.i_min_ua), abs(self.i_max_ua))

    def settable_full_scale(self, fs_ua: float) -> float:
        """The full scale (uA) a request of ``fs_ua`` sets: the nearest multiple of fs_max_ua / 2^fs_bits within
        [fs_min_ua, fs_max_ua] (the nearest at or above fs_min_ua); the nominal full scale when fs_bits = 0."""
        if self.fs_bits == 0:
            return self.full_scale_ua
        codes = 1 << self.fs_bits
        step = self.fs_max_ua / codes
        lowest = min(codes, max(1, math.ceil(self.fs_min_ua / step)))
        code = min(codes, max(lowest, int(round(fs_ua / step))))
        return code * step


@dataclass(frozen=True)
class ReadParams(Params):
    """Non-idealities of reading the array (per MVM and per read-back)."""

    noise_levels: float = param(0.3, lo=0.0, unit="level steps",
                                doc="read noise per device, standard deviation, in conductance level steps "
                                    "(RRAM models; the PCM model uses its 1/f law instead)", source=WU2023)
    noise_draw: NoiseDraw = param(NoiseDraw.READ,
                                  doc="read: a device's read noise drawn once per read, shared by the pulses of a "
                                      "bit-serial read; pulse: drawn independently per pulse (sensitivity variant)",
                                  source="Joshi et al. 2020 (Nat. Commun. 11:2473): 1/f noise integrated over the "
                                         "read's duration; docs/physics.md")
    r_wire_ohm: float = param(0.0, lo=0.0, hi=1e3, unit="ohm",
                              doc="wire resistance per cell segment of the static IR-drop model; 0 = off",
                              source="assumed (first-order series-resistance model)")
    exact_slices: bool = param(False, doc="always compute every input pulse's currents, even when the "
                                          "analog sum is linear and one matmul gives the same result",
                               source="simulator option")
