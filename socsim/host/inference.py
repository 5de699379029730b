"""Inference as a job of its own: compile a graph, program its weights (initial, a model's own: an ONNX graph's
initializers or a ``.npz`` file, socsim.host.parameters, or a training run's trained state), run the evaluation
program over a batch of test images, and read latency, energy, throughput, TOPS/W and accuracy from that run.

A model's weights reach the arrays through the compiled ``init`` program (and ``calibrate`` when the config
calibrates): that run is the ``deploy`` phase, reported apart from the evaluation (cycles, energy, device writes).
With ``repeats`` the evaluation program runs that many times on the same programmed chip: each run draws its own
read noise (the draws are keyed by each tile's read counter, socsim.physics.draws), so the accuracies are
independent draws, the same on every rerun; the latency and energy are the first run's.

Every number comes from the one run of the compiled ``evaluate`` program on the SoC model (socsim.lower): its
cycles / clock is the latency of the batch, its ledger the energy. The program runs the test images micro-batch
by micro-batch, each layer after the one before (no pipelining across layers or micro-batches, no weight
replicas: docs/compiler.md, "Inference"); with ``compiler.datapath = pipelined`` (``socsim infer --pipelined``) the
blocks of a layer convert concurrently and stream their inputs (docs/compiler.md, "Pipelined datapath").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from socsim.base.actions import Action
from socsim.base.errors import InputError
from socsim.compiler.graph import Graph
from socsim.config.soc import SocConfig
from socsim.host.data import Dataset
from socsim.host.options import DEFAULTS, RunOptions
from socsim.host.parameters import ModelParameters, baseline_accuracy
from socsim.host.training import ChipTrainer, StateMismatch
from socsim.report import views
from socsim.report.headline import result_tile_macs, tile_mvm_energy_pj, tops_per_w
from socsim.runfolder.files import read_checkpoint
from socsim.sim import Result

PIPELINED_WITH_WEIGHTS = (
    "--pipelined with --weights: the run's checkpoint holds the memory of the programs compiled for its own config "
    "(compiler.datapath = {datapath}); the pipelined evaluation program lays out its activations and tile buffers "
    "otherwise. Train with compiler.datapath = \"pipelined\" in the config (training itself stays sequential), or "
    "leave --pipelined out")


@dataclass
class Inference:
    """One inference job: the evaluation program's run over ``images`` test images. Energy in pJ, time in s."""

    graph: Graph
    cfg: SocConfig
    result: Result
    """The run of the compiled ``evaluate`` program (cycles, ledger, busy cycles, elapsed time by layer)."""
    images: int
    microbatch: int
    dataset: str
    accuracy: float | None
    """Test accuracy of the trained weights; None without trained weights or in timing-only mode."""
    weights: str | None
    """The run folder the trained state came from (None: the initial weights of the graph)."""
    epoch: int = 0
    """Epochs the weights were trained for (0: initial weights)."""
    parameters: str | None = None
    """The file the model's own weights came from (an ONNX model or a .npz; None: not given)."""
    deploy: Result | None = None
    """The run that programmed the model's weights onto the arrays (init, then calibrate); None with a run
    folder's trained state (already on the devices)."""
    software_accuracy: float | None = None
    """Test accuracy of the numpy FP32 baseline with the same weights on the same images (model weights only)."""
    accuracies: list[float] = field(default_factory=list)
    """One accuracy per repeat (independent read-noise draws); empty when accuracy is not measured."""

    @property
    def accuracy_std(self) -> float | None:
        """Standard deviation (ddof 1) of the repeats' accuracies; None with fewer than two."""
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else None

    @property
    def deploy_cells_written(self) -> float:
        """Devices programmed by the deploy run (0 without one)."""
        if self.deploy is None:
            return 0.0
        led = self.deploy.ledger
        return float(led.loc[led.action == Action.CELLS_WRITTEN, "count"].sum())

    def tables(self) -> dict:
        """The evaluation run's tables (components, layers, opcodes, actions, area) and ``inference`` (the headline
        numbers, one row)."""
        return {"inference": pd.DataFrame([inference_json(self)]), **views.run_tables(self.result)}

    def figures(self) -> dict:
        """Energy and latency breakdowns of the evaluation run, per image."""
        return views.run_figures(self.result, self.images)

    @property
    def seconds(self) -> float:
        """Simulated time of the whole batch: the program's cycles / clock."""
        return self.result.cycles / self.cfg.clock_hz

    @property
    def latency_per_image_s(self) -> float:
        """Program cycles / clock / images."""
        return self.seconds / self.images

    @property
    def images_per_s(self) -> float:
        """Throughput: images / simulated time of the batch."""
        return self.images / self.seconds

    @property
    def energy_per_image_pj(self) -> float:
        return self.result.energy_pj / self.images

    @property
    def static_energy_per_image_pj(self) -> float:
        return self.result.static_energy_pj / self.images

    @property
    def dynamic_energy_per_image_pj(self) -> float:
        return self.result.dynamic_energy_pj / self.images

    @property
    def tile_macs(self) -> float:
        """MACs of the tile MVMs of the run (socsim.report.headline counts them)."""
        return result_tile_macs(self.result)

    @property
    def tops_per_w_tile(self) -> float:
        """2 x tile MACs / energy of the tiles' MVM datapath (DACs, array, ADC + TIA, shift-add)."""
        return tops_per_w(2 * self.tile_macs, tile_mvm_energy_pj(self.result.ledger))

    @property
    def tops_per_w_chip(self) -> float:
        """2 x tile MACs / all energy of the run, static included."""
        return tops_per_w(2 * self.tile_macs, self.result.energy_pj)


def run_inference(graph: Graph, cfg: SocConfig, data: Dataset, images: int | None = None,
                  microbatch: int | None = None, weights: str | Path | None = None,
                  options: RunOptions = DEFAULTS, parameters: ModelParameters | None = None,
                  repeats: int = 1) -> Inference:
    """Run ``graph``'s evaluation program on ``cfg`` over the first ``images`` test images of ``data`` (all if None;
    the last micro-batch filled with blank images that never count).

    ``weights`` names a run folder of ``socsim train``: its checkpoint's trained state (memory, crossbars, time) is
    loaded (read as data, never unpickled) and must fit the graph and config (a StateMismatch otherwise); without
    it, ``parameters`` (a model's own weights) are programmed, or else the graph's initial weights and accuracy is
    not reported. ``repeats``: evaluations of the programmed chip, each with its own read-noise draws. ``options``:
    the engine and timing-only mode (the config, dataset and threads are the caller's).
    """
    if repeats < 1:
        raise InputError(f"repeats = {repeats}: expected at least 1")
    n_test = len(data.y_test) if images is None else images
    subset = data.subset(min(cfg.train.batch, len(data.y_train)), n_test)
    state = None
    if weights is not None:
        state = read_checkpoint(Path(weights)).trainer
    try:
        trainer = ChipTrainer(graph, cfg, subset, microbatch, state=state, options=options,
                              parameters=parameters, inference=True)
    except StateMismatch as exc:
        raise StateMismatch(f"{Path(weights) / 'checkpoint.npz'}: does not fit this graph and config: {exc}") \
            from None
    measured = weights is not None or parameters is not None
    accuracy, result = trainer.evaluate()
    accuracies = [] if accuracy is None or not measured else [accuracy]
    for _ in range(repeats - 1 if accuracies else 0):
        accuracies.append(trainer.evaluate()[0])
    comp = trainer.compiled
    software = None
    if parameters is not None:
        n = comp.test_examples
        software = baseline_accuracy(graph, parameters, cfg.train, subset.x_test[:n], subset.y_test[:n])
    mean = float(np.mean(accuracies)) if accuracies else None
    return Inference(graph, cfg, result, comp.test_examples, comp.microbatch, data.name, mean,
                     None if weights is None else str(weights), trainer.epoch,
                     None if parameters is None else parameters.source,
                     trainer.init_result if parameters is not None else None, software, accuracies)


def inference_json(inf: Inference) -> dict:
    """The headline numbers of an inference job (units in the names)."""
    return {"graph": inf.graph.name, "config": inf.cfg.name, "images": inf.images, "microbatch": inf.microbatch,
            "weights": inf.weights, "parameters": inf.parameters, "accuracy": inf.accuracy,
            "accuracy_std": inf.accuracy_std, "repeats": len(inf.accuracies), "accuracies": inf.accuracies,
            "software_accuracy": inf.software_accuracy, "cycles": inf.result.cycles,
            "latency_per_image_s": inf.latency_per_image_s, "images_per_s": inf.images_per_s,
            "energy_per_image_pj": inf.energy_per_image_pj,
            "static_energy_per_image_pj": inf.static_energy_per_image_pj,
            "tops_per_w_tile": inf.tops_per_w_tile, "tops_per_w_chip": inf.tops_per_w_chip,
            **({} if inf.deploy is None else {"deploy_cycles": inf.deploy.cycles,
                                              "deploy_energy_pj": inf.deploy.energy_pj,
                                              "deploy_cells_written": inf.deploy_cells_written})}
