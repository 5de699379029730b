"""ADC family: the :class:`Adc` contract, one small file per converter, and the name registry."""

from __future__ import annotations

from socsim.physics.adc.base import Adc
from socsim.physics.adc.bwmcs import BwmcsAdc
from socsim.physics.adc.ideal import IdealAdc
from socsim.physics.adc.shift_add import ShiftAddAdc

_ADCS: dict[str, type[Adc]] = {cls.name: cls for cls in (BwmcsAdc, ShiftAddAdc, IdealAdc)}


def adc_models() -> list[str]:
    """Names of the registered ADC models."""
    return sorted(_ADCS)


def conversions_per_output(name: str, n_pulses: int) -> int:
    """ADC conversions per bit line for one input vector driven as ``n_pulses`` pulses (timing and energy)."""
    try:
        return _ADCS[name].conversions(n_pulses)
    except KeyError:
        raise ValueError(f"unknown ADC model {name!r}; valid: {', '.join(adc_models())}") from None


def make_adc(name: str, bits: int, lo_ua: float, hi_ua: float, noise_lsb: float) -> Adc:
    """Build the ADC called ``name``; an unknown name raises ValueError listing the valid ones."""
    try:
        cls = _ADCS[name]
    except KeyError:
        raise ValueError(f"unknown ADC model {name!r}; valid: {', '.join(adc_models())}") from None
    return cls(bits, lo_ua, hi_ua, noise_lsb)


__all__ = ["Adc", "adc_models", "conversions_per_output", "make_adc"]
