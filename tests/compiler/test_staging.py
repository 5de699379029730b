"""Staging activations and gradients through DRAM (compiler.staging): the plan, the programs and their numerics."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from socsim.compiler import load_graph
from socsim.compiler.frontend.toml import loads_toml
from socsim.compiler.lower.lowering import CapacityError, compile_training
from socsim.compiler.memory.staging import Segment, pack, plan_staging
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.options import RunOptions
from socsim.host.training import ChipTrainer
from tests.compiler.test_lowering import RESIDUAL
from tests.engines import STATE, assert_same_devices, assert_same_result

ROOT = Path(__file__).resolve().parents[2]


def test_a_tensor_saved_for_backward_is_copied_out_and_back():
    # steps 0-2 forward, 3 the loss, 4-6 backward; "x" is written at 0, read at 1 and read again at 5
    uses = [{"x"}, {"x", "y"}, {"y", "z"}, {"z", "gz"}, {"gz", "gy"}, {"gy", "x", "gx"}, {"gx"}]
    words = {"x": 10, "y": 20, "z": 5, "gz": 5, "gy": 20, "gx": 10}
    plan = plan_staging([frozenset(u) for u in uses], 3, words)
    assert plan.homes == (("x", 10),)  # z is used at 2 and 3: adjacent steps, it stays resident
    assert plan.staged_words == 10
    assert [(s.tensor, s.first, s.last) for s in plan.copies_out(2)] == [("x", 0, 1)]
    assert [(s.tensor, s.first, s.last) for s in plan.copies_in(5)] == [("x", 5, 5)]
    assert not any(plan.copies_out(k) for k in range(7) if k != 2)
    assert not any(plan.copies_in(k) for k in range(7) if k != 5)
    assert plan.at("x", 3) is None and plan.at("x", 1).last == 1 and plan.at("x", 5).first == 5
    for step, names in enumerate(uses):
        assert all(plan.at(n, step) is not None for n in names), step


def test_liveness_packing_never_overlaps_two_live_tensors():
    rng = np.random.default_rng(7)
    segments = []
    for i in range(60):
        first = int(rng.integers(0, 40))
        segments.append(Segment(f"t{i}", first, first + int(rng.integers(0, 8)), int(rng.integers(1, 1000))))
    packed = pack(segments)
    assert [(s.tensor, s.first, s.last, s.words) for s in packed] == [
        (s.tensor, s.first, s.last, s.words) for s in segments]
    for a, b in itertools.combinations(packed, 2):
        assert not a.overlaps(b), (a, b)
    peak = max(sum(s.words for s in segments if s.live(k)) for k in range(48))
    top = max(s.end for s in packed)
    assert peak <= top < sum(s.words for s in segments)  # reuse: less than every tensor side by side


def _tiny(preset: str, staging: str, **extra):
    return load_config(preset, {"train": {"batch": 32}, "controller": {"dmem_kbit": 4096, "imem_kbit": 64},
                                "compiler": {"staging": staging}, **extra})


def test_auto_is_off_when_the_unstaged_plan_fits():
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    off = compile_training(graph, _tiny("wu2023", "off"), 256, 64)
    auto = compile_training(graph, _tiny("wu2023", "auto"), 256, 64)
    assert off.text == auto.text and auto.staging is None
    assert not any("staged" in line for line in auto.memory.lines())


def test_staged_programs_copy_the_saved_tensors_out_and_back():
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    c = compile_training(graph, _tiny("wu2023", "always"), 256, 64, microbatch=4)
    plan = c.staging
    assert plan is not None and plan.homes
    train = c.text["train_epoch"]
    for name, words in plan.homes:
        assert train.count(f"copy d_{name}, ") == 1 and train.count(f", d_{name}, {words}") == 1, name
        assert f".sym d_{name} dram {words}" in train
    lanes = next(line for line in train.splitlines() if line.startswith(".lanes"))
    assert all(f" d_{name}" in lanes.split(" reduce ")[0] for name, _ in plan.homes)  # private per micro-batch
    assert "copy d_" not in c.text["evaluate"]
    assert any(line.startswith("staged through DRAM") for line in c.memory.lines())
    assert c.memory.staged == plan.staged_words


@pytest.mark.parametrize("preset", ["wu2023", "radix4", "mp_onarray"])
def test_staging_changes_the_time_not_the_numbers(preset):
    """Staged and unstaged training of a residual graph with batch norm (16-row tiles: layers of several row bands,
    so the banded update transfer runs; threshold, quantised and pulsed transfers): the same trained weights,
    devices and test accuracy bit for bit, more cycles and DRAM energy; the staged programs are the same on both
    engines. (Devices that drift, pcm_hic, read differently when the reads come later: that is physics.)"""
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    data = load_dataset("digits").subset(64, 32)
    engines = (("off", "fast"), ("always", "fast")) + ((("always", "reference"),) if preset == "wu2023" else ())
    runs = {}
    for staging, engine in engines:
        trainer = ChipTrainer(graph, _tiny(preset, staging, tiles={"rows": 16}), data, microbatch=4,
                              options=RunOptions(engine=engine))
        train = trainer.train_epoch()
        accuracy, evaluate = trainer.evaluate()
        acc = {n: trainer.read(n) for n, s in trainer.compiled.init.symbols.items() if s.space.name == "ACC"}
        runs[staging, engine] = trainer, train, evaluate, accuracy, acc
    (off, off_train, _, off_accuracy, off_acc), (on, on_train, on_eval, on_accuracy, on_acc) = (
        runs["off", "fast"], runs["always", "fast"])
    assert on_accuracy == off_accuracy
    assert off_acc.keys() == on_acc.keys()
    for name in off_acc:
        np.testing.assert_array_equal(off_acc[name], on_acc[name], err_msg=name)
    _assert_same_weights(off.soc, on.soc)
    assert on_train.cycles > off_train.cycles
    led_off, led_on = off_train.ledger, on_train.ledger
    assert led_on[led_on.component == "dram"].energy_pj.sum() > led_off[led_off.component == "dram"].energy_pj.sum()
    if ("always", "reference") in runs:
        ref = runs["always", "reference"]
        assert_same_result(ref[1], on_train, "staged training")
        assert_same_result(ref[2], on_eval, "staged evaluation")
        assert_same_devices(ref[0].soc, on.soc)


def _assert_same_weights(a, b) -> None:
    """Every tile's device state (not when it was programmed: the staged program runs longer) and draw counters."""
    for ta, tb in zip(a.tiles, b.tiles):
        xa, xb = ta._crossbar, tb._crossbar
        assert (xa is None) == (xb is None), ta.name
        if xa is not None:
            assert (xa.stream.reads, xa.stream.programs) == (xb.stream.reads, xb.stream.programs), ta.name
            for attr in (s for s in STATE if s != "t_prog" and hasattr(xa, s)):
                np.testing.assert_array_equal(getattr(xa, attr), getattr(xb, attr), err_msg=f"{ta.name}.{attr}")


def test_the_staged_update_transfer_works_on_row_bands():
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    off = compile_training(graph, _tiny("wu2023", "off", tiles={"rows": 16}), 256, 64, microbatch=4)
    on = compile_training(graph, _tiny("wu2023", "always", tiles={"rows": 16}), 256, 64, microbatch=4)
    assert off.text["train_epoch"].count("xferwv") == 3  # one per layer
    assert on.text["train_epoch"].count("xferwv") == 1 + 3 + 1  # conv1 9 rows, conv2 36 rows in 16-row bands, fc
    assert "acc_conv2+128, w_conv2+128, 16," in on.text["train_epoch"]  # rows 32-35: the last band's 16 words


def test_resnet18_and_vgg8_compile_on_wu2023_256():
    cfg = load_config("wu2023_256")
    resnet = compile_training(load_graph(str(ROOT / "programs" / "resnet18.toml")), cfg, 64, 16)
    assert resnet.staging is not None and resnet.memory.ok and resnet.memory.staged > 0
    sram = next(u for u in resnet.memory.uses if u.space == "sram")
    assert sram.ok and sram.have == 1 << 20
    vgg = compile_training(load_graph(str(ROOT / "programs" / "vgg8_wu.toml")),
                           load_config("wu2023_256", {"compiler": {"staging": "always"}}), 64, 16)
    assert vgg.staging is not None and vgg.memory.ok


def test_a_graph_that_does_not_fit_even_staged_names_the_memory_and_field():
    cfg = load_config("wu2023_256", {"controller": {"dmem_kbit": 4096}})
    with pytest.raises(CapacityError, match=r"even with activations and gradients staged through DRAM.*data SRAM "
                                            r"\(sram\).*raise controller\.dmem_kbit to at least"):
        compile_training(load_graph(str(ROOT / "programs" / "resnet18.toml")), cfg, 64, 16)


def test_staging_with_the_pipelined_datapath_is_refused():
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    with pytest.raises(Exception, match="pipelined datapath"):
        compile_training(graph, _tiny("wu2023", "always", compiler={"staging": "always", "datapath": "pipelined"}),
                         256, 64)
