"""Runs side by side: one column per run folder, one row per headline number (units in the row names)."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from socsim.report.devices import endurance, placed_masks
from socsim.report.headline import headline
from socsim.report.rundir import RunFolder


def run_labels(runs: Sequence[RunFolder]) -> list[str]:
    """Column labels: the folder names, or the paths as given when two folders share a name."""
    names = [r.name for r in runs]
    if len(set(names)) == len(names):
        return names
    paths = [str(r.path) for r in runs]
    return paths if len(set(paths)) == len(paths) else [f"{i}:{p}" for i, p in enumerate(paths)]


def run_summary(run: RunFolder) -> dict[str, object]:
    """The compared quantities of one run (text fields first, then numbers with units in their names)."""
    h = headline(run)
    e = endurance(run, placed_masks(run))
    m = run.metrics
    images = max(run.train_images, 1)
    phases = {f"{p}_energy_per_image_pj": float(m[f"{p}_energy_pj"].sum()) / images
              for p in ("forward", "backward", "update") if f"{p}_energy_pj" in m}
    return {
        "graph": run.args.get("graph", ""), "config": run.config.get("name", run.args.get("config", "")),
        "scheme": run.config.get("train", {}).get("scheme", ""), "dataset": run.args.get("dataset", ""),
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


def compare_table(runs: Sequence[RunFolder]) -> pd.DataFrame:
    """One column per run (labelled by :func:`run_labels`), one row per quantity of :func:`run_summary`."""
    if not runs:
        raise ValueError("compare needs at least one run folder")
    data = {label: run_summary(r) for label, r in zip(run_labels(runs), runs)}
    df = pd.DataFrame(data)
    df.index.name = "quantity"
    return df
