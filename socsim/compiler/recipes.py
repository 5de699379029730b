"""Training recipes: what the compiled program does for each ``[train] scheme``, in one table.

A recipe fixes where the backward pass reads the weights, how accumulated updates reach the devices and
whether the crossbars hold scaled weights. The lowering consults :func:`recipe` and nothing else about
the scheme; ``docs/training.md`` describes each row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from socsim.config import Scheme


class Backward(enum.Enum):
    """Where the backward pass gets ``W.T @ error``."""

    DIGITAL = "digital"
    """From the digital weight copy in the accumulator SRAM (``mm`` on the digital unit)."""
    ARRAYS = "arrays"
    """Transposed MVMs on the crossbars (``mvmt``): errors quantised and driven through the DACs."""


class Transfer(enum.Enum):
    """How the accumulated update reaches the devices after each batch."""

    THRESHOLD = "threshold"
    """Write-verify a weight to ``w_FP + acc`` where ``|acc|`` reaches ``train.transfer_levels`` levels."""
    EVERY_BATCH = "every_batch"
    """Write-verify every weight every batch, then read the devices back: no high-precision copy."""
    EXACT = "exact"
    """Write every weight to ``w_FP + acc`` every batch (ideal devices: exact)."""
    PULSES = "pulses"
    """Open-loop pulses ``trunc(acc / eps)`` (one pulse moves a weight by about ``eps``)."""


@dataclass(frozen=True)
class Recipe:
    """The compiler's choices for one scheme."""

    backward: Backward
    transfer: Transfer
    scaled: bool
    """Crossbars hold ``w / alpha`` (the layer's range mapped onto the devices') and the digital copy is clamped
    to what the devices can hold; False only for ideal devices, which hold the digital weights unscaled."""
    source: str


RECIPES: dict[Scheme, Recipe] = {
    Scheme.WU2023: Recipe(Backward.DIGITAL, Transfer.THRESHOLD, True, "Wu et al. 2023"),
    Scheme.NAIVE: Recipe(Backward.DIGITAL, Transfer.EVERY_BATCH, True, "Wu et al. 2023 (failing baseline)"),
    Scheme.IDEAL: Recipe(Backward.DIGITAL, Transfer.EXACT, False, "reference: equals the numpy baseline"),
    Scheme.MP_ONARRAY: Recipe(Backward.ARRAYS, Transfer.PULSES, True, "Nandakumar et al. 2020"),
    Scheme.PCM_HIC: Recipe(Backward.ARRAYS, Transfer.PULSES, True, "Joshi et al. 2021; Nandakumar et al. 2020"),
    Scheme.RADIX4: Recipe(Backward.ARRAYS, Transfer.THRESHOLD, True, "Grimm, Lee, Verma 2024; Wu et al. 2023"),
}


def recipe(scheme: Scheme) -> Recipe:
    """The recipe of ``scheme``."""
    return RECIPES[scheme]
