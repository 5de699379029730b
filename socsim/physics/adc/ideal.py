"""Ideal converter: infinite resolution and range, no noise of its own (read noise still applies).

Its numerics are exact, its cost is a BWMCS converter's of the configured ``bits`` (``bits + 1`` cycles per
conversion, one conversion per output) and area (a SAR converter of its nominal ``bits``): a study that swaps in the
ideal ADC changes accuracy only. It has no range for the calibration to set.
"""

from __future__ import annotations

import numpy as np

from socsim.physics.adc.base import Adc


class IdealAdc(Adc):
    """Passes the analog value through; combines pulses exactly."""

    name = "ideal"
    summary = "exact: no resolution, range or noise of its own"
    sums_analog = True
    calibrated_range = False

    def limits(self) -> tuple[float, float]:
        return -np.inf, np.inf

    def _quantizer(self) -> tuple[float, float, float, int, float]:
        return -np.inf, np.inf, 0.0, 0, 0.0

    def combine(self, currents: np.ndarray, weights: np.ndarray, seeds: np.ndarray, saturated: np.ndarray,
                var: np.ndarray | None = None) -> np.ndarray:
        analog = self.weighted_sum(weights, currents)
        return analog if var is None else self.convert(analog, self._summed_var(weights, var), seeds, saturated)

    @staticmethod
    def conversions(n_pulses: int) -> int:
        return 1

    @staticmethod
    def conversion_cycles(bits: int) -> int:
        return bits + 1
