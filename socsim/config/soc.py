"""SoC configuration: frozen dataclasses (meaning, units, ranges, sources) and preset loading.

Numbers live in ``socsim/presets/*.toml``; a preset names its ``base`` and changes only what
differs. ``load_config("wu2023")`` loads a preset by name, ``load_config("my.toml")`` a file.
See ``docs/config.md`` (generated from these dataclasses) for every field.

Here: the whole :class:`SocConfig` and its loader. Its parts live by job in :mod:`socsim.config.parts` (controller,
tiles, digital unit, memories, bus, DMA, DRAM), :mod:`socsim.config.energy_params` (energy table, technology scaling)
and :mod:`socsim.config.program_params` (training, compiler); every one of their names is importable from here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socsim.base.configtools import ConfigError, Params, deep_merge, from_mapping, param
from socsim.base.errors import InputError
from socsim.base.fileio import read_toml
from socsim.config.area_params import AreaTable
from socsim.config.energy_params import (
    HOROWITZ_SRAM,
    LEAKAGE_RULE,
    MAX_PJ,
    SRAM_BANKS,
    SRAM_WORD,
    EnergyTable,
    MvmPricing,
    TechConfig,
)
from socsim.config.parts import (
    HOROWITZ,
    MAX_TILES,
    WU,
    Arbitration,
    BusConfig,
    ControllerConfig,
    DigitalUnitConfig,
    DmaConfig,
    DramConfig,
    SramConfig,
    TileConfig,
)
from socsim.config.program_params import (
    ERROR_SCALINGS,
    CompilerConfig,
    Datapath,
    PlacementPolicy,
    RowBlocking,
    Scheme,
    Staging,
    TrainConfig,
)
from socsim.physics.fitted import fitted_path

__all__ = ["PRESET_DIR", "DEFAULT_PRESET", "SocConfig", "preset_names", "load_config", "ConfigError",
           # the parts, re-exported from the modules that own them
           "WU", "HOROWITZ", "MAX_TILES", "Arbitration", "ControllerConfig", "TileConfig", "DigitalUnitConfig",
           "SramConfig", "BusConfig", "DmaConfig", "DramConfig",
           "MAX_PJ", "MvmPricing", "HOROWITZ_SRAM", "SRAM_WORD", "SRAM_BANKS", "LEAKAGE_RULE", "TechConfig",
           "EnergyTable",
           "Scheme", "ERROR_SCALINGS", "TrainConfig", "RowBlocking", "PlacementPolicy", "Datapath", "Staging",
           "CompilerConfig"]

PRESET_DIR = Path(__file__).parent.parent / "presets"
DEFAULT_PRESET = "wu2023"


@dataclass(frozen=True)
class SocConfig(Params):
    """The whole SoC: composition of the parts above, the clock and the seed."""

    name: str = param("custom", doc="preset or design-point name")
    seed: int = param(0, lo=0, hi=(1 << 63) - 1, doc="seed of every random draw (device variation, noise)")
    clock_hz: float = param(100e6, unit="Hz", lo=1.0, hi=1e12, doc="controller, bus and tile clock", source=WU)
    controller: ControllerConfig = param(ControllerConfig())
    tiles: TileConfig = param(TileConfig())
    du: DigitalUnitConfig = param(DigitalUnitConfig())
    sram: SramConfig = param(SramConfig())
    bus: BusConfig = param(BusConfig())
    dma: DmaConfig = param(DmaConfig())
    dram: DramConfig = param(DramConfig())
    energy: EnergyTable = param(EnergyTable())
    tech: TechConfig = param(TechConfig(), doc="node, capacity, word-width and bank scaling of digital and memory "
                                                "energies, and node scaling of their area and leakage "
                                                "(docs/energy.md, docs/area.md)")
    area: AreaTable = param(AreaTable(), doc="area and leakage per component (docs/area.md)")
    train: TrainConfig = param(TrainConfig())
    compiler: CompilerConfig = param(CompilerConfig())

    def space_words(self) -> dict[str, int]:
        """Capacity in 32-bit words of each address space."""
        return {"dram": self.dram.capacity_mib * (1 << 20) // 4,
                "sram": self.controller.dmem_kbit * 1024 // 32,
                "acc": self.sram.acc_kbit * 1024 // 32,
                "tbuf": self.tiles.buffer_words}


def preset_names() -> list[str]:
    """Names of the shipped presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def _resolve(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESET_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError(f"unknown preset {name_or_path!r}; presets: {', '.join(preset_names())} "
                              "(or give a path to a .toml file)")
    data = _expand_fitted(read_toml(path, "config", ConfigError), str(path))
    base = data.pop("base", None)
    if base is None:
        return data, str(path)
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base: expected a preset name or file path, got {base!r}")
    if base in seen:
        raise ConfigError(f"{path}: base {base!r} forms a cycle: {' -> '.join(seen + (base,))}")
    if not Path(base).suffix or Path(base).is_absolute():
        parent, _ = _resolve(base, seen + (base,))
    else:
        parent, _ = _resolve(str(path.parent / base), seen + (base,))
    return deep_merge(parent, data), str(path)


def _expand_fitted(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``[tiles.physics] fitted = "NAME"`` stands for socsim/physics/fitted/NAME.toml, then the table's own keys."""
    tiles = data.get("tiles")
    physics = tiles.get("physics") if isinstance(tiles, dict) else None  # not a table: from_mapping names it
    if not isinstance(physics, dict) or "fitted" not in physics:
        return data
    name = physics.pop("fitted")
    try:
        path = fitted_path(name)
    except InputError as exc:
        raise ConfigError(f"{where}: tiles.physics.fitted: {exc}") from None
    data["tiles"]["physics"] = deep_merge(read_toml(path, "config", ConfigError), physics)
    return data


def load_config(name_or_path: str = DEFAULT_PRESET, overrides: dict[str, Any] | None = None) -> SocConfig:
    """Load a preset by name or a TOML file; ``overrides`` is a nested dict laid on top."""
    data, where = _resolve(name_or_path)
    if overrides:
        data = deep_merge(data, overrides)
    try:
        return from_mapping(SocConfig, data)
    except ConfigError as exc:
        raise ConfigError(exc.what, file=where, field=exc.field) from None
