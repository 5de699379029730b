"""Statistics over the runs of each point (``[job] seeds = N``): ``OUT/summary.csv``, one row per point with every
metric's mean and standard deviation and the number of runs that finished ok.

The standard deviation is the sample one (ddof = 1: the spread of the runs, not of their mean); it is empty for a
point with fewer than two ok runs. Failed runs (trap, error, ...) are left out of the statistics and counted in
``failed``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from socsim.runfolder.files import atomic_write
from socsim.sweep.spec import SweepSpec
from socsim.sweep.table import STATUS_OK, cell

SUMMARY_CSV = "summary.csv"
MEAN, STD = "_mean", "_std"
"""Suffixes of a metric's columns in the summary."""


def summarize(spec: SweepSpec, table: pd.DataFrame) -> pd.DataFrame:
    """One row per point (in point order): ``point``, the swept fields, ``n`` (ok runs), ``failed``, then
    ``{metric}_mean`` and ``{metric}_std`` for every metric of the sweep (and ``epochs`` for training)."""
    metrics = [m for m in (["epochs"] if spec.job.kind == "train" else []) + list(spec.metrics) if m in table]
    rows = []
    for point, runs in table.groupby("point", sort=True):
        ok = runs[runs["status"] == STATUS_OK]
        row: dict[str, object] = {"point": int(point)}
        row.update({f: runs[f].iloc[0] for f in spec.fields if f in runs})
        row["n"] = len(ok)
        row["failed"] = len(runs) - len(ok)
        for m in metrics:
            values = pd.to_numeric(ok[m], errors="coerce").dropna().to_numpy(dtype=float)
            row[m + MEAN] = float(values.mean()) if len(values) else np.nan
            row[m + STD] = float(values.std(ddof=1)) if len(values) > 1 else np.nan
        rows.append(row)
    cols = ["point", *[f for f in spec.fields if f in table], "n", "failed",
            *[m + suffix for m in metrics for suffix in (MEAN, STD)]]
    return pd.DataFrame(rows, columns=cols)


def means_table(summary: pd.DataFrame, spec: SweepSpec) -> pd.DataFrame:
    """The summary shaped as a results table for the figures: each metric's mean under the metric's own name, its
    standard deviation beside it (``{metric}_std``), status ``ok`` for points with at least one ok run."""
    out = summary.rename(columns={c: c.removesuffix(MEAN) for c in summary.columns if c.endswith(MEAN)})
    out.insert(1, "status", np.where(summary["n"] > 0, STATUS_OK, "failed"))
    return out


def write_summary_csv(spec: SweepSpec, table: pd.DataFrame, path: Path) -> Path:
    """Write :func:`summarize` of ``table`` to ``path`` atomically (floats by repr, like results.csv; NaN empty)."""
    summary = summarize(spec, table)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(summary.columns)
    for rec in summary.itertuples(index=False):
        writer.writerow([_cell(v) for v in rec])
    text = buf.getvalue()
    atomic_write(path, lambda fh: fh.write(text), binary=False)
    return path


def _cell(value: object) -> str:
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return ""
    return cell(value)
