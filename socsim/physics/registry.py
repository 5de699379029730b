"""The array models: a model registers itself when its class is defined (:data:`socsim.physics.interface.MODELS`);
the imports below are what defines the built-in ones. Here: building a tile's model and the facts of a config's
model that the compiler, the host and the tile geometry ask."""

from __future__ import annotations

import numpy as np

from socsim.base.errors import InputError
from socsim.physics import ideal, pcm_hic, rram_pulse, rram_wv, sram_cd  # noqa: F401 - defining registers them
from socsim.physics.draws import Stream, stream_key
from socsim.physics.interface import MODELS, CellArea, Crossbar, model_names
from socsim.physics.params import PhysicsParams


def crossbar_models() -> list[str]:
    """Names of the registered array models."""
    return model_names()


def model_class(params: PhysicsParams) -> type[Crossbar]:
    """The array model ``params.model`` names; an unknown name is an InputError listing the valid ones."""
    try:
        return MODELS[params.model]
    except KeyError:
        raise InputError(f"unknown crossbar model {params.model!r}; valid: "
                         f"{', '.join(crossbar_models())}") from None


def make_crossbar(rows: int, cols: int, params: PhysicsParams, seed: np.random.SeedSequence | int) -> Crossbar:
    """Build the array model named by ``params.model`` for a ``rows`` x ``cols`` weight tile.

    ``seed`` fixes everything random about the tile: its fabrication maps (a generator drawn in the
    constructor) and the key of its counter-based draws (:mod:`socsim.physics.draws`).
    """
    cls = model_class(params)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return cls(rows, cols, params, np.random.default_rng(ss), Stream(stream_key(ss)))


def weight_level(params: PhysicsParams) -> float:
    """One programming level of one device, in weight units (0 for continuous or ideal devices).

    The wu2023 scheme writes a weight only when its accumulated update reaches this step.
    """
    return model_class(params).weight_level(params)


def pulse_step(params: PhysicsParams) -> float:
    """Nominal weight change of one open-loop ``pulse`` (weight units): the eps of pulses = trunc(acc / eps)."""
    return model_class(params).pulse_step(params)


def slices(params: PhysicsParams) -> int:
    """Device pairs per weight of the array model ``params.model`` (1 for a model not registered)."""
    cls = MODELS.get(params.model)
    return cls.slices(params) if cls else 1


def cell_f2(params: PhysicsParams, cells: CellArea) -> float:
    """Area of one device cell (F^2) of the array model ``params.model`` (``Crossbar.cell_f2``)."""
    return model_class(params).cell_f2(cells)


def is_exact(params: PhysicsParams) -> bool:
    """Whether the array model ``params.model`` is exact (``Crossbar.exact``: no devices, DAC or converter read
    path; the ideal array); False for a model not registered."""
    cls = MODELS.get(params.model)
    return bool(cls and cls.exact)
