"""BatchNorm statistics re-estimated on the chip (the ``bnstats`` program, socsim.compiler.lower.bnstats): the rule
against numpy on the chip's own activations, both engines and thread counts the same, its cost charged, and the
refusals (a graph without BatchNorm; too many images)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socsim.base.errors import InputError
from socsim.base.threads import use_threads
from socsim.cli import main
from socsim.compiler import load_graph
from socsim.compiler.frontend.toml import loads_toml
from socsim.compiler.graph import GraphError
from socsim.compiler.lower.lowering import compile_training
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.options import RunOptions
from socsim.host.train import RunArgs, run_training
from socsim.host.training import ChipTrainer
from socsim.runfolder.files import CHECKPOINT, DRIFT
from socsim.sim.lanes import numerics
from tests.engines import assert_same_devices, assert_same_result

F32 = np.float32
NORMED = """
name = "normed"
[input]
shape = [1, 8, 8]
[[layer]]
type = "batchnorm"
name = "bn0"
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
"""A BatchNorm on the images themselves (its inputs are known exactly) and one on a convolution's outputs."""
MICRO = 4


def _chip(cfg_name: str, bn_images: int, engine: str = "fast", overrides: dict | None = None) -> ChipTrainer:
    graph = loads_toml(NORMED, "normed.toml")
    cfg = load_config(cfg_name, {"train": {"batch": 16}, **(overrides or {})})
    data = load_dataset("digits").subset(64, 8)
    return ChipTrainer(graph, cfg, data, MICRO, inference=True, bn_images=bn_images,
                       options=RunOptions(engine=engine))


def _rule(batches: list[np.ndarray]) -> np.ndarray:
    """The program's rule in numpy: per micro-batch (n, c, hw) the mean and unbiased variance per channel (as
    ``bnfwd`` computes them), summed in micro-batch order, times 1 / micro-batches; [means, variances]."""
    total = None
    for x in batches:
        mean = x.mean(axis=(0, 2), dtype=F32)
        var = ((x - mean[None, :, None]) ** 2).mean(axis=(0, 2), dtype=F32)
        count = x.shape[0] * x.shape[2]
        stat = np.concatenate([mean, var * F32(count / (count - 1))])
        total = stat if total is None else total + stat
    return F32(1.0 / len(batches)) * total


def test_the_statistics_are_the_average_of_the_micro_batches_on_the_images():
    """bn0 normalises the images themselves: its re-estimated statistics are numpy's rule on the first 12 training
    images in micro-batches of 4, bit for bit; the running statistics the evaluation reads are replaced."""
    chip = _chip("ideal", 12)
    before = chip.read("run_bn0").copy()
    result = chip.reestimate_statistics()
    images = chip.data.x_train[:12].astype(F32).reshape(3, MICRO, 1, 64)
    np.testing.assert_array_equal(chip.read("run_bn0"), _rule(list(images)))
    assert not np.array_equal(chip.read("run_bn0"), before)
    # the cost: instructions, charged like every program's, in the ledger's calibrate phase
    assert result.cycles > 0 and result.energy_pj > 0
    phases = result.ledger.groupby("phase")["energy_pj"].sum()
    assert set(phases.index) <= {"calibrate"} and phases["calibrate"] > 0
    assert "mvm" in set(result.ledger["opcode"]) and "bnfwd" in set(result.ledger["opcode"])


def test_a_deeper_layer_gets_the_statistics_of_the_chips_own_activations():
    """bn1 normalises the convolution's outputs as the chip computes them (on a noisy pcm_hic chip): with one
    micro-batch its statistics are numpy's rule on the pre-BatchNorm activations the pass left in memory."""
    chip = _chip("pcm_hic", MICRO)
    chip.idle_until(chip.seconds() + 86400.0)  # a drifted chip
    chip.reestimate_statistics()
    x = chip.read("a_conv1").reshape(1, MICRO, 4, 64)
    np.testing.assert_array_equal(chip.read("run_bn1"), _rule(list(x)))


def _bnstats_run(engine: str, threads: int) -> tuple:
    with use_threads(threads):
        chip = _chip("pcm_hic", 16, engine)
        chip.idle_until(chip.seconds() + 3600.0)
        result = chip.reestimate_statistics()
        lanes = (getattr(chip.soc.engine, "executions", 0), list(getattr(chip.soc.engine, "fallbacks", ())))
        return chip, result, {n: chip.read(n) for n in ("run_bn0", "run_bn1")}, lanes


def test_both_engines_and_thread_counts_give_the_same_statistics(monkeypatch):
    monkeypatch.setattr(numerics, "MIN_GROUP_WORDS", 0)  # split even this small loop between the threads
    runs = {(e, n): _bnstats_run(e, n) for e, n in (("reference", 1), ("fast", 1))}
    before = numerics.split_passes
    runs[("fast", 2)] = _bnstats_run("fast", 2)
    assert numerics.split_passes > before, "two threads should have split the micro-batches into groups"
    for key in (("fast", 1), ("fast", 2)):
        assert runs[key][3] == (1, []), f"{key}: the micro-batch loop should run as lanes, once"
    ref = runs[("reference", 1)]
    for key, run in runs.items():
        assert_same_result(ref[1], run[1], f"bnstats {key}")
        for name in ref[2]:
            np.testing.assert_array_equal(ref[2][name], run[2][name], err_msg=f"{key}: {name}")
        assert_same_devices(ref[0].soc, run[0].soc)


def test_a_graph_without_batchnorm_is_refused_by_name():
    graph = load_graph("programs/mlp.toml")
    with pytest.raises(GraphError, match=r"graph 'mlp' \(.*mlp\.toml\) has no batchnorm layer"):
        compile_training(graph, load_config("pcm_hic"), 128, 64, inference=True, bn_images=16)
    with pytest.raises(GraphError, match="inference-only programs"):
        compile_training(loads_toml(NORMED, "normed.toml"), load_config("pcm_hic", {"train": {"batch": 16}}), 64,
                         8, bn_images=16)
    with pytest.raises(InputError, match="not compiled"):
        _chip("ideal", 0).reestimate_statistics()


def test_drift_with_bn_statistics_from_the_command_line(tmp_path, capsys):
    """``socsim drift --compensation bn``: one curve per compensation in drift.csv with the program's cost, the
    checkpoint unchanged; a graph without BatchNorm refused with its name."""
    out = tmp_path / "normed"
    (tmp_path / "normed.toml").write_text(NORMED)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('base = "pcm_hic"\n[train]\nbatch = 16\n')
    run_training(RunArgs(str(tmp_path / "normed.toml"), str(cfg), "digits", None, 1, 64, 16, 4), out)
    checkpoint = (out / CHECKPOINT).read_bytes()
    for comp in ("none", "bn", "global+bn"):
        assert main(["drift", str(out), "--after", "1,31536000", "--compensation", comp, "--bn-images", "8",
                     "--quiet"]) == 0
    table = pd.read_csv(out / DRIFT)
    assert sorted(set(table.compensation)) == ["bn", "global+bn", "none"]
    bn = table[table.compensation != "none"]
    assert (bn.bnstats_cycles > 0).all() and (bn.bnstats_energy_pj > 0).all() and (bn.bn_images == 8).all()
    both = table[table.compensation == "global+bn"]
    assert (both.compensate_cycles > both.bnstats_cycles).all()  # the global compensation's reads as well
    assert (table[table.compensation == "none"].compensate_cycles == 0).all()
    assert (out / CHECKPOINT).read_bytes() == checkpoint
    from socsim.report.report import run_figures
    from socsim.runfolder.read import load_run
    figure, _ = run_figures(load_run(out))["drift"]  # one curve per compensation, labelled from the table
    labels = sorted(t.get_text() for t in figure.axes[0].get_legend().get_texts())
    assert labels == ["BatchNorm statistics re-estimated", "global drift compensation + BatchNorm statistics",
                      "no compensation"]
    assert main(["drift", str(out), "--after", "1", "--compensation", "bn", "--bn-images", "10000"]) == 2
    assert "--bn-images" in capsys.readouterr().err
    mlp = tmp_path / "mlp"
    run_training(RunArgs("programs/mlp.toml", "pcm_hic", "digits", None, 1, 128, 64, None), mlp)
    assert main(["drift", str(mlp), "--after", "1", "--compensation", "global+bn"]) == 2
    err = capsys.readouterr().err
    assert "graph 'mlp'" in err and "no batchnorm layer" in err


def test_compiling_the_statistics_program_leaves_the_other_programs_alone():
    """Its words are declared after every other symbol: init and evaluate keep their instructions and addresses (the
    evaluation loop's lane declaration names the new SRAM words among its private ones, which it never touches)."""
    graph, cfg = loads_toml(NORMED, "normed.toml"), load_config("pcm_hic", {"train": {"batch": 16}})
    plain = compile_training(graph, cfg, 64, 8, MICRO, inference=True)
    with_bn = compile_training(graph, cfg, 64, 8, MICRO, inference=True, bn_images=16)
    assert plain.bnstats is None and with_bn.bnstats is not None
    for name in ("init", "evaluate"):
        old, new = plain.text[name].splitlines(), with_bn.text[name].splitlines()
        added = [line for line in new if line not in old]
        assert added and all(line.startswith((".sym bns_", ".lanes")) for line in added), added
        assert [line for line in new if not line.startswith((".sym bns_", ".lanes"))] == \
            [line for line in old if not line.startswith(".lanes")]
        lanes = [[line.split() for line in text if line.startswith(".lanes")] for text in (old, new)]
        assert len(lanes[0]) == len(lanes[1])
        assert all([w for w in b if not w.startswith("bns_")] == a for a, b in zip(*lanes))
