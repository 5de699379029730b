"""Sweeps for studies: presets as an axis, timing-only and inference jobs, seeds with mean +- std (summary.csv,
error bars), a Pareto front per panel, linked axes kept as one dimension."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socsim.sweep import load_sweep, run_sweep
from socsim.sweep.figures import dimensions, make_figure
from socsim.sweep.spec import CONFIG_AXIS, FigureSpec, SweepError, expand
from socsim.sweep.summary import summarize
from socsim.sweep.table import REPLICATE
from tests.sweep.conftest import MLP, VECTOR_OPS, write_sweep

PRESETS = f"""
name = "presets"
config = ["wu2023", "ideal.toml"]
[job]
kind = "program"
program = "{VECTOR_OPS}"
seeds = 2
[grid]
"du.lanes" = [4, 16]
"""


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("presets")
    (tmp / "ideal.toml").write_text('base = "ideal"\nname = "my-ideal"\n')
    spec = load_sweep(write_sweep(tmp, PRESETS))
    return spec, run_sweep(spec, tmp / "out", workers=1)


def test_config_list_is_a_grid_axis(presets):
    spec, out = presets
    assert spec.fields[0] == CONFIG_AXIS and list(spec.grid) == [CONFIG_AXIS, "du.lanes"]
    points = expand(spec)
    assert [(p.index, p.replicate) for p in points] == [(i, r) for i in range(4) for r in range(2)]
    assert [p.config["name"] for p in points[::2]] == ["wu2023", "wu2023", "my-ideal", "my-ideal"]
    assert list(out.table[CONFIG_AXIS]) == ["wu2023"] * 4 + ["ideal.toml"] * 4


def test_seeds_offset_the_config_seeds_and_give_distinct_keys(presets):
    spec, _ = presets
    points = expand(spec)
    first, second = points[0], points[1]
    assert second.config["seed"] == first.config["seed"] + 1
    assert second.config["train"]["init_seed"] == first.config["train"]["init_seed"] + 1
    assert len({p.key for p in points}) == len(points)


def test_summary_has_mean_std_and_n_of_every_metric(presets):
    spec, out = presets
    assert list(out.table[REPLICATE]) == [0, 1] * 4
    summary = pd.read_csv(out.summary)
    assert len(summary) == 4 and (summary["n"] == 2).all()
    for m in spec.metrics:
        assert {f"{m}_mean", f"{m}_std"} <= set(summary.columns)
        runs = out.table.groupby("point")[m]
        np.testing.assert_allclose(summary[f"{m}_mean"], runs.mean(), rtol=1e-12)
        np.testing.assert_allclose(summary[f"{m}_std"].fillna(0), runs.std(ddof=1).fillna(0), rtol=1e-12,
                                   atol=1e-12)


def test_figure_of_means_has_error_bars(presets):
    spec, out = presets
    page = (out.results.parent / "sweep.html").read_text()
    assert "mean \u00b1 std" in page and "Every run" in page
    from socsim.sweep.summary import means_table
    means = means_table(summarize(spec, out.table), spec)
    fig = make_figure(spec, means, FigureSpec("cycles", "energy_pj", "min", "min"))
    bars = [c for ax in fig.axes for c in ax.containers]
    assert bars, "no error bars drawn"
    assert "mean \u00b1 1 std over seeds" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_pareto_front_per_panel(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, f"""
name = "facets"
[job]
kind = "program"
program = "{VECTOR_OPS}"
[grid]
a = [{{ "du.lanes" = 4 }}, {{ "du.lanes" = 8 }}]
b = [{{ "du.startup_cycles" = 4 }}, {{ "du.startup_cycles" = 8 }}]
c = [{{ "bus.width_bytes" = 8 }}, {{ "bus.width_bytes" = 16 }}]
"""))
    points = expand(spec)
    rng = np.random.default_rng(0)
    table = pd.DataFrame([{"point": p.index, "status": "ok", **{f: p.value(f) for f in spec.fields},
                           "cycles": float(rng.uniform(1, 10)), "energy_pj": float(rng.uniform(1, 10))}
                          for p in points])
    table.loc[table["bus.width_bytes"] == 16, ["cycles", "energy_pj"]] += 100.0  # dominated by every other panel
    fig = make_figure(spec, table, FigureSpec("cycles", "energy_pj", "min", "min"))
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2
    for ax in panels:
        dots = np.concatenate([c.get_offsets() for c in ax.collections if c.get_sizes()[0] == 34])
        circled = [c.get_offsets() for c in ax.collections if c.get_sizes()[0] == 110]
        assert circled and len(circled[0]) >= 1  # every panel has its own front ...
        assert all(any(np.allclose(pt, d) for d in dots) for pt in circled[0])  # ... of its own points
        line = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        assert line and max(line[0].get_xdata()) <= dots[:, 0].max()


def test_a_linked_axis_stays_one_dimension_when_a_field_repeats(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, f"""
name = "linked"
[job]
kind = "program"
program = "{VECTOR_OPS}"
[grid]
tile = [{{ "tiles.rows" = 32, "tiles.count" = 8 }}, {{ "tiles.rows" = 64, "tiles.count" = 4 }},
        {{ "tiles.rows" = 128, "tiles.count" = 4 }}]
"du.lanes" = [4, 16]
"""))
    table = pd.DataFrame([{f: p.value(f) for f in spec.fields} for p in expand(spec)])
    assert dimensions(table, spec.axes) == [["tiles.rows", "tiles.count"], ["du.lanes"]]


@pytest.fixture(scope="module")
def timing(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("timing")
    spec = load_sweep(write_sweep(tmp, f"""
name = "timing"
[job]
kind = "train"
graph = "{MLP}"
dataset = "digits"
epochs = 1
train_examples = 64
test_examples = 64
timing_only = true
report = true
[grid]
"tiles.physics.adc.bits" = [6]
"""))
    return spec, run_sweep(spec, tmp / "out", workers=1), tmp


def test_timing_only_training_points_finish_without_accuracy_and_get_a_report(timing):
    spec, out, tmp = timing
    assert "test_accuracy" not in spec.metrics and "energy_per_image_pj" in spec.metrics
    assert list(out.table["status"]) == ["ok"]
    assert spec.figures[0].y == "energy_per_image_pj"
    folder = out.results.parent / "points" / out.table["key"][0]
    assert (folder / "report.html").is_file()
    again = run_sweep(spec, tmp / "out", workers=1, figures=False)
    assert again.ran == [] and len(again.skipped) == 1  # finished: no accuracy is not a blank metric


def test_infer_job_on_a_graph_and_on_a_run_folder(timing, tmp_path):
    _, out, _ = timing
    run_dir = out.results.parent / "points" / out.table["key"][0]
    spec = load_sweep(write_sweep(tmp_path, f"""
name = "infer"
[job]
kind = "infer"
weights = "{run_dir}"
timing_only = true
[grid]
"tiles.physics.adc.bits" = [4, 8]
"""))
    assert spec.job.graph == str(MLP) and spec.job.images == 64  # the run's own graph and test images
    result = run_sweep(spec, tmp_path / "out", workers=1, figures=False)
    assert list(result.table["status"]) == ["ok", "ok"], list(result.table["error"])
    assert (result.table["images"] == 64).all() and (result.table["energy_per_image_pj"] > 0).all()
    e4, e8 = result.table["energy_per_image_pj"]
    assert e8 > e4  # an 8-bit conversion costs 16x a 4-bit one
    plain = load_sweep(write_sweep(tmp_path, f"""
name = "infer-graph"
[job]
kind = "infer"
graph = "{MLP}"
dataset = "digits"
images = 64
""", "graph.toml"))
    assert "test_accuracy" not in plain.metrics  # initial weights: no accuracy to report
    with pytest.raises(SweepError, match="leave config out"):
        load_sweep(write_sweep(tmp_path, f'config = "ideal"\n[job]\nkind = "infer"\nweights = "{run_dir}"\n',
                               "bad.toml"))
