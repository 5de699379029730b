"""Fitted parameter sets, one TOML table per paper, loadable as ``tile.physics``."""

from __future__ import annotations

import tomllib
from pathlib import Path

from socsim.base.configtools import from_mapping
from socsim.base.errors import InputError
from socsim.physics.params import PhysicsParams

_DIR = Path(__file__).parent


def fitted_sets() -> list[str]:
    """Names of the fitted parameter files (without .toml)."""
    return sorted(p.stem for p in _DIR.glob("*.toml"))


def fitted_path(name: str) -> Path:
    """Path of ``fitted/<name>.toml``; an unknown name is an InputError listing the valid ones."""
    path = _DIR / f"{name}.toml"
    if name not in fitted_sets():  # a name, never a path: "../../x" does not leave fitted/
        raise InputError(f"unknown fitted parameter set {name!r}; valid: {', '.join(fitted_sets())}")
    return path


def load_fitted(name: str) -> PhysicsParams:
    """Load ``fitted/<name>.toml`` as PhysicsParams; an unknown name lists the valid ones."""
    with fitted_path(name).open("rb") as fh:
        return from_mapping(PhysicsParams, tomllib.load(fh), "tile.physics")
