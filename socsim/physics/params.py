"""Parameters of the crossbar physics: which array model a tile uses and its nested parameter tables.

Meaning lives here (dataclasses with unit, range, doc and source per field, see
:mod:`socsim.physics.params_device` and :mod:`socsim.physics.params_io`); numbers fitted to papers
live in ``socsim/physics/fitted/*.toml``; the flattening into kernel scalars is
:func:`socsim.physics.flat.flatten`.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.configtools import ConfigError, Params, param
from socsim.physics.model_names import MODEL_NAMES
from socsim.physics.params_device import DeviceParams, PcmParams, PulseParams, StepModel, WriteVerifyParams
from socsim.physics.params_io import AdcParams, DacParams, PairReadout, ReadParams, SignedMode

__all__ = ["PhysicsParams", "DeviceParams", "DacParams", "AdcParams", "ReadParams", "WriteVerifyParams",
           "PulseParams", "PcmParams", "StepModel", "SignedMode", "PairReadout"]


@dataclass(frozen=True)
class PhysicsParams(Params):
    """Which array model a tile uses and the parameters of every model family."""

    model: str = param("ideal", doc="array model name; see socsim.physics.crossbar_models()")
    w_max: float = param(1.0, lo=1e-9, unit="weight units",
                         doc="weight mapped onto the largest conductance difference")
    dw_per_pulse: float = param(0.01, lo=0.0, unit="weight units",
                                doc="nominal weight change of one open-loop pulse (ideal model: exact)")
    device: DeviceParams = param(DeviceParams(), doc="multi-level RRAM device")
    dac: DacParams = param(DacParams(), doc="input DAC")
    adc: AdcParams = param(AdcParams(), doc="TIA and ADC")
    read: ReadParams = param(ReadParams(), doc="read noise and IR drop")
    write_verify: WriteVerifyParams = param(WriteVerifyParams(), doc="closed-loop programming")
    pulse: PulseParams = param(PulseParams(), doc="open-loop programming")
    pcm: PcmParams = param(PcmParams(), doc="PCM hybrid-precision model")

    @property
    def slices(self) -> int:
        """Device pairs (or single devices) per weight: pcm_hic's binary MSB slices plus its multi-level one."""
        return self.pcm.n_msb + 1 if self.model == "pcm_hic" else 1

    def validate(self) -> None:
        if self.model not in MODEL_NAMES:
            raise ConfigError(f"PhysicsParams.model = {self.model!r} is unknown; "
                              f"valid models: {', '.join(MODEL_NAMES)}")
