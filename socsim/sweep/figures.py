"""Figures of a results table: a scatter of two columns, coloured by a swept field, with the Pareto front.

Drawn with matplotlib's Agg canvas directly (no pyplot, no global backend switch), so it is safe
in worker threads and on machines without a display.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from socsim.fileio import atomic_write
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


def _file(fig: FigureSpec) -> str:
    return fig.file or f"{fig.y}_vs_{fig.x}.png".replace(".", "_").replace("_png", ".png")


def draw(table: pd.DataFrame, fig: FigureSpec, colour_by: str, path: Path) -> Path:
    """One PNG: every ok point, coloured by ``colour_by``, and the Pareto front as a dashed step line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ok = table[table["status"] == STATUS_OK]
    figure = Figure(figsize=(6.4, 4.4), dpi=120)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    x = pd.to_numeric(ok[fig.x], errors="coerce").to_numpy()
    y = pd.to_numeric(ok[fig.y], errors="coerce").to_numpy()
    groups = ok[colour_by].astype(str) if colour_by else pd.Series(["all"] * len(ok), index=ok.index)
    for value in dict.fromkeys(groups):
        sel = (groups == value).to_numpy()
        ax.scatter(x[sel], y[sel], s=28, label=f"{colour_by}={value}" if colour_by else None)
    if fig.pareto and len(ok):
        front = pareto_mask(x, y, fig.x_goal, fig.y_goal)
        order = np.argsort(x[front])
        ax.plot(x[front][order], y[front][order], "k--", drawstyle="steps-post" if fig.x_goal == "min" else
                "steps-pre", linewidth=1, label="Pareto front")
        ax.scatter(x[front], y[front], s=70, facecolors="none", edgecolors="k")
    ax.set_xlabel(fig.x)
    ax.set_ylabel(fig.y)
    ax.set_title(fig.title or f"{fig.y} vs {fig.x}", fontsize=10)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    figure.tight_layout()
    atomic_write(path, lambda fh: figure.savefig(fh, format="png"))
    return path


def write_figures(spec: SweepSpec, table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Every figure of the sweep (or the default one) as PNG files in ``out_dir``."""
    grid_fields = [f for f in spec.fields if f not in spec.fixed]
    colour_default = grid_fields[0] if grid_fields else ""
    return [draw(table, fig, fig.color or colour_default, out_dir / _file(fig)) for fig in spec.figures]


def pareto_table(spec: SweepSpec, table: pd.DataFrame) -> pd.DataFrame:
    """The ok rows on the first figure's Pareto front, sorted by its x column."""
    fig = spec.figures[0]
    ok = table[table["status"] == STATUS_OK]
    if ok.empty:
        return ok
    mask = pareto_mask(pd.to_numeric(ok[fig.x], errors="coerce").to_numpy(),
                       pd.to_numeric(ok[fig.y], errors="coerce").to_numpy(), fig.x_goal, fig.y_goal)
    return ok[mask].sort_values(fig.x)
