"""The Python API for notebooks: ``socsim.compile``, ``socsim.run``, ``socsim.train``, ``socsim.infer``.

Each returns an object with ``.tables()`` (pandas DataFrames by name: per component, layer x phase, opcode,
action, epoch, the area) and ``.figures()`` (matplotlib figures by name), made by the same functions as the command
line and the HTML report (socsim.report). A graph is a path (.toml or .onnx) or a :class:`Graph`; a config a preset
name, a TOML path or a :class:`SocConfig`; a program a path (.s or .bin), assembly text or an ``isa.Program``.
docs/api.md has examples (run by the test suite).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from isa import assemble, load_program
from isa.program import Program
from socsim.base.configtools import dumps_toml, to_mapping
from socsim.base.errors import InputError
from socsim.base.fileio import write_text
from socsim.base.locks import FolderLock
from socsim.base.threads import threaded
from socsim.compiler import load_graph
from socsim.compiler.frontend.toml import dump_toml
from socsim.compiler.graph import Graph
from socsim.compiler.lower.lowering import Compiled, compile_training
from socsim.compiler.mapping.table import map_graph
from socsim.config.soc import SocConfig, load_config
from socsim.host.data import load_dataset
from socsim.host.inference import Inference, run_inference
from socsim.host.options import DEFAULTS, RunOptions
from socsim.host.parameters import graph_and_parameters, is_npz
from socsim.host.seeds import train_seeds
from socsim.host.train import run_training
from socsim.pricing.area import area_table
from socsim.report import load_run, views
from socsim.report.report import run_figures
from socsim.report.seeds import accuracy_band, seeds_table
from socsim.report.tables import run_tables
from socsim.runfolder.digests import recording
from socsim.runfolder.read import RunFolder
from socsim.runfolder.runargs import RunArgs
from socsim.runfolder.seeds import SUMMARY, SeedsSpec, seed_folder
from socsim.sim import Result, Soc

__all__ = ["CompiledNetwork", "ProgramRun", "SeedRuns", "TrainingRun", "compile", "infer", "run", "train"]


def _config(config: str | SocConfig) -> SocConfig:
    _check_type("config", config, (str, Path, SocConfig), "a preset name, a TOML path or a SocConfig")
    return config if isinstance(config, SocConfig) else load_config(str(config))


def _graph(graph: str | Path | Graph) -> Graph:
    _check_type("graph", graph, (str, Path, Graph), "a path (.toml, .onnx) or a Graph")
    return graph if isinstance(graph, Graph) else load_graph(str(graph))


def _check_type(name: str, value: object, kinds: tuple[type, ...], expected: str) -> None:
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise InputError(f"{name}={value!r}: expected {expected}")


def _check_args(**values: object) -> None:
    """The command line's checks of the API's arguments: counts are positive integers (or None), flags booleans,
    names strings; ValueError naming the argument otherwise."""
    for name, value in values.items():
        if name in ("epochs", "train_examples", "test_examples", "microbatch", "images", "seeds", "repeats"):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise InputError(f"{name}={value!r}: expected a positive integer (1 or more)")
        elif name in ("timing_only", "timeline", "baseline"):
            if not isinstance(value, bool):
                raise InputError(f"{name}={value!r}: expected True or False")
        elif value is not None and not isinstance(value, (str, Path)):
            raise InputError(f"{name}={value!r}: expected a string")


INPUTS = "inputs"
"""Where ``socsim.train`` writes a Graph or SocConfig given as an object (``OUT/inputs/graph.toml``, ``config.toml``),
so the run folder names files, as the command line's do, and resumes."""


def _input_files(graph: str | Path | Graph, config: str | SocConfig, folder: Path) -> tuple[str, str]:
    """Paths of the graph and config for run.json: as given, or written as TOML under ``folder/inputs``."""
    if isinstance(graph, Graph):
        write_text(folder / INPUTS / "graph.toml", dump_toml(graph))
        graph = folder / INPUTS / "graph.toml"
    if isinstance(config, SocConfig):
        write_text(folder / INPUTS / "config.toml", dumps_toml(to_mapping(config), header="socsim.train(config=...)"))
        config = folder / INPUTS / "config.toml"
    return str(graph), str(config)


def _program(program: str | Path | Program) -> Program:
    if isinstance(program, Program):
        return program
    text = str(program)
    if "\n" in text:  # assembly text
        return assemble(text, "<api>")
    return load_program(text)


@dataclass
class CompiledNetwork:
    """A graph compiled for a config: the ``init``, ``train_epoch`` and ``evaluate`` programs and the mapping."""

    graph: Graph
    cfg: SocConfig
    compiled: Compiled

    @property
    def programs(self) -> dict[str, Program]:
        c = self.compiled
        return {"init": c.init, "train_epoch": c.train_epoch, "evaluate": c.evaluate}

    def tables(self) -> dict[str, pd.DataFrame]:
        """``mapping`` (per weight layer: rows, cols, blocks, crossbars, cells, MVMs and tile ops per image),
        ``programs`` (instructions and code bytes), ``area``."""
        layers = map_graph(self.graph, self.cfg).layers
        mapping = pd.DataFrame([{k: getattr(lm, k) for k in ("name", "kind", "rows", "cols", "row_blocks",
                                                              "col_blocks", "crossbars", "used_cells",
                                                              "allocated_cells", "mvms", "tile_ops")}
                                for lm in layers])
        programs = pd.DataFrame([{"program": k, "instructions": len(p.instructions), "code_bytes": p.code_bytes()}
                                 for k, p in self.programs.items()])
        return {"mapping": mapping, "programs": programs, "area": area_table(self.cfg)}

    def figures(self) -> dict[str, Figure]:
        """None yet: a compiled network has not run (``socsim.run(net.programs['evaluate'], ...)`` does)."""
        return {}


@dataclass
class ProgramRun:
    """One program run on the SoC model (the :class:`Result`)."""

    result: Result

    def tables(self) -> dict[str, pd.DataFrame]:
        return views.run_tables(self.result)

    def figures(self) -> dict[str, Figure]:
        return views.run_figures(self.result)


@dataclass
class TrainingRun:
    """A training run on the chip and its run folder (socsim.report.load_run)."""

    folder: RunFolder
    last: Result | None
    """The last training epoch's program run."""

    @property
    def metrics(self) -> pd.DataFrame:
        return self.folder.metrics

    def tables(self) -> dict[str, pd.DataFrame]:
        """epochs, components, layers, opcodes, actions (every epoch, both programs) and area."""
        return {**run_tables(self.folder), "area": area_table(self.folder.soc_config)}

    def figures(self) -> dict[str, Figure]:
        """The report's figures (accuracy, energy and latency breakdowns, device writes, conductances)."""
        return {k: fig for k, (fig, _caption) in run_figures(self.folder).items()}


def compile(graph: str | Path | Graph, config: str | SocConfig = DEFAULTS.config, train_examples: int = 4000,  # noqa: A001
            test_examples: int = 1000, microbatch: int | None = None) -> CompiledNetwork:
    """Compile ``graph`` for ``config`` (``socsim compile``)."""
    _check_args(train_examples=train_examples, test_examples=test_examples, microbatch=microbatch)
    g, cfg = _graph(graph), _config(config)
    return CompiledNetwork(g, cfg, compile_training(g, cfg, train_examples, test_examples, microbatch))


@threaded
def run(program: str | Path | Program, config: str | SocConfig = DEFAULTS.config, timeline: bool = False,
        timing_only: bool = DEFAULTS.timing_only, engine: str = DEFAULTS.engine,
        threads: int | None = DEFAULTS.threads) -> ProgramRun:
    """Run a program on a fresh SoC of ``config`` (``socsim run``); raises ``socsim.sim.Trap`` when it traps.
    ``threads``: as ``--threads`` (:mod:`socsim.base.threads`)."""
    _check_args(timeline=timeline, timing_only=timing_only, engine=engine)
    options = RunOptions(engine=engine, timing_only=timing_only)  # InputError naming the option otherwise
    soc = Soc.from_config(_config(config), timeline=timeline, timing_only=options.timing_only, engine=options.engine)
    return ProgramRun(soc.run(_program(program)))


@dataclass
class SeedRuns:
    """A multi-seed training run (``socsim train --seeds N``): one :class:`TrainingRun` per seed and the summary."""

    path: Path
    runs: list[TrainingRun]
    """Seed i's run (folder ``path/seed-i``)."""

    @property
    def summary(self) -> pd.DataFrame:
        """``summary.csv``: per epoch the mean and sample std (ddof = 1) over the seeds of every metric, and n."""
        return pd.read_csv(self.path / SUMMARY)

    def tables(self) -> dict[str, pd.DataFrame]:
        """``summary`` and ``seeds`` (per seed and epoch: accuracy and baseline)."""
        return {"summary": self.summary, "seeds": seeds_table([r.folder for r in self.runs])}

    def figures(self) -> dict[str, Figure]:
        """``accuracy``: the mean over the seeds with a band of +- one std, the baseline's likewise."""
        return {"accuracy": accuracy_band(self.summary)}


@threaded
def train(graph: str | Path | Graph, config: str | SocConfig = DEFAULTS.config, dataset: str = DEFAULTS.dataset,
          epochs: int | None = None, out: str | Path | None = None, train_examples: int | None = None,
          test_examples: int | None = None, microbatch: int | None = None, data_path: str | None = None,
          baseline: bool = False, seeds: int | None = DEFAULTS.seeds, timing_only: bool = DEFAULTS.timing_only,
          engine: str = DEFAULTS.engine, threads: int | None = DEFAULTS.threads) -> TrainingRun | SeedRuns:
    """Train ``graph`` on the chip (``socsim train``, quietly) into the run folder ``out`` (a new temporary folder
    if None; an existing run there is replaced). A Graph or SocConfig object is written as TOML to
    ``out/inputs/`` (which run.json then names). ``baseline`` trains the numpy baseline alongside; ``seeds = N``
    trains N seeds into ``out/seed-i`` (``socsim train --seeds N``) and returns a :class:`SeedRuns`. ``timing_only``
    and ``engine`` as ``socsim train --timing-only --engine``; ``threads`` as ``--threads``
    (:mod:`socsim.base.threads`)."""
    _check_args(dataset=dataset, epochs=epochs, out=out, train_examples=train_examples, test_examples=test_examples,
                microbatch=microbatch, data_path=data_path, baseline=baseline, seeds=seeds, timing_only=timing_only,
                engine=engine)
    options = RunOptions(dataset=dataset, engine=engine, timing_only=timing_only, seeds=seeds)
    _check_type("graph", graph, (str, Path, Graph), "a path (.toml, .onnx) or a Graph")
    _check_type("config", config, (str, Path, SocConfig), "a preset name, a TOML path or a SocConfig")
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="socsim-train-"))

    def run_args() -> RunArgs:
        graph_file, config_name = _input_files(graph, config, folder)
        n = epochs if epochs is not None else _config(config).train.epochs
        args = RunArgs(graph_file, config_name, dataset, data_path, n, train_examples, test_examples, microbatch,
                       timing_only)
        return args.with_graph_hash() if Path(graph_file).is_file() else args

    if seeds is not None:  # train_seeds locks the folder and each seed's folder itself
        train_seeds(SeedsSpec(run_args(), seeds, baseline), folder, options=options)
        return SeedRuns(folder, [TrainingRun(load_run(seed_folder(folder, i)), None) for i in range(seeds)])
    with FolderLock(folder, "run folder"), recording(folder):  # as socsim train: locked, its files recorded
        _, last = run_training(run_args(), folder, baseline=baseline, options=options)
    return TrainingRun(load_run(folder), last)


@threaded
def infer(graph: str | Path | Graph, config: str | SocConfig | None = None, dataset: str = DEFAULTS.dataset,
          weights: str | Path | TrainingRun | None = None, images: int | None = None, microbatch: int | None = None,
          data_path: str | None = None, timing_only: bool = DEFAULTS.timing_only, repeats: int = 1,
          weight_percentile: float = 100.0, engine: str = DEFAULTS.engine,
          threads: int | None = DEFAULTS.threads) -> Inference:
    """Inference over the first ``images`` test images (``socsim infer``) on ``config`` (default: RunOptions').
    ``weights``: a run folder (or a :class:`TrainingRun`) whose trained state is loaded, on the config the run saved
    (``config`` must then be None); or a ``.npz`` of a TOML graph's parameters (socsim.host.parameters). An ONNX
    graph given by its path brings its initializers as its weights. ``repeats``: evaluations, each with its own
    read-noise draws (``Inference.accuracies``, ``.accuracy`` their mean, ``.accuracy_std``). ``threads``: as
    ``--threads`` (:mod:`socsim.base.threads`)."""
    _check_args(dataset=dataset, images=images, microbatch=microbatch, data_path=data_path, timing_only=timing_only,
                repeats=repeats, engine=engine)
    options = RunOptions(dataset=dataset, engine=engine, timing_only=timing_only)
    if isinstance(weights, TrainingRun):
        weights = weights.folder.path
    _check_type("weights", weights if weights is not None else "", (str, Path),
                "a run folder, a TrainingRun or a .npz of parameters")
    if (weights is None or is_npz(weights)) and not isinstance(graph, Graph):
        g, params = graph_and_parameters(str(graph), None if weights is None else str(weights), weight_percentile)
        data = load_dataset(dataset, data_path, _config(config or DEFAULTS.config).seed)
        return run_inference(g, _config(config or DEFAULTS.config), data, images, microbatch, None, options,
                             parameters=params, repeats=repeats)
    if weights is None:
        cfg = _config(config or DEFAULTS.config)
    elif config is not None:
        raise InputError(f"infer(config=..., weights={str(weights)!r}): the weights were trained on the run's own "
                         "config, which infer uses; leave config out")
    else:
        saved = RunArgs.load(Path(weights))
        cfg = saved.saved_config(Path(weights))
        images = images if images is not None else saved.test_examples  # the run's own test images by default
    data = load_dataset(dataset, data_path, cfg.seed)
    return run_inference(_graph(graph), cfg, data, images, microbatch, weights, options, repeats=repeats)
