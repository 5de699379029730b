"""Config loading: presets, inheritance, and errors that name the field and the allowed range."""

from __future__ import annotations

import pytest

from socsim.base.configtools import ConfigError
from socsim.config.soc import Arbitration, SocConfig, load_config, preset_names


def test_default_preset_is_wu2023_with_paper_values():
    cfg = load_config()
    assert cfg.name == "wu2023"
    assert cfg.clock_hz == 100e6
    assert (cfg.tiles.count, cfg.tiles.rows, cfg.tiles.bitlines, cfg.tiles.weight_cols) == (4, 64, 64, 32)
    assert cfg.tiles.adcs == 8
    assert cfg.controller.imem_kbit == 32 and cfg.controller.dmem_kbit == 512


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads(name):
    assert isinstance(load_config(name), SocConfig)


def test_preset_inherits_from_its_base():
    ideal, wu = load_config("ideal"), load_config("wu2023")
    assert ideal.name == "ideal" and ideal.tiles.transposed_mvm and not wu.tiles.transposed_mvm
    assert ideal.energy == wu.energy


def test_unknown_field_is_named_with_the_valid_ones(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('base = "wu2023"\n[tiles]\ncolumns = 3\n')
    with pytest.raises(ConfigError, match=r"c\.toml: tiles\.columns: unknown field; TileConfig has: .*bitlines"):
        load_config(str(f))


def test_out_of_range_field_names_the_range(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('base = "wu2023"\n[tiles]\ncount = 0\n')
    with pytest.raises(ConfigError, match=r"tiles\.count = 0 tiles is out of range; allowed \[1, 2048\]"):
        load_config(str(f))


def test_wrong_type_and_enum_names(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[bus]\narbitration = "lottery"\n')
    with pytest.raises(ConfigError, match=r"bus\.arbitration: expected one of \['fifo', 'priority'\]"):
        load_config(str(f))
    f.write_text('[bus]\narbitration = "priority"\nwidth_bytes = "wide"\n')
    with pytest.raises(ConfigError, match=r"bus\.width_bytes: expected an integer, got 'wide'"):
        load_config(str(f))
    f.write_text('[bus]\narbitration = "priority"\n')
    assert load_config(str(f)).bus.arbitration is Arbitration.PRIORITY


def test_unknown_preset_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'nope'; presets: .*wu2023"):
        load_config("nope")
    f = tmp_path / "bad.toml"
    f.write_text("[tiles\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_config(str(f))


def test_cross_field_check(tmp_path):
    with pytest.raises(ConfigError, match="bitlines = 63 must be even"):
        load_config("wu2023", {"tiles": {"bitlines": 63}})


def test_base_cycle_is_an_error(tmp_path):
    (tmp_path / "a.toml").write_text('base = "b.toml"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\n')
    with pytest.raises(ConfigError, match="forms a cycle"):
        load_config(str(tmp_path / "a.toml"))


def test_single_ended_arrays_are_refused_where_the_model_reads_pairs():
    """differential = false would halve the priced bit lines while every device model still reads G+/G- pairs."""
    with pytest.raises(ConfigError, match="differential = false: the array model 'rram_wv' stores each weight as "
                                          "G\\+/G- pairs"):
        load_config("wu2023", {"tiles": {"differential": False}})
    ideal = load_config("ideal", {"tiles": {"differential": False}})
    assert ideal.tiles.devices_per_weight == 1 and ideal.tiles.weight_cols == 64
