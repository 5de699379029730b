"""Runs side by side: one column per run folder, one row per headline number (units in the row names), the config
fields in which the runs differ, and a ratio column per run against the first (the reference)."""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping, Sequence

import pandas as pd

from socsim.base.errors import InputError
from socsim.report.devices import endurance, placed_masks
from socsim.report.headline import headline
from socsim.report.tables import PHASES
from socsim.runfolder.read import RunFolder

CONFIG_ROW = "config: "
"""Prefix of the rows that show a config field in which the runs differ (``config: train.scheme``)."""
SHOWN_FIELDS = ("name", "train.scheme")
"""Config fields with rows of their own (``config``, ``scheme``), not repeated as ``config:`` rows."""
NO_DIFFERENCE = CONFIG_ROW + "fields that differ"
"""The row shown instead when every config field is the same in all runs (its cells say ``none``)."""


def run_labels(runs: Sequence[RunFolder]) -> list[str]:
    """Column labels: the folder names, or the paths as given when two folders share a name."""
    names = [r.name for r in runs]
    if len(set(names)) == len(names):
        return names
    paths = [str(r.path) for r in runs]
    return paths if len(set(paths)) == len(paths) else [f"{i}:{p}" for i, p in enumerate(paths)]


def ratio_label(label: str, first: str) -> str:
    """The header of the column that divides run ``label`` by the first run."""
    return f"{label} / {first}"


def run_summary(run: RunFolder) -> dict[str, object]:
    """The compared quantities of one run (text fields first, then numbers with units in their names)."""
    h = headline(run)
    e = endurance(run, placed_masks(run))
    phases = phase_energy_per_image(run)
    return {
        "graph": run.args.graph if run.args else "",
        "config": run.config.name if run.config else (run.args.config if run.args else ""),
        "scheme": run.config.train.scheme.value if run.config else "", "dataset": run.args.dataset if run.args else "",
        "epochs": run.epochs,
        "final_test_accuracy": h.final_accuracy,
        "baseline_accuracy": h.baseline_accuracy if h.baseline_accuracy is not None else float("nan"),
        "energy_per_image_pj": h.energy_per_image_pj, **phases,
        "latency_per_image_s": h.latency_per_image_s,
        "train_energy_pj": h.train_energy_pj, "eval_energy_pj": h.eval_energy_pj,
        "tops_per_w_tile": h.tops_per_w_tile, "tops_per_w_system": h.tops_per_w_system,
        "tile_macs": h.tile_macs,
        "writes_per_weight": h.writes_per_weight,
        "max_writes_per_device": e.max_writes if e else float("nan"),
        "endurance_margin_x": e.margin if e else float("nan"),
    }


def phase_energy_per_image(run: RunFolder) -> dict[str, float]:
    """``{phase}_energy_per_image_pj`` of every phase of the training program that has energy (forward, backward,
    update, calibrate, other, in :data:`socsim.report.tables.PHASES` order), from the ledger: they add up to the
    energy per training image."""
    led = run.ledger
    train = led[led["program"] == "train"] if "program" in led else led
    by_phase = train.groupby("phase")["energy_pj"].sum()
    images = max(run.train_images, 1)
    order = sorted(by_phase.index, key=lambda p: PHASES.index(p) if p in PHASES else len(PHASES))
    return {f"{p}_energy_per_image_pj": float(by_phase[p]) / images for p in order if by_phase[p]}


def flat_fields(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config mapping (config.json) as ``{dotted.field: value}``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out.update(flat_fields(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_differences(runs: Sequence[RunFolder]) -> pd.DataFrame:
    """The config fields whose value is not the same in every run: one row per dotted field (in the config's
    order), one column per run; a field a run's config lacks is None. :data:`SHOWN_FIELDS` are left out (they are
    rows of :func:`compare_table` already)."""
    flats = [flat_fields(r.config_mapping) for r in runs]
    fields = list(dict.fromkeys(k for f in flats for k in f))
    rows = {k: [f.get(k) for f in flats] for k in fields
            if k not in SHOWN_FIELDS and any(_differs(f.get(k), flats[0].get(k)) for f in flats[1:])}
    return pd.DataFrame.from_dict(rows, orient="index", columns=run_labels(runs), dtype=object)


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return False
    return a != b


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return None
    return float(value)


def ratio(value: Any, reference: Any) -> float:
    """``value / reference`` for two numbers (NaN when either is not a number or the reference is 0 or NaN)."""
    a, b = _number(value), _number(reference)
    if a is None or b is None or b == 0 or math.isnan(b) or math.isnan(a):
        return float("nan")
    return a / b


def compare_table(runs: Sequence[RunFolder], ratios: bool = True) -> pd.DataFrame:
    """One column per run (labelled by :func:`run_labels`), one row per quantity of :func:`run_summary`, the
    differing config fields as ``config: FIELD`` rows after the ``scheme`` row, and with ``ratios`` one column
    ``B / A`` per later run B: its numbers divided by the first run A's (NaN for text and where A is 0).
    ``table.attrs["runs"]`` lists the run columns."""
    if not runs:
        raise InputError("compare needs at least one run folder")
    labels = run_labels(runs)
    df = pd.DataFrame({label: run_summary(r) for label, r in zip(labels, runs)}, dtype=object)
    diff = config_differences(runs)
    diff.index = [CONFIG_ROW + k for k in diff.index]
    if diff.empty:
        diff = pd.DataFrame({label: ["none"] for label in labels}, index=[NO_DIFFERENCE], dtype=object)
    at = list(df.index).index("scheme") + 1
    df = pd.concat([df.iloc[:at], diff, df.iloc[at:]])
    if ratios:
        for label in labels[1:]:
            df[ratio_label(label, labels[0])] = [ratio(v, r) for v, r in zip(df[label], df[labels[0]])]
    df.index.name = "quantity"
    df.attrs["runs"] = labels
    return df
