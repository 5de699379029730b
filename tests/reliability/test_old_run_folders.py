"""A run folder of an older socsim, whose metrics rows lack the columns added since, still loads and resumes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from socsim.cli import main
from socsim.report import load_run
from socsim.runfolder.checkpoint import load_checkpoint, write_checkpoint
from socsim.runfolder.files import CHECKPOINT, METRICS, read_checkpoint

LATER = ("static_energy_pj", "step_latency_s", "eval_images", "infer_latency_per_image_s",
         "infer_energy_per_image_pj", "adc_saturated_share", "calibrate_energy_pj")
"""Columns of metrics.csv that runs of an older socsim do not have."""


def test_an_older_run_folder_loads_and_resumes(run_copy, capsys):
    pd.read_csv(run_copy / METRICS).drop(columns=list(LATER)).to_csv(run_copy / METRICS, index=False)
    state = load_checkpoint(run_copy / CHECKPOINT)
    state["metrics"] = [{k: v for k, v in row.items() if k not in LATER} for row in state["metrics"]]
    write_checkpoint(run_copy / CHECKPOINT, state)

    run = load_run(run_copy)
    assert run.epochs == 1 and "static_energy_pj" not in run.metrics
    row = read_checkpoint(run_copy).metrics[0]
    assert row.static_energy_pj is None and row.adc_saturated_share is None and row.train_cycles > 0

    assert main(["train", "--resume", str(run_copy), "--epochs", "2", "--quiet", "--accept-edits"]) == 0
    frame = pd.read_csv(run_copy / METRICS)
    assert frame["epoch"].tolist() == [1, 2]
    assert np.isnan(frame["static_energy_pj"][0]) and frame["static_energy_pj"][1] > 0  # the old row as it was
    old, new = read_checkpoint(run_copy).metrics
    assert old.as_dict().keys().isdisjoint(LATER) and set(LATER) <= new.as_dict().keys()  # none added to the old


def test_a_setting_added_since_the_run_started_is_named_when_the_run_is_used(run_copy, capsys):
    """An older run's config.json lacks the settings added since: they take today's defaults, which may differ
    from what the run trained with, so resuming or reading it says which."""
    import json

    from socsim.runfolder.files import CONFIG
    saved = json.loads((run_copy / CONFIG).read_text())
    del saved["train"]["calibration_passes"]
    del saved["energy"]
    (run_copy / CONFIG).write_text(json.dumps(saved))
    capsys.readouterr()
    assert main(["train", "--resume", str(run_copy), "--epochs", "2", "--quiet", "--accept-edits"]) == 0
    err = capsys.readouterr().err
    assert "has no energy, train.calibration_passes = " in err and "settings added since the run started" in err
    assert main(["train", "--resume", str(run_copy), "--epochs", "3", "--quiet", "--accept-edits"]) == 0
    assert "settings added since" in capsys.readouterr().err  # the resume keeps the folder's config.json as it is
