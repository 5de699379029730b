"""Report figures (matplotlib, Agg backend): each function takes DataFrames / arrays and returns a Figure.

Save with :func:`save_figure` (PNG and/or SVG) or embed with :func:`embed` (inline SVG or base64 PNG).
Energy axes pick pJ / nJ / uJ / mJ to fit; time axes use us. The same component always has the same colour.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator

from socsim.base.errors import InputError
from socsim.base.fileio import atomic_write  # noqa: E402
from socsim.base.units import (
    energy_unit,  # noqa: E402  (re-exported: figures pick their energy unit here)
    fmt_energy,
    fmt_time,
    natural_key,  # noqa: E402
    time_unit,
)
from socsim.compiler.compensations import COMPENSATIONS  # noqa: E402
from socsim.report.labels import ENERGY_CLASSES, component_label, layer_class_table  # noqa: E402
from socsim.report.tables import (  # noqa: E402
    PHASES,
    UNIT_ACTIONS,
    elapsed_rows,
    layer_order,
    units_only,
)

TIMELINE_BARS = 4000
"""Above this many jobs the utilization timeline shows busy fraction per time bin instead of one bar per job."""
PHASE_COLORS = {"forward": "tab:blue", "backward": "tab:orange", "update": "tab:green", "calibrate": "tab:olive",
                "eval": "tab:purple",
                "other": "tab:gray"}


def component_colors(names: Iterable[str]) -> dict[str, tuple]:
    """A stable colour per component name (tab20, in natural order)."""
    cmap = plt.get_cmap("tab20")
    return {n: cmap(i % 20) for i, n in enumerate(sorted(set(names), key=natural_key))}


def _stacked(ax, table: pd.DataFrame, colors: dict[str, tuple], scale: float) -> None:
    """Bars per row of ``table`` stacked over its columns (values / ``scale``)."""
    bottom = np.zeros(len(table))
    for col in table.columns:
        vals = table[col].to_numpy(dtype=float) / scale
        if not vals.any():
            continue
        ax.bar(range(len(table)), vals, bottom=bottom, color=colors.get(col), label=col, width=0.7)
        bottom += vals
    ax.set_xticks(range(len(table)), [str(i) for i in table.index], rotation=30, ha="right")


def _by_name(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with string column names in natural order (tile2 before tile10)."""
    table = table.copy()
    table.columns = [str(c) for c in table.columns]
    return table[sorted(table.columns, key=natural_key)]


def _labelled(table: pd.DataFrame, colors: dict[str, tuple]) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """``table`` with component columns named in words (:func:`component_label`) and ``colors`` keyed alike."""
    return (table.rename(columns=component_label),
            {component_label(k): v for k, v in colors.items()})


def _legend(fig: Figure, ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles[::-1], labels[::-1], loc="center right", fontsize=8, frameon=False)


def energy_breakdown(ledger: pd.DataFrame, images: int | None = None) -> Figure:
    """Energy per layer (left) and per phase (right), stacked by component; per image when ``images``."""
    per = max(images or 1, 1)
    ledger = units_only(ledger)
    colors = component_colors(ledger["component"])
    by_layer = ledger.pivot_table(index="layer", columns="component", values="energy_pj", aggfunc="sum",
                                  fill_value=0).reindex(layer_order(ledger)) / per
    by_phase = ledger.pivot_table(index="phase", columns="component", values="energy_pj", aggfunc="sum",
                                  fill_value=0)
    by_phase = by_phase.reindex([p for p in PHASES if p in by_phase.index]
                                + [p for p in by_phase.index if p not in PHASES]) / per
    by_layer, by_phase = (_by_name(t) for t in (by_layer, by_phase))
    unit, scale = energy_unit(max(by_layer.sum(axis=1).max(), by_phase.sum(axis=1).max(), 1.0))
    (by_layer, _), (by_phase, colors) = _labelled(by_layer, colors), _labelled(by_phase, colors)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    _stacked(axes[0], by_layer, colors, scale)
    _stacked(axes[1], by_phase, colors, scale)
    axes[0].set_title("by layer ('-': outside layers)")
    axes[1].set_title("by phase")
    axes[0].set_ylabel(f"energy ({unit}{' per image' if images else ''})")
    _legend(fig, axes[0])
    fig.suptitle("Energy breakdown by component")
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return fig


def latency_breakdown(ledger: pd.DataFrame, clock_hz: float, images: int | None = None,
                      elapsed_cycles: float | None = None) -> Figure:
    """Left: elapsed time by layer, stacked by phase (the ledger's ``chip``/``elapsed`` rows: each cycle attributed
    to one layer, so the bars add up to the elapsed time). Right, a separate view: busy time of each unit per phase
    (stacked), with the elapsed time as a dashed line; units overlap, so a stack can exceed it. Time in the unit
    that fits, per image when ``images``."""
    per = max(images or 1, 1)
    el = elapsed_rows(ledger)
    by_layer = el.pivot_table(index="layer", columns="phase", values="cycles", aggfunc="sum", fill_value=0)
    by_layer = by_layer.reindex([n for n in layer_order(ledger) if n in by_layer.index])
    by_layer = by_layer[sorted(by_layer.columns, key=lambda p: PHASES.index(p) if p in PHASES else len(PHASES))]
    busy = units_only(ledger)
    busy = busy[busy["action"].isin(UNIT_ACTIONS)]
    t = busy.pivot_table(index="phase", columns="component", values="cycles", aggfunc="sum", fill_value=0)
    t = _by_name(t.reindex([p for p in PHASES if p in t.index] + [p for p in t.index if p not in PHASES]))
    seconds = 1.0 / clock_hz / per
    largest = max(float(by_layer.sum(axis=1).max()) if len(by_layer) else 0.0,
                  float(t.sum(axis=1).max()) if len(t) else 0.0, float(elapsed_cycles or 0.0)) * seconds
    unit, scale = time_unit(largest)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if len(by_layer):
        _stacked(axes[0], by_layer * seconds, PHASE_COLORS, scale)
        axes[0].legend(fontsize=8, title="phase", title_fontsize=8)
    else:
        axes[0].text(0.5, 0.5, "no elapsed-time rows in this ledger", ha="center", va="center",
                     transform=axes[0].transAxes)
    axes[0].set_title("elapsed time by layer and phase ('-': outside layers)", fontsize=10)
    axes[0].set_ylabel(f"elapsed time ({unit}{' per image' if images else ''})")
    t, colors = _labelled(t, component_colors(ledger["component"]))
    _stacked(axes[1], t * seconds, colors, scale)
    if elapsed_cycles:
        axes[1].axhline(elapsed_cycles * seconds / scale, color="k", ls="--", lw=1, label="elapsed (all phases)")
    axes[1].set_title("unit busy time by phase (units overlap)", fontsize=10)
    axes[1].set_ylabel(f"unit busy time ({unit}{' per image' if images else ''})")
    _legend(fig, axes[1])
    fig.suptitle("Latency breakdown")
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return fig


CLASS_COLORS = {c: plt.get_cmap("tab10")(i % 10) for i, c in enumerate(ENERGY_CLASSES)}
"""A fixed colour per energy class (socsim.report.labels.ENERGY_CLASSES)."""


def energy_by_class(ledger: pd.DataFrame, images: int | None = None) -> Figure:
    """Energy per layer stacked by component class (array, ADC, DAC, programming, digital unit, controller, SRAM,
    bus, DRAM, static), per image when ``images``: the figure of :func:`socsim.report.labels.layer_class_table`."""
    table = layer_class_table(ledger, layer_order(ledger), images).set_index("layer").drop(columns="total_pj")
    table.columns = [c.removesuffix("_pj") for c in table.columns]
    unit, scale = energy_unit(max(float(table.sum(axis=1).max()) if len(table) else 0.0, 1.0))
    fig, ax = plt.subplots(figsize=(8, 4))
    _stacked(ax, table, CLASS_COLORS, scale)
    ax.set_ylabel(f"energy ({unit}{' per image' if images else ''})")
    ax.set_title("Energy by layer and component class ('-': outside layers)", fontsize=10)
    _legend(fig, ax)
    fig.tight_layout(rect=(0, 0, 0.84, 1))
    return fig


def _integer_epochs(ax, epochs: Iterable[int]) -> None:
    """Epoch ticks at whole epochs only (every epoch up to 12 of them, else matplotlib's integer locator)."""
    values = sorted(set(int(e) for e in epochs))
    if 0 < len(values) <= 12:
        ax.set_xticks(values)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def accuracy_curve(metrics: pd.DataFrame) -> Figure:
    """Test accuracy per epoch (%), with the numpy FP32 baseline when metrics has ``baseline_accuracy``."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(metrics["epoch"], metrics["test_accuracy"] * 100, "o-", label="on the simulated chip")
    if "baseline_accuracy" in metrics:
        ax.plot(metrics["epoch"], metrics["baseline_accuracy"] * 100, "s--", color="gray",
                label="numpy FP32 baseline")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    _integer_epochs(ax, metrics["epoch"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Accuracy vs epoch")
    fig.tight_layout()
    return fig


def drift_curve(drift: pd.DataFrame) -> Figure:
    """Test accuracy (%) against time after training (s, log scale) from ``socsim drift``'s table, one curve per
    compensation, with +- one standard deviation of the repeats when it has them."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    groups = drift.groupby("compensation", sort=True) if "compensation" in drift else [("none", drift)]
    for compensation, rows in groups:
        t = rows["seconds_after_training"].clip(lower=1e-3)
        std = rows["test_accuracy_std"] * 100 if "test_accuracy_std" in rows else None
        repeats = int(rows["repeats"].max()) if "repeats" in rows else 1
        what = COMPENSATIONS[compensation].label if compensation in COMPENSATIONS else str(compensation)
        ax.errorbar(t, rows["test_accuracy"] * 100, yerr=std, fmt="o-", capsize=3,
                    label=f"{what}: mean +- std of {repeats} draws" if repeats > 1 else what)
    ax.set_xscale("log")
    ax.set_xlabel("time after training (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Accuracy vs time (socsim drift)")
    fig.tight_layout()
    return fig


def _empty(title: str, message: str) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    ax.set_title(title)
    return fig


def device_writes(final: np.ndarray, initial: np.ndarray | None, endurance_pulses: float) -> Figure:
    """Histogram of programming pulses per device (log count), initial programming vs after training, with
    the endurance limit (when set) and the margin endurance / most-written device in the title."""
    title = "Device writes"
    if final.size == 0:
        return _empty(title, "no per-device write counters (ideal device model)")
    top = int(final.max())
    bins = np.arange(0, top + 2) - 0.5 if top < 60 else np.linspace(0, top + 1, 61)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if initial is not None and initial.size == final.size:
        ax.hist(initial, bins=bins, histtype="stepfilled", alpha=0.4, color="tab:gray",
                label="after initial programming")
    ax.hist(final, bins=bins, histtype="step", lw=2, color="tab:red", label="after training")
    ax.set_yscale("log")
    ax.set_xlabel("programming pulses per device")
    ax.set_ylabel("devices")
    if endurance_pulses > 0:
        margin = endurance_pulses / max(top, 1)
        if endurance_pulses <= 10 * max(top, 1):
            ax.axvline(endurance_pulses, color="k", ls="--", label=f"endurance {endurance_pulses:g}")
        title += f": max {top} pulses, endurance {endurance_pulses:g} (margin {margin:,.1f}x)"
    else:
        title += f": max {top} pulses, endurance unlimited in this config"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def conductance_distribution(before: np.ndarray, after: np.ndarray, quantity: str = "conductance (uS)") -> Figure:
    """Histograms of the used devices' conductances (or weights, for the ideal model) before / after training."""
    if before.size == 0 and after.size == 0:
        return _empty("Conductance distribution", "no device state in the run folder")
    vals = np.concatenate([before, after])
    bins = np.linspace(float(vals.min()), float(vals.max()) + 1e-9, 61)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if before.size:
        ax.hist(before, bins=bins, histtype="stepfilled", alpha=0.4, color="tab:gray", label="before training")
    if after.size:
        ax.hist(after, bins=bins, histtype="step", lw=1.5, color="tab:blue", label="after training")
    ax.set_yscale("log")
    ax.set_xlabel(quantity)
    ax.set_ylabel("devices")
    ax.set_title(f"{quantity.split(' (')[0].capitalize()} distribution before / after")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def utilization_timeline(timeline: pd.DataFrame, clock_hz: float, max_cycles: int | None = None) -> Figure:
    """Per unit, when it was busy (one bar per job coloured by phase), or with more than
    :data:`TIMELINE_BARS` jobs the busy fraction per time bin as a heat map. Time in us from the first job."""
    if timeline is None or timeline.empty:
        return _empty("Unit utilization timeline", "no timeline (run with --trace)")
    t0 = int(timeline["start"].min())
    tl = timeline if max_cycles is None else timeline[timeline["start"] < t0 + max_cycles]
    units = sorted(tl["unit"].astype(str).unique(), key=natural_key)
    us = 1e6 / clock_hz
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(units) + 1.5))
    if len(tl) <= TIMELINE_BARS:
        for i, u in enumerate(units):
            jobs = tl[tl["unit"] == u]
            for phase, grp in jobs.groupby("phase"):
                spans = list(zip((grp["start"] - t0) * us, (grp["end"] - grp["start"]) * us))
                ax.broken_barh(spans, (i - 0.4, 0.8), facecolors=PHASE_COLORS.get(str(phase), "tab:gray"),
                               edgecolor="white", linewidth=0.3 if len(tl) <= 200 else 0)
        handles = [plt.Rectangle((0, 0), 1, 1, color=PHASE_COLORS.get(p, "tab:gray"))
                   for p in PHASES if p in set(tl["phase"])]
        ax.legend(handles, [p for p in PHASES if p in set(tl["phase"])], fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.0, 1.0), frameon=False)
    else:
        end = int(tl["end"].max())
        edges = np.linspace(t0, end, 201)
        busy = np.zeros((len(units), len(edges) - 1))
        for i, u in enumerate(units):
            jobs = tl[tl["unit"] == u]
            for s, e in zip(jobs["start"].to_numpy(), jobs["end"].to_numpy()):
                busy[i] += np.clip(np.minimum(e, edges[1:]) - np.maximum(s, edges[:-1]), 0, None)
        busy /= np.diff(edges)
        im = ax.imshow(busy, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest",
                       extent=(0, (end - t0) * us, len(units) - 0.5, -0.5))
        fig.colorbar(im, ax=ax, label="busy fraction")
    ax.set_yticks(range(len(units)), units)
    ax.set_ylim(len(units) - 0.5, -0.5)
    ax.set_xlabel(f"time (us at {clock_hz / 1e6:g} MHz)")
    ax.set_title("Unit utilization timeline")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, stem: str | Path, formats: Iterable[str] = ("png", "svg"), dpi: int = 120) -> list[Path]:
    """Write ``stem.png`` / ``stem.svg`` (atomically); returns the paths. Does not close the figure."""
    paths = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        atomic_write(path, lambda fh, fmt=fmt: fig.savefig(fh, format=fmt, dpi=dpi))
        paths.append(path)
    return paths


def embed(fig: Figure, fmt: str = "svg", dpi: int = 100) -> str:
    """HTML for ``fig`` with nothing external: inline ``<svg>`` or an ``<img>`` with a base64 PNG data URI.
    Closes the figure."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi)
    finally:
        plt.close(fig)
    if fmt == "svg":
        text = buf.getvalue().decode()
        return re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], count=1, flags=re.S)
    if fmt == "png":
        return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'
    raise InputError(f"embed format {fmt!r}; known: svg, png")


RUN_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
RUN_DASHES = ("-", "--", "-.", ":")
DODGE_EPOCHS = 0.08
"""Sideways offset (epochs) between the runs of a comparison, so that equal curves stay visible side by side."""


def run_style(i: int, n: int) -> dict[str, object]:
    """Plot style of run ``i`` of ``n``: its own colour, marker and dash, hollow markers shrinking with ``i``,
    so that a run drawn over an identical one leaves the earlier visible."""
    return {"color": plt.get_cmap("tab10")(i % 10), "marker": RUN_MARKERS[i % len(RUN_MARKERS)],
            "linestyle": RUN_DASHES[i % len(RUN_DASHES)], "markersize": max(9 - 1.5 * i, 4),
            "markerfacecolor": "none" if i else None, "linewidth": 1.6}


def dodge(i: int, n: int) -> float:
    """The sideways offset (epochs) of run ``i`` of ``n``: centred on the true epoch, :data:`DODGE_EPOCHS` apart."""
    return (i - (n - 1) / 2) * DODGE_EPOCHS


def compare_accuracy(metrics: dict[str, pd.DataFrame]) -> Figure:
    """Test accuracy (%) vs epoch of several runs, each with its own colour, marker and dash and offset sideways
    by :func:`dodge`, so identical runs stay visible; the FP32 baselines in gray, one line per distinct baseline
    (runs of the same graph, data and seed share one)."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    n = len(metrics)
    baselines: dict[tuple, list[str]] = {}
    for i, (label, m) in enumerate(metrics.items()):
        ax.plot(m["epoch"] + dodge(i, n), m["test_accuracy"] * 100, label=label, **run_style(i, n))
        if "baseline_accuracy" in m:
            key = (tuple(m["epoch"]), tuple(m["baseline_accuracy"]))
            baselines.setdefault(key, []).append(label)
    for j, ((epochs, acc), labels) in enumerate(baselines.items()):
        ax.plot(epochs, [a * 100 for a in acc], color="gray", linestyle=RUN_DASHES[(j + 1) % len(RUN_DASHES)],
                marker="x", markersize=5, linewidth=1, label="FP32 baseline of " + ", ".join(labels))
    _integer_epochs(ax, pd.concat([m["epoch"] for m in metrics.values()]) if metrics else [])
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Accuracy vs epoch" + (" (runs offset sideways so equal values stay visible)" if n > 1 else ""),
                 fontsize=10)
    fig.tight_layout()
    return fig


def _bar_labels(ax, tops: Iterable[float], values: Iterable[float], fmt) -> None:
    """Write ``fmt(value)`` above bar i, whose top is at ``tops[i]`` (axis units), with headroom for the text."""
    tops = list(tops)
    for i, (top, v) in enumerate(zip(tops, values)):
        ax.annotate(fmt(v), (i, top), ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    if tops:
        ax.set_ylim(0, max(max(tops), 1e-30) * 1.15)


def compare_energy(per_image_pj: pd.DataFrame) -> Figure:
    """Training energy per image of several runs, stacked by phase, the total on top of each bar; ``per_image_pj``
    has one row per run and columns ``{phase}_energy_per_image_pj``."""
    cols = [c for c in per_image_pj.columns if c.endswith("_energy_per_image_pj")]
    t = per_image_pj[cols].astype(float)
    t.columns = [c.removesuffix("_energy_per_image_pj") for c in cols]
    totals = t.sum(axis=1)
    unit, scale = energy_unit(float(totals.max()) if len(t) else 1.0)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    _stacked(ax, t, PHASE_COLORS, scale)
    _bar_labels(ax, totals / scale, totals, fmt_energy)
    ax.set_ylabel(f"training energy per image ({unit})")
    ax.set_title("Energy per training image by phase")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def compare_latency(per_image_s: pd.Series) -> Figure:
    """Simulated training latency per image of several runs (one bar each, in the unit that fits, value on top);
    ``per_image_s`` is indexed by run label, in seconds."""
    values = per_image_s.astype(float)
    unit, scale = time_unit(float(values.max()) if len(values) else 0.0)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.bar(range(len(values)), values.to_numpy() / scale, width=0.6,
           color=[plt.get_cmap("tab10")(i % 10) for i in range(len(values))])
    _bar_labels(ax, values / scale, values, fmt_time)
    ax.set_xticks(range(len(values)), [str(i) for i in values.index], rotation=30, ha="right")
    ax.set_ylabel(f"latency per training image ({unit})")
    ax.set_title("Simulated latency per training image")
    fig.tight_layout()
    return fig
