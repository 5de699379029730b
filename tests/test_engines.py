"""The fast engine equals the reference engine bit for bit: cycles, ledger rows, busy cycles, outputs,
timelines, conductances and draw counters, on every hand-written program and on compiled training.

The compiled programs mark their micro-batch loops lane-parallel, so the fast engine runs them as lanes
with replayed timing; the reference interprets every instruction (docs/architecture.md).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import isa
from socsim.compiler import load_graph
from socsim.compiler.frontend.toml import loads_toml
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.options import RunOptions
from socsim.host.training import ChipTrainer
from socsim.sim import Soc
from socsim.sim.lanes import overlap
from tests.compiler.test_lowering import RESIDUAL
from tests.engines import assert_same_devices, assert_same_result

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ["ideal", "wu2023", "naive", "mp_onarray", "pcm_hic", "radix4", "radix4_bitserial", "radix4_digits",
           "wu2023_256", "wu2023_table2"]
PROGRAMS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "programs").glob("*.s"))


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: f"preset={p}")
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: Path(p).stem)
def test_hand_written_programs_run_the_same(program, preset):
    cfg = load_config(preset)
    socs = {e: Soc.from_config(cfg, timeline=True, engine=e) for e in ("reference", "fast")}
    results = {e: soc.run(isa.assemble_file(ROOT / program)) for e, soc in socs.items()}
    assert_same_result(results["reference"], results["fast"], f"{program} on {preset}")
    assert_same_devices(socs["reference"], socs["fast"])


def _epoch_on_both(graph, cfg, data, microbatch=None, timeline=False, timing_only=False) -> dict:
    """Init, one training epoch and one evaluation on each engine: (trainer, results, every symbol's words after
    each of the three) by engine."""
    out = {}
    for engine in ("reference", "fast"):
        trainer = ChipTrainer(graph, cfg, data, microbatch=microbatch, timeline=timeline,
                              options=RunOptions(engine=engine, timing_only=timing_only))
        memory = [_symbols(trainer)]
        results = [trainer.init_result, trainer.train_epoch()]
        memory.append(_symbols(trainer))
        results.append(trainer.evaluate()[1])
        memory.append(_symbols(trainer))
        assert not getattr(trainer.soc.engine, "fallbacks", None), "a compiled lane loop breaks its claim"
        out[engine] = (trainer, results, memory)
    return out


def _symbols(trainer) -> dict:
    return {} if trainer.soc.timing_only else {name: trainer.read(name) for name in trainer.compiled.init.symbols}


def _assert_same_epoch(runs: dict, what: str) -> None:
    (ref, ref_results, ref_memory), (fast, fast_results, fast_memory) = runs["reference"], runs["fast"]
    for name, a, b, ma, mb in zip(("init", "train", "evaluate"), ref_results, fast_results, ref_memory, fast_memory):
        assert_same_result(a, b, f"{what} {name}")
        assert ma.keys() == mb.keys()
        for symbol in ma:
            np.testing.assert_array_equal(ma[symbol], mb[symbol], err_msg=f"{what} after {name}: symbol {symbol}")
    assert_same_devices(ref.soc, fast.soc)
    assert ref.soc.env.now == fast.soc.env.now


@pytest.fixture(scope="module")
def mnist() -> object:
    return load_dataset("mnist5k").subset(256, 64)


@pytest.fixture(scope="module")
def digits() -> object:
    return load_dataset("digits")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: f"preset={p}")
def test_lenet_epoch_is_the_same(preset, mnist, monkeypatch):
    monkeypatch.setattr(overlap, "ENABLED", True)  # off by default (docs/performance.md); held exact here
    cfg = load_config(preset)
    micro = 8 if cfg.controller.dmem_kbit > 512 else None  # a large SRAM holds the whole batch: keep a lane loop
    runs = _epoch_on_both(load_graph(str(ROOT / "programs" / "lenet_wu2023.toml")), cfg, mnist, microbatch=micro)
    fast = runs["fast"][0]
    assert fast.soc.engine.replayed > 0, "the micro-batch loop's timing should have been replayed"
    drifts = fast.soc.tiles[0].crossbar.time_dependent_reads
    assert (fast.soc.engine.beside > 0) != drifts, "numerics run beside the timing where no read depends on time"
    assert fast.soc.engine.traces.relocated > 0, "the next batches should have relocated the first's control pass"
    if preset == "ideal":  # its update's timing repeats: the batches after the second are replayed whole
        assert fast.soc.engine.batch.replayed > 0, "the repeating batches should have been replayed"
    if fast.compiled.calibrate is not None:  # calibrated after init and after the epoch: the second run replayed
        assert fast.soc.engine.runs.replayed > 0, "the calibrate program's second run should have been replayed"
    _assert_same_epoch(runs, f"LeNet on {preset}")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: f"preset={p}")
def test_mlp_epoch_on_digits_is_the_same(preset, digits):
    _assert_same_epoch(_epoch_on_both(load_graph(str(ROOT / "programs" / "mlp.toml")), load_config(preset), digits),
                       f"MLP on {preset}")


@pytest.mark.parametrize("preset", ["ideal", "wu2023"], ids=lambda p: f"preset={p}")
def test_residual_batchnorm_graph_is_the_same(preset, digits):
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    cfg = load_config(preset, {"train": {"batch": 32}, "controller": {"dmem_kbit": 4096}})
    _assert_same_epoch(_epoch_on_both(graph, cfg, digits.subset(256, 64), microbatch=4), f"residual on {preset}")


@pytest.mark.parametrize("preset", ["ideal", "wu2023"], ids=lambda p: f"preset={p}")
def test_pipelined_residual_evaluation_is_the_same(preset, digits):
    """The pipelined evaluation program (streamed MVMs, chained partial sums, fused batch norm and residual add) on
    both engines, lanes together and in turn."""
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    cfg = load_config(preset, {"train": {"batch": 32}, "controller": {"dmem_kbit": 4096},
                               "compiler": {"datapath": "pipelined", "row_blocking": "kernel", "placement": "spread"}})
    _assert_same_epoch(_epoch_on_both(graph, cfg, digits.subset(128, 32), microbatch=4, timeline=True),
                       f"pipelined residual on {preset}")


def test_timelines_and_timing_only_runs_are_the_same(mnist):
    graph = load_graph(str(ROOT / "programs" / "lenet_wu2023.toml"))
    small = mnist.subset(128, 32)
    _assert_same_epoch(_epoch_on_both(graph, load_config("wu2023"), small, timeline=True), "LeNet with a timeline")
    timing = _epoch_on_both(graph, load_config("wu2023"), small, timing_only=True)
    for a, b in zip(timing["reference"][1], timing["fast"][1]):
        assert_same_result(a, b, "LeNet, timing only")


def test_resume_from_a_checkpoint_stays_the_same(mnist):
    """A fast-engine run resumed from its state after an epoch equals an uninterrupted one."""
    graph = load_graph(str(ROOT / "programs" / "lenet_wu2023.toml"))
    cfg = load_config("wu2023")
    data = mnist.subset(128, 32)
    whole = ChipTrainer(graph, cfg, data)
    whole.train_epoch()
    state = copy.deepcopy(whole.state())  # what a checkpoint holds (written and read back)
    second = whole.train_epoch()
    resumed = ChipTrainer(graph, cfg, data, state=state)
    again = resumed.train_epoch()
    assert_same_result(second, again, "the epoch after a resume")
    assert_same_devices(whole.soc, resumed.soc)
    for name, words in _symbols(whole).items():
        np.testing.assert_array_equal(words, resumed.read(name), err_msg=f"symbol {name} after the resumed epoch")
    for name in whole.compiled.init.symbols:
        np.testing.assert_array_equal(whole.read(name), resumed.read(name), err_msg=name)


def test_the_command_line_selects_the_engine(tmp_path, capsys):
    """``socsim train``, ``run`` and ``infer`` with ``--engine``: the same metrics and summaries from either engine."""
    import json

    from socsim.cli import main
    rows, runs, infers = {}, {}, {}
    for engine in ("reference", "fast"):
        out = tmp_path / engine
        assert main(["train", str(ROOT / "programs" / "mlp.toml"), "--dataset", "digits", "--epochs", "1",
                     "--train-examples", "256", "--test-examples", "64", "--quiet", "--engine", engine,
                     "--out", str(out)]) == 0
        rows[engine] = pd.read_csv(out / "metrics.csv").drop(columns=["wall_s"])
        assert main(["run", str(ROOT / "programs" / "mlp_infer.s"), "--engine", engine,
                     "--json", str(tmp_path / f"run_{engine}.json")]) == 0
        runs[engine] = json.loads((tmp_path / f"run_{engine}.json").read_text())
        assert main(["infer", str(ROOT / "programs" / "mlp.toml"), "--dataset", "digits", "--images", "64",
                     "--engine", engine, "--json", str(tmp_path / f"infer_{engine}.json")]) == 0
        infers[engine] = json.loads((tmp_path / f"infer_{engine}.json").read_text())
    capsys.readouterr()
    pd.testing.assert_frame_equal(rows["reference"], rows["fast"], check_exact=True)
    assert runs["reference"] == runs["fast"]
    assert infers["reference"] == infers["fast"]
    with pytest.raises(SystemExit) as exit_:
        main(["infer", str(ROOT / "programs" / "mlp.toml"), "--engine", "turbo"])
    assert exit_.value.code == 2 and "invalid choice: 'turbo'" in capsys.readouterr().err


def test_a_sweep_point_keeps_its_key_on_either_engine(tmp_path):
    from socsim.sweep import load_sweep
    from socsim.sweep.spec import expand
    text = (ROOT / "programs" / "sweeps" / "adc_bits.toml").read_text()
    text = text.replace('"../mlp.toml"', f'"{ROOT / "programs" / "mlp.toml"}"')
    (tmp_path / "s.toml").write_text(text.replace("[job]", "[job]\nengine = \"reference\"", 1))
    spec = load_sweep(str(tmp_path / "s.toml"))
    assert spec.job.engine == "reference"
    base = load_sweep(str(ROOT / "programs" / "sweeps" / "adc_bits.toml"))
    assert [p.key for p in expand(spec)] == [p.key for p in expand(base)]


@pytest.mark.parametrize("preset", ["wu2023", "pcm_hic"], ids=lambda p: f"preset={p}")
def test_lanes_in_turn_are_the_same(preset, mnist, monkeypatch):
    """Large loops run their lanes in turn on memory (no lane storage): the same numbers as the reference."""
    from socsim.sim.lanes import numerics
    monkeypatch.setattr(numerics, "TOGETHER_WORDS", 0)
    graph = load_graph(str(ROOT / "programs" / "lenet_wu2023.toml"))
    _assert_same_epoch(_epoch_on_both(graph, load_config(preset), mnist.subset(128, 32)), f"LeNet in turn on {preset}")


def test_residual_in_turn_is_the_same(digits, monkeypatch):
    from socsim.sim.lanes import numerics
    monkeypatch.setattr(numerics, "TOGETHER_WORDS", 0)
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    cfg = load_config("wu2023", {"train": {"batch": 32}, "controller": {"dmem_kbit": 4096}})
    _assert_same_epoch(_epoch_on_both(graph, cfg, digits.subset(128, 32), microbatch=4), "residual in turn")


def test_inference_is_the_same(digits):
    """socsim infer's run (init, then the evaluation program) on both engines: the same Result, latency and energy."""
    from socsim.host.inference import run_inference
    graph, cfg = load_graph(str(ROOT / "programs" / "mlp.toml")), load_config("wu2023")
    runs = {e: run_inference(graph, cfg, digits, images=96, options=RunOptions(engine=e))
            for e in ("reference", "fast")}
    assert_same_result(runs["reference"].result, runs["fast"].result, "inference")
    assert runs["reference"].latency_per_image_s == runs["fast"].latency_per_image_s
    assert runs["reference"].energy_per_image_pj == runs["fast"].energy_per_image_pj
