"""Timing-only mode: the numerics are skipped, cycles and ledger are the full run's where they do not depend on data.

Programming (wv, pulse) is the one data-dependent cost; timing-only charges every cell of the block one
SET pulse and, for wv, one verify read (socsim.sim.timing_only). These tests compare against full runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import isa
from socsim.cli import main
from socsim.compiler import load_graph
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.options import RunOptions
from socsim.host.train import RunArgs, run_training
from socsim.host.training import ChipTrainer
from socsim.sim import Result, Soc
from socsim.sim.operands import pattern_extent, pattern_offsets

KEY = ["component", "action", "opcode", "layer", "phase"]
PULSES = ("set_pulse", "reset_pulse")


def _rows(result: Result) -> pd.DataFrame:
    return result.ledger.set_index(KEY).sort_index()


def _assert_same_except_pulse_split(full: Result, timing: Result) -> None:
    """Every ledger row equal; SET and RESET rows of one instruction equal as a sum (the split is data)."""
    a, b = _rows(full), _rows(timing)
    split = a.index.get_level_values("action").isin(PULSES)
    assert a.index[~split].equals(b.index[~b.index.get_level_values("action").isin(PULSES)])
    pd.testing.assert_frame_equal(a[~split], b[~b.index.get_level_values("action").isin(PULSES)])
    keep = ["component", "opcode", "layer", "phase"]
    sa = a[split].groupby(keep)[["count", "energy_pj"]].sum()
    sb = b[b.index.get_level_values("action").isin(PULSES)].groupby(keep)[["count", "energy_pj"]].sum()
    pd.testing.assert_frame_equal(sa, sb)
    assert timing.energy_pj == full.energy_pj


def _run(preset: str, timing_only: bool, overrides: dict | None = None) -> Result:
    cfg = load_config(preset, overrides)
    return Soc.from_config(cfg, timing_only=timing_only).run(isa.assemble_file("programs/mlp_infer.s"))


def test_mlp_infer_on_ideal_devices_costs_exactly_the_full_run():
    # ideal write-verify: one pulse per weight that moves; the random weights all differ from the
    # fresh devices' zeros, so the nominal one-pulse-per-cell rule is exact for cycles and energy
    full, timing = _run("ideal", False), _run("ideal", True)
    assert full.cycles == timing.cycles
    assert full.instructions == timing.instructions
    assert full.busy_cycles == timing.busy_cycles
    _assert_same_except_pulse_split(full, timing)
    assert timing.outputs == {}  # no memory contents in timing-only mode


def test_mlp_infer_on_wu2023_differs_only_in_programming():
    full, timing = _run("wu2023", False), _run("wu2023", True)
    a, b = _rows(full), _rows(timing)
    # the converter's inputs over range are counted from the currents, which timing-only mode does not compute
    saturated = a.index.get_level_values("action") == "adc_saturated"
    assert saturated.any() and not (b.index.get_level_values("action") == "adc_saturated").any()
    # the rows of the run's time (elapsed by layer, leakage: opcode "-") differ where the programming took a different
    # time (the init's layer "-"), and are equal elsewhere
    prog = a.index.get_level_values("opcode") == "wv"
    time_prog = (a.index.get_level_values("opcode") == "-") & (a.index.get_level_values("layer") == "-")
    b_prog = b.index.get_level_values("opcode") == "wv"
    b_time_prog = (b.index.get_level_values("opcode") == "-") & (b.index.get_level_values("layer") == "-")
    pd.testing.assert_frame_equal(a[~prog & ~time_prog & ~saturated], b[~b_prog & ~b_time_prog])
    for r in (full, timing):
        assert int(r.elapsed["cycles"].sum()) == r.cycles
    # the rule: every cell of each block (64 x 32 and 32 x 10) takes one SET pulse and one verify read
    wv = b[b.index.get_level_values("opcode") == "wv"].groupby("action")["count"].sum()
    assert wv["set_pulse"] == wv["verify_read"] == wv["cells_written"] == 64 * 32 + 32 * 10
    assert "reset_pulse" not in wv


def test_timing_only_skips_the_numerics_and_builds_no_crossbars():
    cfg = load_config("wu2023")
    soc = Soc.from_config(cfg, timing_only=True)
    soc.run(isa.assemble_file("programs/mlp_infer.s"))
    assert all(t.crossbar is None for t in soc.tiles)
    assert not soc.memory.arrays[isa.Space.SRAM].any()  # nothing computed into the data SRAM


def test_pattern_extent_matches_the_listed_offsets():
    for levels in (((3, 1), (4, 10), (2, -7)), ((5, 0),), ((0, 3), (2, 1)), ((1, 5), (6, -2), (2, 100))):
        offs = pattern_offsets(levels)
        count, lo, hi = pattern_extent(levels)
        assert count == offs.size
        if offs.size:
            assert (lo, hi) == (offs.min(), offs.max())


@pytest.fixture(scope="module")
def ideal_epoch():
    # Weight decay moves every weight every batch (also those whose gradient is zero), so the ideal
    # scheme's write-verify pulses exactly once per weight: its costs no longer depend on the data.
    cfg = load_config("ideal", {"train": {"weight_decay": 0.01}})
    graph = load_graph("programs/mlp.toml")
    data = load_dataset("digits").subset(128, 32)
    out = {}
    for timing_only in (False, True):
        trainer = ChipTrainer(graph, cfg, data, options=RunOptions(timing_only=timing_only))
        train = trainer.train_epoch()
        acc, ev = trainer.evaluate()
        out[timing_only] = (trainer.init_result, train, ev, acc)
    return out


def test_ideal_training_epoch_costs_exactly_the_full_run(ideal_epoch):
    full, timing = ideal_epoch[False], ideal_epoch[True]
    for a, b in zip(full[:3], timing[:3]):  # init, train epoch, evaluation
        assert a.cycles == b.cycles
        assert a.busy_cycles == b.busy_cycles
        _assert_same_except_pulse_split(a, b)
    led = full[1].ledger
    pulses = led[led.action.isin(PULSES)]["count"].sum()
    cells = led[led.action == "cells_written"]["count"].sum()
    assert pulses == cells == 2 * (64 * 32 + 32 * 10)  # the precondition: two batches, every weight moved


def test_accuracy_is_not_measured_in_timing_only_mode(ideal_epoch):
    assert ideal_epoch[True][3] is None
    assert 0.0 <= ideal_epoch[False][3] <= 1.0


def test_train_command_records_accuracy_as_not_measured(tmp_path, capsys):
    args = RunArgs("programs/mlp.toml", "ideal", "digits", None, 1, 128, 32, None, timing_only=True)
    rows, last = run_training(args, tmp_path)
    assert rows[0].test_accuracy is None and rows[0].adc_saturated_share is None
    assert np.isnan(pd.read_csv(tmp_path / "metrics.csv")["test_accuracy"].iloc[0])
    assert rows[0].train_cycles == last.cycles > 0
    code = main(["train", "programs/mlp.toml", "--config", "ideal", "--dataset", "digits", "--epochs", "1",
                 "--train-examples", "128", "--test-examples", "32", "--out", str(tmp_path / "cli"), "--quiet",
                 "--timing-only"])
    assert code == 0
    assert "final test accuracy not measured (timing only)" in capsys.readouterr().out


def test_run_command_timing_only(capsys):
    assert main(["run", "programs/mlp_infer.s", "--config", "ideal", "--timing-only"]) == 0
    assert "timing only" in capsys.readouterr().out
    assert main(["run", "programs/mlp_infer.s", "--timing-only", "--dump", "pred"]) == 2
    assert "--dump needs the numerics" in capsys.readouterr().err
