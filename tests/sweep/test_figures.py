"""Sweep figures: display units on the axes, every swept field visible (colour, marker, facets), sweep.html."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socsim.sweep import load_sweep, run_sweep
from socsim.sweep.display import display, short_name
from socsim.sweep.figures import channels, dimensions, make_figure
from socsim.sweep.spec import FigureSpec
from tests.report.test_report_html import assert_self_contained
from tests.sweep.conftest import VECTOR_OPS, write_sweep

THREE_AXES = f"""
name = "three"
[job]
kind = "program"
program = "{VECTOR_OPS}"
[grid]
"du.lanes" = [4, 16]
"du.startup_cycles" = [4, 40]
clock = [{{ clock_hz = 1e8, "du.special_cycles" = 4 }}, {{ clock_hz = 2e8, "du.special_cycles" = 8 }}]
"bus.width_bytes" = [8, 16, 32]
"""


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("three")
    spec = load_sweep(write_sweep(tmp, THREE_AXES))
    return spec, run_sweep(spec, tmp / "out", workers=1)


def _scattered(fig) -> np.ndarray:
    """Every plotted point (x, y) of the scatter collections that are not the Pareto circles (size 34)."""
    pts = [c.get_offsets() for ax in fig.axes for c in ax.collections if c.get_sizes()[0] == 34]
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def test_linked_fields_form_one_dimension(three):
    spec, out = three
    assert dimensions(out.table, spec.fields) == [["du.lanes"], ["du.startup_cycles"],
                                                 ["clock_hz", "du.special_cycles"], ["bus.width_bytes"]]


def test_every_swept_dimension_is_visible(three):
    spec, out = three
    fig_spec = FigureSpec("cycles", "energy_pj", "min", "min", color="du.special_cycles")
    ch = channels(spec, out.table, fig_spec)
    assert ch.colour == ["clock_hz", "du.special_cycles"] and ch.marker == ["du.lanes"]
    assert ch.facets == [["du.startup_cycles"], ["bus.width_bytes"]]
    fig = make_figure(spec, out.table, fig_spec)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2 * 3  # one facet per (startup_cycles, width) combination
    assert sorted(ax.get_title() for ax in panels)[0] == "startup_cycles=4, width_bytes=16"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "clock_hz=1e+08, special_cycles=4" in legend and "du.lanes=16" in legend
    assert len(_scattered(fig)) == len(out.table)  # each point drawn once
    markers = {tuple(c.get_paths()[0].vertices.round(3).ravel()) for ax in panels for c in ax.collections
               if c.get_sizes()[0] == 34}
    assert len(markers) == 2  # one marker shape per du.lanes value


def test_axes_in_display_units(three):
    spec, out = three
    fig = make_figure(spec, out.table, FigureSpec("seconds", "energy_pj", "min", "min"))
    ax = next(ax for ax in fig.axes if ax.get_visible() and ax.get_xlabel())
    assert ax.get_xlabel() == "simulated time (us)" and fig.axes[0].get_ylabel() == "energy (nJ)"
    pts = _scattered(fig)
    np.testing.assert_allclose(sorted(pts[:, 0]), sorted(out.table["seconds"] * 1e6))
    np.testing.assert_allclose(sorted(pts[:, 1]), sorted(out.table["energy_pj"] / 1e3))


@pytest.mark.parametrize("column, values, label, scale", [
    ("energy_per_image_pj", [106415.0, 109501.0], "training energy (nJ per image)", 1e3),
    ("latency_per_image_s", [4.99e-6, 5.63e-6], "training latency (us per image)", 1e-6),
    ("test_accuracy", [0.1, 0.45], "test accuracy (%)", 0.01),
    ("train_cycles", [792328], "training cycles, last epoch (thousands)", 1e3),
    ("tiles.physics.adc.bits", [4, 8], "tiles.physics.adc.bits", 1.0),
])
def test_display_units(column, values, label, scale):
    assert display(column, values).label == label and display(column, values).scale == scale


def test_short_names():
    fields = ["tiles.physics.adc.bits", "tiles.bitlines_per_adc", "energy.adc_fom_fj", "seed"]
    assert [short_name(f, fields) for f in fields] == ["adc.bits", "bitlines_per_adc", "adc_fom_fj", "seed"]
    assert short_name("a.noise_levels", ["a.noise_levels", "b.noise_levels"]) == "a.noise_levels"


def test_summary_page_is_self_contained(three):
    spec, out = three
    page = (out.results.parent / "sweep.html").read_text()
    assert_self_contained(page)
    assert page.count("<svg") == len(spec.figures)
    table = pd.read_csv(out.results)
    for key in table["key"]:
        assert key in page
    assert "<th>energy (nJ)</th>" in page and "Pareto front" in page and "du.special_cycles" in page


def test_a_sweep_whose_points_all_failed_still_gets_its_page(three, tmp_path):
    from socsim.sweep.figures import write_figures
    spec, out = three
    failed = out.table.assign(status="error", error="boom")
    paths = write_figures(spec, failed, tmp_path)
    assert [p.name for p in paths] == ["energy_vs_cycles.png", "sweep.html"]
    page = paths[-1].read_text()
    assert "0 ok, 24 failed" in page and "boom" in page
