"""Bad input is exit 2 with the file and field named, found before any work, never a traceback, a trap or a
silently wrong run: the cases of issue 16 (NaN in configs, dataset vs graph, huge sizes, damaged files, arguments)."""

from __future__ import annotations

import json
import re
import struct
import tomllib

import numpy as np
import pytest

import isa
from socsim.base.configtools import ConfigError, describe
from socsim.cli import main
from socsim.compiler.frontend.toml import loads_toml
from socsim.compiler.graph import GraphError
from socsim.compiler.mapping.table import CapacityError, mapping_table
from socsim.config.soc import SocConfig, load_config
from tests.reliability.conftest import ROOT

PROGRAMS = ROOT / "programs"
MLP = str(PROGRAMS / "mlp.toml")
FLOATS = [row["name"] for row in describe(SocConfig) if row["type"] == "float"]


def _exit2(argv: list[str], capsys) -> str:
    """Run ``socsim ARGV`` in this process; it must exit 2; returns stderr (no traceback in it)."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("socsim: error: ") and "Traceback" not in err, err
    return err


def _nest(dotted: str, value) -> dict:
    out: dict = {}
    node = out
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return out


# 3. NaN and inf in numeric fields -----------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_every_float_field_rejects_nan_and_inf(value):
    for dotted in FLOATS:
        with pytest.raises(ConfigError, match=rf"{dotted.split('.')[-1]}: expected a finite number"):
            load_config("wu2023", _nest(dotted, tomllib.loads(f"v = {value}")["v"]))


def test_nan_in_a_config_file_names_file_and_field(tmp_path, capsys):
    cfg = tmp_path / "nan.toml"
    cfg.write_text('base = "wu2023"\n[energy]\ndram_word_pj = nan\n')
    err = _exit2(["config", str(cfg)], capsys)
    assert f"{cfg}: energy.dram_word_pj: expected a finite number, got nan" in err


def test_a_table_given_as_a_number_is_named(tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text('base = "wu2023"\ntiles = 5\n')
    assert f"{cfg}: tiles: expected a table for TileConfig, got 5" in _exit2(["config", str(cfg)], capsys)


# 2. the dataset must fit the graph ------------------------------------------------------------------------
def test_dataset_of_another_shape_is_refused_naming_both_shapes(tmp_path, capsys):
    err = _exit2(["train", str(PROGRAMS / "lenet_wu2023.toml"), "--dataset", "digits", "--out",
                  str(tmp_path / "r"), "--quiet"], capsys)
    assert "dataset digits has images of shape [1, 8, 8]" in err and "takes input shape [1, 28, 28]" in err
    assert not (tmp_path / "r" / "metrics.csv").exists()


def test_graph_input_smaller_than_the_images_is_refused(tmp_path, capsys):
    """A [1, 4, 4] input with digits: 20480 words went into a 5120-word slot over the labels, exit 0 at chance."""
    graph = tmp_path / "small.toml"
    graph.write_text('[input]\nshape = [1, 4, 4]\n[[layer]]\ntype = "flatten"\n[[layer]]\ntype = "linear"\n'
                     'out_features = 10\n[[layer]]\ntype = "softmax_xent"\n')
    err = _exit2(["train", str(graph), "--dataset", "digits", "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert "[1, 8, 8]" in err and "[1, 4, 4]" in err


def test_labels_beyond_the_graph_classes_are_bad_input_not_a_trap(tmp_path, capsys):
    graph = tmp_path / "five.toml"
    graph.write_text((PROGRAMS / "mlp.toml").read_text().replace("out_features = 10", "out_features = 5"))
    err = _exit2(["train", str(graph), "--dataset", "digits", "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert "dataset digits has 10 classes" in err and "outputs 5 logits" in err


def test_host_writes_are_bounds_checked():
    from socsim.compiler import load_graph
    from socsim.host.data import load_dataset
    from socsim.host.training import ChipTrainer
    data = load_dataset("digits").subset(128, 64)
    trainer = ChipTrainer(load_graph(MLP), load_config("ideal", {"train": {"epochs": 1}}), data)
    labels = trainer.read("train_y")
    with pytest.raises(ValueError, match="host write of 8193 words into symbol 'train_x', which holds 8192"):
        trainer.write("train_x", np.ones(128 * 64 + 1))
    with pytest.raises(ValueError, match="host write of 63 words"):
        trainer.write("test_y", np.ones(63))
    np.testing.assert_array_equal(trainer.read("train_y"), labels)  # nothing spilled into the next symbol


def test_fewer_test_examples_than_a_microbatch_are_evaluated_not_refused():
    """One test image with a micro-batch of 32: the last (only) micro-batch is filled with blank images."""
    from socsim.compiler import load_graph
    from socsim.host.data import load_dataset
    from socsim.host.training import ChipTrainer
    data = load_dataset("digits").subset(128, 1)
    comp = ChipTrainer(load_graph(MLP), load_config("ideal", {"train": {"epochs": 1}}), data).compiled
    assert comp.test_examples == 1 and comp.padding == comp.test_slots - 1 == comp.microbatch - 1


def test_no_test_examples_fail_before_training():
    from socsim.compiler import load_graph
    from socsim.host.data import load_dataset
    from socsim.host.training import ChipTrainer
    data = load_dataset("digits").subset(128, 1)
    empty = type(data)(data.name, data.x_train, data.y_train, data.x_test[:0], data.y_test[:0], data.classes)
    with pytest.raises(ValueError, match="no test examples"):
        ChipTrainer(load_graph(MLP), load_config("ideal", {"train": {"epochs": 1}}), empty)


def test_a_microbatch_that_does_not_divide_the_batch_is_refused(tmp_path, capsys):
    """--microbatch 7 with a batch of 64 trained 63 images per batch with the gradient scaled for 64, exit 0."""
    err = _exit2(["train", MLP, "--dataset", "digits", "--train-examples", "128", "--test-examples", "64",
                  "--microbatch", "7", "--out", str(tmp_path / "r"), "--quiet"], capsys)
    assert "micro-batch 7 does not divide train.batch = 64: 1 image(s) of every batch would be left out" in err


def test_more_examples_than_the_dataset_has_is_refused(tmp_path, capsys):
    err = _exit2(["train", MLP, "--dataset", "digits", "--train-examples", "5000", "--out", str(tmp_path / "r")],
                 capsys)
    assert "dataset digits: 5000 training examples asked for; it has 1437" in err


ARGUMENTS = {
    "--test-examples 0": ["train", MLP, "--test-examples", "0"],
    "--train-examples -5": ["train", MLP, "--train-examples", "-5"],
    "--microbatch 0": ["train", MLP, "--microbatch", "0"],
    "--trace-cycles 0": ["train", MLP, "--trace", "--trace-cycles", "0"],
    "--epochs 0": ["train", MLP, "--epochs", "0"],
    "--workers 0": ["sweep", "x.toml", "--workers", "0"],
    "run --trace-cycles 0": ["run", "x.s", "--trace-cycles", "0"],
    "run --max-cycles -1": ["run", "x.s", "--max-cycles", "-1"],
    "run --timeout nan": ["run", "x.s", "--timeout", "nan"],
    "compile --test-examples 0": ["compile", MLP, "--test-examples", "0"],
}


@pytest.mark.parametrize("argv", ARGUMENTS.values(), ids=ARGUMENTS.keys())
def test_bad_arguments_are_refused_before_anything_runs(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err


def test_drift_times_must_be_finite(capsys):
    with pytest.raises(ValueError, match="finite times"):
        from socsim.cli.drift import parse_times
        parse_times("1,inf")


# 6. tiny files, huge costs --------------------------------------------------------------------------------
BIG = {
    "huge shift": (".equ N 1<<99999999999\n    halt\n", "1:8: integer '1<<99999999999' shifts by 99999999999"),
    "huge product": (".equ A 1<<62\n.equ B A*A*A\n    halt\n", "2:8: integer 'A*A*A' reaches 2^124 or more"),
    "200k terms": (".equ N " + "+".join(["1"] * 200_000) + "\n    halt\n", "1:8: integer expression of 399999 "
                   "characters"),
    "deep nesting": (".equ N " + "(" * 300 + "1" + ")" * 300 + "\n    halt\n", "1:8: bad integer"),
}


@pytest.mark.parametrize("text, message", BIG.values(), ids=BIG.keys())
def test_expressions_are_bounded(text, message):
    with pytest.raises(isa.IsaError) as info:
        isa.assemble(text, "big.s")
    assert str(info.value).startswith(f"big.s:{message}"), str(info.value)


def test_huge_layers_are_refused_at_load_and_at_mapping():
    head = '[input]\nshape = [{n}]\n[[layer]]\ntype = "linear"\nout_features = {m}\n[[layer]]\ntype = "softmax_xent"\n'
    with pytest.raises(GraphError, match=r"out_features = 100000000000 is out of range; allowed <= 16777216"):
        loads_toml(head.format(n=4, m=100_000_000_000), "g.toml")
    with pytest.raises(GraphError, match="weight matrix 65536 x 16777216 exceeds"):
        loads_toml(head.format(n=65536, m=16777216), "g.toml")
    graph = loads_toml(head.format(n=16384, m=65536), "g.toml")  # 2^30 weights: 524288 crossbars of 64 x 32
    with pytest.raises(CapacityError, match="524288 crossbars of 64 x 32, more than the 262144 socsim maps"):
        mapping_table(graph, load_config("wu2023"))


def test_a_1_tib_dram_is_mapped_lazily_and_runs_the_same(tmp_path, capsys):
    from socsim.sim import Soc
    program = isa.assemble_file(PROGRAMS / "mlp_infer.s")
    big = Soc.from_config(load_config("wu2023", {"dram": {"capacity_mib": 1 << 20}})).run(program)
    small = Soc.from_config(load_config("wu2023")).run(program)
    assert big.cycles == small.cycles and big.energy_pj == small.energy_pj
    np.testing.assert_array_equal(big.outputs["pred"], small.outputs["pred"])


# 8. decode errors name the file ------------------------------------------------------------------------
def test_undecodable_text_names_the_file_and_line(tmp_path, capsys):
    prog = tmp_path / "p.s"
    prog.write_bytes(b"    halt\n    nop \xc3\x28\n")
    assert f"{prog}:2:9: not UTF-8 text" in _exit2(["run", str(prog)], capsys)
    for name, argv in (("c.toml", ["config"]), ("g.toml", ["compile"]), ("s.toml", ["sweep"])):
        path = tmp_path / name
        path.write_bytes(b'name = "\xff"\n')
        err = _exit2([*argv, str(path)], capsys)
        assert err.startswith(f"socsim: error: {path}: ") and "not UTF-8 text" in err, err


def test_damaged_gzip_names_the_file(tmp_path, capsys):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / f"{name}.gz").write_bytes(b"\x1f\x8b\x08\x00cut")
    err = _exit2(["train", str(PROGRAMS / "lenet5.toml"), "--dataset", "mnist", "--data-path", str(tmp_path),
                  "--out", str(tmp_path / "r")], capsys)
    assert f"{tmp_path / 'train-images-idx3-ubyte.gz'}: damaged gzip data" in err


def _binary_with_meta(edit) -> bytes:
    """mlp_infer's binary with its metadata JSON edited, and a valid checksum (crafted, not damaged)."""
    blob = isa.encode(isa.assemble((PROGRAMS / "mlp_infer.s").read_text(), "m.s"))
    (n,) = struct.unpack_from("<I", blob, 8)
    off = 12 + 4 * n
    (m,) = struct.unpack_from("<I", blob, off)
    meta = json.loads(blob[off + 4:off + 4 + m])
    edit(meta)
    text = json.dumps(meta).encode()
    return isa.encoding.seal(blob[:off] + struct.pack("<I", len(text)) + text)


META = {
    "size a string": (lambda m: m["symbols"][0].update(size="64"), "symbols[0].size: expected int"),
    "values a number": (lambda m: m["symbols"][0]["init"].update(values=3), "symbols[0].init.values: expected list"),
    "labels to strings": (lambda m: m.update(labels={"loop": "x"}), "labels.loop: expected int"),
    "uniform upside down": (lambda m: m["symbols"][0]["init"].update(kind="uniform", a=1.0, b=0.0),
                            "uniform low bound 1.0 is above the high bound 0.0"),
}


@pytest.mark.parametrize("edit, message", META.values(), ids=META.keys())
def test_binary_metadata_of_the_wrong_types_names_the_file(tmp_path, capsys, edit, message):
    path = tmp_path / "p.bin"
    path.write_bytes(_binary_with_meta(edit))
    err = _exit2(["run", str(path)], capsys)
    assert err.startswith(f"socsim: error: {path}: ") and message in err


def test_uniform_low_above_high_is_bad_input_not_a_trap(tmp_path, capsys):
    prog = tmp_path / "u.s"
    prog.write_text(".sym a dram 16 uniform 1 0 3\n    halt\n")
    assert f"{prog}:1:24: uniform 1 0: the low bound is above the high bound" in _exit2(["run", str(prog)], capsys)


# 8. damaged run folders in report / compare --------------------------------------------------------------
def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


DAMAGE = {
    "truncated conductances.npz": (lambda d: _truncate(d / "conductances.npz"), "conductances.npz: not a readable"),
    "metrics.csv without epoch": (lambda d: (d / "metrics.csv").write_text("test_accuracy\n0.5\n"),
                                  "metrics.csv: missing column(s) epoch"),
    "metrics.csv with text": (lambda d: (d / "metrics.csv").write_text(
        (d / "metrics.csv").read_text().replace("\n1,", "\nx,", 1)), "metrics.csv: column epoch holds 'x'"),
    "config.json a list": (lambda d: (d / "config.json").write_text("[1]"), "config.json: expected a JSON object"),
    "config.json bad field": (lambda d: (d / "config.json").write_text('{"tiles": 5}'), "config.json: tiles: "),
    "run.json extra key": (lambda d: (d / "run.json").write_text(
        json.dumps({**json.loads((d / "run.json").read_text()), "x": 1})), "run.json: unknown key 'x'"),
    "trace.json garbage": (lambda d: (d / "trace.json").write_text('{"traceEvents": 3}'), "trace.json: not a trace"),
}


@pytest.mark.parametrize("command", ["report", "compare"])
@pytest.mark.parametrize("damage, message", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_run_folder_in_report_and_compare_names_the_file(run_copy, tmp_path, capsys, command, damage,
                                                                 message):
    damage(run_copy)
    argv = ["report", str(run_copy)] if command == "report" else ["compare", str(run_copy), "-o",
                                                                  str(tmp_path / "c.html")]
    err = _exit2(argv, capsys)
    assert f"{run_copy}" in err and message in err
    assert not (run_copy / "report.html").exists() and not (tmp_path / "c.html").exists()


FOUND = {
    # energy.dac_pulse_pj = 1e308 was in range [0, inf]: the run's energy summed to inf, exit 0
    "energy price past 1 J": ({"energy": {"dac_pulse_pj": 1e308}}, "energy.dac_pulse_pj = 1e+308 pJ is out"),
    # write_verify.v_stop_v = 9.2e17 V: a ramp of 9e18 pulses, OverflowError inside the write-verify kernel
    "ramp of 9e18 pulses": ({"tiles": {"physics": {"write_verify": {"v_stop_v": 9.2e17}}}}, "v_stop_v = 9.2e+17 V"),
    # adc.i_max_ua = 1.7e156 had no bound at all: OverflowError squaring the converter's noise
    "ADC range of 1e156 uA": ({"tiles": {"physics": {"adc": {"i_max_ua": 1.7e156}}}}, "allowed [-1e+15, 1e+15]"),
    "ramp of 1e6 pulses": ({"tiles": {"physics": {"write_verify": {"v_step_v": 1e-3, "v_stop_v": 10.0,
                                                                   "v_start_v": 0.0}}}}, "at most 10000"),
}


@pytest.mark.parametrize("override, message", FOUND.values(), ids=FOUND.keys())
def test_values_the_run_fuzzer_found(override, message):
    """Meaningless values that gave an infinite result or a traceback (found by tests/reliability/test_fuzz_runs)."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config("wu2023", override)
