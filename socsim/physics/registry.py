"""The one table of array models: name -> constructor (the names themselves: :mod:`socsim.physics.model_names`)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from socsim.physics.draws import Stream, stream_key
from socsim.physics.ideal import IdealCrossbar
from socsim.physics.interface import Crossbar
from socsim.physics.model_names import MODEL_NAMES
from socsim.physics.params import PhysicsParams
from socsim.physics.pcm_hic import PcmHybrid
from socsim.physics.rram_pulse import RramPulse
from socsim.physics.rram_wv import RramWriteVerify

CrossbarFactory = Callable[[int, int, PhysicsParams, np.random.Generator, Stream], Crossbar]


def _ideal(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return IdealCrossbar(rows, cols, params, rng, stream)


def _rram_wv(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return RramWriteVerify(rows, cols, params, rng, stream)


def _rram_pulse(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return RramPulse(rows, cols, params, rng, stream)


def _pcm_hic(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return PcmHybrid(rows, cols, params, rng, stream)


_MODELS: dict[str, CrossbarFactory] = {
    "ideal": _ideal,            # exact float32 weights, linear noiseless pulses, ideal converters
    "rram_wv": _rram_wv,        # Wu et al. 2023: multi-level RRAM pairs, write-verify, BWMCS ADC
    "rram_pulse": _rram_pulse,  # open-loop nonlinear asymmetric pulses (NeuroSim / soft bounds)
    "pcm_hic": _pcm_hic,        # binary MSB + multi-level LSB PCM, drift, 1/f noise, refresh, endurance
}


if tuple(sorted(_MODELS)) != MODEL_NAMES:
    raise ImportError(f"socsim.physics: the model table {sorted(_MODELS)} and MODEL_NAMES {list(MODEL_NAMES)} "
                      "differ; add a new model to both")


def crossbar_models() -> list[str]:
    """Names of the registered array models."""
    return sorted(_MODELS)


def make_crossbar(rows: int, cols: int, params: PhysicsParams, seed: np.random.SeedSequence | int) -> Crossbar:
    """Build the array model named by ``params.model`` for a ``rows`` x ``cols`` weight tile.

    ``seed`` fixes everything random about the tile: its fabrication maps (a generator drawn in the
    constructor) and the key of its counter-based draws (:mod:`socsim.physics.draws`).
    """
    try:
        factory = _MODELS[params.model]
    except KeyError:
        raise ValueError(f"unknown crossbar model {params.model!r}; valid: "
                         f"{', '.join(crossbar_models())}") from None
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return factory(rows, cols, params, np.random.default_rng(ss), Stream(stream_key(ss)))


def weight_level(params: PhysicsParams) -> float:
    """One programming level of one device, in weight units (0 for continuous or ideal devices).

    The wu2023 scheme writes a weight only when its accumulated update reaches this step.
    """
    levels = params.device.levels
    if params.model == "ideal" or levels < 2:
        return 0.0
    if params.model == "pcm_hic":
        return params.w_max / 2 ** params.pcm.n_msb / (levels - 1)
    return params.w_max / (levels - 1)


def pulse_step(params: PhysicsParams) -> float:
    """Nominal weight change of one open-loop ``pulse`` (weight units): the eps of pulses = trunc(acc / eps)."""
    if params.model in ("ideal", "rram_pulse"):
        return params.dw_per_pulse
    if params.model == "pcm_hic":  # one gradual SET on the LSB pair at G = 0; the LSB pair spans U = w_max / 2^n_msb
        return params.w_max / 2 ** params.pcm.n_msb * params.pcm.set_step_us / params.pcm.g_max_us
    return weight_level(params) or params.dw_per_pulse
