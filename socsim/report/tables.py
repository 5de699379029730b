"""Ledger and metrics -> report tables (pandas DataFrames), and their CSV / JSON export.

Every table is a plain DataFrame with a RangeIndex; the unit of each numeric column is in its name
(``energy_pj``, ``busy_cycles``, ``latency_per_image_s``); shares and utilizations are fractions in [0, 1].
Sums over a table's ``energy_pj`` column equal the sum over the ledger it came from (tests check this).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np
import pandas as pd

from socsim.base.actions import Action
from socsim.base.configtools import to_mapping
from socsim.base.errors import InputError
from socsim.base.fileio import write_text
from socsim.base.units import natural_key
from socsim.report.labels import layer_class_table
from socsim.sim.ledger import CHIP

if TYPE_CHECKING:
    from socsim.runfolder.read import RunFolder
    from socsim.sim.result import Result

PHASES = ("forward", "backward", "update", "calibrate", "eval", "other")
"""Phase order of every table and figure (``mark`` phases of the ISA, lower case)."""
NO_LAYER = "-"
"""Layer name of ledger rows outside any layer (loads, loop control, init)."""
UNIT_ACTIONS = (Action.BUSY, Action.CTRL_INSTR)
"""Actions whose ``cycles`` are busy time of the component that recorded them."""


def _sorted_by_name(df: pd.DataFrame, col: str) -> pd.DataFrame:
    return df.sort_values(col, key=lambda s: s.map(natural_key)).reset_index(drop=True)


def _phase_rank(phase: str) -> int:
    return PHASES.index(phase) if phase in PHASES else len(PHASES)


def units_only(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger without the ``chip`` rows (elapsed time by layer: no component's activity)."""
    return ledger[ledger["component"] != CHIP]


def elapsed_rows(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ``chip`` / ``elapsed`` rows: elapsed cycles by (layer, phase) of every run in the ledger."""
    return ledger[(ledger["component"] == CHIP) & (ledger["action"] == Action.ELAPSED)]


def component_table(ledger: pd.DataFrame, cycles: int, busy_cycles: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Per component: ``busy_cycles``, ``utilization`` (busy / ``cycles``), ``energy_pj``, ``energy_share``.

    ``busy_cycles`` comes from the simulator's per-unit counters when given (a :class:`Result`), else from
    the ledger's busy-time rows (:data:`UNIT_ACTIONS`); components that never record busy time (memories,
    the bus in a run folder) get NaN there. ``static_energy_pj`` is the component's leakage energy.
    """
    ledger = units_only(ledger)
    energy = ledger.groupby("component")["energy_pj"].sum()
    static = ledger[ledger["action"] == Action.LEAKAGE].groupby("component")["energy_pj"].sum()
    timed = ledger[ledger["action"].isin(UNIT_ACTIONS)].groupby("component")["cycles"].sum()
    names = sorted(set(energy.index) | set(busy_cycles or {}), key=natural_key)
    total = float(energy.sum())
    rows = []
    for name in names:
        if busy_cycles is not None:
            busy = float(busy_cycles[name]) if name in busy_cycles else np.nan
        else:
            busy = float(timed[name]) if name in timed.index else np.nan
        e = float(energy.get(name, 0.0))
        rows.append({"component": name, "busy_cycles": busy, "utilization": busy / max(cycles, 1),
                     "energy_pj": e, "energy_share": e / total if total else 0.0,
                     "static_energy_pj": float(static.get(name, 0.0))})
    return pd.DataFrame(rows, columns=["component", "busy_cycles", "utilization", "energy_pj", "energy_share",
                                       "static_energy_pj"])


def layer_phase_table(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per (layer, phase): ``energy_pj`` (its ``static_energy_pj`` part: leakage over its elapsed time),
    ``energy_share``, ``elapsed_cycles`` (the run's cycles attributed to it, socsim.sim.elapsed: they sum to the
    elapsed time) and ``busy_cycles`` (summed over the units, so it can exceed elapsed time when units overlap).
    Layers in first-seen order, ``-`` last; phases in :data:`PHASES`."""
    g = ledger.groupby(["layer", "phase"], sort=False)
    df = g["energy_pj"].sum().to_frame()
    df["static_energy_pj"] = ledger[ledger["action"] == Action.LEAKAGE].groupby(["layer", "phase"])["energy_pj"].sum()
    df["elapsed_cycles"] = elapsed_rows(ledger).groupby(["layer", "phase"])["cycles"].sum()
    df["busy_cycles"] = ledger[ledger["action"].isin(UNIT_ACTIONS)].groupby(["layer", "phase"])["cycles"].sum()
    df = df.fillna({"busy_cycles": 0, "elapsed_cycles": 0, "static_energy_pj": 0.0}).reset_index()
    df = df.astype({"busy_cycles": "int64", "elapsed_cycles": "int64"})
    total = float(df["energy_pj"].sum())
    df["energy_share"] = df["energy_pj"] / total if total else 0.0
    order = {name: i for i, name in enumerate(layer_order(ledger))}
    df = df.assign(_l=df["layer"].map(order), _p=df["phase"].map(_phase_rank))
    df = df.sort_values(["_l", "_p"]).drop(columns=["_l", "_p"]).reset_index(drop=True)
    return df[["layer", "phase", "energy_pj", "static_energy_pj", "energy_share", "elapsed_cycles", "busy_cycles"]]


def layer_order(ledger: pd.DataFrame) -> list[str]:
    """Layer names in the order they first appear in the ledger, with ``-`` (no layer) last."""
    names = list(dict.fromkeys(ledger["layer"].astype(str)))
    return [n for n in names if n != NO_LAYER] + ([NO_LAYER] if NO_LAYER in names else [])


def layer_phase_pivot(ledger: pd.DataFrame, value: str = "energy_pj") -> pd.DataFrame:
    """``value`` summed per layer (rows) x phase (columns ``{phase}_{value}``) plus ``total_{value}``."""
    p = ledger.pivot_table(index="layer", columns="phase", values=value, aggfunc="sum", fill_value=0)
    phases = sorted(p.columns, key=_phase_rank)
    p = p.reindex(index=layer_order(ledger), columns=phases)
    p.columns = [f"{ph}_{value}" for ph in phases]
    p[f"total_{value}"] = p.sum(axis=1)
    return p.reset_index()


def opcode_table(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per opcode: ``instructions`` (issued by the controller), ``busy_cycles`` (all units' and the
    controller's cycles on it), ``energy_pj``, ``energy_share`` and ``energy_per_instruction_pj``;
    sorted by energy, largest first. Leakage rows have opcode ``-`` (no instruction)."""
    ledger = units_only(ledger)
    led = ledger.assign(_n=np.where(ledger["action"] == Action.CTRL_INSTR, ledger["count"], 0))
    df = led.groupby("opcode").agg(instructions=("_n", "sum"), busy_cycles=("cycles", "sum"),
                                   energy_pj=("energy_pj", "sum")).reset_index()
    total = float(df["energy_pj"].sum())
    df["energy_share"] = df["energy_pj"] / total if total else 0.0
    df["energy_per_instruction_pj"] = df["energy_pj"] / df["instructions"].where(df["instructions"] > 0)
    return df.sort_values(["energy_pj", "opcode"], ascending=[False, True]).reset_index(drop=True)


def action_table(ledger: pd.DataFrame, prices: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per (component, action): ``count``, ``energy_pj`` and, when ``prices`` (pJ per action) are given,
    ``price_pj`` — the energy table as it was applied (an action the table prices through a model, an ADC
    conversion, shows its energy per count; ``leakage``: the component's pJ per cycle)."""
    df = units_only(ledger).groupby(["component", "action"])[["count", "energy_pj"]].sum().reset_index()
    if prices is not None:
        per = (df["energy_pj"] / df["count"].where(df["count"] > 0)).fillna(0.0)
        df["price_pj"] = [_applied(prices.get(Action(a).price_field), p) for a, p in zip(df["action"], per)]
        leak = df["action"] == Action.LEAKAGE
        df.loc[leak, "price_pj"] = per[leak]
    return _sorted_by_name(df, "component")


def _applied(table_price: float | None, per_count: float) -> float:
    """The price an action was charged: the table's, unless the ledger charged another (a price the table sets
    for a model, or scaled with the node or a memory's capacity: socsim.pricing.costs)."""
    if table_price is None or (per_count and abs(per_count - table_price) > 1e-9 * abs(table_price)):
        return per_count
    return table_price


EPOCH_COLUMNS = ["epoch", "test_accuracy", "baseline_accuracy", "train_images", "energy_per_image_pj",
                 "latency_per_image_s", "step_latency_s", "infer_latency_per_image_s", "infer_energy_per_image_pj",
                 "train_energy_pj", "static_energy_pj", "forward_energy_pj", "backward_energy_pj",
                 "update_energy_pj", "eval_energy_pj", "eval_images", "train_cycles", "train_s", "eval_cycles",
                 "cells_written",
                 "writes_per_weight", "set_pulses", "reset_pulses", "adc_saturated_share", "wall_s"]


def epoch_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per epoch: accuracy (fraction), energy (pJ), latency (s), cycles and device writes, from metrics.csv.

    Columns in :data:`EPOCH_COLUMNS` order (absent ones skipped, unknown extra ones kept at the end)."""
    cols = [c for c in EPOCH_COLUMNS if c in metrics] + [c for c in metrics if c not in EPOCH_COLUMNS]
    return metrics[cols].reset_index(drop=True)


def result_tables(result: "Result") -> dict[str, pd.DataFrame]:
    """The tables of one simulator :class:`Result` (one program run)."""
    led = result.ledger
    return {"components": component_table(led, result.cycles, result.busy_cycles),
            "layers": layer_phase_table(led), "opcodes": opcode_table(led),
            "actions": action_table(led, to_mapping(result.cfg.energy))}


def run_tables(run: "RunFolder") -> dict[str, pd.DataFrame]:
    """The tables of a run folder; ledger tables cover every epoch and both programs (train, evaluate)."""
    led = run.ledger
    return {"epochs": epoch_table(run.metrics), "components": component_table(led, run.cycles),
            "layers": layer_phase_table(led), "layer_classes": layer_class_table(led, layer_order(led)),
            "opcodes": opcode_table(led),
            "actions": action_table(led, run.config_mapping.get("energy", {}))}


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: str | Path,
                 formats: Iterable[str] = ("csv", "json")) -> list[Path]:
    """Write each table as ``out_dir/{name}.csv`` and/or ``.json`` (records, atomically); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in tables.items():
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            if fmt == "csv":
                text = df.to_csv(index=False)
            elif fmt == "json":
                text = df.to_json(orient="records", indent=2)
            else:
                raise InputError(f"table format {fmt!r}; known: csv, json")
            write_text(path, text)
            paths.append(path)
    return paths
