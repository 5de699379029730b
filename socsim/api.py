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
from socsim.area import area_table
from socsim.compiler import load_graph
from socsim.compiler.graph import Graph
from socsim.compiler.lower import Compiled, compile_training
from socsim.compiler.mapping import map_graph
from socsim.config import SocConfig, load_config
from socsim.host.data import load_dataset
from socsim.host.inference import Inference, run_inference
from socsim.host.parameters import graph_and_parameters, is_npz
from socsim.host.train import run_training
from socsim.report import load_run, views
from socsim.report.report import run_figures
from socsim.report.tables import run_tables
from socsim.runfolder.read import RunFolder
from socsim.runfolder.runargs import RunArgs
from socsim.sim import Result, Soc

__all__ = ["CompiledNetwork", "ProgramRun", "TrainingRun", "compile", "infer", "run", "train"]


def _config(config: str | SocConfig) -> SocConfig:
    return config if isinstance(config, SocConfig) else load_config(str(config))


def _graph(graph: str | Path | Graph) -> Graph:
    return graph if isinstance(graph, Graph) else load_graph(str(graph))


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


def compile(graph: str | Path | Graph, config: str | SocConfig = "wu2023", train_examples: int = 4000,  # noqa: A001
            test_examples: int = 1000, microbatch: int | None = None) -> CompiledNetwork:
    """Compile ``graph`` for ``config`` (``socsim compile``)."""
    g, cfg = _graph(graph), _config(config)
    return CompiledNetwork(g, cfg, compile_training(g, cfg, train_examples, test_examples, microbatch))


def run(program: str | Path | Program, config: str | SocConfig = "wu2023", timeline: bool = False,
        timing_only: bool = False, engine: str = "fast") -> ProgramRun:
    """Run a program on a fresh SoC of ``config`` (``socsim run``); raises ``socsim.sim.Trap`` when it traps."""
    soc = Soc.from_config(_config(config), timeline=timeline, timing_only=timing_only, engine=engine)
    return ProgramRun(soc.run(_program(program)))


def train(graph: str | Path, config: str = "wu2023", dataset: str = "digits", epochs: int | None = None,
          out: str | Path | None = None, train_examples: int | None = None, test_examples: int | None = None,
          microbatch: int | None = None, data_path: str | None = None) -> TrainingRun:
    """Train ``graph`` on the chip (``socsim train``, quietly) into the run folder ``out`` (a new temporary folder
    if None; an existing run there is replaced)."""
    n = epochs if epochs is not None else load_config(config).train.epochs
    args = RunArgs(str(graph), config, dataset, data_path, n, train_examples, test_examples, microbatch)
    if Path(graph).is_file():
        args = args.with_graph_hash()
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="socsim-train-"))
    folder.mkdir(parents=True, exist_ok=True)
    _, last = run_training(args, folder)
    return TrainingRun(load_run(folder), last)


def infer(graph: str | Path | Graph, config: str | SocConfig | None = None, dataset: str = "digits",
          weights: str | Path | TrainingRun | None = None, images: int | None = None, microbatch: int | None = None,
          data_path: str | None = None, timing_only: bool = False, repeats: int = 1,
          weight_percentile: float = 100.0) -> Inference:
    """Inference over the first ``images`` test images (``socsim infer``) on ``config`` (default wu2023).
    ``weights``: a run folder (or a :class:`TrainingRun`) whose trained state is loaded, on the config the run saved
    (``config`` must then be None); or a ``.npz`` of a TOML graph's parameters (socsim.host.parameters). An ONNX
    graph given by its path brings its initializers as its weights. ``repeats``: evaluations, each with its own
    read-noise draws (``Inference.accuracies``, ``.accuracy`` their mean, ``.accuracy_std``)."""
    if isinstance(weights, TrainingRun):
        weights = weights.folder.path
    if (weights is None or is_npz(weights)) and not isinstance(graph, Graph):
        g, params = graph_and_parameters(str(graph), None if weights is None else str(weights), weight_percentile)
        data = load_dataset(dataset, data_path, _config(config or "wu2023").seed)
        return run_inference(g, _config(config or "wu2023"), data, images, microbatch, None, timing_only,
                             parameters=params, repeats=repeats)
    if weights is None:
        cfg = _config(config or "wu2023")
    elif config is not None:
        raise ValueError(f"infer(config=..., weights={str(weights)!r}): the weights were trained on the run's own "
                         "config, which infer uses; leave config out")
    else:
        saved = RunArgs.load(Path(weights))
        cfg = saved.saved_config(Path(weights))
        images = images if images is not None else saved.test_examples  # the run's own test images by default
    data = load_dataset(dataset, data_path, cfg.seed)
    return run_inference(_graph(graph), cfg, data, images, microbatch, weights, timing_only, repeats=repeats)
