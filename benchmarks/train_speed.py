"""Training throughput: the Wu et al. LeNet on mnist5k on the simulated chip vs the numpy FP32 baseline.

Run: .venv/bin/python benchmarks/train_speed.py [--images N] [--graph programs/lenet_wu2023.toml]
Prints the machine, the command, images/s of one training epoch under wu2023 (full fidelity) and
ideal, and of the numpy baseline trainer of the same graph and data in the same run, with ratios.
Goal (issue 7, not a test): wu2023 >= 25 % of the baseline's images/s, ideal >= 50 %.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from socsim.baseline import Baseline
from socsim.compiler.frontend_toml import load_toml
from socsim.config import load_config
from socsim.data import load_dataset
from socsim.training import ChipTrainer


def chip_rate(graph, preset: str, data) -> float:
    trainer = ChipTrainer(graph, load_config(preset), data)
    images = trainer.compiled.batches_per_epoch * trainer.cfg.train.batch
    t0 = time.perf_counter()
    trainer.train_epoch()
    return images / (time.perf_counter() - t0)


def baseline_rate(graph, data) -> float:
    base = Baseline(graph, load_config("ideal").train)
    batch = base.train.batch
    images = len(data.y_train) // batch * batch
    t0 = time.perf_counter()
    base.train_epoch(data.x_train, data.y_train)
    return images / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=512, help="training images per measured epoch")
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    graph = load_toml(args.graph)
    data = load_dataset("mnist5k").subset(args.images, 64)
    base = baseline_rate(graph, data)
    print(f"{'numpy FP32 baseline':<28} {base:10.1f} images/s")
    for preset in ("ideal", "wu2023"):
        rate = chip_rate(graph, preset, data)
        print(f"{'chip, ' + preset:<28} {rate:10.1f} images/s   {rate / base:7.2%} of the baseline")


if __name__ == "__main__":
    main()
