"""Training recipes: what the compiled program does for each ``[train] scheme``, in one table.

A recipe fixes where the backward pass reads the weights, how accumulated updates reach the devices, whether
the crossbars hold scaled weights and how the backward errors are quantised. The lowering consults
:func:`recipe` and nothing else about the scheme; ``docs/training.md`` describes each row.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from socsim.config.soc import Scheme


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
    QUANTIZED = "quantized"
    """Every batch the digital weight takes ``w_FP + update`` (clamped to the devices' range) and is rounded to the
    array's integer codes (``quant``); the weights whose code changed are written (INT-b forward weights over an FP32
    master copy, as in Sun et al. 2020)."""


class Errors(enum.Enum):
    """How the backward errors are quantised (schemes with the backward pass on the arrays)."""

    INT = "int"
    """``train.in_bits``-bit integer codes over the fixed range ``train.error_range`` (``quant``)."""
    FP4 = "fp4"
    """Radix-4 FP4 values ``+-4^k`` (1 sign + 3 exponent bits) with a per-layer power-of-two scale from the error
    tensor's largest magnitude (GradScale, ``vamax``) and two-phase rounding (``r4q``): the copy rounded to odd powers
    of two drives the transposed MVM (dL/dX), the copy rounded to even powers feeds dL/dW (Sun et al. 2020)."""


@dataclass(frozen=True)
class Recipe:
    """The compiler's choices for one scheme."""

    backward: Backward
    transfer: Transfer
    scaled: bool
    """Crossbars hold ``w / alpha`` (the layer's range mapped onto the devices') and the digital copy is clamped
    to what the devices can hold; False only for ideal devices, which hold the digital weights unscaled."""
    source: str
    errors: Errors = Errors.INT


RECIPES: dict[Scheme, Recipe] = {
    Scheme.WU2023: Recipe(Backward.DIGITAL, Transfer.THRESHOLD, True, "Wu et al. 2023"),
    Scheme.NAIVE: Recipe(Backward.DIGITAL, Transfer.EVERY_BATCH, True, "Wu et al. 2023 (failing baseline)"),
    Scheme.IDEAL: Recipe(Backward.DIGITAL, Transfer.EXACT, False, "reference: equals the numpy baseline"),
    Scheme.MP_ONARRAY: Recipe(Backward.ARRAYS, Transfer.PULSES, True, "Nandakumar et al. 2020"),
    Scheme.PCM_HIC: Recipe(Backward.ARRAYS, Transfer.PULSES, True, "Joshi et al. 2021; Nandakumar et al. 2020"),
    Scheme.RADIX4: Recipe(Backward.ARRAYS, Transfer.QUANTIZED, True, "Grimm, Lee, Verma 2024; Sun et al. 2020",
                          Errors.FP4),
    Scheme.RADIX4_DIGITS: Recipe(Backward.ARRAYS, Transfer.THRESHOLD, True,
                                 "integer codes as radix-4 digit pulses; Wu et al. 2023 transfer"),
}


def recipe(scheme: Scheme) -> Recipe:
    """The recipe of ``scheme``."""
    return RECIPES[scheme]
