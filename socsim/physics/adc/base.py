"""The ADC contract: convert column currents (uA) to digital values (returned in uA).

An ADC sees either per-pulse currents (one array per input pulse) and combines them its own way
(:meth:`Adc.combine`), or, when :attr:`Adc.sums_analog` is true and nothing nonlinear happens
per pulse, the already-summed analog value (:meth:`Adc.convert`), which lets the array compute
the binary-weighted sum with one matrix product.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from socsim.physics.kernels.io_kernels import noisy_convert

_NO_NOISE = np.zeros((1, 1), np.float32)


class Adc(ABC):
    """A column converter: ``bits`` over [lo_ua, hi_ua] with input-referred noise ``noise_lsb``."""

    name: ClassVar[str]
    sums_analog: ClassVar[bool]
    """True if pulses are summed in the analog domain (weights w_p) and converted once."""
    saturated: int = 0
    """Conversions so far whose input (noise included) fell outside the range and was clipped: above the top,
    or below the bottom of a bipolar range."""

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

    def convert(self, a: np.ndarray, var: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        """One conversion of analog values ``a`` (B, K) uA, with extra Gaussian read-noise
        variance ``var`` (B, K), (B, 1) or (1, 1) uA^2 (None: none). Returns (B, K) float32 uA.
        Draws one seed from ``rng`` when there is noise (the normals are counter-based)."""
        lo, hi, lsb, qmax, adc_var = self._quantizer()
        noisy = adc_var > 0.0 or var is not None
        seed = rng.integers(0, 2 ** 64, dtype=np.uint64) if noisy else np.uint64(0)
        v = var if var is not None else _NO_NOISE
        out = np.empty(a.shape, np.float32)
        self.saturated += noisy_convert(np.ascontiguousarray(a), seed, noisy, v, adc_var, lo, hi, lsb, qmax, out)
        return out

    @abstractmethod
    def combine(self, currents: np.ndarray, weights: np.ndarray, rng: np.random.Generator,
                var: np.ndarray | None = None) -> np.ndarray:
        """Per-pulse currents (P, B, K) uA and binary weights (P,) -> digital sum_p w_p I_p (B, K) uA.

        ``var`` (P, B, K) or (P, B, 1) uA^2 is per-pulse read noise not yet added to the currents
        (added here as Gaussian noise; only valid when nothing clips between array and ADC).
        """

    @staticmethod
    def _summed_var(weights: np.ndarray, var: np.ndarray | None) -> np.ndarray | None:
        """Variance of sum_p w_p (I_p + n_p): sum_p w_p^2 var_p."""
        if var is None:
            return None
        return np.tensordot(weights * weights, var, axes=1).astype(np.float32)

    @staticmethod
    @abstractmethod
    def conversions(n_pulses: int) -> int:
        """ADC conversions per output column for one input vector of ``n_pulses`` pulses."""
