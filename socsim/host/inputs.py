"""The inputs a run names (``run.json``): its config, graph and data, loaded."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from socsim.base.errors import InputError
from socsim.compiler import load_graph
from socsim.compiler.graph import Graph
from socsim.config.soc import SocConfig, load_config
from socsim.host.data import Dataset, load_dataset
from socsim.runfolder.runargs import RunArgs

INIT_SEED_STRIDE = 1000
"""Seed i of a multi-seed run draws its initial weights from ``train.init_seed + INIT_SEED_STRIDE * i`` (layer k of
a graph draws from that + k, so seeds do not share a layer's draw for graphs of fewer than 1000 weight layers)."""


def seeded_config(cfg: SocConfig, index: int) -> SocConfig:
    """The config of seed ``index`` of a multi-seed run: ``seed + index`` (device variation, noise and the data
    order, which is drawn from ``[seed, epoch]``) and ``train.init_seed + INIT_SEED_STRIDE * index`` (the initial
    weights of the chip and of the numpy baseline); index 0 is ``cfg`` itself."""
    if index == 0:
        return cfg
    seed, init = cfg.seed + index, cfg.train.init_seed + INIT_SEED_STRIDE * index
    if seed >= 1 << 63 or init >= 1 << 31:
        raise InputError(f"seed {index} of config {cfg.name!r}: seed {seed} or train.init_seed {init} is past its "
                         "range (2^63 - 1, 2^31 - 1); use fewer seeds or smaller base seeds")
    return replace(cfg, seed=seed, train=replace(cfg.train, init_seed=init))


def run_inputs(run: RunArgs, run_dir: Path | None = None) -> tuple[SocConfig, Graph, Dataset]:
    """(config, graph, dataset) ``run`` names: the config (the one saved in ``run_dir`` if given, with the graph
    file checked against the one the run started with; else the preset or file, seeded by ``run.seed_index``),
    the graph, the data subset."""
    if run_dir is not None:
        cfg = run.saved_config(run_dir)
        run.check_graph()
    else:
        cfg = seeded_config(load_config(run.config, {"train": {"epochs": run.epochs}}), run.seed_index)
    graph = load_graph(run.graph)
    data = load_dataset(run.dataset, run.data_path, cfg.seed).subset(run.train_examples, run.test_examples)
    return cfg, graph, data
