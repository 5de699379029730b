"""Parameters of the crossbar physics: which array model a tile uses and its nested parameter tables.

Meaning lives here (dataclasses with unit, range, doc and source per field, see
:mod:`socsim.physics.params_device` and :mod:`socsim.physics.params_io`); numbers fitted to papers
live in ``socsim/physics/fitted/*.toml``; the flattening into kernel scalars is
:func:`socsim.physics.flat.flatten`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from socsim.base.configtools import ConfigError, Params, deep_merge, param
from socsim.physics.interface import model_names
from socsim.physics.params_device import (
    DeviceParams,
    PcmParams,
    PulseParams,
    SramParams,
    StepModel,
    WriteVerifyParams,
)
from socsim.physics.params_io import AdcParams, DacEncoding, DacParams, NoiseDraw, PairReadout, ReadParams, SignedMode

__all__ = ["PhysicsParams", "DeviceParams", "DacParams", "DacEncoding", "AdcParams", "ReadParams", "WriteVerifyParams",
           "PulseParams", "PcmParams", "SramParams", "StepModel", "SignedMode", "PairReadout", "NoiseDraw"]


SIGN_MAGNITUDE_KEY = "sign_magnitude"
"""The config value of the bit lines' default signed mode (SignedMode.SIGN_MAGNITUDE)."""


@dataclass(frozen=True)
class PhysicsParams(Params):
    """Which array model a tile uses and the parameters of every model family."""

    model: str = param("ideal", doc="array model name; see socsim.physics.crossbar_models()")
    w_max: float = param(1.0, lo=1e-9, unit="weight units",
                         doc="weight mapped onto the largest conductance difference")
    dw_per_pulse: float = param(0.01, lo=0.0, unit="weight units",
                                doc="nominal weight change of one open-loop pulse (ideal model: exact)")
    device: DeviceParams = param(DeviceParams(), doc="multi-level RRAM device")
    dac: DacParams = param(DacParams(), doc="input DAC of the word lines (forward MVM)")
    dac_t: DacParams = param(DacParams(signed_mode=SignedMode.SIGN_MAGNITUDE),
                             doc="input DAC of the bit lines (transposed MVM, backward errors); in a config file, the "
                                 "keys it does not give are dac's, except signed_mode: sign_magnitude unless dac_t "
                                 "gives it", source="docs/physics.md (signed inputs)")
    adc: AdcParams = param(AdcParams(), doc="TIA and ADC")
    read: ReadParams = param(ReadParams(), doc="read noise and IR drop")
    write_verify: WriteVerifyParams = param(WriteVerifyParams(), doc="closed-loop programming")
    pulse: PulseParams = param(PulseParams(), doc="open-loop programming")
    pcm: PcmParams = param(PcmParams(), doc="PCM hybrid-precision model")
    sram: SramParams = param(SramParams(), doc="charge-domain SRAM model")

    @classmethod
    def inherit(cls, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """The bit lines' DAC is the word lines' unless ``dac_t`` says otherwise, key by key; its signed inputs (the
        backward errors) are driven sign and magnitude unless ``dac_t`` gives ``signed_mode``."""
        dac, dac_t = data.get("dac"), data.get("dac_t", {})
        if isinstance(dac, Mapping) and isinstance(dac_t, Mapping):
            return {**data, "dac_t": deep_merge({**dac, "signed_mode": SIGN_MAGNITUDE_KEY}, dac_t)}
        return data

    def validate(self) -> None:
        if self.model not in model_names():
            raise ConfigError(f"PhysicsParams.model = {self.model!r} is unknown; "
                              f"valid models: {', '.join(model_names())}")
