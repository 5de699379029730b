"""Crossbar physics: device, converter and programming models behind the :class:`Crossbar` interface.

The simulator (``socsim.sim``) calls only :func:`make_crossbar` and the :class:`Crossbar` methods;
this package imports nothing from ``socsim.sim``. ``load_fitted(name)`` reads a fitted parameter
set from ``socsim/physics/fitted/<name>.toml``.
"""

from socsim.physics.fitted import fitted_sets, load_fitted
from socsim.physics.interface import Crossbar, ProgramReport
from socsim.physics.params import PhysicsParams
from socsim.physics.registry import crossbar_models, make_crossbar

__all__ = ["Crossbar", "ProgramReport", "PhysicsParams", "crossbar_models", "make_crossbar", "fitted_sets",
           "load_fitted"]
