"""What the radix4 scheme's number formats cost by themselves: the numpy baseline with its quantisers against FP32.

Run: .venv/bin/python docs/studies/radix4_numpy.py [--graph programs/lenet_wu2023.toml] [--dataset mnist5k]
     [--epochs 10] [--cases fp32,int4,fp4,fp4_one_phase,fp4_every_layer] [--seed 0] [--preset radix4]
     [--set train.act_range=6 ...] [--vary train.weight_range=1,1.5,2 ...]

``--set FIELD=VALUE`` changes a config field (dotted, as in a sweep file) for every case; ``--vary
FIELD=V1,V2,...`` trains every case at every point of the grid of the values given (one ``--vary`` per field) and
prints one row per point: each case's test accuracy after the last epoch and its mean over the last three.

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
import itertools
import sys
import tomllib

import numpy as np

from socsim.compiler import load_graph
from socsim.compiler.lower.lowering import compile_training
from socsim.config.soc import ConfigError, load_config
from socsim.host.baseline import Baseline
from socsim.host.baseline_quant import QuantisedBaseline
from socsim.host.data import load_dataset
from socsim.sweep.spec import check_path, nest
from socsim.tools.benchmarking import chosen_cases, print_header

CASES = ("fp32", "int4", "fp4", "fp4_one_phase", "fp4_every_layer")


def make(case: str, graph, cfg, microbatch: int) -> Baseline:
    if case == "fp32":
        return Baseline(graph, cfg.train)
    return QuantisedBaseline(graph, cfg.train, cfg=cfg, microbatch=microbatch, fp4_errors=case != "int4",
                             two_phase=case != "fp4_one_phase",
                             fp32_last=False if case == "fp4_every_layer" else None)


def _value(text: str):
    """A TOML value (number, boolean, quoted string) or, failing that, the text as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _field(spec: str, option: str) -> tuple[str, str]:
    """``train.act_range=6`` -> ("train.act_range", "6"); exits naming the option when the field is not a config
    field."""
    path, sep, value = spec.partition("=")
    if not sep or not value:
        sys.exit(f"{option} {spec!r}: expected FIELD=VALUE, e.g. train.act_range=6")
    try:
        check_path(path)
    except ConfigError as exc:
        sys.exit(f"{option} {spec!r}: {exc}")
    return path, value


def train_cases(cases: list[str], graph, preset: str, overrides: dict, dataset: str, epochs: int,
                on_epoch=None) -> dict[str, list[float]]:
    """Test accuracy per epoch of every case with the preset and overrides (the example order of socsim train)."""
    cfg = load_config(preset, nest(overrides) or None)
    data = load_dataset(dataset, None, cfg.seed)
    n = len(data.y_train)
    microbatch = compile_training(graph, cfg, n, len(data.y_test)).microbatch
    models = {c: make(c, graph, cfg, microbatch) for c in cases}
    accs: dict[str, list[float]] = {c: [] for c in cases}
    for epoch in range(epochs):  # the example order of socsim train (ChipTrainer.order)
        idx = np.arange(n) if epoch == 0 else np.random.default_rng([cfg.seed, epoch]).permutation(n)
        for case, model in models.items():
            model.train_epoch(data.x_train[idx], data.y_train[idx])
            accs[case].append(model.accuracy(data.x_test, data.y_test))
        if on_epoch:
            on_epoch(epoch, [accs[c][-1] for c in cases])
    return accs


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
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="a config field for every case, e.g. train.act_range=6 (repeatable)")
    ap.add_argument("--vary", action="append", default=[], metavar="FIELD=V1,V2,...",
                    help="a grid over this field's values, one row per point (repeatable: the product)")
    args = ap.parse_args()
    cases = chosen_cases(ap, args.cases, CASES)
    fixed = {p: _value(v) for p, v in (_field(s, "--set") for s in args.set)}
    if args.seed is not None:
        fixed.update({"seed": args.seed, "train.init_seed": args.seed + 1})
    grid = {p: [_value(v) for v in vs.split(",")] for p, vs in (_field(s, "--vary") for s in args.vary)}
    print_header()
    graph = load_graph(args.graph)
    cfg = load_config(args.preset, nest(fixed) or None)
    data = load_dataset(args.dataset, None, cfg.seed)
    microbatch = compile_training(graph, cfg, len(data.y_train), len(data.y_test)).microbatch
    print(f"{graph.name}, {args.dataset}: {len(data.y_train)} training / {len(data.y_test)} test images, micro-batch "
          f"{microbatch} (the GradScale statistic's), {args.preset}'s quantisers"
          + "".join(f", {p} = {v}" for p, v in fixed.items()))
    if not grid:
        print(f"\n| epoch | {' | '.join(cases)} |")
        print("|" + "---|" * (len(cases) + 1))
        train_cases(cases, graph, args.preset, fixed, args.dataset, args.epochs, lambda e, accs: print(
            f"| {e + 1} | {' | '.join(f'{a:.1%}' for a in accs)} |", flush=True))
        return
    last = min(3, args.epochs)
    print(f"\nper case: test accuracy after epoch {args.epochs} "
          f"(mean of epochs {args.epochs - last + 1}-{args.epochs})")
    print(f"\n| {' | '.join(p.rpartition('.')[2] for p in grid)} | {' | '.join(cases)} |")
    print("|" + "---|" * (len(grid) + len(cases)))
    for point in itertools.product(*grid.values()):
        values = dict(zip(grid, point))
        accs = train_cases(cases, graph, args.preset, {**fixed, **values}, args.dataset, args.epochs)
        cells = [f"{a[-1]:.1%} ({np.mean(a[-last:]):.1%})" for a in accs.values()]
        print(f"| {' | '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in point)} | {' | '.join(cells)} |",
              flush=True)


if __name__ == "__main__":
    main()
