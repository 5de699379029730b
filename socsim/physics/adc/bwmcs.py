"""Binary-weighted multi-cycle sampling (Wu et al. 2023, arXiv 2305.14547).

Each input pulse's column current is sampled in its own cycle and the samples are summed in the
analog domain with weights 2^-k (k = 0 for the most significant pulse); the sum is converted
once: ``y = Q(clip(sum_p w_p I_p + n_adc))`` with ``n_adc ~ N(0, (noise_lsb * lsb)^2)``.

Timing: ``bits + 1`` cycles per conversion (Wu et al.: 9 cycles at 8 bits, 8 binary-weighted samples of the
bit-serial input and one conversion; the sample count is taken to follow the converter's bits).
"""

from __future__ import annotations

import numpy as np

from socsim.physics.adc.base import Adc


class BwmcsAdc(Adc):
    """One conversion of the binary-weighted analog sum of all pulses."""

    name = "bwmcs"
    summary = "one conversion of the binary-weighted analog sum"
    sums_analog = True

    def combine(self, currents: np.ndarray, weights: np.ndarray, seeds: np.ndarray, saturated: np.ndarray,
                var: np.ndarray | None = None) -> np.ndarray:
        analog = self.weighted_sum(weights, currents)
        return self.convert(analog, self._summed_var(weights, var), seeds, saturated)

    @staticmethod
    def conversions(n_pulses: int) -> int:
        return 1

    @staticmethod
    def conversion_cycles(bits: int) -> int:
        return bits + 1
