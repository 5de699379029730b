"""Per-pulse conversion with digital shift-and-add.

Every input pulse's column current is converted on its own (clipping, quantisation and
input-referred noise per conversion) and the codes are combined digitally:
``y = sum_p w_p Q(clip(I_p + n_p))``.

Timing: each conversion is a successive-approximation (SAR) conversion of ``bits`` cycles, one per bit.
"""

from __future__ import annotations

import numpy as np

from socsim.physics.adc.base import Adc


class ShiftAddAdc(Adc):
    """One conversion per pulse, shift-and-add in digital."""

    name = "shift_add"
    summary = "one conversion per input pulse, digital shift-and-add"
    sums_analog = False

    def combine(self, currents: np.ndarray, weights: np.ndarray, seeds: np.ndarray, saturated: np.ndarray,
                var: np.ndarray | None = None) -> np.ndarray:
        lanes, p, m, k = currents.shape
        v = None if var is None else var.reshape(lanes, p * m, var.shape[-1])
        q = self.convert(currents.reshape(lanes, p * m, k), v, seeds, saturated).reshape(lanes, p, m, k)
        return self.weighted_sum(weights, q)

    @staticmethod
    def conversions(n_pulses: int) -> int:
        return n_pulses

    @staticmethod
    def conversion_cycles(bits: int) -> int:
        return bits
