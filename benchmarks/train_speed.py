"""Training throughput: the Wu et al. LeNet on mnist5k on the simulated chip vs the numpy FP32 baseline.

Run: .venv/bin/python benchmarks/train_speed.py [--images N] [--graph programs/lenet_wu2023.toml]
     [--engines fast,reference] [--rounds 3] [--threads N]

Prints the machine, the command, and images/s of training epochs under ``ideal`` and ``wu2023`` (full
fidelity) on each engine, beside the numpy baseline trainer of the same graph and data, measured in the
same run. Each trainer runs a first epoch (cold: kernels load from the numba cache, the fast engine's
replay memo is empty), then ``--rounds`` steady epochs taken in turn with the baseline's, each
chip epoch divided by the baseline epoch just before it; the medians are printed.
``--threads N`` gives both the same threads: the chip's numerics (socsim.base.threads: lane groups) and the
baseline's BLAS (numpy's OpenBLAS threads through threadpoolctl).
Goals (not tests): one thread each, wu2023 >= 60 % of the baseline's images/s, ideal >= 90 %.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

from socsim.base.threads import use_threads  # noqa: E402
from socsim.compiler.frontend.toml import load_toml  # noqa: E402
from socsim.config.soc import load_config  # noqa: E402
from socsim.host.baseline import Baseline  # noqa: E402
from socsim.host.data import load_dataset  # noqa: E402
from socsim.host.options import RunOptions  # noqa: E402
from socsim.host.training import ChipTrainer  # noqa: E402
from socsim.tools.benchmarking import load_line, print_header  # noqa: E402


def _rate(images: int, epoch) -> float:
    t0 = time.perf_counter()
    epoch()
    return images / (time.perf_counter() - t0)


class Trainer:
    """One trainer under measurement: its epoch, the threads it runs with (``threads(n)``, a context) and the
    images/s of every epoch it ran (the first cold)."""

    def __init__(self, label: str, images: int, epoch, threads):
        self.label, self.images, self.epoch, self.threads = label, images, epoch, threads
        self.rates: list[float] = []

    def run(self) -> float:
        with self.threads():
            rate = _rate(self.images, self.epoch)
        self.rates.append(rate)
        return rate


def chip(graph, preset: str, data, engine: str, threads: int) -> Trainer:
    with use_threads(threads):
        trainer = ChipTrainer(graph, load_config(preset), data, options=RunOptions(engine=engine))
    images = trainer.compiled.batches_per_epoch * trainer.cfg.train.batch
    return Trainer(f"chip, {preset}, {engine} engine", images, trainer.train_epoch, partial(use_threads, threads))


def baseline(graph, data, threads: int) -> Trainer:
    base = Baseline(graph, load_config("ideal").train)
    images = len(data.y_train) // base.train.batch * base.train.batch
    return Trainer("numpy FP32 baseline", images, lambda: base.train_epoch(data.x_train, data.y_train),
                   partial(threadpool_limits, threads, "blas"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=512, help="training images per measured epoch")
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    ap.add_argument("--engines", default="fast,reference", help="comma-separated engines to time")
    ap.add_argument("--rounds", type=int, default=3, help="steady epochs per trainer, taken in turn (default 3)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads of the chip's numerics and of the baseline's BLAS alike (default 1)")
    args = ap.parse_args()
    print_header(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}", f"threads {args.threads}",
                 load_line())
    graph = load_toml(args.graph)
    data = load_dataset("mnist5k").subset(args.images, 64)
    base = baseline(graph, data, args.threads)
    chips = [chip(graph, preset, data, engine, args.threads) for engine in args.engines.split(",")
             for preset in ("ideal", "wu2023")]
    ratios: dict[str, list[float]] = {c.label: [] for c in chips}
    for trainer in (base, *chips):
        trainer.run()  # cold
    for _ in range(args.rounds):  # in turn, so a change in the machine's speed moves all trainers alike
        b = base.run()
        for c in chips:
            ratios[c.label].append(c.run() / b)
    print(f"{'':34}{'cold epoch':>14}{'steady (median)':>19}   steady / baseline, median (min-max) of "
          f"{args.rounds} rounds")
    for t in (base, *chips):
        line = f"{t.label:<34}{t.rates[0]:10.1f} im/s{statistics.median(t.rates[1:]):15.1f} im/s"
        if t is not base:
            r = ratios[t.label]
            line += f"   {statistics.median(r):7.1%} ({min(r):.1%}-{max(r):.1%})"
        print(line)


if __name__ == "__main__":
    main()
