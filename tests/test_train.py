"""socsim train: run folders, resume bit-identical to an uninterrupted run, divergence handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socsim.cli import main
from socsim.host.train import Diverged, RunArgs, run_training
from socsim.runfolder.files import CHECKPOINT, read_checkpoint

ARGS = RunArgs("programs/mlp.toml", "wu2023", "digits", None, 2, 192, 64, None)


def _weights(run_dir):
    return read_checkpoint(run_dir).trainer.memory


def test_resume_continues_bit_identically(tmp_path):
    """On wu2023 with spare tiles: the tiles no instruction used are saved as empty tables (built from the config
    and seed when first used), left out of conductances.npz, and a resumed run still equals the whole one."""
    spare = tmp_path / "spare.toml"
    spare.write_text('base = "wu2023"\n[tiles]\ncount = 12\n')
    args = RunArgs(**{**ARGS.__dict__, "config": str(spare)})
    whole, part = tmp_path / "whole", tmp_path / "part"
    run_training(args, whole)
    run_training(RunArgs(**{**args.__dict__, "epochs": 1}), part)
    crossbars = read_checkpoint(part).trainer.crossbars
    used = [i for i, state in enumerate(crossbars) if state]
    assert 0 < len(used) < len(crossbars) == 12 and all(state == {} for state in crossbars if not state)
    assert {name.split("_")[0] for name in np.load(part / "conductances.npz").files} == {f"tile{i}" for i in used}
    run_training(args, part, resume=True)
    a, b = pd.read_csv(whole / "metrics.csv"), pd.read_csv(part / "metrics.csv")
    cols = [c for c in a.columns if c != "wall_s"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    wa, wb = _weights(whole), _weights(part)
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_array_equal(wa[name], wb[name], err_msg=name)
    ca, cb = np.load(whole / "conductances.npz"), np.load(part / "conductances.npz")
    for name in ca.files:
        np.testing.assert_array_equal(ca[name], cb[name], err_msg=name)


def test_run_folder_contents_and_accuracy_rises(tmp_path):
    rows, last = run_training(RunArgs(**{**ARGS.__dict__, "config": "ideal", "epochs": 2, "train_examples": 512,
                                         "test_examples": 128}), tmp_path)
    for name in ("config.json", "run.json", "metrics.csv", "ledger.csv", "conductances.npz",
                 "conductances_initial.npz", CHECKPOINT):
        assert (tmp_path / name).exists(), name
    assert rows[-1].test_accuracy > 0.3  # 10 classes: chance is 0.1
    assert rows[-1].adc_saturated_share == 0.0  # measured (not None), and an ideal converter has no range
    ledger = pd.read_csv(tmp_path / "ledger.csv")
    train = ledger[(ledger.epoch == 2) & (ledger.program == "train")]
    assert train.energy_pj.sum() == pytest.approx(rows[-1].train_energy_pj, rel=1e-9)
    assert last is not None and last.cycles == rows[-1].train_cycles


def test_divergence_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path, capsys):
    bad = tmp_path / "diverge.toml"
    # AdamW with eps = 0: weights whose inputs are always zero get 0 / 0 updates
    bad.write_text('base = "ideal"\n[train]\neps = 0.0\n')
    args = RunArgs(**{**ARGS.__dict__, "config": str(bad), "epochs": 2})
    with pytest.raises(Diverged, match=r"training diverged in epoch \d+: trap: NaN or inf produced at pc \d+"):
        run_training(args, tmp_path / "run")
    assert (tmp_path / "run" / CHECKPOINT).exists()
    code = main(["train", "programs/mlp.toml", "--config", str(bad), "--dataset", "digits", "--epochs", "2",
                 "--train-examples", "192", "--test-examples", "64", "--out", str(tmp_path / "cli"), "--quiet"])
    assert code == 4
    assert "the last good checkpoint is" in capsys.readouterr().err


def test_resume_of_a_folder_that_is_not_a_run_is_an_error(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "run.json: not a run folder written by 'socsim train'" in capsys.readouterr().err
