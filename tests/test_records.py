"""Typed records between layers: the metrics row and the checkpoint's run state keep their file formats both ways."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socsim.base.errors import InputError
from socsim.runfolder.files import (
    CHECKPOINT,
    METRICS,
    RunState,
    TrainerState,
    read_checkpoint,
    write_metrics,
    write_run_state,
)
from socsim.runfolder.metrics import COLUMNS, REQUIRED, MetricsRow


def _row(epoch: int = 1, **changes) -> MetricsRow:
    values = {name: float(i) for i, name in enumerate(COLUMNS)}
    values.update(epoch=epoch, train_images=64, train_cycles=1000, eval_cycles=500, eval_images=32,
                  baseline_accuracy=None)
    values.update(changes)
    return MetricsRow(**values)


def test_metrics_csv_keeps_the_columns_every_socsim_wrote(tmp_path):
    """The header of a new run is the one written before the row was typed (the dict's keys in order)."""
    old_header = ["epoch", "test_accuracy", "train_images", "train_cycles", "train_s", "latency_per_image_s",
                  "train_energy_pj", "energy_per_image_pj", "static_energy_pj", "step_latency_s", "eval_cycles",
                  "eval_energy_pj", "eval_images", "infer_latency_per_image_s", "infer_energy_per_image_pj",
                  "cells_written", "writes_per_weight", "set_pulses", "reset_pulses", "adc_saturated_share",
                  "wall_s", "forward_energy_pj", "backward_energy_pj", "update_energy_pj", "calibrate_energy_pj"]
    write_metrics(tmp_path / METRICS, [_row(1), _row(2)])
    assert list(pd.read_csv(tmp_path / METRICS).columns) == old_header
    write_metrics(tmp_path / METRICS, [_row(1, baseline_accuracy=0.5)])  # the baseline's column only with it
    assert list(pd.read_csv(tmp_path / METRICS).columns) == [*old_header, "baseline_accuracy"]
    write_metrics(tmp_path / METRICS, [_row(1, test_accuracy=None, adc_saturated_share=None)])  # timing only
    frame = pd.read_csv(tmp_path / METRICS)
    assert list(frame.columns) == old_header and frame["test_accuracy"].isna().all()


def test_an_older_row_reads_and_writes_back_as_it_was():
    old = {name: 1.0 for name in REQUIRED} | {"wall_s": 2.0, "cells_written": 3.0, "a_newer_column": 7}
    row = MetricsRow.from_dict(old)
    assert row.static_energy_pj is None and row.wall_s == 2.0 and "static_energy_pj" in row.absent
    assert row.as_dict() == old  # no column added, the unknown one kept
    with pytest.raises(InputError) as info:
        MetricsRow.from_dict({k: v for k, v in old.items() if k != "train_cycles"}, "metrics[3]")
    assert str(info.value).startswith("metrics[3]: missing column 'train_cycles'")


def test_the_run_state_round_trips_through_the_checkpoint(tmp_path):
    trainer = {"epoch": 2, "cycle": 12345, "memory": {"w": np.arange(4, dtype=np.float32)}, "crossbars": [None],
               "blocks": [[0, 0, 4, 4, 8]]}
    ledger = pd.DataFrame({"unit": ["du"], "energy_pj": [1.5]})
    state = RunState(TrainerState(**trainer), [_row(1, baseline_accuracy=0.25), _row(2)], [ledger])
    write_run_state(tmp_path / CHECKPOINT, state)
    back = read_checkpoint(tmp_path)
    assert back.epoch == 2 and back.metrics == state.metrics and back.metrics[0].baseline_accuracy == 0.25
    np.testing.assert_array_equal(back.trainer.memory["w"], trainer["memory"]["w"])
    pd.testing.assert_frame_equal(back.ledgers[0], ledger)
