"""``socsim train``: compile, load data, train on the simulated chip epoch by epoch, write a run folder.

Per epoch it prints test accuracy, simulated latency and energy (per image and total, split by
phase) and device writes, all read from the ledger of the programs that ran; it checkpoints
atomically so ``--resume RUN_DIR`` continues bit-identically.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from isa.spec import Phase
from socsim.configtools import to_mapping
from socsim.runs import (
    CHECKPOINT,
    CONDUCTANCES,
    CONFIG,
    INITIAL_CONDUCTANCES,
    LEDGER,
    METRICS,
    RUN_ARGS,
    read_checkpoint,
    write_checkpoint,
    write_conductances,
    write_frame,
    write_json,
    write_metrics,
)
from socsim.sim import Result, Trap, TrapKind
from socsim.sim.timing_only import HELP as TIMING_ONLY_HELP

if TYPE_CHECKING:
    from socsim.compiler.graph import Graph
    from socsim.config import SocConfig
    from socsim.data import Dataset

PHASES = [p.name.lower() for p in (Phase.FORWARD, Phase.BACKWARD, Phase.UPDATE)]


class Diverged(RuntimeError):
    """Training produced NaN or inf; the last good checkpoint is kept."""


@dataclass(frozen=True)
class RunArgs:
    """What a run was started with (saved in run.json, reused by --resume)."""

    graph: str
    config: str
    dataset: str
    data_path: str | None
    epochs: int
    train_examples: int | None
    test_examples: int | None
    microbatch: int | None
    timing_only: bool = False
    """Numerics skipped (socsim.sim.timing_only): latency and energy only, accuracy not measured."""

    @classmethod
    def load(cls, run_dir: Path) -> "RunArgs":
        """What the run in ``run_dir`` was started with (its run.json)."""
        import json
        try:
            return cls(**json.loads((run_dir / RUN_ARGS).read_text()))
        except FileNotFoundError:
            raise FileNotFoundError(f"{run_dir / RUN_ARGS}: not a run folder written by 'socsim train'") from None

    def inputs(self) -> tuple[SocConfig, Graph, Dataset]:
        """(config, graph, dataset) this run names: the preset with its epochs, the graph, the data subset."""
        from socsim.compiler import load_graph
        from socsim.config import load_config
        from socsim.data import load_dataset
        cfg = load_config(self.config, {"train": {"epochs": self.epochs}})
        graph = load_graph(self.graph)
        data = load_dataset(self.dataset, self.data_path, cfg.seed).subset(self.train_examples, self.test_examples)
        return cfg, graph, data


def epoch_metrics(epoch: int, accuracy: float | None, train: Result, evaluate: Result, images: int,
                  weights: int, wall_s: float) -> dict[str, Any]:
    """One metrics row: everything from the two runs' ledgers and cycle counts."""
    led = train.ledger
    by_phase = led.groupby("phase")["energy_pj"].sum()
    cells = float(led.loc[led.action == "cells_written", "count"].sum())
    conversions = float(led.loc[led.action == "adc_conversion", "count"].sum())
    row: dict[str, Any] = {
        "epoch": epoch, "test_accuracy": accuracy, "train_images": images,
        "train_cycles": train.cycles, "train_s": train.seconds, "latency_per_image_s": train.seconds / images,
        "train_energy_pj": train.energy_pj, "energy_per_image_pj": train.energy_pj / images,
        "eval_cycles": evaluate.cycles, "eval_energy_pj": evaluate.energy_pj,
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
    print(f"epoch {row['epoch']:>3}  test acc {acc}{base}\n"
          f"    latency  {row['latency_per_image_s'] * 1e3:.3f} ms/image, {row['train_s']:.3f} s total (simulated)\n"
          f"    energy   {row['energy_per_image_pj'] / 1e3:.1f} nJ/image (fwd / bwd / update {split}), "
          f"{row['train_energy_pj'] / 1e6:.3f} uJ total\n"
          f"    writes   {row['cells_written']:.0f} weights programmed ({row['writes_per_weight']:.3f} per weight), "
          f"{row['set_pulses']:.0f} SET + {row['reset_pulses']:.0f} RESET pulses; "
          f"ADC inputs over range {share}; wall {row['wall_s']:.1f} s",
          file=out)


def run_training(args: RunArgs, out_dir: Path, resume: bool = False, baseline: bool = False,
                 quiet: bool = False, trace_cycles: int | None = None) -> tuple[list[dict[str, Any]], Result | None]:
    """Train and write ``out_dir``; returns the metrics rows and the last epoch's training Result.

    Raises Diverged on NaN."""
    from socsim.baseline import Baseline
    from socsim.training import ChipTrainer

    cfg, graph, data = args.inputs()
    state, rows, ledgers = None, [], []
    if resume:
        state = read_checkpoint(out_dir)
        rows, ledgers = state["metrics"], state.get("ledgers", [])
    out = sys.stdout
    trainer = ChipTrainer(graph, cfg, data, args.microbatch, state=state and state["trainer"],
                          timing_only=args.timing_only,
                          timeline=trace_cycles is not None)
    if not resume:
        write_json(out_dir / CONFIG, to_mapping(cfg))
        write_json(out_dir / RUN_ARGS, to_mapping(args))
        write_conductances(out_dir / INITIAL_CONDUCTANCES, trainer.conductances())
        write_checkpoint(out_dir / CHECKPOINT, {"trainer": trainer.state(), "metrics": rows, "ledgers": ledgers})
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
            for unit in trainer.soc.all_units():
                unit.timeline = None
            trace_cycles = None
        row = epoch_metrics(trainer.epoch, acc, train, ev, images, weights, time.perf_counter() - t0)
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
        write_conductances(out_dir / CONDUCTANCES, trainer.conductances())
        write_frame(out_dir / LEDGER, pd.concat(ledgers, ignore_index=True))
        write_metrics(out_dir / METRICS, rows)
        last = train
    return rows, last


def add_train_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a network on the simulated chip (the main job)",
                       description="Compile GRAPH, load the dataset into the simulated DRAM and run the training "
                                   "programs epoch by epoch; print accuracy, latency, energy and writes per epoch "
                                   "and write a run folder (config.json, run.json, metrics.csv, conductances.npz, "
                                   "checkpoint.pkl).")
    p.add_argument("graph", nargs="?", help="network graph (.toml or .onnx); not needed with --resume")
    p.add_argument("--config", default="wu2023", help="preset name or TOML file (default: wu2023)")
    p.add_argument("--dataset", default="mnist5k", help="digits, mnist5k (default), mnist, cifar10, synthetic")
    p.add_argument("--data-path", help="directory of the dataset files (mnist, cifar10)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the config's train.epochs)")
    p.add_argument("--train-examples", type=int, help="use the first N training examples")
    p.add_argument("--test-examples", type=int, help="use the first N test examples")
    p.add_argument("--microbatch", type=int, help="images per pass through the network (default: largest that fits)")
    p.add_argument("--out", help="run folder (default: runs/GRAPH-CONFIG)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.add_argument("--baseline", action="store_true", help="also train the numpy FP32 baseline and print it")
    p.add_argument("--timing-only", action="store_true",
                   help=TIMING_ONLY_HELP + "; test accuracy is recorded as not measured (empty in metrics.csv)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--trace", action="store_true",
                   help="write RUN_DIR/trace.json: the unit jobs of the first epoch trained, as Chrome trace-event "
                        "JSON (Perfetto); socsim report then adds a utilization timeline")
    p.add_argument("--trace-cycles", type=int, default=2_000_000, metavar="N",
                   help="with --trace: only the jobs starting in the first N cycles (default 2000000)")
    p.set_defaults(fn=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from socsim.config import load_config
    if args.resume and args.timing_only:
        raise ValueError("--timing-only with --resume: a run keeps the mode it was started with (run.json)")
    if args.resume:
        out_dir = Path(args.resume)
        run = RunArgs.load(out_dir)
        if args.epochs is not None:
            run = replace(run, epochs=args.epochs)
    else:
        if not args.graph:
            raise ValueError("socsim train needs a GRAPH (or --resume RUN_DIR)")
        epochs = args.epochs if args.epochs is not None else load_config(args.config).train.epochs
        run = RunArgs(args.graph, args.config, args.dataset, args.data_path, epochs, args.train_examples,
                      args.test_examples, args.microbatch, args.timing_only)
        out_dir = Path(args.out or f"runs/{Path(args.graph).stem}-{Path(args.config).stem}")
    try:
        rows, last_train = run_training(run, out_dir, resume=bool(args.resume), baseline=args.baseline,
                                        quiet=args.quiet, trace_cycles=args.trace_cycles if args.trace else None)
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
