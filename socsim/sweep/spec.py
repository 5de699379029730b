"""The sweep file: what to run (a training job or a program) over which config points.

``load_sweep(path)`` reads and checks a sweep TOML file; ``expand(spec)`` turns it into
:class:`Point` objects, each with its fully resolved :class:`~socsim.config.soc.SocConfig`. Every
error is a :class:`SweepError` naming the sweep file, the table or point, and the dotted field,
raised before anything runs. The format is documented in ``docs/sweeps.md``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import typing
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

from isa import load_program
from socsim import __version__
from socsim.base.configtools import ConfigError, deep_merge, from_mapping, to_mapping
from socsim.base.errors import InputError
from socsim.base.fileio import read_toml
from socsim.compiler import load_graph
from socsim.config.soc import PRESET_DIR, SocConfig, load_config
from socsim.host.data import DATASETS
from socsim.host.options import DEFAULTS
from socsim.runfolder.files import CHECKPOINT
from socsim.runfolder.runargs import RunArgs
from socsim.sim.engines import ENGINES

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


# parsing ----------------------------------------------------------------------------------------------
def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c.d": 2}`` -> ``{"a.b": 1, "c.d": 2}`` (quoted and nested spellings alike)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def check_path(dotted: str) -> None:
    """Raise ConfigError unless ``dotted`` names a leaf field of SocConfig."""
    cls: Any = SocConfig
    done: list[str] = []
    for part in dotted.split("."):
        if not is_dataclass(cls):
            raise ConfigError(f"{'.'.join(done)} is a value, not a table; it has no field {part!r}")
        names = [f.name for f in fields(cls)]
        if part not in names:
            where = ".".join(done) or "the top level"
            raise ConfigError(f"unknown field {part!r} in {where}; {cls.__name__} has: {', '.join(names)}")
        cls = typing.get_type_hints(cls)[part]
        done.append(part)
    if is_dataclass(cls):
        names = [f.name for f in fields(cls)]
        raise ConfigError(f"is a table ({cls.__name__}); name one of its fields: {', '.join(names)}")


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}`` (the overrides mapping of ``load_config``)."""
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _job(table: Any, where: str, folder: Path) -> JobSpec:
    if not isinstance(table, Mapping):
        raise SweepError(f"{where}: missing [job] table with kind = \"train\", \"program\" or \"infer\"")
    kind = table.get("kind")
    if kind not in KINDS:
        raise SweepError(f"{where}: [job] kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    for key in table:
        if key not in JOB_KEYS[kind]:
            raise SweepError(f"{where}: [job] {key}: unknown key for kind {kind!r}; allowed: "
                             f"{', '.join(JOB_KEYS[kind])}")
    values: dict[str, Any] = {"kind": kind}
    for key in ("graph", "program", "dataset", "data_path", "engine", "weights"):
        if key in table:
            if not isinstance(table[key], str):
                raise SweepError(f"{where}: [job] {key}: expected a string, got {table[key]!r}")
            values[key] = table[key]
    if values.get("engine", DEFAULTS.engine) not in ENGINES:
        raise SweepError(f"{where}: [job] engine: expected one of {', '.join(sorted(ENGINES))}, got "
                         f"{values['engine']!r}")
    for key in ("timing_only", "report"):
        if key in table:
            if not isinstance(table[key], bool):
                raise SweepError(f"{where}: [job] {key}: expected true or false, got {table[key]!r}")
            values[key] = table[key]
    for key in ("epochs", "train_examples", "test_examples", "microbatch", "images", "seeds"):
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SweepError(f"{where}: [job] {key}: expected a positive integer, got {v!r}")
            values[key] = v
    if values.get("seeds", 1) > MAX_SEEDS:
        raise SweepError(f"{where}: [job] seeds: {values['seeds']} runs per point; at most {MAX_SEEDS}")
    for key in ("graph", "program", "data_path", "weights"):
        if values.get(key):
            path = folder / values[key]
            if key in ("graph", "program") and not path.is_file():
                raise SweepError(f"{where}: [job] {key}: file {str(path)!r} not found")
            values[key] = str(path.resolve())
    if kind == "infer" and values.get("weights"):
        values = _from_run_folder(values, where)
    need = {"train": "graph", "program": "program", "infer": "graph"}[kind]
    if need not in values:
        what = "a graph file (or weights = RUN_DIR)" if kind == "infer" else f"a {need} file"
        raise SweepError(f"{where}: [job] {need}: missing (kind {kind!r} needs {what})")
    return JobSpec(**values)


def _from_run_folder(values: dict[str, Any], where: str) -> dict[str, Any]:
    """An inference job on a run folder's trained state: the graph, dataset, data path, micro-batch and test images
    the run used, unless the job names them."""
    run_dir = Path(values["weights"])
    try:
        run = RunArgs.load(run_dir)
    except (OSError, ValueError) as exc:
        raise SweepError(f"{where}: [job] weights: {run_dir} is not a run folder of socsim train: {exc}") from None
    if not (run_dir / CHECKPOINT).is_file():
        raise SweepError(f"{where}: [job] weights: {run_dir / CHECKPOINT} not found (the run holds no trained state)")
    defaults = {"graph": run.graph, "dataset": run.dataset, "data_path": run.data_path,
                "microbatch": run.microbatch, "images": run.test_examples}
    return {**{k: v for k, v in defaults.items() if v is not None}, **values}


def _check_job_inputs(job: JobSpec, where: str) -> None:
    """Load the graph / assemble the program and check the dataset name, so a bad one stops the sweep early."""
    try:
        if job.kind in ("train", "infer"):
            load_graph(job.graph)
            if job.dataset not in DATASETS:
                raise SweepError(f"unknown dataset {job.dataset!r}; valid: {', '.join(sorted(DATASETS))}")
        else:
            load_program(job.program)
    except ValueError as exc:  # GraphError, IsaError, SweepError
        raise SweepError(f"{where}: [job]: {exc}") from None


def plain_name_problem(name: str) -> str | None:
    """None if ``name`` is a plain file or folder name (it stays inside the folder it is joined to)."""
    if not name or name in (".", "..") or len(name) > 120:
        return "expected a plain name of 1 to 120 characters, not '.' or '..'"
    if any(c in name for c in "/\\\0") or Path(name).is_absolute():
        return "a name may not contain '/', '\\' or NUL (it would leave its folder)"
    return None


def _figure(table: Any, where: str) -> FigureSpec:
    if not isinstance(table, Mapping):
        raise SweepError(f"{where}: expected a table with x and y")
    for key in table:
        if key not in FIGURE_KEYS:
            raise SweepError(f"{where}: {key}: unknown key; allowed: {', '.join(FIGURE_KEYS)}")
    for key in ("x", "y"):
        if not isinstance(table.get(key), str):
            raise SweepError(f"{where}: {key}: missing or not a string (a column of the results table)")
    for key in ("x_goal", "y_goal"):
        if key in table and table[key] not in GOALS:
            raise SweepError(f"{where}: {key}: expected min or max, got {table[key]!r}")
    if "pareto" in table and not isinstance(table["pareto"], bool):
        raise SweepError(f"{where}: pareto: expected true or false, got {table['pareto']!r}")
    for key in ("color", "file", "title"):
        if key in table and not isinstance(table[key], str):
            raise SweepError(f"{where}: {key}: expected a string, got {table[key]!r}")
    if table.get("file"):
        problem = plain_name_problem(table["file"])
        if problem or not table["file"].endswith(".png"):
            raise SweepError(f"{where}: file {table['file']!r}: {problem or 'expected a .png file name'} "
                             "(figures are written into the results folder)")
    return FigureSpec(**dict(table))


def default_figures(job: JobSpec) -> list[FigureSpec]:
    """Accuracy against energy per image (training with numerics, inference of trained weights); latency against
    energy otherwise."""
    accuracy = not job.timing_only and (job.kind == "train" or (job.kind == "infer" and job.weights))
    what = "training" if job.kind == "train" else "inference"
    if accuracy:
        return [FigureSpec("energy_per_image_pj", "test_accuracy", "min", "max", file="accuracy_vs_energy.png",
                           title=f"test accuracy vs {what} energy per image")]
    if job.kind in ("train", "infer"):
        return [FigureSpec("latency_per_image_s", "energy_per_image_pj", "min", "min", file="energy_vs_latency.png",
                           title=f"{what} energy vs latency per image")]
    return [FigureSpec("cycles", "energy_pj", "min", "min", file="energy_vs_cycles.png",
                       title="energy vs latency")]


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file (structure, job inputs, dotted paths; values are checked by ``expand``)."""
    path = Path(path)
    where = str(path)
    data = read_toml(path, "sweep file", SweepError)
    for key in data:
        if key not in TOP_KEYS:
            raise SweepError(f"{where}: {key}: unknown key; allowed: "
                             + "; ".join(f"{k} ({v})" for k, v in TOP_KEYS.items()))
    for key in ("name", "out"):
        if key in data and not isinstance(data[key], str):
            raise SweepError(f"{where}: {key}: expected a string, got {data[key]!r}")
    name = data.get("name", path.stem)
    problem = plain_name_problem(name)
    if problem:
        raise SweepError(f"{where}: name {name!r}: {problem} (the default results folder is runs/sweeps/NAME)")
    folder = path.parent
    job = _job(data.get("job"), where, folder)
    _check_job_inputs(job, where)

    def table(key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            raise SweepError(f"{where}: {key}: expected a table ([{key}]) of dotted field = value")
        return _flatten(value)

    fixed, grid = table("set"), table("grid")
    configs = data.get("config", DEFAULTS.config)
    if isinstance(configs, list) and CONFIG_AXIS in grid:
        raise SweepError(f"{where}: config is a list and [grid] has a config axis too; give the list once")
    if CONFIG_AXIS in grid:
        configs = grid[CONFIG_AXIS]
    if job.weights and (CONFIG_AXIS in data or CONFIG_AXIS in grid):
        raise SweepError(f"{where}: config: an inference job on weights = {job.weights} starts from that run's own "
                         "config.json; leave config out and sweep its fields")
    bases = None
    if isinstance(configs, list):
        if not configs or not all(isinstance(c, str) for c in configs) or len(set(configs)) < len(configs):
            raise SweepError(f"{where}: config: expected a non-empty list of distinct preset names or TOML paths, "
                             f"got {configs!r}")
        bases = {c: _base(c, folder, where) for c in configs}
        grid = {CONFIG_AXIS: list(configs), **{k: v for k, v in grid.items() if k != CONFIG_AXIS}}
        base = next(iter(bases.values()))
    elif isinstance(configs, str):
        base = _base(configs, folder, where)
    else:
        raise SweepError(f"{where}: config: expected a preset name, a TOML path or a list of them, got {configs!r}")
    if job.weights:
        base = job.weights
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{where}: [grid] {axis}: expected a non-empty list of values, got {values!r}")
        linked = [isinstance(v, Mapping) for v in values]
        if any(linked) and not all(linked):
            raise SweepError(f"{where}: [grid] {axis}: mixes tables and plain values; a linked axis is a list of "
                             "tables (dotted field = value), a plain axis a list of values")
        if all(linked):
            grid[axis] = [_flatten(v) for v in values]
            for i, v in enumerate(grid[axis]):
                for dotted in v:
                    _checked_path(dotted, f"{where}: [grid] {axis}[{i}]")
    raw_points = data.get("point", [])
    if not isinstance(raw_points, list) or not all(isinstance(p, Mapping) for p in raw_points):
        raise SweepError(f"{where}: point: expected an array of tables ([[point]])")
    points = [_flatten(p) for p in raw_points]
    for dotted in fixed:
        _checked_path(dotted, f"{where}: [set]")
    for axis, values in grid.items():
        if not isinstance(values[0], dict) and axis != CONFIG_AXIS:
            _checked_path(axis, f"{where}: [grid]")
    for i, p in enumerate(points):
        for dotted in p:
            _checked_path(dotted, f"{where}: [[point]] {i + 1}")
    check_point_count(grid, points, where, job.seeds)
    swept = {k for v in grid.values() for item in v if isinstance(item, dict) for k in item} | set(grid)
    if job.epochs is not None and any("train.epochs" in d for d in (swept, *points)):
        raise SweepError(f"{where}: train.epochs is swept; leave [job] epochs out (it would override it)")
    raw_figures = data.get("figure", [])
    if not isinstance(raw_figures, list):
        raise SweepError(f"{where}: figure: expected an array of tables ([[figure]])")
    figures = [_figure(f, f"{where}: [[figure]] {i + 1}") for i, f in enumerate(raw_figures)]
    spec = SweepSpec(where, name, base, data.get("out", ""), job, fixed, grid, points,
                     figures or default_figures(job), bases)
    columns = set(spec.fields) | set(spec.metrics)
    for i, fig in enumerate(spec.figures):
        for key in ("x", "y", "color"):
            col = getattr(fig, key)
            if col and col not in columns:
                raise SweepError(f"{where}: [[figure]] {i + 1}: {key} = {col!r} is not a column; columns: "
                                 f"{', '.join([*spec.fields, *spec.metrics])}")
    return spec


def _base(config: str, folder: Path, where: str) -> str:
    """A preset name as it is, a TOML path (anything with a suffix) resolved against the sweep file's folder."""
    if not Path(config).suffix:
        if not (PRESET_DIR / f"{config}.toml").is_file():
            known = ", ".join(sorted(p.stem for p in PRESET_DIR.glob("*.toml")))
            raise SweepError(f"{where}: config: no preset {config!r}; presets: {known} (or give a TOML path)")
        return config
    path = folder / config
    if not path.is_file():
        raise SweepError(f"{where}: config: file {str(path)!r} not found")
    return str(path.resolve())


def _checked_path(dotted: str, where: str) -> None:
    try:
        check_path(dotted)
    except ConfigError as exc:
        raise SweepError(f"{where}: {dotted}: {exc}") from None


# expansion --------------------------------------------------------------------------------------------
def _base_file(base: str) -> str:
    return base if Path(base).suffix else str(PRESET_DIR / f"{base}.toml")


MAX_POINTS = 10_000
"""A sweep expands to at most this many points (grid product plus explicit points), counted before any is made."""


def check_point_count(grid: dict[str, list[Any]], points: list[Any], where: str, seeds: int = 1) -> int:
    """The number of points ``grid`` and ``points`` expand to (before duplicates are dropped), each run ``seeds``
    times; SweepError naming ``where`` and every axis's length past MAX_POINTS."""
    count = math.prod(len(v) for v in grid.values()) if grid else 0
    count = (count + len(points)) * seeds
    if count > MAX_POINTS:
        sizes = " x ".join(f"{axis} ({len(v)})" for axis, v in grid.items()) or "none"
        raise SweepError(f"{where}: the sweep has {count} points (grid {sizes}, {len(points)} explicit, "
                         f"{seeds} seed(s) each); at most "
                         f"{MAX_POINTS} are allowed: split it into several sweeps")
    return count


def _load(spec: SweepSpec, base: str, overrides: dict[str, Any]) -> SocConfig:
    """The config of ``base`` (a preset, a TOML file, or a run folder's config.json) with ``overrides``."""
    if spec.job.weights:
        saved = to_mapping(RunArgs.load(Path(base)).saved_config(Path(base)))
        return from_mapping(SocConfig, deep_merge(saved, overrides))
    return load_config(base, overrides)


def _seeded(config: dict[str, Any], offset: int) -> dict[str, Any]:
    """``config`` (a resolved mapping) with ``offset`` added to ``seed`` and ``train.init_seed``."""
    if not offset:
        return config
    return {**config, "seed": config["seed"] + offset,
            "train": {**config["train"], "init_seed": config["train"]["init_seed"] + offset}}


def _key(job_id: dict[str, Any], config: dict[str, Any]) -> str:
    blob = json.dumps({"job": job_id, "config": config, "socsim": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def expand(spec: SweepSpec) -> list[Point]:
    """Every point of the sweep with its resolved config, each ``[job] seeds`` times (seed 0 first); a bad value
    raises SweepError naming the point."""
    check_point_count(spec.grid, spec.points, spec.path, spec.job.seeds)
    combos = []
    for values in itertools.product(*spec.grid.values()):
        combo: dict[str, Any] = {}
        for axis, value in zip(spec.grid, values):
            combo.update(value if isinstance(value, dict) else {axis: value})
        combos.append(combo)
    if not spec.grid and spec.points:
        combos = []
    combos += [dict(p) for p in spec.points]
    job_id = spec.job.identity()
    out: list[Point] = []
    seen: set[str] = set()
    index = 0
    for values in combos:
        base = spec.bases[values[CONFIG_AXIS]] if spec.bases else spec.base
        flat = {k: v for k, v in {**spec.fixed, **values}.items() if k != CONFIG_AXIS}
        overrides = nest(flat)
        if spec.job.kind == "train" and spec.job.epochs is not None:
            overrides.setdefault("train", {})["epochs"] = spec.job.epochs
        label = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "base config"
        prefix = _base_file(base) + ": "
        try:
            cfg = _load(spec, base, overrides)
        except ConfigError as exc:
            msg = str(exc)
            msg = msg[len(prefix):] if msg.startswith(prefix) else msg
            raise SweepError(f"{spec.path}: point {index} ({label}): {msg}") from None
        config = to_mapping(cfg)
        key = _key(job_id, config)
        if key in seen:  # an explicit point equal to a grid point runs once
            continue
        seen.add(key)
        for s in range(spec.job.seeds):
            seeded = _seeded(config, s)
            out.append(Point(index, values, seeded, key if s == 0 else _key(job_id, seeded), s))
        index += 1
    return out
