"""The Pareto front of a sweep's points: the ones no other point beats in both of a figure's metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from socsim.sweep.spec import FigureSpec, SweepSpec
from socsim.sweep.table import STATUS_OK


def pareto_mask(x: np.ndarray, y: np.ndarray, x_goal: str = "min", y_goal: str = "max") -> np.ndarray:
    """True for the points that no other point dominates (at least as good in both, better in one)."""
    xs = np.asarray(x, dtype=float) * (1.0 if x_goal == "min" else -1.0)  # both to "smaller is better"
    ys = np.asarray(y, dtype=float) * (1.0 if y_goal == "min" else -1.0)
    keep = np.ones(len(xs), dtype=bool)
    for i in range(len(xs)):
        dominated = (xs <= xs[i]) & (ys <= ys[i]) & ((xs < xs[i]) | (ys < ys[i]))
        keep[i] = not dominated.any()
    return keep & np.isfinite(xs) & np.isfinite(ys)


def pareto_table(spec: SweepSpec, table: pd.DataFrame, fig: FigureSpec | None = None) -> pd.DataFrame:
    """The ok rows on the Pareto front of ``fig`` (default: the sweep's first figure), sorted by its x column."""
    fig = fig or spec.figures[0]
    ok = table[table["status"] == STATUS_OK]
    if ok.empty:
        return ok
    mask = pareto_mask(pd.to_numeric(ok[fig.x], errors="coerce").to_numpy(),
                       pd.to_numeric(ok[fig.y], errors="coerce").to_numpy(), fig.x_goal, fig.y_goal)
    return ok[mask].sort_values(fig.x)
