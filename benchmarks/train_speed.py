"""Training throughput: the Wu et al. LeNet on mnist5k on the simulated chip vs the numpy FP32 baseline.

Run: .venv/bin/python benchmarks/train_speed.py [--images N] [--graph programs/lenet_wu2023.toml]
     [--engines fast,reference]

Prints the machine, the command, and images/s of training epochs under ``ideal`` and ``wu2023`` (full
fidelity) on each engine, beside the numpy baseline trainer of the same graph and data, measured in the
same run. Each trainer runs two epochs: the first (cold: kernels load from the numba cache, the fast
engine's replay memo is empty) and the second (steady), both printed; ratios use the steady epochs.
Goals (issue 14, not tests): wu2023 >= 50 % of the baseline's images/s, ideal >= 80 %.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

from socsim.baseline import Baseline  # noqa: E402
from socsim.compiler.frontend_toml import load_toml  # noqa: E402
from socsim.config import load_config  # noqa: E402
from socsim.data import load_dataset  # noqa: E402
from socsim.training import ChipTrainer  # noqa: E402


def _rate(images: int, epoch) -> float:
    t0 = time.perf_counter()
    epoch()
    return images / (time.perf_counter() - t0)


def chip_rates(graph, preset: str, data, engine: str) -> tuple[float, float]:
    """(cold, steady) images/s of two training epochs on the chip."""
    trainer = ChipTrainer(graph, load_config(preset), data, engine=engine)
    images = trainer.compiled.batches_per_epoch * trainer.cfg.train.batch
    return _rate(images, trainer.train_epoch), _rate(images, trainer.train_epoch)


def baseline_rates(graph, data) -> tuple[float, float]:
    base = Baseline(graph, load_config("ideal").train)
    images = len(data.y_train) // base.train.batch * base.train.batch
    epoch = lambda: base.train_epoch(data.x_train, data.y_train)  # noqa: E731
    return _rate(images, epoch), _rate(images, epoch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=512, help="training images per measured epoch")
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    ap.add_argument("--engines", default="fast,reference", help="comma-separated engines to time")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    graph = load_toml(args.graph)
    data = load_dataset("mnist5k").subset(args.images, 64)
    cold, base = baseline_rates(graph, data)
    print(f"{'':34}{'cold epoch':>14}{'steady epoch':>16}")
    print(f"{'numpy FP32 baseline':<34}{cold:10.1f} im/s{base:12.1f} im/s")
    for engine in args.engines.split(","):
        for preset in ("ideal", "wu2023"):
            cold, steady = chip_rates(graph, preset, data, engine)
            print(f"{f'chip, {preset}, {engine} engine':<34}{cold:10.1f} im/s{steady:12.1f} im/s"
                  f"   {steady / base:7.1%} of the baseline")


if __name__ == "__main__":
    main()
