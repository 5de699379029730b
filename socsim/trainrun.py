"""``socsim train``: compile, load data, train on the simulated chip epoch by epoch, write a run folder.

Per epoch it prints test accuracy, simulated latency and energy (per image and total, split by
phase) and device writes, all read from the ledger of the programs that ran; it checkpoints
atomically so ``--resume RUN_DIR`` continues bit-identically.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from isa.spec import Phase
from socsim.argtypes import positive_int
from socsim.configtools import to_mapping
from socsim.fileio import clean_temporaries
from socsim.runargs import RunArgs
from socsim.runs import (
    CHECKPOINT,
    CONDUCTANCES,
    CONFIG,
    INITIAL_CONDUCTANCES,
    LEDGER,
    METRICS,
    RUN_ARGS,
    CheckpointError,
    clear_run,
    read_checkpoint,
    run_files,
    write_checkpoint,
    write_conductances,
    write_frame,
    write_json,
    write_metrics,
)
from socsim.sim import Result, Trap, TrapKind
from socsim.sim.engines import DEFAULT_ENGINE, ENGINE_HELP, ENGINES
from socsim.sim.timing_only import HELP as TIMING_ONLY_HELP

__all__ = ["Diverged", "RunArgs", "add_train_command", "cmd_train", "epoch_metrics", "run_training"]

PHASES = [p.name.lower() for p in (Phase.FORWARD, Phase.BACKWARD, Phase.UPDATE, Phase.CALIBRATE)]
DEFAULT_CONFIG, DEFAULT_DATASET = "wu2023", "mnist5k"


class Diverged(RuntimeError):
    """Training produced NaN or inf; the last good checkpoint is kept."""


def epoch_metrics(epoch: int, accuracy: float | None, train: Result, evaluate: Result, images: int,
                  weights: int, wall_s: float, batches: int = 1, test_images: int = 1) -> dict[str, Any]:
    """One metrics row: everything from the two runs' ledgers and cycle counts (``batches`` optimizer steps of the
    training program, ``test_images`` images of the evaluation program)."""
    led = train.ledger
    by_phase = led.groupby("phase")["energy_pj"].sum()
    cells = float(led.loc[led.action == "cells_written", "count"].sum())
    conversions = float(led.loc[led.action == "adc_conversion", "count"].sum())
    row: dict[str, Any] = {
        "epoch": epoch, "test_accuracy": accuracy, "train_images": images,
        "train_cycles": train.cycles, "train_s": train.seconds, "latency_per_image_s": train.seconds / images,
        "train_energy_pj": train.energy_pj, "energy_per_image_pj": train.energy_pj / images,
        "static_energy_pj": train.static_energy_pj, "step_latency_s": train.seconds / batches,
        "eval_cycles": evaluate.cycles, "eval_energy_pj": evaluate.energy_pj, "eval_images": test_images,
        "infer_latency_per_image_s": evaluate.seconds / test_images,
        "infer_energy_per_image_pj": evaluate.energy_pj / test_images,
        "cells_written": cells, "writes_per_weight": cells / max(weights, 1),
        "set_pulses": float(led.loc[led.action == "set_pulse", "count"].sum()),
        "reset_pulses": float(led.loc[led.action == "reset_pulse", "count"].sum()),
        "adc_saturated_share": (None if accuracy is None else  # timing-only: the converters saw no currents
                                float(led.loc[led.action == "adc_saturated", "count"].sum()) / max(conversions, 1.0)),
        "wall_s": wall_s,
    }
    for phase in PHASES:
        row[f"{phase}_energy_pj"] = float(by_phase.get(phase, 0.0))
    return row


def _print_epoch(row: dict[str, Any], baseline: float | None, out) -> None:
    split = " / ".join(f"{row[f'{p}_energy_pj'] / row['train_images'] / 1e3:.1f}" for p in PHASES)
    base = f"  (numpy baseline {baseline:.2%})" if baseline is not None else ""
    acc = "not measured (timing only)" if row["test_accuracy"] is None else f"{row['test_accuracy']:.2%}"
    share = row.get("adc_saturated_share")  # absent from the rows of runs started before it was measured
    share = "not measured" if share is None else f"{share:.2%}"
    static = row.get("static_energy_pj")  # absent from the rows of runs started before leakage was counted
    static = "" if static is None else f"; of it static {static / row['train_images'] / 1e3:.1f}"
    print(f"epoch {row['epoch']:>3}  test acc {acc}{base}\n"
          f"    latency  {row['latency_per_image_s'] * 1e3:.3f} ms/image, {_step(row)}{row['train_s']:.3f} s total "
          f"(simulated)\n"
          f"    energy   {row['energy_per_image_pj'] / 1e3:.1f} nJ/image (fwd / bwd / update / calibrate {split}"
          f"{static}), "
          f"{row['train_energy_pj'] / 1e6:.3f} uJ total\n"
          f"{_inference(row)}"
          f"    writes   {row['cells_written']:.0f} weights programmed ({row['writes_per_weight']:.3f} per weight), "
          f"{row['set_pulses']:.0f} SET + {row['reset_pulses']:.0f} RESET pulses; "
          f"ADC inputs over range {share}; wall {row['wall_s']:.1f} s",
          file=out)


def _step(row: dict[str, Any]) -> str:
    step = row.get("step_latency_s")
    return "" if step is None else f"{step * 1e3:.3f} ms per batch step, "


def _inference(row: dict[str, Any]) -> str:
    """The epoch's evaluation program as inference: latency and energy per test image."""
    if row.get("infer_latency_per_image_s") is None:
        return ""
    return (f"    infer    {row['infer_latency_per_image_s'] * 1e3:.3f} ms/image, "
            f"{row['infer_energy_per_image_pj'] / 1e3:.1f} nJ/image over {row['eval_images']} test images\n")


def run_training(args: RunArgs, out_dir: Path, resume: bool = False, baseline: bool = False,
                 quiet: bool = False, trace_cycles: int | None = None,
                 engine: str = DEFAULT_ENGINE) -> tuple[list[dict[str, Any]], Result | None]:
    """Train and write ``out_dir``; returns the metrics rows and the last epoch's training Result. ``engine``
    runs the programs (socsim.sim.engines; the numbers do not depend on it).

    Raises Diverged on NaN."""
    from socsim.baseline import Baseline
    from socsim.training import ChipTrainer, StateMismatch

    state, rows, ledgers = None, [], []
    if resume:  # the caller holds the folder (socsim train and sweep points lock it): no other writer is there
        clean_temporaries(out_dir)  # what a kill during an earlier write left
        state = read_checkpoint(out_dir)
        rows, ledgers = state["metrics"], state["ledgers"]
        cfg, graph, data = args.inputs(out_dir)
        if state["trainer"]["epoch"] > cfg.train.epochs:
            raise ValueError(f"{out_dir}: the run has trained {state['trainer']['epoch']} epochs already; "
                             f"--epochs {cfg.train.epochs} asks for fewer")
    else:
        cfg, graph, data = args.inputs()
        clear_run(out_dir)  # a fresh run starts from an empty run folder: no file of an earlier run is left
    out = sys.stdout
    try:
        trainer = ChipTrainer(graph, cfg, data, args.microbatch, state=state and state["trainer"],
                              timing_only=args.timing_only, timeline=trace_cycles is not None, engine=engine)
    except StateMismatch as exc:
        raise CheckpointError(f"{out_dir / CHECKPOINT}: does not fit this run's graph and config: {exc}") from None
    if not resume:
        write_json(out_dir / CONFIG, to_mapping(cfg))
        write_json(out_dir / RUN_ARGS, to_mapping(args))
        write_conductances(out_dir / INITIAL_CONDUCTANCES, trainer.conductances())
        write_checkpoint(out_dir / CHECKPOINT, {"trainer": trainer.state(), "metrics": rows, "ledgers": ledgers})
    elif rows:  # a kill after a checkpoint may have left the other files an epoch behind it: rewrite them now
        _write_epoch_files(out_dir, trainer, rows, ledgers)
    comp = trainer.compiled
    weights = sum(int(np.prod(graph.weight_shape(n.name))) for n in graph.weight_nodes())
    images = comp.batches_per_epoch * cfg.train.batch
    if not quiet:
        print(f"{graph.name} on {cfg.name} ({cfg.train.scheme.value}): {len(data.y_train)} training / "
              f"{comp.test_examples} test images of {data.name}, batch {cfg.train.batch}, micro-batch "
              f"{comp.microbatch}, {len(comp.placement.blocks)} crossbar blocks on {comp.placement.tiles_used} tiles",
              file=out)
    ref = Baseline(graph, cfg.train) if baseline else None
    if ref is not None:
        for e in range(trainer.epoch):
            idx = trainer.order(e)
            ref.train_epoch(data.x_train[idx], data.y_train[idx])
    update_pc = next(pc for pc, ins in enumerate(comp.train_epoch.instructions)
                     if ins.spec.mnemonic == "mark" and ins.args[1] == int(Phase.UPDATE))
    last: Result | None = None
    while trainer.epoch < cfg.train.epochs:
        t0 = time.perf_counter()
        with tqdm(total=comp.batches_per_epoch, desc=f"epoch {trainer.epoch + 1}/{cfg.train.epochs}",
                  unit="batch", disable=quiet, leave=False, file=sys.stderr) as bar:
            try:
                train = trainer.train_epoch(hooks={update_pc: lambda: bar.update(1)})
                acc, ev = trainer.evaluate()
            except Trap as exc:
                if exc.kind is TrapKind.NAN:
                    raise Diverged(f"training diverged in epoch {trainer.epoch + 1}: {exc}; the last good "
                                   f"checkpoint is {out_dir / CHECKPOINT} (epoch {trainer.epoch})") from None
                raise
        if trace_cycles is not None:  # the first epoch trained in this call; later epochs are not recorded
            from socsim.report.rundir import TRACE
            from socsim.report.trace import write_trace
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
            row["baseline_accuracy"] = base_acc
        rows.append(row)
        for program, result in (("train", train), ("evaluate", ev)):
            ledgers.append(result.ledger.assign(epoch=trainer.epoch, program=program))
        if not quiet:
            _print_epoch(row, base_acc, out)
        # the checkpoint first: every epoch listed in metrics.csv is then one a resume starts after
        write_checkpoint(out_dir / CHECKPOINT, {"trainer": trainer.state(), "metrics": rows, "ledgers": ledgers})
        _write_epoch_files(out_dir, trainer, rows, ledgers)
        last = train
    return rows, last


def _write_epoch_files(out_dir: Path, trainer: Any, rows: list[dict[str, Any]], ledgers: list[pd.DataFrame]) -> None:
    """metrics.csv, ledger.csv and conductances.npz of the epochs in ``rows`` (each written atomically; a kill
    between them leaves some one epoch behind the checkpoint, which a resume rewrites)."""
    write_metrics(out_dir / METRICS, rows)
    write_frame(out_dir / LEDGER, pd.concat(ledgers, ignore_index=True))
    write_conductances(out_dir / CONDUCTANCES, trainer.conductances())


def add_train_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network on the simulated chip (the main job)",
                       description="Compile GRAPH, load the dataset into the simulated DRAM and run the training "
                                   "programs epoch by epoch; print accuracy, latency, energy and writes per epoch "
                                   "and write a run folder (config.json, run.json, metrics.csv, conductances.npz, "
                                   "checkpoint.npz). An existing run folder is refused unless --force (start over) "
                                   "or --resume (continue it).")
    p.add_argument("graph", nargs="?", help="network graph (.toml or .onnx); not needed with --resume")
    p.add_argument("--config", help=f"preset name or TOML file (default: {DEFAULT_CONFIG})")
    p.add_argument("--dataset", help=f"digits, {DEFAULT_DATASET} (default), mnist, cifar10, synthetic")
    p.add_argument("--data-path", help="directory of the dataset files (mnist, cifar10)")
    p.add_argument("--epochs", type=positive_int, default=None, help="epochs (default: the config's train.epochs)")
    p.add_argument("--train-examples", type=positive_int, help="use the first N training examples")
    p.add_argument("--test-examples", type=positive_int, help="use the first N test examples")
    p.add_argument("--microbatch", type=positive_int,
                   help="images per pass through the network (default: largest that fits)")
    p.add_argument("--out", help="run folder (default: runs/GRAPH-CONFIG); refused if it holds a run")
    p.add_argument("--force", action="store_true", help="with --out: delete the files of a run already there first")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue a run from its last checkpoint, with the config it saved (config.json)")
    p.add_argument("--baseline", action="store_true", help="also train the numpy FP32 baseline and print it")
    p.add_argument("--timing-only", action="store_true",
                   help=TIMING_ONLY_HELP + "; test accuracy is recorded as not measured (empty in metrics.csv)")
    p.add_argument("--engine", choices=sorted(ENGINES), default=DEFAULT_ENGINE, help=ENGINE_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--trace", action="store_true",
                   help="write RUN_DIR/trace.json: the unit jobs of the first epoch trained, as Chrome trace-event "
                        "JSON (Perfetto); socsim report then adds a utilization timeline")
    p.add_argument("--trace-cycles", type=positive_int, default=2_000_000, metavar="N",
                   help="with --trace: only the jobs starting in the first N cycles (default 2000000)")
    p.set_defaults(fn=cmd_train)


def _same(given: str, saved: str | None) -> bool:
    """Whether a path or name given now is the one saved in run.json."""
    if saved is None:
        return False
    return given == saved or (Path(given).exists() and Path(saved).exists()
                              and Path(given).resolve() == Path(saved).resolve())


def resume_conflicts(args: argparse.Namespace, run: RunArgs) -> list[str]:
    """The arguments given with --resume that differ from what the run was started with."""
    out = []
    for flag, given, saved in (("GRAPH", args.graph, run.graph), ("--config", args.config, run.config),
                               ("--dataset", args.dataset, run.dataset), ("--data-path", args.data_path,
                                                                          run.data_path)):
        if given is not None and not _same(given, saved):
            out.append(f"{flag} {given} (the run has {saved})")
    for flag, given, saved in (("--train-examples", args.train_examples, run.train_examples),
                               ("--test-examples", args.test_examples, run.test_examples),
                               ("--microbatch", args.microbatch, run.microbatch)):
        if given is not None and given != saved:
            out.append(f"{flag} {given} (the run has {saved if saved is not None else 'the default'})")
    if args.out is not None and not _same(args.out, args.resume):
        out.append(f"--out {args.out} (a resumed run stays in {args.resume})")
    return out


def _fresh_run_dir(out_dir: Path, force: bool) -> None:
    """Refuse ``out_dir`` if it holds a run (unless ``force``: its files are deleted) or other files."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ValueError(f"--out {out_dir}: exists and is not a folder")
    found = run_files(out_dir)
    others = sorted(p.name for p in out_dir.iterdir() if p.name not in found and p.name != ".lock")
    if found and not force:
        raise ValueError(f"{out_dir}: already holds a run ({', '.join(found[:4])}{', ...' if len(found) > 4 else ''})"
                         f"; continue it with --resume {out_dir}, or start over with --force (deletes its files)")
    if others and not found:
        raise ValueError(f"{out_dir}: exists and holds files that are not a run's ({', '.join(others[:4])}); "
                         "choose a new or empty folder for --out")


def cmd_train(args: argparse.Namespace) -> int:
    from socsim.config import load_config
    from socsim.locks import FolderLock
    if args.resume:
        if args.timing_only:
            raise ValueError("--timing-only with --resume: a run keeps the mode it was started with (run.json)")
        if args.force:
            raise ValueError("--force with --resume: --force starts a run over, --resume continues it; choose one")
        out_dir = Path(args.resume)
        run = RunArgs.load(out_dir)
        conflicts = resume_conflicts(args, run)
        if conflicts:
            raise ValueError(f"{out_dir}: --resume continues the run as it was started (its config.json and "
                             f"run.json); these arguments conflict: {'; '.join(conflicts)}")
        if args.epochs is not None:
            run = replace(run, epochs=args.epochs)
    else:
        if not args.graph:
            raise ValueError("socsim train needs a GRAPH (or --resume RUN_DIR)")
        config = args.config or DEFAULT_CONFIG
        epochs = args.epochs if args.epochs is not None else load_config(config).train.epochs
        run = RunArgs(args.graph, config, args.dataset or DEFAULT_DATASET, args.data_path, epochs,
                      args.train_examples, args.test_examples, args.microbatch, args.timing_only)
        if Path(args.graph).is_file():
            run = run.with_graph_hash()
        out_dir = Path(args.out or f"runs/{Path(args.graph).stem}-{Path(config).stem}")
        _fresh_run_dir(out_dir, args.force)
    try:
        with FolderLock(out_dir, "run folder"):
            if not args.resume:
                _fresh_run_dir(out_dir, args.force)  # again, now that no other process can start here
            rows, last_train = run_training(run, out_dir, resume=bool(args.resume), baseline=args.baseline,
                                            quiet=args.quiet,
                                            trace_cycles=args.trace_cycles if args.trace else None,
                                            engine=args.engine)
    except Diverged as exc:
        print(f"socsim: {exc}", file=sys.stderr)
        return 4
    if rows:
        acc = rows[-1]["test_accuracy"]
        print(f"final test accuracy {'not measured (timing only)' if acc is None else f'{acc:.2%}'}; "
              f"run folder {out_dir}")
        if not args.quiet and last_train is not None:
            from socsim.report.summary import result_summary
            print("\nlast training epoch on the chip:\n" + result_summary(last_train))
    return 0
