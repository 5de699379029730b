"""The one table of array models: name -> constructor."""

from __future__ import annotations

from typing import Callable

import numpy as np

from socsim.physics.interface import Crossbar
from socsim.physics.params import PhysicsParams

CrossbarFactory = Callable[[int, int, PhysicsParams, np.random.Generator], Crossbar]


def _ideal(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator) -> Crossbar:
    from socsim.physics.ideal import IdealCrossbar
    return IdealCrossbar(rows, cols, params, rng)


_MODELS: dict[str, CrossbarFactory] = {"ideal": _ideal}


def crossbar_models() -> list[str]:
    """Names of the registered array models."""
    return sorted(_MODELS)


def make_crossbar(rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator) -> Crossbar:
    """Build the array model named by ``params.model`` for a ``rows`` x ``cols`` weight tile."""
    try:
        factory = _MODELS[params.model]
    except KeyError:
        raise ValueError(f"unknown crossbar model {params.model!r}; valid: "
                         f"{', '.join(crossbar_models())}") from None
    return factory(rows, cols, params, rng)
