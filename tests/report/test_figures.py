"""Every figure renders to PNG and SVG, including the empty and the many-jobs cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from socsim.report import figures as F
from socsim.sim.result import TIMELINE_COLUMNS


def test_result_figures_save_png_and_svg(infer_result, tmp_path):
    r = infer_result
    figs = {"energy": F.energy_breakdown(r.ledger), "latency": F.latency_breakdown(r.ledger, r.cfg.clock_hz,
                                                                                    elapsed_cycles=r.cycles),
            "timeline": F.utilization_timeline(r.timeline, r.cfg.clock_hz)}
    for name, fig in figs.items():
        paths = F.save_figure(fig, tmp_path / name)
        assert [p.suffix for p in paths] == [".png", ".svg"]
        assert paths[0].read_bytes()[:4] == b"\x89PNG" and "<svg" in paths[1].read_text()
        assert F.embed(fig, "svg").startswith("<svg")


def test_timeline_with_many_jobs_becomes_a_heat_map():
    n = F.TIMELINE_BARS + 1
    start = np.arange(n) * 10
    tl = pd.DataFrame({"unit": ["du"] * n, "pc": 0, "opcode": "vadd", "layer": "-", "phase": "forward",
                       "start": start, "end": start + 5}, columns=TIMELINE_COLUMNS)
    fig = F.utilization_timeline(tl, 1e8)
    images = fig.axes[0].get_images()
    assert len(images) == 1
    assert np.asarray(images[0].get_array()).mean() == pytest.approx(0.5, abs=0.02)  # busy half the time


def test_empty_inputs_give_a_labelled_placeholder():
    for fig in (F.utilization_timeline(pd.DataFrame(columns=TIMELINE_COLUMNS), 1e8),
                F.device_writes(np.zeros(0), None, 0.0), F.conductance_distribution(np.zeros(0), np.zeros(0))):
        assert isinstance(fig, Figure)
        assert fig.axes[0].texts, "placeholder says why the figure is empty"


def test_energy_unit_fits_below_1000():
    assert F.energy_unit(999.0) == ("pJ", 1.0)
    assert F.energy_unit(2.66e3) == ("nJ", 1e3)
    assert F.energy_unit(5e8) == ("uJ", 1e6)
    with pytest.raises(ValueError, match="svg, png"):
        F.embed(F.accuracy_curve(pd.DataFrame({"epoch": [1], "test_accuracy": [0.5]})), "gif")
