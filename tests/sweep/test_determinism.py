"""The same training points give identical numbers alone, in this process, on a local pool and on Dask."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from socsim.sweep import load_sweep, run_sweep
from socsim.sweep.table import NONDETERMINISTIC, read_table
from tests.sweep.conftest import MLP, TRAIN_SWEEP, write_sweep


def _strip(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k not in NONDETERMINISTIC} for r in rows]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial")
    spec = load_sweep(write_sweep(folder, TRAIN_SWEEP))
    out = run_sweep(spec, folder / "out", workers=1)
    return spec, folder, read_table(out.results)


def test_training_points_finish_with_distinct_numbers(serial):
    """Seeds and ADC bits both matter: two points that differ in one of them differ in their numbers."""
    _, _, rows = serial
    assert [r["status"] for r in rows] == ["ok"] * 4
    by = {(r["tiles.physics.adc.bits"], r["seed"]): r["test_accuracy"] + r["energy_per_image_pj"] for r in rows}
    for bits in ("4", "8"):
        assert by[(bits, "0")] != by[(bits, "1")]
    for seed in ("0", "1"):
        assert by[("4", seed)] != by[("8", seed)]


def test_local_pool_equals_serial(serial):
    spec, folder, rows = serial
    out = run_sweep(spec, folder / "pool", workers=2, figures=False)
    assert _strip(read_table(out.results)) == _strip(rows)


def test_dask_cluster_equals_serial(serial):
    distributed = pytest.importorskip("distributed")
    spec, folder, rows = serial
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        out = run_sweep(spec, folder / "dask", scheduler=cluster.scheduler_address, figures=False)
    assert _strip(read_table(out.results)) == _strip(rows)


def test_a_point_alone_equals_its_row(serial, tmp_path):
    """``socsim train`` with the point's config.toml, in a fresh process, reproduces the row."""
    _, folder, rows = serial
    row = rows[3]
    config = folder / "out" / "points" / row["key"] / "config.toml"
    subprocess.run([sys.executable, "-m", "socsim.cli", "train", str(MLP), "--config", str(config), "--dataset",
                    "digits", "--epochs", "1", "--train-examples", "512", "--test-examples", "256", "--quiet",
                    "--out", str(tmp_path / "alone")], check=True, capture_output=True, text=True)
    alone = pd.read_csv(tmp_path / "alone" / "metrics.csv").iloc[-1]
    for metric in ("test_accuracy", "energy_per_image_pj", "latency_per_image_s", "writes_per_weight",
                   "train_cycles"):
        assert alone[metric] == pd.to_numeric(row[metric]), metric
