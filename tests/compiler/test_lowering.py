"""Compiled programs on the ideal preset compute what the numpy baseline computes."""

from __future__ import annotations

import numpy as np
import pytest

import isa
from socsim.compiler.frontend.toml import load_toml, loads_toml
from socsim.compiler.graph import GraphError
from socsim.compiler.lower.lowering import CapacityError, compile_training
from socsim.config.soc import load_config
from socsim.host.baseline import Baseline
from socsim.host.data import load_dataset, synthetic
from socsim.host.training import ChipTrainer

SMALL_CONV = """
name = "small_conv"
[input]
shape = [1, 8, 8]
[[layer]]
type = "conv2d"
name = "conv1"
out_channels = 3
kernel = 3
padding = 1
[[layer]]
type = "relu"
name = "relu1"
[[layer]]
type = "maxpool"
name = "pool1"
kernel = 2
[[layer]]
type = "conv2d"
name = "conv2"
out_channels = 4
kernel = 3
stride = 2
bias = false
[[layer]]
type = "relu"
name = "relu2"
[[layer]]
type = "flatten"
name = "flat"
[[layer]]
type = "linear"
name = "fc"
out_features = 10
[[layer]]
type = "softmax_xent"
name = "loss"
"""


RESIDUAL = """
name = "tiny_residual"
[input]
shape = [1, 8, 8]
[[layer]]
type = "conv2d"
name = "conv1"
out_channels = 4
kernel = 3
padding = 1
bias = false
[[layer]]
type = "batchnorm"
name = "bn1"
[[layer]]
type = "relu"
name = "relu1"
[[layer]]
type = "conv2d"
name = "conv2"
out_channels = 4
kernel = 3
padding = 1
bias = false
[[layer]]
type = "batchnorm"
name = "bn2"
[[layer]]
type = "add"
name = "add"
inputs = ["relu1", "bn2"]
[[layer]]
type = "relu"
name = "relu2"
[[layer]]
type = "global_avgpool"
name = "gap"
[[layer]]
type = "flatten"
name = "flat"
[[layer]]
type = "linear"
name = "fc"
out_features = 10
[[layer]]
type = "softmax_xent"
name = "loss"
"""
GRAPHS = {"small_conv": SMALL_CONV, "tiny_residual": RESIDUAL}


def _graph(source: str):
    return load_toml(source) if source.endswith(".toml") else loads_toml(GRAPHS[source], f"{source}.toml")


def _ideal(batch: int = 16):
    # a larger data SRAM than wu2023's 512 kbit, so a whole batch of the residual net fits one micro-batch
    return load_config("ideal", {"train": {"batch": batch, "epochs": 1}, "controller": {"dmem_kbit": 4096}})


@pytest.mark.parametrize("source", ["programs/mlp.toml", "small_conv", "tiny_residual"])
def test_compiled_inference_on_ideal_devices_equals_numpy_forward(source):
    graph = _graph(source)
    data = load_dataset("digits").subset(64, 16)
    trainer = ChipTrainer(graph, _ideal(), data, microbatch=16)
    acc, _ = trainer.evaluate()
    base = Baseline(graph, trainer.cfg.train)
    logits = base.logits(data.x_test[:16])
    chip = trainer.read(f"a_{graph.nodes[-2].name}").reshape(16, -1)
    np.testing.assert_allclose(chip, logits, rtol=1e-5, atol=1e-6)
    assert acc == pytest.approx(base.accuracy(data.x_test[:16], data.y_test[:16]))


@pytest.mark.parametrize("source", ["programs/mlp.toml", "small_conv", "tiny_residual"])
def test_one_training_epoch_on_ideal_devices_equals_the_baseline(source):
    graph = _graph(source)
    data = load_dataset("digits").subset(32, 16)
    # batch-norm statistics are taken over the micro-batch: make it the whole batch to match the baseline
    trainer = ChipTrainer(graph, _ideal(), data, microbatch=16 if source == "tiny_residual" else 8)
    trainer.run_epoch()
    base = Baseline(graph, trainer.cfg.train)
    base.train_epoch(data.x_train[:32], data.y_train[:32])
    for name, w in trainer.weights().items():
        np.testing.assert_allclose(w, base.weights[name], rtol=1e-4, atol=1e-6, err_msg=name)
    for name, b in base.biases.items():
        np.testing.assert_allclose(trainer.read(f"b_{name}"), b, rtol=1e-4, atol=1e-6, err_msg=name)
    for name, gb in base.bn.items():
        np.testing.assert_allclose(trainer.read(f"gb_{name}"), gb.ravel(), rtol=1e-4, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(trainer.read(f"run_{name}"), base.bn_run[name].ravel(), rtol=1e-4, atol=1e-6)
    acc, _ = trainer.evaluate()
    assert acc == pytest.approx(base.accuracy(data.x_test[:16], data.y_test[:16]))


def test_batch_norm_per_micro_batch_on_ideal_devices_equals_the_baseline_at_that_micro_batch():
    graph = _graph("tiny_residual")
    data = load_dataset("digits").subset(32, 16)
    trainer = ChipTrainer(graph, _ideal(), data, microbatch=4)  # four batch-statistics groups per 16-image batch
    trainer.run_epoch()
    base = Baseline(graph, trainer.cfg.train, bn_microbatch=4)
    base.train_epoch(data.x_train[:32], data.y_train[:32])
    for name, w in trainer.weights().items():
        np.testing.assert_allclose(w, base.weights[name], rtol=1e-4, atol=1e-6, err_msg=name)
    for name, gb in base.bn.items():
        np.testing.assert_allclose(trainer.read(f"gb_{name}"), gb.ravel(), rtol=1e-4, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(trainer.read(f"run_{name}"), base.bn_run[name].ravel(), rtol=1e-4, atol=1e-6)
    whole = Baseline(graph, trainer.cfg.train)  # statistics of the whole batch: another training
    whole.train_epoch(data.x_train[:32], data.y_train[:32])
    assert not np.allclose(whole.bn_run["bn1"], base.bn_run["bn1"], rtol=1e-4, atol=1e-6)


def test_assembly_reassembles_to_the_identical_program():
    graph = load_toml("programs/lenet_wu2023.toml")
    compiled = compile_training(graph, load_config("wu2023"), 256, 64)
    for name, text in compiled.text.items():
        program = getattr(compiled, name)
        assert isa.assemble(text, name) == program
        assert isa.encode(isa.assemble(isa.disassemble(program))) == isa.encode(program)
        assert "; ---- conv1 (conv2d) " in compiled.text["train_epoch"]
    assert compiled.train_epoch.code_bytes() <= 32 * 1024 // 8  # fits wu2023's 32 kbit instruction memory


def test_a_graph_too_large_for_the_memories_is_a_capacity_error():
    graph = load_toml("programs/vgg8.toml")
    with pytest.raises(GraphError, match=r"graph 'vgg8', layer 'conv2': block rows 0\+64, cols 0\+32 does not "
                                         r"fit \(pack placement\): the graph has 6348 blocks of up to 64 rows x 32 "
                                         r"weights, the target 4 tiles; raise tiles.count"):
        compile_training(graph, load_config("wu2023"), 128, 64)
    mlp = load_toml("programs/mlp.toml")
    tiny = load_config("wu2023", {"controller": {"dmem_kbit": 8}, "compiler": {"staging": "off"}})
    with pytest.raises(CapacityError, match=r"graph 'mlp' does not fit wu2023: the data SRAM \(sram\) needs \d+ words "
                                            r"with a micro-batch of 1 \(largest: .*\) but controller.dmem_kbit = 8 "
                                            r"gives 256; raise controller.dmem_kbit to at least \d+"):
        compile_training(mlp, tiny, 128, 64)
    auto = load_config("wu2023", {"controller": {"dmem_kbit": 8}})  # staging = auto: staged, and still too large
    with pytest.raises(CapacityError, match=r"graph 'mlp' does not fit wu2023 even with activations and gradients "
                                            r"staged through DRAM \(compiler.staging\): the data SRAM \(sram\) needs "
                                            r"\d+ words with a micro-batch of 1 \(largest: scratch .*\) but "
                                            r"controller.dmem_kbit = 8 gives 256; raise controller.dmem_kbit"):
        compile_training(mlp, auto, 128, 64)


def test_synthetic_data_runs():
    data = synthetic(shape=(1, 8, 8), n_train=16, n_test=8)
    trainer = ChipTrainer(load_toml("programs/mlp.toml"), _ideal(8), data)
    rep = trainer.run_epoch()
    assert rep.train.cycles > 0 and 0.0 <= rep.accuracy <= 1.0


def _mp_config(batch: int = 16):
    return load_config("ideal", {"train": {"scheme": "mp_onarray", "batch": batch, "epochs": 2}})


def test_mp_onarray_backpropagates_on_the_arrays_and_learns():
    graph = load_toml("programs/mlp.toml")
    compiled = compile_training(graph, _mp_config(), 256, 64)
    text = compiled.text["train_epoch"]
    assert "mvmt " in text and "    pulse " in text and "xferp " in text
    assert "xferwv" not in text
    data = load_dataset("digits").subset(256, 128)
    trainer = ChipTrainer(graph, _mp_config(), data)
    chance = 1 / 10
    accs = [trainer.run_epoch().accuracy for _ in range(2)]
    assert accs[-1] > 3 * chance


def test_mp_onarray_needs_transposed_reads():
    with pytest.raises(GraphError, match="scheme mp_onarray reads the arrays transposed, but wu2023 has "
                                         "tiles.transposed_mvm = false"):
        compile_training(load_toml("programs/mlp.toml"),
                         load_config("wu2023", {"train": {"scheme": "mp_onarray"}}), 256, 64)


def test_wu2023_writes_only_weights_whose_accumulated_update_crossed_one_level():
    graph = load_toml("programs/mlp.toml")
    cfg = load_config("wu2023", {"train": {"batch": 16}})
    data = load_dataset("digits").subset(64, 16)
    trainer = ChipTrainer(graph, cfg, data)
    before = trainer.weights()
    result = trainer.train_epoch()
    after = trainer.weights()
    led = result.ledger
    written = led.loc[led.action == "cells_written", "count"].sum()
    changed = sum(int((after[n] != before[n]).sum()) for n in before)
    # the digital copy changes exactly where a weight was written (xferwv sets w = target only there)
    assert written == changed
    naive = ChipTrainer(graph, load_config("wu2023", {"train": {"batch": 16, "scheme": "naive"}}), data)
    naive_written = naive.train_epoch().ledger.query("action == 'cells_written'")["count"].sum()
    assert naive_written == 4 * sum(w.size for w in before.values())  # 4 batches, every weight each batch
    assert written < naive_written


@pytest.mark.parametrize("preset", ["wu2023", "pcm_hic"])
def test_analog_inputs_map_the_layer_range_to_the_dacs_analog_full_scale(preset):
    # in_bits = 0: the DAC drives x / scale at v_read x (x / scale) / analog_full_scale and clips beyond it, so the
    # scale must map act_range (hidden inputs) and error_range (errors on the bit lines) to that full scale
    cfg = load_config(preset, {"train": {"in_bits": 0, "act_range": 4.0, "error_range": 0.05},
                               "tiles": {"physics": {"dac": {"analog_full_scale": 2.0}}}})
    text = compile_training(load_toml("programs/mlp.toml"), cfg, 256, 64).text
    assert ".sym inscale_fc1 sram 1 = 0.5\n" in text["init"]          # input_range 1 / full scale 2
    assert ".sym inscale_fc2 sram 1 = 2.0\n" in text["init"]          # act_range 4 / full scale 2
    if preset == "pcm_hic":                                             # errors through the transposed arrays
        assert "    quant tin1, tin1, 320, 0.02500000037252903, 0\n" in text["train_epoch"]  # error_range / 2
    ideal = compile_training(load_toml("programs/mlp.toml"), load_config("ideal"), 256, 64)  # no DAC: as they are
    assert ".sym inscale_fc2 sram 1 = 1.0\n" in ideal.text["init"]
