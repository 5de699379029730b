"""Parameter tables: errors name the field, fitted sets load and cite their sources."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from socsim.base.configtools import ConfigError, describe, from_mapping
from socsim.base.errors import InputError
from socsim.physics import PhysicsParams, crossbar_models, fitted_sets, load_fitted, make_crossbar
from socsim.physics.adc import adc_class, adc_models
from socsim.physics.fitted import fitted_path
from socsim.physics.flat import flatten
from socsim.physics.registry import model_class

FITTED = Path(__file__).resolve().parents[2] / "socsim" / "physics" / "fitted"


@pytest.mark.parametrize("data, where", [
    ({"adc": {"bits": 40}}, "tile.physics.adc.bits = 40 bit is out of range"),
    ({"adc": {"kind": "flash"}}, "tile.physics.adc.kind = 'flash' is unknown; valid: bwmcs, ideal, shift"),
    ({"adc": {"i_min_ua": 5.0, "i_max_ua": 1.0}}, "tile.physics.adc.i_max_ua = 1.0 uA must exceed"),
    ({"device": {"g_min_us": 40.0}}, "tile.physics.device.g_max_us = 31.3 uS must exceed"),
    ({"device": {"levels": 1}}, "tile.physics.device.levels = 1 stores nothing"),
    ({"dac": {"levels_per_pulse": 3}}, "tile.physics.dac.levels_per_pulse = 3 must be a power of two"),
    ({"dac": {"signed_mode": "offset"}}, "tile.physics.dac.signed_mode: expected one of"),
    ({"write_verify": {"max_trials": 0}}, "tile.physics.write_verify.max_trials = 0 trials is out of range"),
    ({"pcm": {"g_reset_us": 30.0}}, "tile.physics.pcm.g_reset_us = 30.0 uS must be below"),
    ({"pulse": {"nl_ltp": "big"}}, "tile.physics.pulse.nl_ltp: expected a number"),
    ({"device": {"g_min": 1.0}}, "tile.physics.device.g_min: unknown field; DeviceParams has:"),
    ({"model": "mram"}, "tile.physics.model = 'mram' is unknown; valid models: ideal, pcm_hic"),
], ids=lambda v: v.split(" ")[0] if isinstance(v, str) else "")
def test_config_errors_name_the_field(data, where):
    with pytest.raises(ConfigError) as exc:
        from_mapping(PhysicsParams, data, "tile.physics")
    assert where in str(exc.value)


def test_existing_fields_and_default_are_kept():
    p = PhysicsParams()
    assert (p.model, p.w_max, p.dw_per_pulse) == ("ideal", 1.0, 0.01)


@pytest.mark.parametrize("name", fitted_sets(), ids=lambda n: f"fitted={n}")
def test_fitted_set_loads_builds_and_cites_every_value(name):
    p = load_fitted(name)
    flatten(p)
    xb = make_crossbar(16, 8, p, 0)
    xb.load_weights(np.zeros((16, 8), np.float32), 0, 0, 0.0)
    text = (FITTED / f"{name}.toml").read_text()
    with open(FITTED / f"{name}.toml", "rb") as fh:
        assert from_mapping(PhysicsParams, tomllib.load(fh), "tile.physics") == p
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" in line, f"{name}.toml: value without a source comment: {line!r}"


def test_fitted_sets_cover_the_papers():
    assert {"rram_wu2023", "rram_wu2023_16level", "pcm_joshi2021", "radix4_grimm2024",
            "radix4_digits"} <= set(fitted_sets())
    lenet = load_fitted("rram_wu2023").device
    assert (lenet.levels, lenet.g_min_us, lenet.g_max_us) == (4, 8.2, 32.9)
    with pytest.raises(InputError, match="valid: pcm_joshi2021"):
        load_fitted("nope")


def test_a_users_unknown_name_is_an_input_error_and_an_internal_slip_a_plain_one():
    """Names a config or a caller gives (an array model, an ADC kind, a fitted set) are refused as bad input, with
    the message naming the valid ones; a shape the simulator itself got wrong stays a plain ValueError (a bug)."""
    with pytest.raises(InputError) as info:
        model_class(SimpleNamespace(model="mram"))
    assert str(info.value) == f"unknown crossbar model 'mram'; valid: {', '.join(crossbar_models())}"
    with pytest.raises(InputError) as info:
        adc_class("flash")
    assert str(info.value) == f"unknown ADC model 'flash'; valid: {', '.join(adc_models())}"
    with pytest.raises(InputError) as info:
        fitted_path("../params")
    assert str(info.value) == f"unknown fitted parameter set '../params'; valid: {', '.join(fitted_sets())}"
    for bug in (lambda: make_crossbar(0, 8, PhysicsParams(model="rram_wv"), 0),
                lambda: make_crossbar(4, 4, PhysicsParams(model="rram_wv"), 0).write_verify(
                    np.zeros((2, 2)), np.ones((2, 3), bool), 0, 0, 0.0)):
        with pytest.raises(ValueError) as info:
            bug()
        assert not isinstance(info.value, InputError), info.value


def test_every_parameter_has_a_doc_and_nested_ones_a_source():
    rows = describe(PhysicsParams)
    assert len(rows) > 40
    for row in rows:
        assert row["doc"], f"{row['name']} has no doc"
        if "." in row["name"]:
            assert row["source"], f"{row['name']} has no source"


def test_docs_page_lists_every_parameter_model_and_adc():
    from socsim.physics import crossbar_models
    from socsim.physics.adc import adc_models
    text = (Path(__file__).resolve().parents[2] / "docs" / "physics.md").read_text()
    for row in describe(PhysicsParams):
        assert f"| `{row['name']}` |" in text, f"docs/physics.md misses parameter {row['name']}"
    for name in crossbar_models() + adc_models():
        assert f"`{name}`" in text
    assert "## Adding a new array model / ADC model" in text
