"""Shared helpers for the physics tests: parameter sets built from nested overrides."""

from __future__ import annotations

from typing import Any

import pytest

from socsim.base.configtools import deep_merge, from_mapping
from socsim.physics import PhysicsParams, crossbar_models, make_crossbar

QUIET: dict[str, Any] = {
    "adc": {"kind": "ideal", "noise_lsb": 0.0},
    "read": {"noise_levels": 0.0},
    "write_verify": {"prog_error_levels": 0.0, "tolerance_levels": 0.01},
    "pulse": {"c2c_std": 0.0, "d2d_std": 0.0},
    "pcm": {"read_noise_scale": 0.0, "prog_noise_scale": 0.0, "drift": False, "binary_set_std_us": 0.0,
            "set_step_std": 0.0},
}
"""Every noise source off and an ideal converter."""


def make_params(model: str, *overrides: dict[str, Any]) -> PhysicsParams:
    """PhysicsParams for ``model`` with nested-dict ``overrides`` laid on in order."""
    data: dict[str, Any] = {"model": model}
    for over in overrides:
        data = deep_merge(data, over)
    return from_mapping(PhysicsParams, data, "tile.physics")


def build(model: str, *overrides: dict[str, Any], rows: int = 16, cols: int = 8, seed: int = 0):
    """A crossbar of ``model`` seeded ``seed`` (fabrication maps and counter-based draws)."""
    return make_crossbar(rows, cols, make_params(model, *overrides), seed)


@pytest.fixture(params=crossbar_models(), ids=lambda m: f"model={m}")
def model(request) -> str:
    """Every registered array model, one test each (a new model is tested once registered)."""
    return request.param
