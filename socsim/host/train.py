"""A training run: compile, load data, train on the simulated chip epoch by epoch, write a run folder.

Per epoch it records test accuracy, simulated latency and energy (per image and total, split by phase) and
device writes, all read from the ledger of the programs that ran (one metrics row, heard by a
:class:`TrainListener`); it checkpoints atomically so a resumed run continues bit-identically.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from isa.spec import Phase
from socsim.base.actions import Action
from socsim.base.configtools import to_mapping
from socsim.base.environment import environment_text
from socsim.base.errors import InputError
from socsim.base.fileio import clean_temporaries
from socsim.debug.tracefile import write_trace
from socsim.host.baseline import Baseline
from socsim.host.data import Dataset
from socsim.host.inputs import run_inputs
from socsim.host.options import DEFAULTS, RunOptions
from socsim.host.training import ChipTrainer, StateMismatch
from socsim.runfolder.files import (
    CHECKPOINT,
    CONDUCTANCES,
    CONFIG,
    INITIAL_CONDUCTANCES,
    LEDGER,
    MAPPING,
    METRICS,
    RUN_ARGS,
    TRACE,
    CheckpointError,
    RunState,
    clear_run,
    mapping_record,
    read_checkpoint,
    write_conductances,
    write_frame,
    write_json,
    write_metrics,
    write_run_state,
)
from socsim.runfolder.metrics import MetricsRow
from socsim.runfolder.runargs import RunArgs
from socsim.sim import Result, Trap, TrapKind

__all__ = ["Diverged", "PHASES", "RunArgs", "TrainListener", "epoch_metrics", "run_training"]

PHASES = [p.name.lower() for p in (Phase.FORWARD, Phase.BACKWARD, Phase.UPDATE, Phase.CALIBRATE)]


class Diverged(RuntimeError):
    """Training produced NaN or inf; the last good checkpoint is kept."""


def epoch_metrics(epoch: int, accuracy: float | None, train: Result, evaluate: Result, images: int,
                  weights: int, wall_s: float, batches: int = 1, test_images: int = 1) -> MetricsRow:
    """One metrics row: everything from the two runs' ledgers and cycle counts (``batches`` optimizer steps of the
    training program, ``test_images`` images of the evaluation program)."""
    led = train.ledger
    by_phase = led.groupby("phase")["energy_pj"].sum()
    cells = float(led.loc[led.action == Action.CELLS_WRITTEN, "count"].sum())
    conversions = float(led.loc[led.action == Action.ADC_CONVERSION, "count"].sum())
    saturated = float(led.loc[led.action == Action.ADC_SATURATED, "count"].sum())
    phase = {p: float(by_phase.get(p, 0.0)) for p in PHASES}
    return MetricsRow(
        epoch=epoch, test_accuracy=accuracy, train_images=images,
        train_cycles=train.cycles, train_s=train.seconds, latency_per_image_s=train.seconds / images,
        train_energy_pj=train.energy_pj, energy_per_image_pj=train.energy_pj / images,
        static_energy_pj=train.static_energy_pj, step_latency_s=train.seconds / batches,
        eval_cycles=evaluate.cycles, eval_energy_pj=evaluate.energy_pj, eval_images=test_images,
        infer_latency_per_image_s=evaluate.seconds / test_images,
        infer_energy_per_image_pj=evaluate.energy_pj / test_images,
        cells_written=cells, writes_per_weight=cells / max(weights, 1),
        set_pulses=float(led.loc[led.action == Action.SET_PULSE, "count"].sum()),
        reset_pulses=float(led.loc[led.action == Action.RESET_PULSE, "count"].sum()),
        adc_saturated_share=(None if accuracy is None else  # timing-only: the converters saw no currents
                             saturated / max(conversions, 1.0)),
        wall_s=wall_s, forward_energy_pj=phase["forward"], backward_energy_pj=phase["backward"],
        update_energy_pj=phase["update"], calibrate_energy_pj=phase["calibrate"])


class TrainListener:
    """What a training run tells its caller as it goes (the CLI prints it; the default hears nothing)."""

    def started(self, trainer: ChipTrainer, data: Dataset) -> None:
        """The chip is set up: ``trainer.compiled`` holds the programs, ``trainer.epoch`` the epochs done."""

    def epoch_started(self, epoch: int, epochs: int, batches: int) -> None:
        """Epoch ``epoch`` (1-based) of ``epochs`` begins; it runs ``batches`` batches."""

    def batch_done(self) -> None:
        """One batch's update phase began on the chip."""

    def epoch_done(self, row: MetricsRow, baseline_accuracy: float | None) -> None:
        """The epoch's metrics row (and the numpy baseline's accuracy when it trains alongside) is final."""


def run_training(args: RunArgs, out_dir: Path, resume: bool = False, baseline: bool = False,
                 listener: TrainListener | None = None, trace_cycles: int | None = None,
                 options: RunOptions = DEFAULTS) -> tuple[list[MetricsRow], Result | None]:
    """Train and write ``out_dir``; returns the metrics rows and the last epoch's training Result. ``options.engine``
    runs the programs (socsim.sim.engines; the numbers do not depend on it); the config, dataset and timing-only
    mode are ``args``' (run.json keeps them, so a resume runs as the run began); ``listener`` hears the progress.

    Raises Diverged on NaN."""
    listen = listener or TrainListener()

    state: RunState | None = None
    rows: list[MetricsRow] = []
    ledgers: list[pd.DataFrame] = []
    if resume:  # the caller holds the folder (socsim train and sweep points lock it): no other writer is there
        clean_temporaries(out_dir)  # what a kill during an earlier write left
        state = read_checkpoint(out_dir)
        rows, ledgers = state.metrics, state.ledgers
        cfg, graph, data = run_inputs(args, out_dir)
        if state.epoch > cfg.train.epochs:
            raise InputError(f"the run has trained {state.epoch} epochs already; "
                             f"--epochs {cfg.train.epochs} asks for fewer", file=out_dir)
    else:
        cfg, graph, data = run_inputs(args)
        clear_run(out_dir)  # a fresh run starts from an empty run folder: no file of an earlier run is left
    try:
        trainer = ChipTrainer(graph, cfg, data, args.microbatch, state=state and state.trainer,
                              timeline=trace_cycles is not None, options=replace(options, timing_only=args.timing_only))
    except StateMismatch as exc:
        raise CheckpointError(f"{out_dir / CHECKPOINT}: does not fit this run's graph and config: {exc}") from None
    if not resume or not (out_dir / MAPPING).exists():
        write_json(out_dir / MAPPING, mapping_record(graph, cfg, trainer.compiled))
    if not resume:
        write_json(out_dir / CONFIG, to_mapping(cfg))
        write_json(out_dir / RUN_ARGS, to_mapping(replace(args, images_used=trainer.image_use().text(),
                                                              environment=environment_text())))
        write_conductances(out_dir / INITIAL_CONDUCTANCES, trainer.conductances())
        write_run_state(out_dir / CHECKPOINT, RunState(trainer.state(), rows, ledgers))
    elif rows:  # a kill after a checkpoint may have left the other files an epoch behind it: rewrite them now
        _write_epoch_files(out_dir, trainer, rows, ledgers)
    comp = trainer.compiled
    weights = sum(int(np.prod(graph.weight_shape(n.name))) for n in graph.weight_nodes())
    images = comp.batches_per_epoch * cfg.train.batch
    listen.started(trainer, data)
    # the baseline gathers batch statistics as the chip does: per compiled micro-batch (docs/training.md)
    ref = Baseline(graph, cfg.train, bn_microbatch=comp.microbatch) if baseline else None
    if ref is not None:
        for e in range(trainer.epoch):
            idx = trainer.order(e)
            ref.train_epoch(data.x_train[idx], data.y_train[idx])
    update_pc = next(pc for pc, ins in enumerate(comp.train_epoch.instructions)
                     if ins.spec.mnemonic == "mark" and ins.args[1] == int(Phase.UPDATE))
    last: Result | None = None
    while trainer.epoch < cfg.train.epochs:
        t0 = time.perf_counter()
        listen.epoch_started(trainer.epoch + 1, cfg.train.epochs, comp.batches_per_epoch)
        try:
            train = trainer.train_epoch(hooks={update_pc: listen.batch_done})
            acc, ev = trainer.evaluate()
        except Trap as exc:
            if exc.kind is TrapKind.NAN:
                raise Diverged(f"training diverged in epoch {trainer.epoch + 1}: {exc}; the last good "
                               f"checkpoint is {out_dir / CHECKPOINT} (epoch {trainer.epoch})") from None
            raise
        if trace_cycles is not None:  # the first epoch trained in this call; later epochs are not recorded
            write_trace(train.timeline, out_dir / TRACE, cfg.clock_hz, trace_cycles)
            trainer.soc.keep_timeline = False  # later epochs: the elapsed time by layer only
            trace_cycles = None
        row = epoch_metrics(trainer.epoch, acc, train, ev, images, weights, time.perf_counter() - t0,
                            comp.batches_per_epoch, comp.test_examples)
        base_acc = None
        if ref is not None:
            idx = trainer.order(trainer.epoch - 1)
            ref.train_epoch(data.x_train[idx], data.y_train[idx])
            base_acc = ref.accuracy(data.x_test[:comp.test_examples], data.y_test[:comp.test_examples])
            row.baseline_accuracy = base_acc
        rows.append(row)
        for program, result in (("train", train), ("evaluate", ev)):
            ledgers.append(result.ledger.assign(epoch=trainer.epoch, program=program))
        listen.epoch_done(row, base_acc)
        # the checkpoint first: every epoch listed in metrics.csv is then one a resume starts after
        write_run_state(out_dir / CHECKPOINT, RunState(trainer.state(), rows, ledgers))
        _write_epoch_files(out_dir, trainer, rows, ledgers)
        last = train
    return rows, last


def _write_epoch_files(out_dir: Path, trainer: Any, rows: list[MetricsRow], ledgers: list[pd.DataFrame]) -> None:
    """metrics.csv, ledger.csv and conductances.npz of the epochs in ``rows`` (each written atomically; a kill
    between them leaves some one epoch behind the checkpoint, which a resume rewrites)."""
    write_metrics(out_dir / METRICS, rows)
    write_frame(out_dir / LEDGER, pd.concat(ledgers, ignore_index=True))
    write_conductances(out_dir / CONDUCTANCES, trainer.conductances())


