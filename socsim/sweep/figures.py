"""Figures of a results table: a scatter of two columns in display units, every swept field visible, the Pareto
front; and the self-contained ``sweep.html`` that embeds them (:mod:`socsim.sweep.html`).

Swept fields that move together (a linked axis, or fields whose values pair one to one) form one *dimension*.
The colour shows one dimension (the figure's ``color``, else the first), the marker shape the next, and any
further dimensions split the figure into facets, one panel per combination of their values. A dimension on the
x or y axis is visible there already. Drawn with matplotlib's Agg canvas directly (no pyplot, no global backend
switch), so it is safe in worker threads and on machines without a display.
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from socsim.base.fileio import atomic_write
from socsim.sweep.display import display, short_name
from socsim.sweep.html import write_summary
from socsim.sweep.pareto import pareto_mask
from socsim.sweep.spec import FigureSpec, SweepSpec
from socsim.sweep.summary import means_table, summarize
from socsim.sweep.table import STATUS_OK

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
FACET_COLUMNS = 3
"""Facet panels per row."""
SUMMARY = "sweep.html"
"""The self-contained summary page in the results folder."""


def _file(fig: FigureSpec) -> str:
    return fig.file or f"{fig.y}_vs_{fig.x}.png".replace(".", "_").replace("_png", ".png")


def _one_to_one(a: pd.Series, b: pd.Series) -> bool:
    pairs = pd.DataFrame({"a": a.astype(str), "b": b.astype(str)}).drop_duplicates()
    return pairs["a"].is_unique and pairs["b"].is_unique


def dimensions(table: pd.DataFrame, fields: Sequence[str] | Sequence[Sequence[str]]) -> list[list[str]]:
    """The swept fields that vary across ``table``'s rows, grouped: the fields of one linked axis (a group of
    ``fields``, :attr:`SweepSpec.axes`) are one dimension, whatever their values; other fields whose values pair one
    to one join a dimension too. In the order of ``fields`` (plain names or groups of names)."""
    groups = [[f] if isinstance(f, str) else list(f) for f in fields]
    dims: list[list[str]] = []
    for group in groups:
        varying = [f for f in group if f in table and table[f].astype(str).nunique() > 1]
        if not varying:
            continue
        home = next((d for d in dims if _one_to_one(table[d[0]], table[varying[0]])), None) \
            if len(varying) == 1 and len(group) == 1 else None
        if home is None:
            dims.append(varying)
        else:
            home.append(varying[0])
    return dims


def _value_text(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Channels:
    """Which dimension each visual channel shows (empty: none)."""

    colour: list[str]
    marker: list[str]
    facets: list[list[str]]


def channels(spec: SweepSpec, table: pd.DataFrame, fig: FigureSpec) -> Channels:
    """Colour: the dimension of ``fig.color`` (else the first); marker: the next; facets: the rest. Dimensions of
    the x or y column are skipped (the axis shows them)."""
    dims = [d for d in dimensions(table, spec.axes) if fig.x not in d and fig.y not in d]
    colour: list[str] = []
    if fig.color:
        colour = next((d for d in dims if fig.color in d), [fig.color])
        dims = [d for d in dims if d is not colour]
    elif dims:
        colour, dims = dims[0], dims[1:]
    marker, facets = (dims[0], dims[1:]) if dims else ([], [])
    return Channels(colour, marker, facets)


def _label(fields: list[str], row: pd.Series, others: Sequence[str]) -> str:
    return ", ".join(f"{short_name(f, others)}={_value_text(row[f])}" for f in fields)


def _levels(ok: pd.DataFrame, fields: list[str]) -> list[tuple]:
    """The distinct value combinations of ``fields`` in row order (one level per combination)."""
    if not fields:
        return [()]
    return list(dict.fromkeys(tuple(r) for r in ok[fields].itertuples(index=False)))


def _spread(ok: pd.DataFrame, column: str, d) -> np.ndarray | None:
    """The standard deviations of ``column`` in display units (``{column}_std`` of a summary), or None."""
    std = f"{column}_std"
    if std not in ok:
        return None
    return np.abs(d.values(pd.to_numeric(ok[std], errors="coerce").to_numpy(dtype=float)))


def make_figure(spec: SweepSpec, table: pd.DataFrame, fig: FigureSpec):
    """The figure of ``fig``: every ok point in display units, coloured, marked and faceted by the swept
    dimensions (:func:`channels`), with error bars (one standard deviation) where ``table`` has ``{column}_std``
    (the means of :mod:`socsim.sweep.summary`), and in each panel the Pareto front of that panel's points as a
    dashed step line with the front's points circled. Returns a matplotlib Figure on an Agg canvas."""

    ok = table[table["status"] == STATUS_OK].reset_index(drop=True)
    x_raw = pd.to_numeric(ok[fig.x], errors="coerce").to_numpy(dtype=float)
    y_raw = pd.to_numeric(ok[fig.y], errors="coerce").to_numpy(dtype=float)
    xd, yd = display(fig.x, x_raw), display(fig.y, y_raw)
    x, y = xd.values(x_raw), yd.values(y_raw)
    ch = channels(spec, table, fig)
    facet_fields = [f for d in ch.facets for f in d] if len(ok) else []
    facets = _levels(ok, facet_fields)
    ncols = min(len(facets), FACET_COLUMNS)
    nrows = -(-len(facets) // ncols)
    figure = Figure(figsize=(max(3.8 * ncols, 6.4), 3.3 * nrows + 1.0), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
    colours, markers = _levels(ok, ch.colour), _levels(ok, ch.marker)
    cmap = __import__("matplotlib").colormaps["tab10"]
    x_err, y_err = _spread(ok, fig.x, xd), _spread(ok, fig.y, yd)
    any_front = False
    for ax, level in zip(axes, facets):
        in_facet = np.ones(len(ok), bool)
        for f, v in zip(facet_fields, level):
            in_facet &= (ok[f] == v).to_numpy()
        front = np.zeros(len(ok), bool)
        if fig.pareto and in_facet.any():
            front[in_facet] = pareto_mask(x[in_facet], y[in_facet], fig.x_goal, fig.y_goal)
        any_front |= bool(front.any())
        order = np.argsort(x[front])
        for (ci, cval), (mi, mval) in itertools.product(enumerate(colours), enumerate(markers)):
            sel = in_facet.copy()
            for f, v in [*zip(ch.colour, cval), *zip(ch.marker, mval)]:
                sel &= (ok[f] == v).to_numpy()
            if sel.any():
                ax.scatter(x[sel], y[sel], s=34, color=cmap(ci % 10), marker=MARKERS[mi % len(MARKERS)],
                           edgecolors="k", linewidths=0.3, zorder=3)
                if x_err is not None or y_err is not None:
                    ax.errorbar(x[sel], y[sel], xerr=None if x_err is None else x_err[sel],
                                yerr=None if y_err is None else y_err[sel], fmt="none", ecolor=cmap(ci % 10),
                                elinewidth=1, capsize=2.5, zorder=2.5)
        if front.any():
            ax.plot(x[front][order], y[front][order], "k--", linewidth=1, zorder=2,
                    drawstyle="steps-post" if fig.x_goal == "min" else "steps-pre")
            sel = front & in_facet
            ax.scatter(x[sel], y[sel], s=110, facecolors="none", edgecolors="k", zorder=4)
        if facet_fields:
            ax.set_title(_label(facet_fields, pd.Series(dict(zip(facet_fields, level))), spec.fields), fontsize=8)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(facets):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(yd.label)
    for ax in axes[(nrows - 1) * ncols:len(facets)] if nrows > 1 else axes[:len(facets)]:
        ax.set_xlabel(xd.label)
    handles: list = []
    for ci, cval in enumerate(colours if ch.colour else []):
        handles.append(Line2D([], [], linestyle="", marker="o", color=cmap(ci % 10), markeredgecolor="k",
                              label=_label(ch.colour, pd.Series(dict(zip(ch.colour, cval))), spec.fields)))
    for mi, mval in enumerate(markers if ch.marker else []):
        handles.append(Line2D([], [], linestyle="", marker=MARKERS[mi % len(MARKERS)], color="0.55",
                              markeredgecolor="k",
                              label=_label(ch.marker, pd.Series(dict(zip(ch.marker, mval))), spec.fields)))
    if any_front:
        handles.append(Line2D([], [], color="k", linestyle="--", marker="o", markerfacecolor="none",
                              label="Pareto front" + (" of each panel" if len(facets) > 1 else "")))
    if x_err is not None or y_err is not None:
        handles.append(Line2D([], [], color="0.3", marker="|", linestyle="-",
                              label="mean \u00b1 1 std over seeds"))
    legend_in = 0.0
    if handles:  # below the panels, as wide as the figure: linked fields make long labels
        ncol = 1 if max(len(h.get_label()) for h in handles) > 45 else 2
        rows = -(-len(handles) // ncol)
        legend_in = 0.17 * rows + 0.15
        figure.set_figheight(figure.get_figheight() + legend_in)
        figure.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=7, frameon=False)
    figure.suptitle(fig.title or f"{yd.label} vs {xd.label}", fontsize=10)
    figure.tight_layout(rect=(0, legend_in / figure.get_figheight(), 1, 1))
    return figure


def draw(spec: SweepSpec, table: pd.DataFrame, fig: FigureSpec, path: Path):
    """Write the PNG of ``fig`` to ``path``; returns the Figure (to embed it too)."""
    figure = make_figure(spec, table, fig)
    atomic_write(path, lambda fh: figure.savefig(fh, format="png"))
    return figure


def svg(figure) -> str:
    """Inline SVG markup of an Agg-canvas Figure (no XML header, no metadata)."""
    buf = io.StringIO()
    figure.savefig(buf, format="svg")
    text = buf.getvalue()
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], count=1, flags=re.S)


def write_figures(spec: SweepSpec, table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Every figure of the sweep as a PNG in ``out_dir``, then ``sweep.html`` embedding them; returns the paths.
    With ``[job] seeds`` > 1 the figures show each point's mean with error bars (socsim.sweep.summary)."""
    runs = table
    if spec.job.seeds > 1:
        table = means_table(summarize(spec, table), spec)
    paths, embedded = [], []
    for fig in spec.figures:
        path = out_dir / _file(fig)
        embedded.append((fig, svg(draw(spec, table, fig, path))))
        paths.append(path)
    return [*paths, write_summary(spec, table, out_dir / SUMMARY, embedded, runs)]
