"""The sweep's records: what a sweep file holds once read (:class:`SweepSpec`, its :class:`JobSpec` and
:class:`FigureSpec`), one design point of its expansion (:class:`Point`), the keys a file may use, the metrics each
kind of job reports, and :class:`SweepError`. Reading the file is :mod:`socsim.sweep.spec`'s job, expanding it into
points :mod:`socsim.sweep.points`'; both hand these names on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from socsim.base.errors import InputError
from socsim.host.options import DEFAULTS
from socsim.runfolder.files import CHECKPOINT

KINDS = ("train", "program", "infer")
CONFIG_AXIS = "config"
"""The grid axis (and results column) of the base config when a sweep runs over several presets or TOML files."""
TOP_KEYS = {"name": "sweep name (string)", "config": "base preset name or TOML path, or a list of them (a grid axis)",
            "out": "results folder", "job": "table: what each point runs", "set": "table: overrides for all points",
            "grid": "table: dotted field -> list of values", "point": "array of tables: explicit points",
            "figure": "array of tables: figures"}
JOB_KEYS = {"train": ("kind", "graph", "dataset", "data_path", "epochs", "train_examples", "test_examples",
                      "microbatch", "engine", "timing_only", "seeds", "report"),
            "program": ("kind", "program", "engine", "seeds"),
            "infer": ("kind", "graph", "weights", "dataset", "data_path", "images", "microbatch", "timing_only",
                      "engine", "seeds")}
FIGURE_KEYS = ("x", "y", "x_goal", "y_goal", "color", "file", "pareto", "title")
GOALS = ("min", "max")
TRAIN_METRICS = ("test_accuracy", "energy_per_image_pj", "latency_per_image_s", "writes_per_weight",
                 "train_energy_pj", "train_cycles", "train_s", "eval_cycles", "eval_energy_pj", "cells_written",
                 "set_pulses", "reset_pulses", "forward_energy_pj", "backward_energy_pj", "update_energy_pj",
                 "adc_saturated_share", "static_energy_pj", "area_mm2")
"""Headline metrics of a training point: the last epoch's row of ``metrics.csv`` (units in the names), and the
chip area of the point's config (socsim.pricing.area)."""
PROGRAM_METRICS = ("cycles", "seconds", "energy_pj", "instructions", "static_energy_pj", "area_mm2")
"""Headline metrics of a program point: the run's totals and the chip area of the point's config."""
INFER_METRICS = ("test_accuracy", "latency_per_image_s", "energy_per_image_pj", "static_energy_per_image_pj",
                 "images_per_s", "tops_per_w_tile", "tops_per_w_chip", "images", "cycles", "area_mm2")
"""Headline metrics of an inference point (socsim infer's numbers): test_accuracy only with trained weights."""
NUMERIC_ONLY = ("test_accuracy", "adc_saturated_share")
"""Metrics a timing-only job does not measure (the numerics are skipped)."""
MAX_SEEDS = 100
"""Most repetitions ``[job] seeds`` may ask for."""


class SweepError(InputError):
    """A sweep file is malformed; the message names the file, the table or point, and the field."""


@dataclass(frozen=True)
class JobSpec:
    """What one point runs. Paths are absolute (resolved against the sweep file's folder)."""

    kind: str
    """``train`` (compile ``graph`` and train it) or ``program`` (run an assembly ``program``)."""
    graph: str = ""
    """Network graph (.toml or .onnx) of a training job."""
    dataset: str = DEFAULTS.dataset
    """Registered dataset name (``socsim.host.data.DATASETS``; default RunOptions', as everywhere)."""
    data_path: str | None = None
    """Folder of file-based datasets (mnist, cifar10)."""
    epochs: int | None = None
    """Epochs per point; None: each point's ``train.epochs``."""
    train_examples: int | None = None
    """Use the first N training images (None: all)."""
    test_examples: int | None = None
    """Use the first N test images (None: all)."""
    microbatch: int | None = None
    """Images per pass (None: the largest that fits)."""
    program: str = ""
    """Assembly (.s) or binary program of a program job."""
    engine: str = DEFAULTS.engine
    """The simulator engine that runs the point (socsim.sim.engines); not part of its identity: every engine
    gives the same numbers."""
    timing_only: bool = DEFAULTS.timing_only
    """Train or infer without the numerics (socsim.sim.timing_only): latency and energy, no accuracy."""
    seeds: int = 1
    """Runs of each point: run s (0, 1, ...) adds s to the config's ``seed`` and ``train.init_seed``; with more
    than one, ``summary.csv`` holds each metric's mean and standard deviation."""
    report: bool = False
    """Training points: write ``report.html`` into each point's run folder (socsim report; a few seconds each)."""
    weights: str = ""
    """Inference: a run folder of socsim train whose trained state is inferred (its config.json is the base)."""
    images: int | None = None
    """Inference: the first N test images (None: all, or the run's test images)."""

    NEW_FIELDS: ClassVar[tuple[str, ...]] = ("timing_only", "weights", "images")
    """Fields a job names in its identity only when set (so the keys of sweeps without them stay as they were)."""

    def identity(self) -> dict[str, Any]:
        """What makes two jobs the same: the fields but the engine, seeds and report, with file contents hashed
        instead of paths (a run folder by its checkpoint)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if f.name not in ("engine", "seeds", "report")
               and not (f.name in self.NEW_FIELDS and getattr(self, f.name) == f.default)}
        for name in ("graph", "program"):
            if out[name]:
                out[name] = hashlib.sha256(Path(out[name]).read_bytes()).hexdigest()
        if out.get("weights"):
            out["weights"] = hashlib.sha256((Path(self.weights) / CHECKPOINT).read_bytes()).hexdigest()
        return out


@dataclass(frozen=True)
class FigureSpec:
    """One scatter figure of the results table, with its Pareto front."""

    x: str
    """Column on the x axis (a metric or a swept field)."""
    y: str
    """Column on the y axis."""
    x_goal: str = "min"
    """``min`` or ``max``: which x is better, for the Pareto front."""
    y_goal: str = "max"
    """``min`` or ``max``: which y is better."""
    color: str = ""
    """Column that colours the points (default: the first swept field)."""
    file: str = ""
    """PNG file name in the results folder (default ``Y_vs_X.png``)."""
    pareto: bool = True
    """Draw the Pareto front (points no other point beats in both x and y)."""
    title: str = ""


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file."""

    path: str
    """The sweep file (as given), named in errors."""
    name: str
    base: str
    """Base preset name or absolute TOML path."""
    out: str
    """Results folder ('' : ``runs/sweeps/NAME``)."""
    job: JobSpec
    fixed: dict[str, Any]
    """``[set]``: dotted field -> value, applied to every point."""
    grid: dict[str, list[Any]]
    """``[grid]``: axis -> values; the points are their Cartesian product (last axis fastest). An axis is a
    dotted field with a list of values, a label with a list of tables (dotted field -> value) whose
    fields move together (a linked axis), or :data:`CONFIG_AXIS` with preset names or TOML paths."""
    points: list[dict[str, Any]]
    """``[[point]]``: explicit points (dotted field -> value), after the grid's."""
    figures: list[FigureSpec]
    bases: dict[str, str] | None = None
    """With a :data:`CONFIG_AXIS` axis: each value as written -> the preset name or absolute TOML path."""

    @property
    def metrics(self) -> tuple[str, ...]:
        if self.job.kind == "program":
            return PROGRAM_METRICS
        names = TRAIN_METRICS if self.job.kind == "train" else INFER_METRICS
        if self.job.kind == "infer" and not self.job.weights:
            names = tuple(m for m in names if m != "test_accuracy")  # initial weights: accuracy means nothing
        return tuple(m for m in names if not (self.job.timing_only and m in NUMERIC_ONLY))

    @property
    def fields(self) -> list[str]:
        """Every dotted field the sweep names, in file order: [set], [grid], then [[point]] fields (the config axis
        is the column ``config``)."""
        return [f for group in self.axes for f in group]

    @property
    def axes(self) -> list[list[str]]:
        """The fields grouped by the axis that sets them: a linked [grid] axis is one group of its fields, every
        other field a group of its own; in file order ([set], [grid], then [[point]] fields)."""
        groups: list[list[str]] = [[f] for f in self.fixed]
        seen = set(self.fixed)
        for axis, values in self.grid.items():
            linked = [v for v in values if isinstance(v, dict)]
            group = [k for k in dict.fromkeys(k for v in linked for k in v) if k not in seen] if linked else \
                ([axis] if axis not in seen else [])
            if group:
                groups.append(group)
                seen.update(group)
        for p in self.points:
            for f in p:
                if f not in seen:
                    groups.append([f])
                    seen.add(f)
        return groups


@dataclass(frozen=True)
class Point:
    """One design point: its position, label, overrides, resolved config and key."""

    index: int
    """Position in the expansion (grid first, then explicit points; duplicates dropped), from 0."""
    values: dict[str, Any]
    """The point's own dotted-field values (grid or explicit), without [set]."""
    config: dict[str, Any]
    """The fully resolved config as a plain mapping (``to_mapping(SocConfig)``)."""
    key: str
    """12 hex digits: hash of the resolved config, the job (file contents, not paths) and socsim's version."""
    replicate: int = 0
    """Which run of the point this is (``[job] seeds``): its config's seeds are the point's plus this."""

    @property
    def label(self) -> str:
        text = ", ".join(f"{k}={v}" for k, v in self.values.items()) or "base config"
        return f"{text}, replicate {self.replicate}" if self.replicate else text

    def value(self, dotted: str) -> Any:
        """The resolved value of a dotted field (``config``: the base config as the sweep file names it)."""
        if dotted == CONFIG_AXIS:
            return self.values[CONFIG_AXIS]
        node: Any = self.config
        for part in dotted.split("."):
            node = node[part]
        return node
