"""The pipelined evaluation program (compiler.datapath = pipelined): the sequential one's numbers, other timing.

Both programs are compiled for the same chip (placement, bands, tiles), trained through the same (sequential) epoch,
and evaluated: the test accuracy and the logits are bit-identical, the cycles are not. A timeline shows the blocks
of one layer converting on two tiles at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socsim.compiler import load_graph
from socsim.compiler.frontend.toml import loads_toml
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.training import ChipTrainer
from tests.compiler.test_lowering import RESIDUAL

PROGRAMS = Path(__file__).resolve().parents[2] / "programs"
SPREAD = {"compiler": {"row_blocking": "kernel", "placement": "spread"}}
BIG = {"controller": {"dmem_kbit": 4096}, "train": {"batch": 32}}
ROOM = {"controller": {"dmem_kbit": 1024}}
"""LeNet's pipelined activations beside the calibration's histograms need 535 kbit of wu2023's 512 kbit SRAM."""
TIMELESS_PCM = {"tiles": {"physics": {"pcm": {"drift": False, "read_noise_scale": 0.0}}}}
CASES = {
    "lenet, packed, cut rows": ("lenet_wu2023.toml", "wu2023", ROOM),
    "lenet, spread, whole kernels": ("lenet_wu2023.toml", "wu2023", {**ROOM, **SPREAD}),
    "residual + batch norm": (RESIDUAL, "wu2023", {**BIG, **SPREAD}),
    "residual on ideal devices": (RESIDUAL, "ideal", BIG),
    "mlp with biases": ("mlp.toml", "wu2023", {}),
    "lenet, radix-4 inputs": ("lenet_wu2023.toml", "radix4", SPREAD),
    "lenet on pcm, reads independent of time": ("lenet_wu2023.toml", "pcm_hic", {**SPREAD, **TIMELESS_PCM}),
}
"""PCM conductances drift and their 1/f noise grows with the time since programming, so the two datapaths, which
read at different times, read different values: the pcm case turns both off to compare the numerics alone."""


def _graph(source: str):
    return loads_toml(source, "tiny_residual.toml") if "\n" in source else load_graph(str(PROGRAMS / source))


def _data(graph):
    name = "mnist5k" if tuple(graph.input.layer.shape) == (1, 28, 28) else "digits"
    return load_dataset(name).subset(64, 32)


def _trained(graph, cfg, data, **kwargs) -> ChipTrainer:
    trainer = ChipTrainer(graph, cfg, data, microbatch=4 if graph.name == "tiny_residual" else None, **kwargs)
    trainer.train_epoch()
    return trainer


def _logits(trainer: ChipTrainer) -> np.ndarray:
    symbol, first, words = trainer.compiled.logits
    return trainer.read(symbol)[first:first + words]


def _deep(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_pipelined_evaluation_gives_the_sequential_numbers(case):
    source, preset, over = CASES[case]
    graph = _graph(source)
    data = _data(graph)
    runs = {}
    for datapath in ("sequential", "pipelined"):
        cfg = load_config(preset, _deep(over, {"compiler": {"datapath": datapath}}))
        trainer = _trained(graph, cfg, data)
        accuracy, result = trainer.evaluate()
        runs[datapath] = (trainer, accuracy, result)
    (seq, acc_s, res_s), (pipe, acc_p, res_p) = runs["sequential"], runs["pipelined"]
    assert acc_s == acc_p
    np.testing.assert_array_equal(_logits(seq), _logits(pipe))
    assert np.abs(_logits(seq)).sum() > 0
    for name in ("pred", "correct"):
        np.testing.assert_array_equal(seq.read(name), pipe.read(name))
    for ta, tb in zip(seq.soc.tiles, pipe.soc.tiles):  # the same reads of the same devices
        if ta._crossbar is not None:
            assert ta.crossbar.stream.reads == tb.crossbar.stream.reads, ta.name
    assert res_p.cycles < res_s.cycles, "the pipelined program should take less time"
    assert "mvms" in set(res_p.ledger.opcode) and "mvm" not in set(res_p.ledger.opcode)


def test_two_blocks_of_one_layer_on_two_tiles_overlap():
    graph = load_graph(str(PROGRAMS / "lenet_wu2023.toml"))
    cfg = load_config("wu2023", _deep(SPREAD, {"compiler": {"datapath": "pipelined"}}))
    trainer = ChipTrainer(graph, cfg, _data(graph), timeline=True)
    _, result = trainer.evaluate()
    conv2 = result.timeline[(result.timeline.opcode == "mvms") & (result.timeline.layer == "conv2")]
    tiles = sorted(set(conv2.unit))
    assert len(tiles) == 2
    a, b = (conv2[conv2.unit == t].iloc[0] for t in tiles)
    assert a.start < b.end and b.start < a.end, f"conv2's blocks on {tiles} do not overlap: {a} {b}"
    sequential = ChipTrainer(graph, load_config("wu2023", SPREAD), _data(graph), timeline=True).evaluate()[1]
    mvm = sequential.timeline[(sequential.timeline.opcode == "mvm") & (sequential.timeline.layer == "conv2")]
    assert set(mvm.unit) == set(tiles), "the same tiles as the sequential program"


def test_the_fast_engine_replays_the_pipelined_loop():
    graph = load_graph(str(PROGRAMS / "lenet_wu2023.toml"))
    cfg = load_config("wu2023", _deep(SPREAD, {"compiler": {"datapath": "pipelined"}}))
    trainer = ChipTrainer(graph, cfg, _data(graph))
    trainer.evaluate()
    assert trainer.soc.engine.replayed > 0, "the test micro-batch loop should stay lane-parallel"
