"""ADC family: the :class:`Adc` contract, one small file per converter, and the registry of kinds.

A kind registers itself when its class is defined (:data:`socsim.physics.adc.base.ADCS`); the imports below are
what defines the built-in ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.base.errors import InputError
from socsim.physics.adc import bwmcs, ideal, shift_add  # noqa: F401 - defining the classes registers the kinds
from socsim.physics.adc.base import ADCS, Adc, SarArea


def adc_models() -> list[str]:
    """Names of the registered ADC kinds."""
    return sorted(ADCS)


def adc_class(name: str) -> type[Adc]:
    """The ADC kind ``name``; an unknown name raises InputError listing the valid ones."""
    try:
        return ADCS[name]
    except KeyError:
        raise InputError(f"unknown ADC model {name!r}; valid: {', '.join(adc_models())}") from None


def conversions_per_output(name: str, n_pulses: int) -> int:
    """ADC conversions per bit line for one input vector driven as ``n_pulses`` pulses (timing and energy)."""
    return adc_class(name).conversions(n_pulses)


@dataclass(frozen=True)
class ConverterCost:
    """What one conversion of an ADC model at a resolution costs: cycles, and quantisation steps (energy)."""

    cycles: int
    """Clock cycles of one conversion."""
    steps: int
    """2^bits: one conversion costs ``steps`` x the energy table's ``adc_fom_fj`` (Walden figure of merit)."""


def converter_cost(name: str, bits: int) -> ConverterCost:
    """Cycles and steps of one ``bits``-bit conversion of the ADC model ``name`` (docs/energy.md)."""
    cls = adc_class(name)
    return ConverterCost(cls.conversion_cycles(bits), cls.conversion_steps(bits))


def make_adc(name: str, bits: int, lo_ua: float, hi_ua: float, noise_lsb: float) -> Adc:
    """Build the ADC called ``name``; an unknown name raises InputError listing the valid ones."""
    return adc_class(name)(bits, lo_ua, hi_ua, noise_lsb)


__all__ = ["Adc", "ConverterCost", "SarArea", "adc_class", "adc_models", "conversions_per_output", "converter_cost",
           "make_adc"]
