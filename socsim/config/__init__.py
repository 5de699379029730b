"""The SoC's configuration (the layer above the physics): the frozen config dataclasses and preset loading
(:mod:`socsim.config.soc`; the parts' dataclasses by job in :mod:`~socsim.config.parts`,
:mod:`~socsim.config.energy_params` and :mod:`~socsim.config.program_params`), the priced area table
(:mod:`socsim.config.area_params`); the presets are TOML files in ``socsim/presets/``.

The names users import from ``socsim.config`` (docs/api.md) are handed on here."""

from socsim.config.soc import SocConfig, TrainConfig, load_config, preset_names

__all__ = ["SocConfig", "TrainConfig", "load_config", "preset_names"]
