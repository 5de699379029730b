"""A run folder is a trust boundary: tampered, truncated or hostile files get one clear error (exit 2, the file and
field named, no traceback), nothing is written outside its place, every writer takes the folder's lock, and every
reader is bounded. Each test is a minimal repro of a case found by a hostile round."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper

import socsim
from socsim.base import fileio
from socsim.base.fileio import MAX_NESTING, clean_temporaries, read_gzip, read_json, write_text
from socsim.base.locks import FolderBusy, FolderLock
from socsim.cli import main
from socsim.compiler.frontend.onnx import load_onnx
from socsim.compiler.graph import GraphError
from socsim.config.soc import ConfigError, load_config
from socsim.runfolder.checkpoint import load_checkpoint, write_checkpoint
from socsim.runfolder.files import CHECKPOINT, CONDUCTANCES, CONFIG, LEDGER, MAPPING, METRICS, RUN_ARGS, run_files
from tests.reliability.conftest import ROOT
from tests.sweep.conftest import PROGRAM_SWEEP, sweep_cli, write_sweep

MLP = str(ROOT / "programs" / "mlp.toml")
VECTOR_OPS = str(ROOT / "programs" / "vector_ops.s")


def cli(capsys, *argv: str) -> tuple[int, str]:
    """Exit status (argparse errors included) and stderr of ``socsim ARGV``; a traceback fails the test."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# ---- writes only where meant ----------------------------------------------------------------------------------
def test_a_lock_file_planted_as_a_link_is_refused_and_its_target_untouched(run_copy, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (run_copy / ".lock").symlink_to(victim)
    code, err = cli(capsys, "drift", str(run_copy), "--after", "1", "--quiet")
    assert code == 2 and "lock file is a symbolic link" in err
    assert victim.read_text() == "precious\n"
    with pytest.raises(ValueError, match="symbolic link"):
        FolderLock(run_copy).__enter__()


@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder"])
def test_outputs_never_replace_a_link_a_fifo_or_a_folder(tmp_path, capsys, kind):
    target = tmp_path / "out.json"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    if kind == "fifo":
        fifo(target)
    elif kind == "symlink":
        target.symlink_to(victim)
    else:
        target.mkdir()
    for option in ("--json", "--ledger", "--trace"):
        start = time.monotonic()
        code, err = cli(capsys, "run", VECTOR_OPS, "--config", "ideal", option, str(target))
        assert code == 2 and str(target) in err and "socsim writes only regular files" in err
        assert time.monotonic() - start < 5  # refused at once, not blocked on the FIFO
    assert victim.read_text() == "precious\n"
    assert os.path.islink(target) == (kind == "symlink")
    with pytest.raises(ValueError, match="regular files"):
        write_text(target, "x")


def test_character_devices_are_refused_as_outputs(capsys):
    code, err = cli(capsys, "run", VECTOR_OPS, "--config", "ideal", "--json", "/dev/null")
    assert code == 2 and "/dev/null: is a character device" in err


def test_temporaries_are_only_the_names_socsim_makes(tmp_path):
    (tmp_path / ".notes.tmp-draft").write_text("a user's file")
    (tmp_path / ".metrics.csv.tmp-socsim-abcd1234").write_text("left by a kill")
    assert [p.name for p in clean_temporaries(tmp_path)] == [".metrics.csv.tmp-socsim-abcd1234"]
    assert (tmp_path / ".notes.tmp-draft").read_text() == "a user's file"
    assert ".notes.tmp-draft" not in run_files(tmp_path)


@pytest.mark.parametrize("option,name", [("-o", METRICS), ("--csv", CHECKPOINT), ("--csv", RUN_ARGS)])
def test_compare_refuses_to_write_over_a_run_folder_file(run_copy, capsys, option, name):
    before = (run_copy / name).read_bytes()
    argv = ["compare", str(run_copy), "-o", str(run_copy.parent / "c.html")]
    code, err = cli(capsys, *argv, option, str(run_copy / name)) if option == "--csv" else \
        cli(capsys, "compare", str(run_copy), "-o", str(run_copy / name))
    assert code == 2 and f"{run_copy / name}: a file of the run folder" in err
    assert (run_copy / name).read_bytes() == before


def test_report_output_may_not_replace_another_run_file(run_copy, capsys):
    code, err = cli(capsys, "report", str(run_copy), "-o", str(run_copy / CONFIG))
    assert code == 2 and "a file of the run folder" in err


def test_a_sweep_refuses_the_results_folder_of_another_sweep_unless_forced(tmp_path):
    out = tmp_path / "results"
    first = write_sweep(tmp_path, PROGRAM_SWEEP.replace("[[point]]\n\"du.lanes\" = 64\n", "")
                        .replace("du.lanes = [4, 16]", "du.lanes = [4]").replace("[4, 40]", "[4]"), "a.toml")
    assert sweep_cli(str(first), "--out", str(out), "--workers", "1", "--no-figures")[0] == 0
    rows = (out / "results.csv").read_text()
    other = write_sweep(tmp_path, first.read_text().replace('name = "vec"', 'name = "other"'), "b.toml")
    with pytest.raises(ValueError, match="holds sweep 'vec', not 'other'.*--force"):
        sweep_cli(str(other), "--out", str(out), "--workers", "1", "--no-figures")
    assert (out / "results.csv").read_text() == rows
    # the sweep file's own 'out' is checked the same way
    with_out = write_sweep(tmp_path, f'out = "{out}"\n' + other.read_text(), "c.toml")
    with pytest.raises(ValueError, match="holds sweep 'vec'"):
        sweep_cli(str(with_out), "--workers", "1", "--no-figures")
    assert sweep_cli(str(other), "--out", str(out), "--workers", "1", "--no-figures", "--force")[0] == 0
    assert json.loads((out / "sweep.json").read_text()) == {"name": "other"}


# ---- every writer locks ---------------------------------------------------------------------------------------
def test_drift_infer_and_the_api_take_the_run_folders_lock(run_copy, capsys):
    with FolderLock(run_copy, "run folder"):
        code, err = cli(capsys, "drift", str(run_copy), "--after", "1", "--quiet")
        assert code == 2 and "in use by another socsim process" in err
        code, err = cli(capsys, "infer", "--weights", str(run_copy), "--images", "32")
        assert code == 2 and "in use by another socsim process" in err
        with pytest.raises(FolderBusy):
            socsim.train(MLP, config="ideal", dataset="digits", epochs=1, out=run_copy, train_examples=64,
                         test_examples=32)
    assert not (run_copy / "drift.csv").exists()


def test_infer_with_missing_weights_creates_no_folder(tmp_path, capsys):
    code, err = cli(capsys, "infer", "--weights", str(tmp_path / "nothing"))
    assert code == 2 and "not a run folder (no such folder)" in err and not (tmp_path / "nothing").exists()


# ---- tracebacks become clear errors ----------------------------------------------------------------------------
def _edit_checkpoint(run: Path, edit) -> None:
    state = load_checkpoint(run / CHECKPOINT)
    edit(state)
    write_checkpoint(run / CHECKPOINT, state)


@pytest.mark.parametrize("edit,field", [
    (lambda s: s["trainer"]["crossbars"][0].__setitem__("stream.reads", 2 ** 70), "stream.reads"),
    (lambda s: s["trainer"].__setitem__("cycle", 2 ** 80), "cycle"),
    (lambda s: s["trainer"]["crossbars"][0].__setitem__("saturated", -3), "saturated"),
    (lambda s: s["trainer"]["memory"]["w_fc1"].__setitem__(0, np.inf), "w_fc1"),
    (lambda s: s["trainer"]["crossbars"][0]["w"].__setitem__((0, 0), np.nan), "w"),
])
def test_checkpoint_values_out_of_range_are_bad_input(run_copy, capsys, edit, field):
    _edit_checkpoint(run_copy, edit)
    code, err = cli(capsys, "drift", str(run_copy), "--after", "1", "--quiet")
    assert code == 2 and field in err, err


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 100_000])
def test_deeply_nested_json_and_toml_are_refused_naming_the_file(tmp_path, run_copy, capsys, depth):
    path = tmp_path / "deep.json"
    path.write_text(_nested(depth))
    with pytest.raises(ValueError, match=f"{path}: .*nested"):
        read_json(path)
    toml = tmp_path / "deep.toml"
    toml.write_text(f"x = {_nested(depth)}\n")
    with pytest.raises(ConfigError, match=f"{toml}: nested"):
        load_config(str(toml))
    (run_copy / RUN_ARGS).write_text(json.dumps({"graph": json.loads(_nested(min(depth, 900)))})
                                     if depth < 1000 else _nested(depth))
    code, err = cli(capsys, "report", str(run_copy))
    assert code == 2 and str(run_copy / RUN_ARGS) in err


def test_deeply_nested_checkpoint_metadata_is_refused(run_copy, capsys):
    _edit_checkpoint(run_copy, lambda s: s["trainer"].__setitem__("extra", json.loads(_nested(200))))
    code, err = cli(capsys, "drift", str(run_copy), "--after", "1", "--quiet")
    assert code == 2 and "nested" in err and str(run_copy / CHECKPOINT) in err


def _metrics(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / METRICS)


@pytest.mark.parametrize("edit,expected", [
    (lambda m: m.iloc[:0], "no rows"),
    (lambda m: pd.concat([m, m]), "column epoch"),
    (lambda m: m.assign(test_accuracy=7.5), "test_accuracy, epoch 1: 7.5; expected a fraction"),
    (lambda m: m.assign(train_energy_pj=-5.0), "train_energy_pj, epoch 1: -5.0"),
    (lambda m: m.assign(energy_per_image_pj=np.inf), "energy_per_image_pj, epoch 1: inf"),
    (lambda m: m.assign(train_cycles=np.nan), "train_cycles, epoch 1: empty or NaN"),
])
def test_tampered_metrics_are_refused_naming_the_column(run_copy, capsys, edit, expected):
    edit(_metrics(run_copy)).to_csv(run_copy / METRICS, index=False)
    for argv in (["report", str(run_copy)], ["compare", str(run_copy), "-o", str(run_copy.parent / "c.html")]):
        code, err = cli(capsys, *argv)
        assert code == 2 and f"{run_copy / METRICS}" in err and expected in err, err


@pytest.mark.parametrize("column,value,expected", [
    ("energy_pj", 1e308, "one of the two was edited"),
    ("count", -4, "column count: -4.0"),
    ("cycles", np.inf, "column cycles: inf"),
])
def test_tampered_ledger_is_refused(run_copy, capsys, column, value, expected):
    ledger = pd.read_csv(run_copy / LEDGER, keep_default_na=False)
    ledger[column] = ledger[column].astype(float)
    ledger.loc[3, column] = value
    ledger.to_csv(run_copy / LEDGER, index=False)
    code, err = cli(capsys, "report", str(run_copy))
    assert code == 2 and str(run_copy / LEDGER) in err and expected in err, err


@pytest.mark.parametrize("edit,expected", [
    (lambda m: m["placement"].__setitem__("blocks", "x"), "placement.blocks: expected list"),
    (lambda m: m["placement"]["blocks"][0].__setitem__("rows", "64"), "placement.blocks[0].rows: expected int"),
    (lambda m: m.__setitem__("geometry_macs_per_image", None), "geometry_macs_per_image: expected"),
    (lambda m: m["placement"]["blocks"][0].__setitem__("tile", 99), "does not fit the config's 4 arrays"),
])
def test_mapping_of_the_wrong_types_is_refused(run_copy, capsys, edit, expected):
    mapping = json.loads((run_copy / MAPPING).read_text())
    edit(mapping)
    (run_copy / MAPPING).write_text(json.dumps(mapping))
    code, err = cli(capsys, "report", str(run_copy))
    assert code == 2 and str(run_copy / MAPPING) in err and expected in err, err


def test_conductances_of_another_shape_or_an_edited_geometry_are_refused(run_copy, capsys):
    config = json.loads((run_copy / CONFIG).read_text())
    config["tiles"]["rows"] = 32
    (run_copy / CONFIG).write_text(json.dumps(config))
    code, err = cli(capsys, "report", str(run_copy))
    assert code == 2 and "tiles.rows" in err
    config["tiles"]["rows"] = 64
    (run_copy / CONFIG).write_text(json.dumps(config))
    np.savez_compressed(run_copy / CONDUCTANCES, tile0_w=np.zeros((3, 5), np.float32))
    code, err = cli(capsys, "report", str(run_copy))
    assert code == 2 and f"{run_copy / CONDUCTANCES}: array 'tile0_w' has shape (3, 5)" in err


@pytest.mark.parametrize("value", [1e30, -50.0])
def test_conductances_outside_the_devices_range_are_refused(run_copy, capsys, value):
    g = np.full((2, 1, 64, 32), 10.0, np.float32)
    g[0, 0, 0, 0] = value
    np.savez_compressed(run_copy / CONDUCTANCES, tile0_g=g, tile0_writes=np.zeros(g.shape, np.int64))
    code, err = cli(capsys, "report", str(run_copy))
    assert code == 2 and "tile0_g" in err


@pytest.mark.parametrize("preset,name,value", [("pcm_hic", "nu", -5.0), ("pcm_hic", "g", 1e30),
                                               ("wu2023", "g", -50.0), ("wu2023", "writes", -1)])
def test_a_restored_device_state_outside_its_physical_range_is_refused(preset, name, value):
    from socsim.physics.registry import make_crossbar
    xbar = make_crossbar(8, 4, load_config(preset).tiles.physics, 0)
    state = xbar.state_dict()
    state[name] = state[name].copy()
    state[name].flat[0] = value
    with pytest.raises(ValueError, match=f"state {name}: .*(range|count)"):
        xbar.load_state_dict(state)


def test_batchnorm_momentum_outside_0_1_is_refused():
    from socsim.compiler.graph import make_layer
    with pytest.raises(GraphError, match="momentum = 2.0 is out of range; allowed <= 1.0"):
        make_layer("batchnorm", momentum=2.0)


def _onnx(nodes, inits=()) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y], list(inits)))


@pytest.mark.parametrize("node,expected", [
    (helper.make_node("Relu", ["x"], []), "no output"),
    (helper.make_node("Relu", [], ["y"]), "no input"),
    (helper.make_node("Constant", [], [], value_float=1.0), "no output"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=3.0), "kernel_shape = 3.0: expected a list of integers"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides="a"), "strides"),
])
def test_malformed_onnx_nodes_are_graph_errors(node, expected):
    with pytest.raises(GraphError, match=expected):
        load_onnx(_onnx([node]))


@pytest.mark.parametrize("address,expected", [
    ("not an address", "expected a Dask scheduler address"),
    ("ucx://127.0.0.1:8786", "transport ucx:// is not supported"),
    ("tcp://127.0.0.1:99999", "port 99999"),
])
def test_a_bad_scheduler_address_is_one_clear_error_at_once(tmp_path, capsys, address, expected):
    start = time.monotonic()
    sweep = write_sweep(tmp_path, PROGRAM_SWEEP)
    code, err = cli(capsys, "sweep", str(sweep), "--out", str(tmp_path / "o"), "--scheduler", address)
    assert code == 2 and expected in err and time.monotonic() - start < 5
    assert not (tmp_path / "o").exists()


# ---- bounded readers ------------------------------------------------------------------------------------------
def test_a_huge_grid_is_refused_before_anything_is_built_even_in_a_dry_run(tmp_path, capsys):
    grid = (f'du.lanes = {list(range(1, 11))}\n"du.startup_cycles" = {list(range(4, 14))}\n'
            f"seed = {list(range(200))}\n")
    path = write_sweep(tmp_path, PROGRAM_SWEEP.split("[grid]")[0] + "[grid]\n" + grid)
    start = time.monotonic()
    code, err = cli(capsys, "sweep", str(path), "--dry-run")
    assert code == 2 and "20000 points" in err and "at most 10000" in err, err
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("make", ["fifo", "dev_zero"])
def test_inputs_must_be_regular_files(tmp_path, capsys, make):
    run = tmp_path / "run"
    run.mkdir()
    (run / METRICS).write_text("x\n")
    config = tmp_path / "cfg.toml"
    if make == "fifo":
        fifo(run / RUN_ARGS)
        fifo(config)
    else:
        (run / RUN_ARGS).symlink_to("/dev/zero")
        config.symlink_to("/dev/zero")
    start = time.monotonic()
    with pytest.raises(ValueError, match="expected a regular file"):
        read_json(run / RUN_ARGS)
    with pytest.raises(ConfigError, match="expected a regular file"):
        load_config(str(config))
    code, err = cli(capsys, "run", VECTOR_OPS, "--config", str(config))
    assert code == 2 and str(config) in err
    assert time.monotonic() - start < 5


def test_a_gzip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio, "MAX_GZIP_SLACK", 0)  # the ratio alone, so a small bomb shows it
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes(4 << 20)))  # 4 MiB of zeros in ~4 kB: about 1000 x
    with pytest.raises(ValueError, match="expands past"):
        read_gzip(path)
    small = tmp_path / "ok.gz"
    data = np.random.default_rng(0).integers(0, 4, 3000, dtype=np.uint8).tobytes()  # compresses about 4 x
    small.write_bytes(gzip.compress(data))
    assert read_gzip(small) == data


# ---- digests: files changed since the run wrote them -----------------------------------------------------------
@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory) -> Path:
    """A run of socsim train (which records digests.json): ideal MLP, 1 epoch of 128 / 64 digits."""
    out = tmp_path_factory.mktemp("recorded") / "run"
    assert main(["train", MLP, "--config", "ideal", "--dataset", "digits", "--epochs", "1", "--train-examples",
                 "128", "--test-examples", "64", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.fixture
def recorded_copy(recorded_run, tmp_path) -> Path:
    import shutil
    out = tmp_path / "run"
    shutil.copytree(recorded_run, out)
    return out


def test_every_written_file_is_recorded_and_an_untouched_run_passes(recorded_copy, capsys):
    record = json.loads((recorded_copy / "digests.json").read_text())
    assert set(record["files"]) == {RUN_ARGS, CONFIG, MAPPING, METRICS, LEDGER, CONDUCTANCES,
                                    "conductances_initial.npz", CHECKPOINT}
    assert all(len(d) == 1 for d in record["files"].values())  # settled: the current contents only
    assert record["config"] == json.loads((recorded_copy / CONFIG).read_text())
    assert cli(capsys, "report", str(recorded_copy))[0] == 0


def test_a_run_stopped_between_recording_a_file_and_renaming_it_stays_unedited(tmp_path):
    """SIGINT can land after a write's digest is recorded and before its rename: the file keeps its previous
    contents, which the settled record must still accept (found by the kill-and-resume test)."""
    from socsim.runfolder.digests import check_unedited, recording
    ledger = tmp_path / LEDGER
    with pytest.raises(KeyboardInterrupt):
        with recording(tmp_path) as book:
            write_text(ledger, "epoch 1\n")
            record = book.written

            def interrupted(path: Path, new: Path) -> None:
                record(path, new)
                raise KeyboardInterrupt  # the signal arrives right after the digest is recorded

            fileio.ON_WRITE.set(interrupted)  # undone when recording() resets its own token
            write_text(ledger, "epoch 1\nepoch 2\n")
    assert ledger.read_text() == "epoch 1\n"
    assert check_unedited(tmp_path) == []
    ledger.write_text("edited\n")  # and an edit after the run is still refused
    with pytest.raises(ValueError, match="ledger.csv changed since the run wrote it"):
        check_unedited(tmp_path)


def test_an_edited_config_is_named_field_by_field_and_refused_unless_accepted(recorded_copy, capsys):
    config = json.loads((recorded_copy / CONFIG).read_text())
    config["tiles"]["rows"] = 32
    (recorded_copy / CONFIG).write_text(json.dumps(config))
    for argv in (["report", str(recorded_copy)], ["drift", str(recorded_copy), "--after", "1", "--quiet"],
                 ["infer", "--weights", str(recorded_copy)], ["train", "--resume", str(recorded_copy), "--epochs",
                                                               "2", "--quiet"]):
        code, err = cli(capsys, *argv)
        assert code == 2 and "config.json changed: tiles.rows 64 -> 32" in err and "--accept-edits" in err, argv
    code, err = cli(capsys, "report", str(recorded_copy), "--accept-edits")
    assert "warning" in err and "tiles.rows 64 -> 32" in err  # then the checked reader has its say
    assert code == 2 and "tiles.rows" in err


def test_edited_examples_in_run_json_stop_a_resume(recorded_copy, capsys):
    args = json.loads((recorded_copy / RUN_ARGS).read_text())
    args["test_examples"] = 32
    (recorded_copy / RUN_ARGS).write_text(json.dumps(args))
    code, err = cli(capsys, "train", "--resume", str(recorded_copy), "--epochs", "2", "--quiet")
    assert code == 2 and "run.json changed since the run wrote it" in err


@pytest.mark.parametrize("name", [METRICS, CHECKPOINT])
def test_an_edited_or_missing_result_file_is_named(recorded_copy, capsys, name):
    path = recorded_copy / name
    path.write_bytes(path.read_bytes() + b"\n")
    code, err = cli(capsys, "report", str(recorded_copy))
    assert code == 2 and f"{name} changed since the run wrote it" in err
    path.unlink()
    code, err = cli(capsys, "report", str(recorded_copy))
    assert code == 2 and f"{name} is missing" in err


def test_a_resume_adds_to_the_record_and_a_kill_between_file_and_record_is_accepted(recorded_copy, capsys):
    from socsim.runfolder.digests import DigestBook
    book = DigestBook.load(recorded_copy)
    old = list(book.files[METRICS])
    # a kill after the record took the new digest, before the rename: the old contents stay accepted
    book.files[METRICS] = [*old, "0" * 64]
    book.save()
    assert cli(capsys, "report", str(recorded_copy))[0] == 0
    assert cli(capsys, "train", "--resume", str(recorded_copy), "--epochs", "2", "--quiet")[0] == 0
    after = DigestBook.load(recorded_copy)
    assert after.files[METRICS] != old and len(after.files[METRICS]) == 1 and not after.edits()


# ---- the API checks its arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize("call,expected", [
    (lambda: socsim.run(VECTOR_OPS, "ideal", timing_only="no"), "timing_only='no': expected True or False"),
    (lambda: socsim.train(MLP, "ideal", epochs=0), "epochs=0: expected a positive integer"),
    (lambda: socsim.train(MLP, "ideal", epochs="2"), "epochs='2': expected a positive integer"),
    (lambda: socsim.train(42), "graph=42: expected a path"),
    (lambda: socsim.train(MLP, config=3.5), "config=3.5: expected a preset name"),
    (lambda: socsim.infer(MLP, images=-1), "images=-1: expected a positive integer"),
    (lambda: socsim.infer(MLP, weights=7), "weights=7: expected a run folder"),
    (lambda: socsim.compile(MLP, "ideal", train_examples=True), "train_examples=True: expected a positive integer"),
])
def test_the_api_checks_its_arguments_with_clear_errors(call, expected):
    with pytest.raises(ValueError, match=expected):
        call()


def test_the_api_trains_a_graph_object_on_a_config_object(tmp_path):
    from socsim.compiler import load_graph
    graph, cfg = load_graph(MLP), load_config("ideal")
    run = socsim.train(graph, config=cfg, dataset="digits", epochs=1, out=tmp_path / "run", train_examples=128,
                       test_examples=64)
    by_path = socsim.train(MLP, config="ideal", dataset="digits", epochs=1, out=tmp_path / "path",
                           train_examples=128, test_examples=64)
    assert run.metrics.drop(columns="wall_s").equals(by_path.metrics.drop(columns="wall_s"))
    assert (tmp_path / "run" / "inputs" / "graph.toml").is_file()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--quiet"]) == 0


def test_values_the_run_folder_fuzzer_found(run_copy, capsys):
    mapping = json.loads((run_copy / MAPPING).read_text())
    mapping["geometry_macs_per_image"] = 2 ** 70  # np.isfinite of a Python int beyond 64 bits: TypeError
    (run_copy / MAPPING).write_text(json.dumps(mapping))
    code, err = cli(capsys, "report", str(run_copy))
    assert code == 2 and "geometry_macs_per_image: expected" in err
    metrics = (run_copy / METRICS).read_text().splitlines()
    metrics[1] = str(-(2 ** 63) - 1) + metrics[1][metrics[1].index(","):]  # an epoch beyond 64 bits: StopIteration
    (run_copy / METRICS).write_text("\n".join(metrics) + "\n")
    code, err = cli(capsys, "report", str(run_copy))
    assert code == 2 and "column epoch holds -9223372036854775809, expected a number below 2^63" in err


def test_onnx_constant_folding_is_bounded_by_its_output_size():
    from onnx import numpy_helper
    one = numpy_helper.from_array(np.ones((1, 1), np.float32), "one")
    shape = numpy_helper.from_array(np.array([30000, 30000], np.int64), "shape")
    expand = helper.make_node("Expand", ["one", "shape"], ["big"])
    relu = helper.make_node("Relu", ["x"], ["y"])
    start = time.monotonic()
    with pytest.raises(GraphError, match="would hold 900000000 elements; at most 16777216"):
        load_onnx(_onnx([expand, relu], [one, shape]))
    assert time.monotonic() - start < 2


def test_a_fitted_name_cannot_leave_the_fitted_folder(tmp_path):
    outside = tmp_path / "x.toml"
    outside.write_text("[device]\ng_max_us = 1e6\n")
    config = tmp_path / "cfg.toml"
    rel = os.path.relpath(outside.with_suffix(""), ROOT / "socsim" / "physics" / "fitted")
    config.write_text(f'base = "wu2023"\n[tiles.physics]\nfitted = "{rel}"\n')
    with pytest.raises(ConfigError, match="tiles.physics.fitted: unknown fitted parameter set"):
        load_config(str(config))


def test_dataset_and_onnx_inputs_must_be_regular_files(tmp_path):
    from socsim.host.data import DataError, load_dataset
    data = tmp_path / "mnist"
    data.mkdir()
    fifo(data / "train-images-idx3-ubyte")
    start = time.monotonic()
    with pytest.raises(DataError, match="IDX file is a FIFO"):
        load_dataset("mnist", str(data), 0)
    with pytest.raises(GraphError, match="ONNX model is a FIFO"):
        load_onnx(fifo(tmp_path / "m.onnx"))
    assert time.monotonic() - start < 2


def test_compile_mapping_of_a_graph_that_does_not_fit_exits_2(tmp_path, capsys):
    graph = tmp_path / "mlp4.toml"
    graph.write_text('[input]\nshape = [64]\n' + "".join(f'[[layer]]\ntype = "linear"\nout_features = {n}\n'
                                                         '[[layer]]\ntype = "relu"\n' for n in (48, 24))
                     + '[[layer]]\ntype = "linear"\nout_features = 10\n[[layer]]\ntype = "softmax_xent"\n')
    assert main(["compile", str(graph), "--config", "wu2023", "--mapping"]) == 2
    assert "DOES NOT FIT" in capsys.readouterr().out
    assert main(["compile", MLP, "--config", "wu2023", "--mapping"]) == 0


def test_a_full_disk_names_the_file_being_written(tmp_path):
    def full(fh):
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError, match=f"{tmp_path / 'x.csv'}: cannot write it: No space left on device"):
        fileio.atomic_write(tmp_path / "x.csv", full)
    assert list(tmp_path.iterdir()) == []


# ---- errors speak of the user's input, not of generated text ----------------------------------------------------
def test_a_data_set_past_the_dram_address_range_names_the_examples_not_generated_text(capsys):
    code, err = cli(capsys, "compile", MLP, "--config", "ideal", "--train-examples", "100000000")
    assert code == 2 and "<mlp." not in err, err
    assert f"graph 'mlp' ({MLP})" in err and "--train-examples" in err and "'train_x'" in err


def test_batchnorm_eps_past_1_is_refused_as_a_graph_field():
    from socsim.compiler.graph import make_layer
    with pytest.raises(GraphError, match="eps = 1e[+]40 is out of range; allowed <= 1.0"):
        make_layer("batchnorm", eps=1e40)


def test_a_compiled_program_that_does_not_assemble_is_an_internal_error_naming_the_layer():
    from socsim.compiler import load_graph
    from socsim.compiler.lower.assembly import CompiledProgramError, assemble_programs
    from socsim.compiler.lower.lowering import compile_training
    graph = load_graph(MLP)
    text = compile_training(graph, load_config("ideal"), 64, 32).text["evaluate"]
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "mark 4, eval") + 1  # the code of layer fc2
    lines.insert(at, "    vadd nowhere, nowhere, nowhere, 4")
    with pytest.raises(CompiledProgramError) as info:
        assemble_programs(graph, {"evaluate": "\n".join(lines)})
    message = str(info.value)
    assert message.startswith("internal error in the compiled program 'evaluate' of graph 'mlp'"), message
    assert "layer 'fc2'" in message and f"generated line {at + 1}: vadd nowhere" in message
    assert "undefined symbol 'nowhere'" in message and "please report" in message and "<mlp." not in message


# ---- program files are bounded inputs ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["prog.s", "prog.bin"])
def test_a_fifo_or_a_device_as_a_program_is_refused_at_once(tmp_path, capsys, name):
    import isa
    from isa import IsaError
    start = time.monotonic()
    for path in (fifo(tmp_path / name), Path("/dev/zero")):
        code, err = cli(capsys, "run", str(path), "--config", "ideal")
        assert code == 2 and f"{path}: program" in err and "expected a regular file" in err, err
        with pytest.raises(IsaError, match="expected a regular file"):
            isa.load_program(path)
    assert time.monotonic() - start < 5


# ---- times in a checkpoint --------------------------------------------------------------------------------------
def test_a_device_programmed_later_than_the_saved_clock_is_refused():
    from socsim.host.inputs import run_inputs
    from socsim.host.train import RunArgs
    from socsim.host.training import ChipTrainer, StateMismatch
    cfg, graph, data = run_inputs(RunArgs(MLP, "wu2023", "digits", None, 1, 128, 64, None))
    state = ChipTrainer(graph, cfg, data).state()  # after the init program: every device programmed once
    assert 0 < state.crossbars[1]["t_prog"].max() <= state.cycle / cfg.clock_hz
    ChipTrainer(graph, cfg, data, state=state)  # as saved: accepted
    state.crossbars[1]["t_prog"].flat[0] = 5.0
    with pytest.raises(StateMismatch, match=r"trainer.crossbars\[1\].t_prog: a device programmed at 5 s, later "
                                            r"than the saved clock \(trainer.cycle \d+ .*in the future"):
        ChipTrainer(graph, cfg, data, state=state)


# ---- errors that named nothing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("nodes,expected", [
    ([helper.make_node("Reshape", ["x", "s"], ["y"])], r"\(Reshape\): shape \(input 1\) must be integers"),
    ([helper.make_node("Squeeze", ["x", "s"], ["y"])], r"\(Squeeze\): axes \(input 1\) must be integers"),
    ([helper.make_node("Expand", ["c", "s"], ["e"]), helper.make_node("Add", ["x", "e"], ["y"])],
     r"\(Expand\): cannot fold its constant inputs: expected integers \(int64\), got a float32 tensor \[nan"),
])
def test_a_float_nan_where_onnx_wants_integers_names_the_node(tmp_path, capsys, nodes, expected):
    from onnx import numpy_helper
    inits = [numpy_helper.from_array(np.array([np.nan, 64], np.float32)[:1 if nodes[0].op_type != "Reshape" else 2],
                                     "s"), numpy_helper.from_array(np.array([1, 1, 8, 8], np.int64), "c")]
    with pytest.raises(GraphError, match=expected):
        load_onnx(_onnx(nodes, inits))
    path = tmp_path / "nan.onnx"
    onnx.save(_onnx(nodes, inits), path)
    code, err = cli(capsys, "compile", str(path), "--config", "ideal")
    assert code == 2 and f"{path}: node" in err and "NaN to integer" not in err


def test_a_missing_mapping_field_is_named_as_missing(run_copy, capsys):
    mapping = json.loads((run_copy / MAPPING).read_text())
    del mapping["placement"]
    (run_copy / MAPPING).write_text(json.dumps(mapping))
    code, err = cli(capsys, "report", str(run_copy), "--accept-edits", "-o", str(run_copy / "r.html"))
    assert code == 2 and f"{run_copy / MAPPING}: placement: missing; expected dict" in err, err


def test_asm_output_never_writes_through_a_link_or_into_a_fifo(tmp_path, capsys):
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"precious")
    (tmp_path / "link.bin").symlink_to(victim)
    fifo(tmp_path / "pipe.bin")
    for name in ("link.bin", "pipe.bin"):
        code, err = cli(capsys, "asm", VECTOR_OPS, "-o", str(tmp_path / name))
        assert code == 2 and f"{tmp_path / name}: is a" in err and "socsim writes only regular files" in err
    assert victim.read_bytes() == b"precious"
    assert cli(capsys, "asm", VECTOR_OPS, "-o", str(tmp_path / "ok.bin"))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.bin", "ok.bin", "pipe.bin", "victim.bin"]
