"""`socsim compare`: the config fields that differ, ratios against the first run, figures that show every run."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from socsim.report import figures as F
from socsim.report.compare import CONFIG_ROW, NO_DIFFERENCE, compare_table, config_differences, flat_fields
from socsim.report.report import compare_text, format_compare
from socsim.runfolder.read import load_run


@pytest.fixture(scope="module")
def pair(run_dir, ideal_run_dir):
    return [load_run(run_dir), load_run(ideal_run_dir)]


def test_rows_name_every_config_field_that_differs_and_no_other(pair):
    a, b = (flat_fields(r.config_mapping) for r in pair)
    expected = [k for k in a if k not in ("name", "train.scheme") and a.get(k) != b.get(k)]
    assert "tiles.physics.device.endurance_pulses" in expected and "tiles.physics.model" in expected
    diff = config_differences(pair)
    assert list(diff.index) == expected
    table = compare_table(pair)
    rows = [q for q in table.index if q.startswith(CONFIG_ROW)]
    assert rows == [CONFIG_ROW + k for k in expected]
    assert table.loc[CONFIG_ROW + "tiles.physics.model"].tolist()[:2] == [a["tiles.physics.model"], "ideal"]
    assert list(table.index).index(rows[0]) == list(table.index).index("scheme") + 1


def test_ratio_column_divides_by_the_first_run(pair):
    table = compare_table(pair)
    first, second = table.attrs["runs"]
    ratio = table[f"{second} / {first}"]
    for quantity in ("energy_per_image_pj", "latency_per_image_s", "train_energy_pj", "tile_macs"):
        assert ratio[quantity] == pytest.approx(table.loc[quantity, second] / table.loc[quantity, first], rel=1e-12)
    assert math.isnan(ratio["graph"]) and math.isnan(ratio["max_writes_per_device"])  # text, and no counters in B
    shown = format_compare(table)
    assert shown.loc["energy_per_image", f"{second} / {first}"].endswith("x")
    assert shown.loc["energy_per_image", first].endswith(" nJ")  # display units, the suffix dropped from the name
    assert shown.loc["latency_per_image", first].endswith(" us")


def test_identical_runs_say_no_field_differs_and_ratio_one(run_dir, tmp_path):
    twin = tmp_path / "again"
    shutil.copytree(run_dir, twin)
    table = compare_table([load_run(run_dir), load_run(twin)])
    assert not any(q.startswith(CONFIG_ROW) and q != NO_DIFFERENCE for q in table.index)
    assert table.loc[NO_DIFFERENCE].tolist()[:2] == ["none", "none"]
    ratio = table.iloc[:, 2]
    numeric = ratio.dropna()
    assert len(numeric) > 10 and (numeric == 1.0).all()
    assert "none" in compare_text([load_run(run_dir), load_run(twin)])


def test_identical_curves_stay_visible():
    m = pd.DataFrame({"epoch": [1, 2, 3], "test_accuracy": [0.5, 0.6, 0.7], "baseline_accuracy": [0.8, 0.9, 0.95]})
    fig = F.compare_accuracy({"a": m, "b": m.copy()})
    lines = fig.axes[0].get_lines()
    runs, baselines = lines[:2], lines[2:]
    assert len(baselines) == 1, "one line for a baseline the runs share"
    assert runs[0].get_marker() != runs[1].get_marker() and runs[0].get_linestyle() != runs[1].get_linestyle()
    offset = np.asarray(runs[1].get_xdata()) - np.asarray(runs[0].get_xdata())
    assert np.allclose(offset, F.DODGE_EPOCHS)
    assert np.allclose(np.asarray(runs[0].get_xdata()) + F.DODGE_EPOCHS / 2, [1, 2, 3])  # centred on the epoch
    assert list(fig.axes[0].get_xticks()) == [1, 2, 3]  # whole epochs only


def test_long_runs_get_integer_epoch_ticks():
    m = pd.DataFrame({"epoch": np.arange(1, 31), "test_accuracy": np.linspace(0.1, 0.9, 30)})
    ticks = F.compare_accuracy({"a": m}).axes[0].get_xticks()
    assert all(float(t).is_integer() for t in ticks)


def test_latency_figure_in_display_units():
    fig = F.compare_latency(pd.Series({"a": 5.6e-6, "b": 1.2e-5}))
    ax = fig.axes[0]
    assert ax.get_ylabel() == "latency per training image (us)"
    assert [round(p.get_height(), 6) for p in ax.patches] == [5.6, 12.0]
    assert [t.get_text() for t in ax.texts] == ["5.60 us", "12.0 us"]
