"""Training recipes (pcm_hic, radix4, the low-precision accumulator) and drift evaluation after training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socsim.cli import main
from socsim.cli.drift import parse_times
from socsim.compiler import load_graph
from socsim.compiler.graph import GraphError
from socsim.compiler.lower.lowering import compile_training
from socsim.compiler.recipes import RECIPES, Backward, Transfer
from socsim.config.soc import Scheme, load_config
from socsim.host.data import load_dataset
from socsim.host.train import RunArgs, run_training
from socsim.host.training import ChipTrainer
from socsim.physics.registry import pulse_step
from socsim.runfolder.files import DRIFT
from tests.helpers import run_asm

MLP = "programs/mlp.toml"


def test_every_scheme_has_a_recipe():
    assert set(RECIPES) == set(Scheme)


@pytest.mark.parametrize("preset, backward, transfer", [
    ("pcm_hic", Backward.ARRAYS, Transfer.PULSES), ("radix4_digits", Backward.ARRAYS, Transfer.THRESHOLD),
    ("radix4", Backward.ARRAYS, Transfer.QUANTIZED)])
def test_presets_compile_their_recipe(preset, backward, transfer):
    # radix4 keeps the last layer's errors FP32 on the digital unit: the MLP's fc2 errors go through the arrays
    # only with every layer's errors radix-4
    cfg = load_config(preset, {"train": {"error_last_fp32": False}} if preset == "radix4" else None)
    assert cfg.train.scheme.value == preset
    r = RECIPES[cfg.train.scheme]
    assert (r.backward, r.transfer) == (backward, transfer)
    text = compile_training(load_graph(MLP), cfg, 128, 64).text["train_epoch"]
    ops = {line.split()[0] for line in text.splitlines() if line.strip() and line[0] == " "}
    assert "mvmt" in ops and "mm" in ops  # errors through the arrays; weight gradients stay digital
    writes = {Transfer.PULSES: {"xferp", "pulse"}, Transfer.THRESHOLD: {"xferwv", "wv"},
              Transfer.QUANTIZED: {"quant", "vsub", "wv"}}[transfer]
    assert writes <= ops
    assert (f"{cfg.train.acc_bits}-bit accumulator" in text) == (preset == "pcm_hic")
    assert ({"vamax", "r4q", "vsclm"} <= ops) == (preset == "radix4")


def test_radix4_digits_drives_four_level_pulses():
    cfg = load_config("radix4_digits")
    phys = cfg.tiles.physics
    assert phys.dac.levels_per_pulse == phys.dac_t.levels_per_pulse == 4 and cfg.train.in_bits == 8


def test_pcm_pulse_step_is_one_gradual_set_of_the_lsb_pair():
    p = load_config("pcm_hic").tiles.physics
    at_g0 = p.w_max / 2 ** p.pcm.n_msb * p.pcm.set_step_us / p.pcm.g_max_us
    # the mean gradual SET over the LSB device's range [0, refresh g_max] (pcm.granularity = "mean")
    assert pulse_step(p) == pytest.approx(at_g0 * (1 - p.pcm.set_nonlinearity * p.pcm.refresh_fraction / 2))


def test_low_precision_accumulator_needs_a_transfer_quantum():
    cfg = load_config("ideal", {"train": {"acc_bits": 8}})
    with pytest.raises(GraphError, match="acc_bits = 8.*ideal"):
        compile_training(load_graph(MLP), cfg, 128, 64)


def test_low_precision_accumulator_holds_saturated_multiples_of_its_lsb():
    bits, lsb_frac = 4, 0.25
    cfg = load_config("pcm_hic", {"train": {"acc_bits": bits, "acc_lsb": lsb_frac}})
    data = load_dataset("digits", None, cfg.seed).subset(128, 64)
    trainer = ChipTrainer(load_graph(MLP), cfg, data)
    trainer.train_epoch()
    for node in trainer.graph.weight_nodes():
        rows = trainer.graph.weight_shape(node.name)[0]
        alpha = cfg.train.weight_range / np.sqrt(rows) / cfg.tiles.physics.w_max
        lsb = np.float32(lsb_frac * alpha * pulse_step(cfg.tiles.physics))
        acc = trainer.read(f"acc_{node.name}")
        codes = acc / lsb
        np.testing.assert_allclose(codes, np.rint(codes), atol=1e-3)
        # after the transfer, less than one pulse (4 LSB) is left, and never more than the 4-bit range
        assert np.abs(codes).max() < 4 + 1e-3
        assert np.count_nonzero(acc) > 0


def test_parse_times():
    assert parse_times("0, 1,3600") == [0.0, 1.0, 3600.0]
    for bad in ("", "1,x", "10,1", "-1"):
        with pytest.raises(ValueError, match="--after"):
            parse_times(bad)


def test_cycle_budget_counts_from_the_start_of_each_run():
    far = {"controller": {"max_cycles": 1000}}
    loop = "li x1, 0\nli x2, 1\nspin:\n  beq x1, x1, spin\nhalt\n"
    from socsim.sim import Trap, TrapKind
    with pytest.raises(Trap) as info:
        run_asm(loop, overrides=far)
    assert info.value.kind is TrapKind.TIMEOUT and "in this run" in str(info.value)
    from isa import assemble
    from socsim.sim import Soc
    soc = Soc.from_config(load_config("wu2023", far))
    soc.restore_time(10 ** 9)  # a chip that has been idle long past the budget still runs a short program
    result = soc.run(assemble("li x1, 3\nhalt\n", "<t>"))
    assert result.cycles < 1000


def _trained(tmp_path, preset: str) -> str:
    out = tmp_path / preset
    run_training(RunArgs(MLP, preset, "digits", None, 3, None, 128, None), out)
    return str(out)


def test_drift_lowers_pcm_accuracy_and_leaves_ideal_devices_alone(tmp_path, capsys):
    pcm = _trained(tmp_path, "pcm_hic")
    assert main(["drift", pcm, "--after", "0,31536000000", "--repeats", "3"]) == 0
    assert "(3 draws)" in capsys.readouterr().out
    table = pd.read_csv(f"{pcm}/{DRIFT}")
    assert list(table.seconds_after_training) == [0, 31536000000] and list(table.repeats) == [3, 3]
    fresh, aged = table.test_accuracy
    assert fresh > 0.5 and aged < fresh - 0.05  # 1000 years of drift: conductances have decayed
    assert (table.test_accuracy_std > 0).all(), "each repeat draws its own read noise"
    assert main(["drift", pcm, "--after", "0,31536000000", "--repeats", "3", "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(f"{pcm}/{DRIFT}"), table)  # the draws are reproducible
    # global drift compensation: the compensate program's reference at the end of training, scales at each time
    assert main(["drift", pcm, "--after", "0,31536000000", "--repeats", "3", "--compensation", "global",
                 "--quiet"]) == 0
    both = pd.read_csv(f"{pcm}/{DRIFT}")
    assert sorted(set(both.compensation)) == ["global", "none"] and (both.compensate_cycles > 0).sum() == 2
    comp = both[both.compensation == "global"].test_accuracy.to_numpy()
    assert comp[1] > aged + 0.05, "compensation should recover most of what 1000 years of drift cost"
    assert abs(comp[0] - fresh) < 0.05  # at once, nothing to compensate
    # the one-hot reference reads average every device pair's read noise: the reference sums of successive draws
    # agree within 0.5 % (the earlier single uniform read scattered by 1.4 % on fc2 of this network)
    from pathlib import Path

    from socsim.host.inputs import run_inputs
    from socsim.runfolder.files import read_checkpoint
    run = RunArgs.load(Path(pcm))
    cfg, graph, data = run_inputs(run, Path(pcm))
    chip = ChipTrainer(graph, cfg, data, run.microbatch, state=read_checkpoint(Path(pcm)).trainer, inference=True,
                       compensation=True)
    sums = []
    for _ in range(4):
        chip.compensate(reference=True)
        sums.append([float(chip.read(f"gdc_ref_{n.name}")[0]) for n in graph.weight_nodes()])
    sums = np.array(sums)
    assert (sums.std(axis=0) / sums.mean(axis=0) < 0.005).all(), sums
    from socsim.report.report import run_figures
    from socsim.runfolder.read import load_run
    figure, caption = run_figures(load_run(pcm))["drift"]  # socsim report draws the curves
    assert "drift.csv" in caption and figure.axes[0].get_xscale() == "log" and len(figure.axes[0].containers) == 2
    ideal = _trained(tmp_path, "ideal")
    assert main(["drift", ideal, "--after", "0,3600,31536000000", "--quiet"]) == 0
    assert pd.read_csv(f"{ideal}/{DRIFT}").test_accuracy.nunique() == 1


def test_drift_needs_a_run_folder(tmp_path, capsys):
    assert main(["drift", str(tmp_path)]) == 2
    assert "checkpoint.npz: no checkpoint" in capsys.readouterr().err


def test_drift_refuses_a_timing_only_run(tmp_path, capsys):
    out = tmp_path / "t"
    run_training(RunArgs(MLP, "wu2023", "digits", None, 1, 128, 64, None, True), out)
    assert main(["drift", str(out), "--quiet"]) == 2
    assert "timing-only" in capsys.readouterr().err
