"""The sweep file: what to run (a training job or a program) over which config points.

``load_sweep(path)`` reads and checks a sweep TOML file; ``expand(spec)`` turns it into
:class:`Point` objects, each with its fully resolved :class:`~socsim.config.soc.SocConfig`. Every
error is a :class:`SweepError` naming the sweep file, the table or point, and the dotted field,
raised before anything runs. The format is documented in ``docs/sweeps.md``.

Here: reading and checking the file. The records it yields live in :mod:`socsim.sweep.records`, the expansion into
points and their keys in :mod:`socsim.sweep.points`; their names are importable from here too.
"""

from __future__ import annotations

import typing
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Mapping

from isa import load_program
from socsim.base.configtools import ConfigError
from socsim.base.fileio import read_toml
from socsim.compiler import load_graph
from socsim.config.soc import PRESET_DIR, SocConfig
from socsim.host.data import DATASETS
from socsim.host.options import DEFAULTS
from socsim.runfolder.files import CHECKPOINT
from socsim.runfolder.runargs import RunArgs
from socsim.sim.engines import ENGINES
from socsim.sweep.points import MAX_POINTS, check_point_count, expand, nest
from socsim.sweep.records import (
    CONFIG_AXIS,
    FIGURE_KEYS,
    GOALS,
    INFER_METRICS,
    JOB_KEYS,
    KINDS,
    MAX_SEEDS,
    NUMERIC_ONLY,
    PROGRAM_METRICS,
    TOP_KEYS,
    TRAIN_METRICS,
    FigureSpec,
    JobSpec,
    Point,
    SweepError,
    SweepSpec,
)

__all__ = ["load_sweep", "check_path", "plain_name_problem", "default_figures",
           # handed on from the modules that own them
           "expand", "nest", "check_point_count", "MAX_POINTS",
           "KINDS", "CONFIG_AXIS", "TOP_KEYS", "JOB_KEYS", "FIGURE_KEYS", "GOALS", "TRAIN_METRICS", "PROGRAM_METRICS",
           "INFER_METRICS", "NUMERIC_ONLY", "MAX_SEEDS", "SweepError", "JobSpec", "FigureSpec", "SweepSpec", "Point"]


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
