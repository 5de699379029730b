"""The sweep file: parsing, expansion, keys, and errors that name the file, the point and the field."""

from __future__ import annotations

import tomllib

import pytest

from socsim.base.configtools import dumps_toml, from_mapping, to_mapping
from socsim.config.soc import SocConfig, load_config, preset_names
from socsim.sweep import SweepError, expand, load_sweep
from tests.sweep.conftest import MLP, PROGRAM_SWEEP, ROOT, TRAIN_SWEEP, write_sweep


def test_grid_then_points_in_order(program_sweep):
    spec = load_sweep(program_sweep)
    points = expand(spec)
    assert [p.values for p in points] == [
        {"du.lanes": 4, "du.startup_cycles": 4}, {"du.lanes": 4, "du.startup_cycles": 40},
        {"du.lanes": 16, "du.startup_cycles": 4}, {"du.lanes": 16, "du.startup_cycles": 40},
        {"du.lanes": 64}]
    assert [p.index for p in points] == list(range(5))
    assert points[4].value("du.startup_cycles") == load_config("wu2023").du.startup_cycles
    assert spec.fields == ["du.lanes", "du.startup_cycles"]
    assert len({p.key for p in points}) == 5


def test_keys_are_stable_and_follow_the_resolved_config(tmp_path):
    a = expand(load_sweep(write_sweep(tmp_path, TRAIN_SWEEP, "a.toml")))
    b = expand(load_sweep(write_sweep(tmp_path, TRAIN_SWEEP, "b.toml")))
    assert [p.key for p in a] == [p.key for p in b]
    # the same point spelled through [set] has the same key; a different epoch count does not
    c = expand(load_sweep(write_sweep(tmp_path, TRAIN_SWEEP.replace("[grid]", "[set]\nseed = 1\n[grid]")
                                      .replace("seed = [0, 1]", ""), "c.toml")))
    assert c[0].key == a[1].key
    d = expand(load_sweep(write_sweep(tmp_path, TRAIN_SWEEP.replace("epochs = 1", "epochs = 2"), "d.toml")))
    assert not {p.key for p in d} & {p.key for p in a}


def test_explicit_point_equal_to_a_grid_point_runs_once(tmp_path):
    text = PROGRAM_SWEEP.replace('"du.lanes" = 64', '"du.lanes" = 4\n"du.startup_cycles" = 40')
    assert len(expand(load_sweep(write_sweep(tmp_path, text)))) == 4


def test_linked_axis_moves_fields_together(tmp_path):
    text = TRAIN_SWEEP.split("[grid]")[0] + """[grid]
seed = [0, 1]
adc = [
  { "tiles.physics.adc.bits" = 4, "tiles.physics.adc.noise_lsb" = 0.5 },
  { "tiles.physics.adc.bits" = 6, "tiles.physics.adc.noise_lsb" = 1.0 },
  { "tiles.physics.adc.bits" = 8, "tiles.physics.adc.noise_lsb" = 2.0 },
]
"""
    spec = load_sweep(write_sweep(tmp_path, text))
    points = expand(spec)
    assert len(points) == 6
    assert {(p.value("tiles.physics.adc.bits"), p.value("tiles.physics.adc.noise_lsb")) for p in points} == {
        (4, 0.5), (6, 1.0), (8, 2.0)}
    assert spec.fields == ["seed", "tiles.physics.adc.bits", "tiles.physics.adc.noise_lsb"]


def test_nested_and_quoted_spellings_are_the_same(tmp_path):
    nested = PROGRAM_SWEEP.replace('du.lanes = [4, 16]', '[grid.du]\nlanes = [4, 16]\n'
                                   'startup_cycles = [4, 40]').replace('"du.startup_cycles" = [4, 40]', "")
    nested = nested.replace("[grid]\n", "")
    assert [p.key for p in expand(load_sweep(write_sweep(tmp_path, nested)))] == \
        [p.key for p in expand(load_sweep(write_sweep(tmp_path, PROGRAM_SWEEP, "q.toml")))]


BAD_PATHS = {
    # id: (replacement of the grid line, fragments the message must hold)
    "unknown leaf": ('"tiles.physics.adc.bitz" = [4]', ["[grid]", "tiles.physics.adc.bitz", "unknown field 'bitz'",
                                                         "bits"]),
    "unknown table": ('"tile.rows" = [4]', ["[grid]", "tile.rows", "unknown field 'tile'", "tiles"]),
    "table not leaf": ('"tiles.physics" = [4]', ["tiles.physics", "is a table", "model"]),
    "below a leaf": ('"seed.value" = [4]', ["seed.value", "seed is a value"]),
    "not a list": ('"seed" = 4', ["[grid] seed", "non-empty list"]),
    "empty list": ('"seed" = []', ["[grid] seed", "non-empty list"]),
}


@pytest.mark.parametrize("line, fragments", BAD_PATHS.values(), ids=BAD_PATHS.keys())
def test_bad_dotted_path_names_file_and_field(tmp_path, line, fragments):
    path = write_sweep(tmp_path, TRAIN_SWEEP.replace("seed = [0, 1]", line))
    with pytest.raises(SweepError) as err:
        load_sweep(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in msg


BAD_VALUES = {
    "out of range": ('"tiles.physics.adc.bits" = [8, 40]', "point 1 (tiles.physics.adc.bits=40, seed=0)",
                     ["tiles.physics.adc.bits = 40", "out of range", "[1, 16]"]),
    "wrong type": ('"tiles.physics.adc.bits" = [8, "many"]', "point 1 (tiles.physics.adc.bits='many', seed=0)",
                   ["tiles.physics.adc.bits", "expected an integer", "'many'"]),
    "bad enum": ('"train.scheme" = ["wu2023", "magic"]', "point 1 (train.scheme='magic', seed=0)",
                 ["train.scheme", "magic", "wu2023"]),
    "cross-field": ('"tiles.physics.adc.i_max_ua" = [-5.0]', "point 0 (tiles.physics.adc.i_max_ua=-5.0, seed=0)",
                    ["i_max_ua", "must exceed"]),
}


@pytest.mark.parametrize("line, point, fragments", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_value_names_file_point_and_field(tmp_path, line, point, fragments):
    path = write_sweep(tmp_path, TRAIN_SWEEP.replace('"tiles.physics.adc.bits" = [4, 8]', line)
                       .replace("seed = [0, 1]", "seed = [0]"))
    spec = load_sweep(path)
    with pytest.raises(SweepError) as err:
        expand(spec)
    msg = str(err.value)
    assert msg.startswith(f"{path}: {point}: "), msg
    for fragment in fragments:
        assert fragment in msg
    assert "presets/wu2023.toml" not in msg  # the value came from the sweep, not the preset


BAD_FILES = {
    "unknown top key": ("[grid]", "[grids]", "grids: unknown key"),
    "no job": (f'kind = "train"\ngraph = "{MLP}"', "", "kind: expected one of train, program"),
    "bad kind": ('kind = "train"', 'kind = "simulate"', "kind: expected one of train, program, infer, got 'simulate'"),
    "missing graph file": (f'graph = "{MLP}"', 'graph = "nope.toml"', "[job] graph: file"),
    "bad dataset": ('dataset = "digits"', 'dataset = "imagenet"', "unknown dataset 'imagenet'"),
    "bad epochs": ("epochs = 1", "epochs = 0", "[job] epochs: expected a positive integer"),
    "program key in a train job": ("epochs = 1", 'program = "x.s"', "[job] program: unknown key for kind 'train'"),
    "epochs twice": ("seed = [0, 1]", "train.epochs = [1, 2]", "train.epochs is swept"),
    "bad figure column": ("[grid]", '[[figure]]\nx = "energy_pj"\ny = "test_accuracy"\n[grid]',
                          "x = 'energy_pj' is not a column"),
    "bad figure goal": ("[grid]", '[[figure]]\nx = "seed"\ny = "test_accuracy"\ny_goal = "up"\n[grid]',
                        "y_goal: expected min or max"),
    "not toml": ("[grid]", "[grid", "not valid TOML"),
}


@pytest.mark.parametrize("old, new, fragment", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_sweep_file_is_named(tmp_path, old, new, fragment):
    assert old in TRAIN_SWEEP
    path = write_sweep(tmp_path, TRAIN_SWEEP.replace(old, new))
    with pytest.raises(SweepError) as err:
        load_sweep(path)
    assert str(err.value).startswith(str(path)) and fragment in str(err.value), str(err.value)


def test_bad_program_is_reported_with_its_line(tmp_path):
    prog = tmp_path / "bad.s"
    prog.write_text("    halt\n    frob x1\n")
    path = write_sweep(tmp_path, PROGRAM_SWEEP.replace(str(ROOT / "programs" / "vector_ops.s"), "bad.s"))
    with pytest.raises(SweepError, match=r"\[job\]: .*bad.s:2:5: unknown instruction 'frob'"):
        load_sweep(path)


@pytest.mark.parametrize("preset", preset_names())
def test_point_config_toml_round_trips(preset):
    """Each point's config.toml (configtools.dumps_toml) loads back to the identical config."""
    cfg = load_config(preset)
    text = dumps_toml(to_mapping(cfg), header="test")
    assert from_mapping(SocConfig, tomllib.loads(text)) == cfg


@pytest.mark.parametrize("path", sorted((ROOT / "programs" / "sweeps").glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_sweeps_load(path):
    points = expand(load_sweep(path))
    assert len(points) >= 2 and len({p.key for p in points}) == len(points)
