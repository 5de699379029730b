"""Reports for any tile geometry: the device masks follow the config's array shape (rows x weights per row), and
a whole report and comparison build for a tile that is not 64 bit lines wide; the per-layer energy by component
class; the readable labels, units and natural order of the report's tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socsim.config.soc import load_config
from socsim.report import html as H
from socsim.report.compare import phase_energy_per_image, run_summary
from socsim.report.devices import array_shape, device_values, placed_masks
from socsim.report.labels import ENERGY_CLASSES, component_label, layer_class_table
from socsim.report.report import build_compare, build_report, run_tables
from socsim.report.tables import layer_order
from socsim.runfolder.read import RunFolder, load_run

SHAPES = [(32, 32), (64, 64), (128, 128), (256, 64), (48, 26)]
"""(word lines, bit lines): square, the default, large, tall and an odd one (26 bit lines: 13 weights)."""
PROGRAMS = Path(__file__).resolve().parents[2] / "programs"


def fake_run(rows: int, bitlines: int) -> RunFolder:
    """A run folder in memory: the config of the shape, one block filling tile 0 and a corner of tile 1."""
    cfg = load_config("wu2023", {"tiles": {"rows": rows, "bitlines": bitlines}})
    cols = cfg.tiles.weight_cols
    blocks = [{"tile": 0, "tile_row": 0, "rows": rows, "tile_col": 0, "cols": cols},
              {"tile": 1, "tile_row": rows - 3, "rows": 3, "tile_col": cols - 2, "cols": 2}]
    state = {f"tile{i}_{k}": np.ones((2, 1, rows, cols)) for i in (0, 1) for k in ("g", "writes")}
    return RunFolder(Path("fake"), cfg, None, pd.DataFrame({"epoch": [1]}), pd.DataFrame(), state, state,
                     None, {"placement": {"blocks": blocks}})


@pytest.mark.parametrize("rows,bitlines", SHAPES)
def test_masks_have_the_arrays_shape(rows, bitlines):
    run = fake_run(rows, bitlines)
    assert array_shape(run) == (rows, bitlines // 2)  # differential pairs: one weight per two bit lines
    masks = placed_masks(run)
    assert masks[0].shape == (rows, bitlines // 2) and masks[0].all()
    assert masks[1].sum() == 6
    placed = rows * (bitlines // 2) + 6
    assert device_values(run.final, "g", masks).size == 2 * placed  # G+ and G- of every placed weight


@pytest.fixture(scope="module")
def odd_run_dir(tmp_path_factory) -> Path:
    """A timing-only run of the digits MLP on 48 x 26 tiles (13 weights per row), 1 epoch of 64 images."""
    from socsim.host.train import RunArgs, run_training
    tmp = tmp_path_factory.mktemp("geometry")
    (tmp / "odd.toml").write_text('base = "wu2023"\nname = "odd"\n[tiles]\nrows = 48\nbitlines = 26\n'
                                  'bitlines_per_adc = 2\ncount = 8\n')
    out = tmp / "odd"
    run_training(RunArgs(str(PROGRAMS / "mlp.toml"), str(tmp / "odd.toml"), "digits", None, 1, 64, 64, None,
                         timing_only=True), out)
    return out


def test_report_and_compare_of_an_odd_geometry(odd_run_dir, run_dir):
    odd = load_run(odd_run_dir)
    page = build_report(odd)
    assert "Per layer x component class" in page and "digital unit" in page
    assert "<th>du</th>" not in page
    compare = build_compare([odd, load_run(run_dir)])
    assert "odd" in compare


def test_layer_class_table_adds_up_to_the_ledger(run):
    table = layer_class_table(run.ledger, layer_order(run.ledger))
    assert table["total_pj"].sum() == pytest.approx(run.ledger["energy_pj"].sum(), rel=1e-12)
    classes = [c.removesuffix("_pj") for c in table.columns[1:-1]]
    assert classes == [c for c in ENERGY_CLASSES if c in classes]  # in the registry's order
    assert {"array", "ADC", "DAC", "programming", "digital unit", "SRAM", "static"} <= set(classes)
    assert list(table["layer"])[-1] == "-" and "fc1" in set(table["layer"])
    assert "layer_classes" in run_tables(run)


def test_compare_phases_add_up_to_the_energy_per_image(run):
    phases = phase_energy_per_image(run)
    assert "calibrate_energy_per_image_pj" in phases  # wu2023 calibrates its converters during training
    summary = run_summary(run)
    assert sum(phases.values()) == pytest.approx(summary["energy_per_image_pj"], rel=1e-9)


def test_readable_labels_units_and_natural_order():
    assert [component_label(c) for c in ("du", "tbuf", "acc", "sram", "tile12", "dma0")] == \
        ["digital unit", "tile buffer", "accumulator SRAM", "data SRAM", "tile 12", "DMA channel 0"]
    df = pd.DataFrame({"component": ["tile10", "tile2"], "energy_pj": [5_883_123.456, 12.3456],
                       "latency_per_image_s": [4.4412e-5, 1.0]})
    page = H.table(df, units=True)
    assert "<th>energy</th>" in page and "<th>latency per image</th>" in page
    assert "5.883 uJ" in page and "12.35 pJ" in page and "44.41 us" in page and "tile 10" in page
    assert page.startswith("<div class='scroll'>")
