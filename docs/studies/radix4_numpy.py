"""What the radix4 scheme's number formats cost by themselves: the numpy baseline with its quantisers against FP32.

Run: .venv/bin/python docs/studies/radix4_numpy.py [--graph programs/lenet_wu2023.toml] [--dataset mnist5k]
     [--epochs 10] [--cases fp32,int4,fp4,fp4_one_phase,fp4_every_layer] [--seed 0]

An analysis aid, not a simulator result (those come from ``socsim train``): each case trains the numpy baseline
of the graph (same data, example order, initial weights and optimizer as ``socsim train --config radix4``) with
the radix4 preset's quantisers (socsim.host.baseline_quant):

- ``fp32``: the baseline itself;
- ``int4``: INT4 weights (the master copy rounded to the array's codes, clamped to its range) and activations
  (``train.in_bits`` codes) in the forward pass, FP32 errors;
- ``fp4``: as ``int4``, with radix-4 FP4 errors (GradScale per layer and micro-batch, two-phase rounding) and,
  as the preset says (``train.error_last_fp32``), the last weight layer's errors FP32: the quantisers of the
  chip, with nothing else of the chip;
- ``fp4_one_phase``: as ``fp4`` with both copies of the errors rounded to even powers of two;
- ``fp4_every_layer``: as ``fp4`` with the last weight layer's errors radix-4 too.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np

from socsim.compiler import load_graph
from socsim.compiler.lower import compile_training
from socsim.config import load_config
from socsim.host.baseline import Baseline
from socsim.host.baseline_quant import QuantisedBaseline
from socsim.host.data import load_dataset

CASES = ("fp32", "int4", "fp4", "fp4_one_phase", "fp4_every_layer")


def make(case: str, graph, cfg, microbatch: int) -> Baseline:
    if case == "fp32":
        return Baseline(graph, cfg.train)
    return QuantisedBaseline(graph, cfg.train, cfg=cfg, microbatch=microbatch, fp4_errors=case != "int4",
                             two_phase=case != "fp4_one_phase",
                             fp32_last=False if case == "fp4_every_layer" else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    ap.add_argument("--preset", default="radix4")
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=None,
                    help="seed S: the config's seed (example order) S and train.init_seed S + 1 "
                         "(default: the preset's)")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    args = ap.parse_args()
    cases = args.cases.split(",")
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        ap.error(f"--cases: unknown {', '.join(unknown)}; expected some of {', '.join(CASES)}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    overrides = None if args.seed is None else {"seed": args.seed, "train": {"init_seed": args.seed + 1}}
    graph, cfg = load_graph(args.graph), load_config(args.preset, overrides)
    data = load_dataset(args.dataset, None, cfg.seed)
    n = len(data.y_train)
    microbatch = compile_training(graph, cfg, n, len(data.y_test)).microbatch
    print(f"{graph.name}, {args.dataset}: {n} training / {len(data.y_test)} test images, micro-batch {microbatch} "
          f"(the GradScale statistic's), {args.preset}'s quantisers")
    models = {c: make(c, graph, cfg, microbatch) for c in cases}
    print(f"\n| epoch | {' | '.join(cases)} |")
    print("|" + "---|" * (len(cases) + 1))
    for epoch in range(args.epochs):  # the example order of socsim train (ChipTrainer.order)
        idx = np.arange(n) if epoch == 0 else np.random.default_rng([cfg.seed, epoch]).permutation(n)
        accs = []
        for model in models.values():
            model.train_epoch(data.x_train[idx], data.y_train[idx])
            accs.append(f"{model.accuracy(data.x_test, data.y_test):.1%}")
        print(f"| {epoch + 1} | {' | '.join(accs)} |", flush=True)


if __name__ == "__main__":
    main()
