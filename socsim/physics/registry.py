"""The one table of array models: name -> how to build it and how it stores a weight (the names themselves:
:mod:`socsim.physics.model_names`, which the config validation reads without importing the models)."""

from __future__ import annotations

from dataclasses import dataclass
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
from socsim.physics.sram_cd import ChargeDomainSram

CrossbarFactory = Callable[[int, int, PhysicsParams, np.random.Generator, Stream], Crossbar]


def _ideal(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return IdealCrossbar(rows, cols, params, rng, stream)


def _rram_wv(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return RramWriteVerify(rows, cols, params, rng, stream)


def _rram_pulse(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return RramPulse(rows, cols, params, rng, stream)


def _pcm_hic(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return PcmHybrid(rows, cols, params, rng, stream)


def _sram_cd(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream) -> Crossbar:
    return ChargeDomainSram(rows, cols, params, rng, stream)


def _device_level(p: PhysicsParams) -> float:
    """One level of a multi-level device pair (weight units); 0 for continuous devices."""
    return p.w_max / (p.device.levels - 1) if p.device.levels >= 2 else 0.0


def _pcm_unit(p: PhysicsParams) -> float:
    """The span of pcm_hic's multi-level LSB pair, U = w_max / 2^n_msb (weight units)."""
    return p.w_max / 2 ** p.pcm.n_msb


def _sram_level(p: PhysicsParams) -> float:
    """One step of sram_cd's signed integer weights (weight units)."""
    return p.w_max / (2 ** (p.sram.weight_bits - 1) - 1)


@dataclass(frozen=True)
class Model:
    """One array model: its constructor and the facts the compiler and the tile's geometry need."""

    build: CrossbarFactory
    level: Callable[[PhysicsParams], float]
    """One programming level in weight units (the wu2023 threshold; 0 for exact or continuous weights)."""
    pulse: Callable[[PhysicsParams], float]
    """Nominal weight change of one open-loop pulse (weight units)."""
    slices: Callable[[PhysicsParams], int] = lambda p: 1
    """Device pairs per weight."""


_MODELS: dict[str, Model] = {
    # exact float32 weights, linear noiseless pulses, ideal converters
    "ideal": Model(_ideal, lambda p: 0.0, lambda p: p.dw_per_pulse),
    # Wu et al. 2023: multi-level RRAM pairs, write-verify, BWMCS ADC; a pulse moves one level
    "rram_wv": Model(_rram_wv, _device_level, lambda p: _device_level(p) or p.dw_per_pulse),
    # open-loop nonlinear asymmetric pulses (NeuroSim / soft bounds)
    "rram_pulse": Model(_rram_pulse, _device_level, lambda p: p.dw_per_pulse),
    # binary MSB + multi-level LSB PCM, drift, 1/f noise, refresh, endurance; a pulse is one gradual SET at G = 0
    "pcm_hic": Model(_pcm_hic, lambda p: _pcm_unit(p) / (p.device.levels - 1) if p.device.levels >= 2 else 0.0,
                     lambda p: _pcm_unit(p) * p.pcm.set_step_us / p.pcm.g_max_us, lambda p: p.pcm.n_msb + 1),
    # charge-domain SRAM: exact signed integer weights on bit-cell columns, capacitor-precise reads
    "sram_cd": Model(_sram_cd, _sram_level, _sram_level, lambda p: p.sram.weight_bits - 1),
}


if tuple(sorted(_MODELS)) != MODEL_NAMES:
    raise ImportError(f"socsim.physics: the model table {sorted(_MODELS)} and MODEL_NAMES {list(MODEL_NAMES)} "
                      "differ; add a new model to both")


def crossbar_models() -> list[str]:
    """Names of the registered array models."""
    return sorted(_MODELS)


def _model(params: PhysicsParams) -> Model:
    try:
        return _MODELS[params.model]
    except KeyError:
        raise ValueError(f"unknown crossbar model {params.model!r}; valid: "
                         f"{', '.join(crossbar_models())}") from None


def make_crossbar(rows: int, cols: int, params: PhysicsParams, seed: np.random.SeedSequence | int) -> Crossbar:
    """Build the array model named by ``params.model`` for a ``rows`` x ``cols`` weight tile.

    ``seed`` fixes everything random about the tile: its fabrication maps (a generator drawn in the
    constructor) and the key of its counter-based draws (:mod:`socsim.physics.draws`).
    """
    factory = _model(params).build
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return factory(rows, cols, params, np.random.default_rng(ss), Stream(stream_key(ss)))


def weight_level(params: PhysicsParams) -> float:
    """One programming level of one device, in weight units (0 for continuous or ideal devices).

    The wu2023 scheme writes a weight only when its accumulated update reaches this step.
    """
    return _model(params).level(params)


def pulse_step(params: PhysicsParams) -> float:
    """Nominal weight change of one open-loop ``pulse`` (weight units): the eps of pulses = trunc(acc / eps)."""
    return _model(params).pulse(params)


def slices(params: PhysicsParams) -> int:
    """Device pairs per weight of the array model ``params.model`` (1 for a model not registered)."""
    model = _MODELS.get(params.model)
    return model.slices(params) if model else 1
