"""Report tables: their totals equal the ledger's, units are in the column names, export round-trips."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from socsim.report.tables import (
    PHASES,
    component_table,
    epoch_table,
    layer_phase_pivot,
    layer_phase_table,
    opcode_table,
    result_tables,
    run_tables,
    units_only,
    write_tables,
)

UNIT_SUFFIXES = ("_pj", "_cycles", "_s", "_share", "utilization", "accuracy")


def test_result_tables_sum_to_ledger_totals(infer_result):
    r = infer_result
    tables = result_tables(r)
    total = r.energy_pj
    for name in ("components", "layers", "opcodes", "actions"):
        assert tables[name]["energy_pj"].sum() == pytest.approx(total, rel=1e-12), name
    assert tables["components"]["energy_share"].sum() == pytest.approx(1.0)
    assert layer_phase_pivot(r.ledger)["total_energy_pj"].sum() == pytest.approx(total, rel=1e-12)


def test_component_busy_cycles_are_the_simulators(infer_result):
    r = infer_result
    comp = component_table(r.ledger, r.cycles, r.busy_cycles).set_index("component")
    for unit, busy in r.busy_cycles.items():
        assert comp.loc[unit, "busy_cycles"] == busy
        assert comp.loc[unit, "utilization"] == pytest.approx(busy / r.cycles)
    # Without the counters (a run folder), units' busy time comes from the ledger's busy rows: the same numbers.
    from_ledger = component_table(r.ledger, r.cycles).set_index("component")
    for unit in ("du", "dma0", "tile0", "tile1", "controller"):
        assert from_ledger.loc[unit, "busy_cycles"] == r.busy_cycles[unit]
    assert pd.isna(from_ledger.loc["dram", "busy_cycles"])


def test_opcode_table_counts_every_issued_instruction(infer_result):
    r = infer_result
    ops = opcode_table(r.ledger).set_index("opcode")
    marks = sum(1 for ins in r.program.instructions if ins.spec.mnemonic == "mark")
    assert ops["instructions"].sum() == r.instructions - marks
    assert ops.loc["mvm", "instructions"] == 2
    assert ops["busy_cycles"].sum() == units_only(r.ledger)["cycles"].sum()  # the chip's elapsed rows are no unit's


def test_run_tables_sum_to_ledger_totals(run):
    led = run.ledger
    tables = run_tables(run)
    for name in ("components", "layers", "opcodes", "actions"):
        assert tables[name]["energy_pj"].sum() == pytest.approx(led["energy_pj"].sum(), rel=1e-12), name
    layers = layer_phase_table(led)
    assert set(layers["phase"]) <= set(PHASES)
    assert {"forward", "backward", "update", "eval"} <= set(layers["phase"])
    for (layer, phase), grp in led.groupby(["layer", "phase"]):
        row = layers[(layers.layer == layer) & (layers.phase == phase)]
        assert row["energy_pj"].item() == pytest.approx(grp["energy_pj"].sum())


def test_epoch_table_matches_ledger_per_epoch(run):
    ep = epoch_table(run.metrics).set_index("epoch")
    led = run.ledger
    for (epoch, program), grp in led.groupby(["epoch", "program"]):
        column = "train_energy_pj" if program == "train" else "eval_energy_pj"
        assert ep.loc[epoch, column] == pytest.approx(grp["energy_pj"].sum(), rel=1e-9)
    for phase in ("forward", "backward", "update"):
        train = led[(led.program == "train") & (led.phase == phase)].groupby("epoch")["energy_pj"].sum()
        assert ep[f"{phase}_energy_pj"].to_numpy() == pytest.approx(train.to_numpy(), rel=1e-9)
    assert list(ep.columns[:2]) == ["test_accuracy", "baseline_accuracy"]


def test_numeric_columns_name_their_unit(run):
    for name, df in run_tables(run).items():
        for col in df.select_dtypes("number").columns:
            if col in ("epoch", "instructions", "count", "train_images", "eval_images", "cells_written", "set_pulses",
                       "reset_pulses", "writes_per_weight"):
                continue  # counts: dimensionless
            assert col.endswith(UNIT_SUFFIXES), f"{name}.{col} has no unit in its name"


def test_write_tables_csv_and_json_round_trip(run, tmp_path):
    tables = run_tables(run)
    paths = write_tables(tables, tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{n}.{f}" for n in tables for f in ("csv", "json"))
    comp = pd.read_csv(tmp_path / "components.csv")
    assert comp["energy_pj"].sum() == pytest.approx(run.ledger["energy_pj"].sum())
    records = json.loads((tmp_path / "epochs.json").read_text())
    assert len(records) == run.epochs and "latency_per_image_s" in records[0]
    with pytest.raises(ValueError, match="csv, json"):
        write_tables(tables, tmp_path, ["xlsx"])
