"""The inputs a run names (``run.json``): its config, graph and data, loaded."""

from __future__ import annotations

from pathlib import Path

from socsim.compiler import load_graph
from socsim.compiler.graph import Graph
from socsim.config import SocConfig, load_config
from socsim.host.data import Dataset, load_dataset
from socsim.runfolder.runargs import RunArgs


def run_inputs(run: RunArgs, run_dir: Path | None = None) -> tuple[SocConfig, Graph, Dataset]:
    """(config, graph, dataset) ``run`` names: the config (the one saved in ``run_dir`` if given, with the graph
    file checked against the one the run started with; else the preset or file), the graph, the data subset."""
    if run_dir is not None:
        cfg = run.saved_config(run_dir)
        run.check_graph()
    else:
        cfg = load_config(run.config, {"train": {"epochs": run.epochs}})
    graph = load_graph(run.graph)
    data = load_dataset(run.dataset, run.data_path, cfg.seed).subset(run.train_examples, run.test_examples)
    return cfg, graph, data
