"""``socsim infer``: latency is the evaluation program's cycles / clock, trained weights give the run's accuracy,
bad combinations are refused naming the argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from socsim.base.units import fmt_time
from socsim.cli import main
from socsim.compiler import load_graph
from socsim.compiler.lower.lowering import compile_training
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.inference import run_inference
from socsim.sim import Soc

ROOT = Path(__file__).resolve().parents[1]
MLP = str(ROOT / "programs" / "mlp.toml")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_infer_latency_is_the_evaluation_programs_cycles_over_the_clock(digits):
    cfg = load_config("wu2023")
    graph = load_graph(MLP)
    inf = run_inference(graph, cfg, digits, images=96)
    assert inf.images == 96 and inf.accuracy is None
    # the same programs run by hand on a fresh chip: init, then evaluate over the same 96 images
    comp = compile_training(graph, cfg, cfg.train.batch, 96)
    soc = Soc.from_config(cfg)
    for name, values in (("test_x", digits.x_test[:96]), ("test_y", digits.y_test[:96])):
        sym = comp.init.symbol(name)
        soc.memory.view(sym.space, sym.addr, sym.size)[:] = values.ravel()
    soc.run(comp.init)
    evaluate = soc.run(comp.evaluate)
    assert inf.result.cycles == evaluate.cycles
    assert inf.latency_per_image_s == evaluate.cycles / cfg.clock_hz / 96
    assert inf.images_per_s == pytest.approx(96 / (evaluate.cycles / cfg.clock_hz), rel=1e-12)
    assert inf.energy_per_image_pj == pytest.approx(evaluate.energy_pj / 96, rel=1e-12)
    assert inf.static_energy_per_image_pj > 0
    assert 0 < inf.tops_per_w_chip < inf.tops_per_w_tile
    assert inf.tile_macs == 96 * (64 * 32 + 32 * 10)  # one MAC per weight and image


def test_infer_command_prints_latency_and_runs_pipelined(capsys, digits):
    assert main(["infer", MLP, "--dataset", "digits", "--images", "64"]) == 0
    out = capsys.readouterr().out
    inf = run_inference(load_graph(MLP), load_config("wu2023"), digits, images=64)
    assert f"latency       {fmt_time(inf.latency_per_image_s)} per image ({inf.result.cycles:,} cycles" in out
    assert "accuracy      not measured (no trained weights)" in out
    assert "\nlayer         phase" in out  # elapsed time by layer of the evaluation program
    assert main(["infer", MLP, "--dataset", "digits", "--images", "64", "--pipelined"]) == 0
    piped = capsys.readouterr().out
    cycles = {text: int(text.split(" cycles at")[0].split("(")[-1].replace(",", "")) for text in (out, piped)}
    assert cycles[piped] < cycles[out], "the pipelined evaluation program should take less time"


def test_pipelined_inference_is_refused_with_a_sequential_runs_weights(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", MLP, "--config", "ideal", "--dataset", "digits", "--epochs", "1", "--train-examples", "64",
                 "--test-examples", "64", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["infer", "--weights", str(run), "--pipelined"]) == 2
    err = capsys.readouterr().err
    assert "--pipelined with --weights" in err and "compiler.datapath = sequential" in err


def test_trained_weights_give_the_runs_accuracy(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", MLP, "--config", "ideal", "--dataset", "digits", "--epochs", "1", "--train-examples", "256",
                 "--test-examples", "128", "--out", str(run), "--quiet"]) == 0
    trained = capsys.readouterr().out
    assert main(["infer", "--weights", str(run), "--json", str(tmp_path / "inf.json")]) == 0
    out = capsys.readouterr().out
    acc = trained.split("final test accuracy ")[1].split(";")[0]
    assert f"accuracy      {acc}\n" in out  # ideal devices: the same program on the same state, the same accuracy
    assert "trained weights of" in out and "(epoch 1)" in out
    assert main(["infer", "--weights", str(run), "--config", "wu2023"]) == 2
    assert "leave --config out" in capsys.readouterr().err
    assert main(["infer", "--weights", str(tmp_path / "nothing")]) == 2
    assert "not a run folder" in capsys.readouterr().err
