"""The ADC contract: convert column currents (uA) to digital values (returned in uA).

An ADC sees either per-pulse currents (one array per input pulse) and combines them its own way
(:meth:`Adc.combine`), or, when :attr:`Adc.sums_analog` is true and nothing nonlinear happens
per pulse, the already-summed analog value (:meth:`Adc.convert`), which lets the array compute
the binary-weighted sum with one matrix product.

Arrays carry a leading lane axis ``L`` (independent reads evaluated together; the sequential engine
has L = 1) and every conversion's noise comes from its lane's seed and its index within the lane
(:func:`socsim.physics.kernels.io_kernels.noisy_convert`), so lanes never change each other's numbers.
Sums over pulses are written as explicit elementwise steps (never a BLAS reduction), so their rounding
does not depend on how many lanes are evaluated together.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from socsim.base.registry import register
from socsim.physics.kernels.io_kernels import noisy_convert

_NO_NOISE = np.zeros((1, 1), np.float32)

ADCS: dict[str, type["Adc"]] = {}
"""Every ADC kind by its ``name`` (``tiles.physics.adc.kind``): filled by :class:`Adc` itself when a subclass that
sets ``name`` is defined, so the registry is the set of classes, never a list kept by hand."""


@dataclass(frozen=True)
class SarArea:
    """The area table's SAR converter (the config's ``[area]``, docs/area.md): ``ref_um2`` um^2 at ``ref_bits``
    bits, ``per_bit`` times larger per extra bit."""

    ref_um2: float
    ref_bits: int
    per_bit: float


class Adc(ABC):
    """A column converter: ``bits`` over [lo_ua, hi_ua] with input-referred noise ``noise_lsb``.

    A subclass that sets ``name`` is an ADC kind: it registers itself in :data:`ADCS` when defined, and holds all
    its facts: numerics (:meth:`combine`), timing (:meth:`conversions`, :meth:`conversion_cycles`), energy
    (:meth:`conversion_steps`), area (:meth:`area_um2`) and whether the calibration sets its range
    (:attr:`calibrated_range`).
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    """What the converter does, in a few words (the config's documentation of ``tiles.physics.adc.kind``)."""
    sums_analog: ClassVar[bool]
    """True if pulses are summed in the analog domain (weights w_p) and converted once."""
    calibrated_range: ClassVar[bool] = True
    """True if the converter has a range for the compiled ``calibrate`` program to set (with ``adc.fs_bits > 0``);
    False for a converter without one (the ideal converter)."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        register(ADCS, cls, "name", "ADC kind")

    def __init__(self, bits: int, lo_ua: float, hi_ua: float, noise_lsb: float):
        if hi_ua <= lo_ua:
            raise ValueError(f"ADC range [{lo_ua}, {hi_ua}] uA is empty")
        self.bits, self.lo_ua, self.hi_ua, self.noise_lsb = bits, lo_ua, hi_ua, noise_lsb

    @property
    def lsb_ua(self) -> float:
        """Current of one code step (uA): range / 2^bits (codes 0 .. 2^bits - 1, lo is code 0)."""
        return (self.hi_ua - self.lo_ua) / 2 ** self.bits

    def limits(self) -> tuple[float, float]:
        """Lowest and highest current (uA) the converter outputs."""
        return self.lo_ua, self.lo_ua + self.lsb_ua * (2 ** self.bits - 1)

    def _quantizer(self) -> tuple[float, float, float, int, float]:
        """(lo, hi, lsb, qmax, noise variance uA^2) for the kernel; the ideal ADC overrides."""
        lsb = self.lsb_ua
        return self.lo_ua, self.hi_ua, lsb, 2 ** self.bits - 1, (self.noise_lsb * lsb) ** 2

    def convert(self, a: np.ndarray, var: np.ndarray | None, seeds: np.ndarray, saturated: np.ndarray,
                scale_in: float = 1.0, scale_out: float = 1.0) -> np.ndarray:
        """One conversion of analog values ``scale_in * a`` (L, m, K) uA, with extra Gaussian read-noise variance
        ``var`` (L, m, K), (L, m, 1) or (1, 1, 1) uA^2 (None: none); lane l's noise from ``seeds[l]``.
        Returns (L, m, K) float32 ``scale_out`` x uA; adds each lane's out-of-range conversions to ``saturated``."""
        lo, hi, lsb, qmax, adc_var = self._quantizer()
        noisy = adc_var > 0.0 or var is not None
        lanes, m, k = a.shape
        v = _NO_NOISE if var is None else np.ascontiguousarray(var).reshape(-1, var.shape[-1])
        flat = np.ascontiguousarray(a).reshape(lanes * m, k)
        out = np.empty(flat.shape, np.float32)
        noisy_convert(flat, seeds, m, noisy, v, adc_var, lo, hi, lsb, qmax, scale_in, scale_out, out, saturated)
        return out.reshape(lanes, m, k)

    @abstractmethod
    def combine(self, currents: np.ndarray, weights: np.ndarray, seeds: np.ndarray, saturated: np.ndarray,
                var: np.ndarray | None = None) -> np.ndarray:
        """Per-pulse currents (L, P, m, K) uA and binary weights (P,) -> digital sum_p w_p I_p (L, m, K) uA.

        ``var`` (L, P, m, K) or (L, P, m, 1) uA^2 is per-pulse read noise not yet added to the currents
        (added here as Gaussian noise; only valid when nothing clips between array and ADC).
        """

    def peak(self, currents: np.ndarray, weights: np.ndarray, seeds: np.ndarray, saturated: np.ndarray,
             var: np.ndarray | None = None) -> np.ndarray:
        """The readings behind :meth:`combine`: per-pulse currents (L, P, m, K) uA -> the largest magnitude (uA)
        among each output's conversions, (L, m, K): the one conversion of the analog sum, or the largest of the
        per-pulse conversions. Same conversions and noise draws as :meth:`combine`."""
        if self.sums_analog:
            return np.abs(self.combine(currents, weights, seeds, saturated, var))
        lanes, p, m, k = currents.shape
        v = None if var is None else var.reshape(lanes, p * m, var.shape[-1])
        q = self.convert(currents.reshape(lanes, p * m, k), v, seeds, saturated).reshape(lanes, p, m, k)
        return np.abs(q).max(axis=1)

    @staticmethod
    def weighted_sum(weights: np.ndarray, per_pulse: np.ndarray) -> np.ndarray:
        """sum_p w_p x_p over axis 1 of (L, P, ...) float32, pulse by pulse in order (elementwise rounding)."""
        out = per_pulse[:, 0] * weights[0]
        for p in range(1, per_pulse.shape[1]):
            out += per_pulse[:, p] * weights[p]
        return out

    @staticmethod
    def _summed_var(weights: np.ndarray, var: np.ndarray | None) -> np.ndarray | None:
        """Variance of sum_p w_p (I_p + n_p): sum_p w_p^2 var_p."""
        if var is None:
            return None
        return Adc.weighted_sum(weights * weights, var)

    @staticmethod
    @abstractmethod
    def conversions(n_pulses: int) -> int:
        """ADC conversions per output column for one input vector of ``n_pulses`` pulses."""

    @staticmethod
    @abstractmethod
    def conversion_cycles(bits: int) -> int:
        """Clock cycles of one ``bits``-bit conversion (timing; docs/energy.md)."""

    @staticmethod
    def conversion_steps(bits: int) -> int:
        """Quantisation steps of one ``bits``-bit conversion, 2^bits: the energy of a conversion is the energy
        table's figure of merit ``adc_fom_fj`` times this (Walden's figure of merit, docs/energy.md)."""
        return 2 ** bits

    @staticmethod
    def area_um2(bits: int, sar: SarArea) -> float:
        """Area (um^2) of one ``bits``-bit converter. A SAR-class converter here: ``sar.ref_um2`` at ``sar.ref_bits``,
        times ``sar.per_bit`` per bit more (a SAR's capacitive DAC holds 2^bits unit capacitors; docs/area.md); a
        converter of another architecture (a flash ADC's 2^bits comparators, say) overrides it."""
        return sar.ref_um2 * sar.per_bit ** (bits - sar.ref_bits)
