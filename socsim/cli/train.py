"""``socsim train``: the arguments of a training run, its console output, and the run folder it may use.

Per epoch it prints test accuracy, simulated latency and energy (per image and total, split by phase) and
device writes from the run's metrics rows (:mod:`socsim.host.train`), with a progress bar per epoch.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from socsim.base.argtypes import positive_int
from socsim.base.environment import environment_change
from socsim.base.errors import InputError
from socsim.base.exits import EXIT_DIVERGED, EXIT_OK
from socsim.base.locks import FolderLock
from socsim.cli.commands import command
from socsim.cli.options import add_config, add_engine, add_threads, add_timing_only, run_options
from socsim.config.soc import load_config
from socsim.host.data import Dataset
from socsim.host.options import DEFAULTS
from socsim.host.seeds import train_seeds, write_summary
from socsim.host.train import Diverged, TrainListener, run_training
from socsim.host.training import ChipTrainer
from socsim.report.summary import result_summary
from socsim.runfolder.digests import ACCEPT_EDITS_HELP, check_unedited, recording
from socsim.runfolder.files import check_fresh_run
from socsim.runfolder.metrics import MetricsRow
from socsim.runfolder.runargs import RunArgs
from socsim.runfolder.seeds import SEEDS_FILE, SUMMARY, SeedsSpec, check_fresh_seeds, is_seeds_folder


class ConsoleListener(TrainListener):
    """Prints the run's setup line and each epoch's lines to stdout, a progress bar per epoch to stderr."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def started(self, trainer: ChipTrainer, data: Dataset) -> None:
        comp, cfg, graph = trainer.compiled, trainer.cfg, trainer.graph
        print(f"{graph.name} on {cfg.name} ({cfg.train.scheme.value}): {len(data.y_train)} training / "
              f"{comp.test_examples} test images of {data.name}, batch {cfg.train.batch}, micro-batch "
              f"{comp.microbatch}, {len(comp.placement.blocks)} crossbar blocks on {comp.placement.tiles_used} tiles")
        print(f"images: {trainer.image_use().text()}")

    def epoch_started(self, epoch: int, epochs: int, batches: int) -> None:
        self.bar = tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False, file=sys.stderr)

    def batch_done(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def epoch_done(self, row: MetricsRow, baseline_accuracy: float | None) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        _print_epoch(row, baseline_accuracy, sys.stdout)


def _print_epoch(row: MetricsRow, baseline: float | None, out) -> None:
    phases = (row.forward_energy_pj, row.backward_energy_pj, row.update_energy_pj, row.calibrate_energy_pj or 0.0)
    split = " / ".join(f"{e / row.train_images / 1e3:.1f}" for e in phases)
    base = f"  (numpy baseline {baseline:.2%})" if baseline is not None else ""
    acc = "not measured (timing only)" if row.test_accuracy is None else f"{row.test_accuracy:.2%}"
    share = "not measured" if row.adc_saturated_share is None else f"{row.adc_saturated_share:.2%}"
    static = ("" if row.static_energy_pj is None
              else f"; of it static {row.static_energy_pj / row.train_images / 1e3:.1f}")
    print(f"epoch {row.epoch:>3}  test acc {acc}{base}\n"
          f"    latency  {row.latency_per_image_s * 1e3:.3f} ms/image, {_step(row)}{row.train_s:.3f} s total "
          f"(simulated)\n"
          f"    energy   {row.energy_per_image_pj / 1e3:.1f} nJ/image (fwd / bwd / update / calibrate {split}"
          f"{static}), "
          f"{row.train_energy_pj / 1e6:.3f} uJ total\n"
          f"{_inference(row)}"
          f"    writes   {row.cells_written:.0f} weights programmed ({row.writes_per_weight:.3f} per weight), "
          f"{row.set_pulses:.0f} SET + {row.reset_pulses:.0f} RESET pulses; "
          f"ADC inputs over range {share}; wall {row.wall_s:.1f} s",
          file=out)


def _step(row: MetricsRow) -> str:
    return "" if row.step_latency_s is None else f"{row.step_latency_s * 1e3:.3f} ms per batch step, "


def _inference(row: MetricsRow) -> str:
    """The epoch's evaluation program as inference: latency and energy per test image."""
    if row.infer_latency_per_image_s is None or row.infer_energy_per_image_pj is None:
        return ""
    return (f"    infer    {row.infer_latency_per_image_s * 1e3:.3f} ms/image, "
            f"{row.infer_energy_per_image_pj / 1e3:.1f} nJ/image over {row.eval_images} test images\n")


class SeedListener(ConsoleListener):
    """The console lines of seed ``index`` of a multi-seed run, under a line naming the seed."""

    def __init__(self, index: int, seeds: int) -> None:
        super().__init__()
        self.index, self.seeds = index, seeds

    def started(self, trainer: ChipTrainer, data: Dataset) -> None:
        print(f"\nseed {self.index} of {self.seeds} (config seed {trainer.cfg.seed}, train.init_seed "
              f"{trainer.cfg.train.init_seed}); epochs done {trainer.epoch}")
        super().started(trainer, data)


def print_summary(summary: pd.DataFrame, out=None) -> None:
    """Test (and baseline) accuracy per epoch as mean +- sample std (ddof = 1) over the seeds."""
    out = out or sys.stdout
    print("\nover the seeds (mean +- sample std, ddof = 1):", file=out)
    for _, r in summary.iterrows():
        base = ""
        if r["baseline_accuracy_mean"] == r["baseline_accuracy_mean"]:
            base = f"  (numpy baseline {_pm(r['baseline_accuracy_mean'], r['baseline_accuracy_std'])})"
        acc = ("not measured (timing only)" if r["test_accuracy_mean"] != r["test_accuracy_mean"]
               else _pm(r["test_accuracy_mean"], r["test_accuracy_std"]))
        print(f"epoch {int(r['epoch']):>3}  test acc {acc}{base}  n = {int(r['n'])}", file=out)


def _pm(mean: float, std: float) -> str:
    return f"{mean:.2%} +- " + ("n/a" if std != std else f"{std:.2%}")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` to the CLI's subcommands."""
    p = command(sub, "train", cmd_train, "train a network on the simulated chip (the main job)",
                description="Compile GRAPH, load the dataset into the simulated DRAM and run the training "
                                   "programs epoch by epoch; print accuracy, latency, energy and writes per epoch "
                                   "and write a run folder (config.json, run.json, metrics.csv, conductances.npz, "
                                   "checkpoint.npz). An existing run folder is refused unless --force (start over) "
                                   "or --resume (continue it).")
    p.add_argument("graph", nargs="?", help="network graph (.toml or .onnx); not needed with --resume")
    add_config(p, default=False)  # a resumed run keeps its own
    p.add_argument("--dataset", help=f"digits, {DEFAULTS.dataset} (default), mnist, cifar10, synthetic")
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
    p.add_argument("--seeds", type=positive_int, metavar="N",
                   help="train N seeds (seed i: config seed + i, which moves the data order, and train.init_seed "
                        "+ 1000 i) into OUT/seed-0 ... OUT/seed-(N-1), each a run folder, and write OUT/summary.csv "
                        "(per epoch: mean and sample std of every metric); --resume OUT continues every seed")
    p.add_argument("--baseline", action="store_true", help="also train the numpy FP32 baseline and print it")
    add_timing_only(p, "; test accuracy is recorded as not measured (empty in metrics.csv)")
    add_engine(p)
    add_threads(p)
    p.add_argument("--accept-edits", action="store_true", help="with --resume: " + ACCEPT_EDITS_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument("--trace", action="store_true",
                   help="write RUN_DIR/trace.json: the unit jobs of the first epoch trained, as Chrome trace-event "
                        "JSON (Perfetto); socsim report then adds a utilization timeline")
    p.add_argument("--trace-cycles", type=positive_int, default=2_000_000, metavar="N",
                   help="with --trace: only the jobs starting in the first N cycles (default 2000000)")


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


def _new_run(args: argparse.Namespace) -> tuple[RunArgs, Path]:
    """The arguments of a new run and its folder."""
    if not args.graph:
        raise InputError("socsim train needs a GRAPH (or --resume RUN_DIR)")
    config = args.config or DEFAULTS.config
    epochs = args.epochs if args.epochs is not None else load_config(config).train.epochs
    run = RunArgs(args.graph, config, args.dataset or DEFAULTS.dataset, args.data_path, epochs,
                  args.train_examples, args.test_examples, args.microbatch, args.timing_only)
    if Path(args.graph).is_file():
        run = run.with_graph_hash()
    return run, Path(args.out or f"runs/{Path(args.graph).stem}-{Path(config).stem}")


def _train_seeds(args: argparse.Namespace) -> int:
    """``--seeds N`` or ``--resume OUT`` of a multi-seed run."""
    if args.resume:
        if args.timing_only or args.force:
            raise InputError(f"{'--timing-only' if args.timing_only else '--force'} with --resume: a resumed run "
                             "continues as it was started")
        out_dir = Path(args.resume)
        if not is_seeds_folder(out_dir):
            raise InputError(f"--seeds with --resume {out_dir}: the folder holds no multi-seed run ({SEEDS_FILE}); "
                             "resume a single run without --seeds")
        spec = SeedsSpec.load(out_dir)
        conflicts = resume_conflicts(args, spec.run)
        if args.seeds is not None and args.seeds != spec.seeds:
            conflicts.append(f"--seeds {args.seeds} (the run has {spec.seeds})")
        if conflicts:
            raise InputError(f"--resume continues the seeds as they were started ({SEEDS_FILE}); these "
                             f"arguments conflict: {'; '.join(conflicts)}", file=out_dir)
        if args.epochs is not None:
            spec = replace(spec, run=replace(spec.run, epochs=args.epochs))
        spec = replace(spec, baseline=spec.baseline or args.baseline)
    else:
        run, out_dir = _new_run(args)
        spec = SeedsSpec(run, args.seeds, args.baseline)
        check_fresh_seeds(out_dir, args.force)
    try:
        train_seeds(spec, out_dir, resume=bool(args.resume),
                           listener=lambda i: None if args.quiet else SeedListener(i, spec.seeds),
                           trace_cycles=args.trace_cycles if args.trace else None, options=run_options(args))
    except Diverged as exc:
        print(f"socsim: {exc}", file=sys.stderr)
        write_summary(out_dir, spec.seeds)
        return EXIT_DIVERGED
    summary = pd.read_csv(out_dir / SUMMARY)
    print_summary(summary)
    print(f"summary {out_dir / SUMMARY}; run folders {out_dir}/seed-0 ... seed-{spec.seeds - 1}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    if args.seeds is not None or (args.resume and is_seeds_folder(Path(args.resume))):
        return _train_seeds(args)
    if args.resume:
        if args.timing_only:
            raise InputError("--timing-only with --resume: a run keeps the mode it was started with (run.json)")
        if args.force:
            raise InputError("--force with --resume: --force starts a run over, --resume continues it; choose one")
        out_dir = Path(args.resume)
        run = RunArgs.load(out_dir)
        conflicts = resume_conflicts(args, run)
        if conflicts:
            raise InputError(f"--resume continues the run as it was started (its config.json and "
                             f"run.json); these arguments conflict: {'; '.join(conflicts)}", file=out_dir)
        if args.epochs is not None:
            run = replace(run, epochs=args.epochs)
        changed = environment_change(run.environment)
        if changed:
            print(f"socsim: warning: {changed}", file=sys.stderr)
    else:
        run, out_dir = _new_run(args)
        check_fresh_run(out_dir, args.force)
    try:
        with FolderLock(out_dir, "run folder"):
            if not args.resume:
                check_fresh_run(out_dir, args.force)  # again, now that no other process can start here
            if args.resume:  # a resume never continues from files edited since the run wrote them, unless told
                check_unedited(out_dir, args.accept_edits)
            with recording(out_dir, resume=bool(args.resume)):
                rows, last_train = run_training(run, out_dir, resume=bool(args.resume), baseline=args.baseline,
                                                listener=None if args.quiet else ConsoleListener(),
                                                trace_cycles=args.trace_cycles if args.trace else None,
                                                options=run_options(args))
    except Diverged as exc:
        print(f"socsim: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    if rows:
        acc = rows[-1].test_accuracy
        print(f"final test accuracy {'not measured (timing only)' if acc is None else f'{acc:.2%}'}; "
              f"run folder {out_dir}")
        if not args.quiet and last_train is not None:
            print("\nlast training epoch on the chip:\n" + result_summary(last_train))
    return EXIT_OK
