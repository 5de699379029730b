"""What the wu2023 recipe costs by itself: numpy emulations of its algorithm without the chip's physics.

Run: .venv/bin/python docs/studies/recipe_emulation.py [--preset wu2023] [--epochs 10] [--cases fp32,qat,threshold]
[--microbatch M]

An analysis aid, not a simulator result (those come from ``socsim train``). It separates the algorithm
from the hardware: each case trains the numpy FP32 baseline of the graph (same data, example order,
initial weights and optimizer as ``socsim train``) with one part of the recipe added:

- ``fp32``: the baseline itself.
- ``qat``: the forward pass uses each weight rounded to the nearest value a differential pair of
  ``levels``-level devices holds (``2 * levels - 1`` values over the layer's range
  ``+-train.weight_range / sqrt(fan_in)``, clamped), the backward pass and every update use the FP32
  weights (quantisation-aware training, every update written).
- ``threshold``: as ``qat``, with the wu2023 transfer: updates accumulate and a weight (the FP32 copy and
  its rounded forward value) changes only when its accumulated update reaches ``train.transfer_levels``
  levels; then the copy takes ``w + acc``, clamped to the range, and the accumulator entry clears.
  The backward pass reads the copy, as the compiled program's ``mm`` does.
- ``threshold_int``: as ``threshold``, with every weight layer's inputs rounded to ``train.in_bits``-bit DAC
  codes over a scale calibrated as the compiled ``calibrate`` program sets it: BatchNorm normalising each
  calibration micro-batch by its own statistics, the running statistics left unchanged.
- ``threshold_int_runstats``: as ``threshold_int``, calibrated with BatchNorm on the running statistics (the
  rule of the ``calibrate`` program of earlier versions).

``--microbatch M`` normalises every BatchNorm by the statistics of each M images, as the chip does at a
micro-batch of M (docs/training.md); ``--seed K`` trains with config seed K (example order) and initial
weights ``1 + K``, as docs/studies/fidelity.py's ``--seeds``. No noise, converters or write errors: what is
left between these and the chip is the hardware. Writes
per weight count threshold crossings, as the chip's ``cells_written`` counts write-verified weights.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from socsim.compiler import load_graph
from socsim.compiler.lower.calibrate import INPUT_BINS, INPUT_RANGE
from socsim.config.soc import load_config
from socsim.host.baseline import F32, Baseline
from socsim.host.baseline_quant import calibrated_epoch, histogram_percentile, int_codes
from socsim.host.data import load_dataset
from socsim.physics.flat import flatten
from socsim.tools.benchmarking import chosen_cases, print_header


@dataclass
class QuantisedForward(Baseline):
    """The baseline whose forward pass sees each weight as a differential pair of ``levels``-level devices
    holds it (``2 * levels - 1`` values), with an optional threshold transfer of the updates."""

    levels: int = 4
    """Device levels (the physics' ``device.levels``)."""
    weight_range: float = 1.5
    """A layer's range is +-weight_range / sqrt(fan_in) (``train.weight_range``)."""
    threshold: float | None = None
    """Transfer threshold in device levels (None: every update is applied, plain quantisation-aware training)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.acc = {k: np.zeros_like(w) for k, w in self.weights.items()}
        self.writes = 0

    def bound(self, name: str) -> float:
        """The layer's largest weight magnitude (digital weight units)."""
        return self.weight_range / float(np.sqrt(self.weights[name].shape[0]))

    def level(self, name: str) -> float:
        """One device level of the layer (digital weight units)."""
        return self.bound(name) / (self.levels - 1)

    def rounded(self, name: str, w: np.ndarray) -> np.ndarray:
        b, s = self.bound(name), self.level(name)
        return (np.round(np.clip(w, -b, b) / s) * s).astype(F32)

    def forward(self, x: np.ndarray, train: bool = False) -> dict[str, np.ndarray]:
        copy = self.weights
        self.weights = {k: self.rounded(k, w) for k, w in copy.items()}
        try:
            return super().forward(x, train)
        finally:
            self.weights = copy

    def apply(self, grads: dict[str, np.ndarray]) -> None:
        before = {k: w.copy() for k, w in self.weights.items()}
        super().apply(grads)
        for k, w in self.weights.items():
            if self.threshold is None:
                np.clip(w, -self.bound(k), self.bound(k), out=w)
                continue
            acc = self.acc[k]
            acc += w - before[k]
            w[:] = before[k]
            hit = np.abs(acc) >= F32(self.threshold * self.level(k))
            w[hit] += acc[hit]
            acc[hit] = 0
            np.clip(w, -self.bound(k), self.bound(k), out=w)
            self.writes += int(hit.sum())


@dataclass
class CalibratedInputs(QuantisedForward):
    """``QuantisedForward`` whose weight layers multiply their inputs rounded to ``in_bits``-bit DAC codes over a
    scale calibrated as the compiled ``calibrate`` program sets ``inscale_NAME`` (the percentile of the inputs of
    the first calibration images, before the first epoch and after every ``calibrate_every`` batches)."""

    in_bits: int = 8
    """DAC input bits (``train.in_bits``)."""
    batch_stats: bool = True
    """True: the calibration's forward pass normalises each micro-batch by its own statistics (as training and the
    compiled ``calibrate`` program do); False: by the running statistics."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.in_scale: dict[str, np.float32] = {}
        self._seen: dict[str, list[np.ndarray]] | None = None

    def layer_input(self, node, a: np.ndarray) -> np.ndarray:
        if self._seen is not None:
            self._seen[node.name].append(np.abs(a))
        return int_codes(a, self.in_scale[node.name], self.in_bits) if self.in_scale else a

    def calibrate(self, x: np.ndarray) -> None:
        t = self.train
        m = self.bn_microbatch or t.batch  # the images of one pass (the compiled micro-batch)
        count = max(1, min(-(-t.calibration_images // m), len(x) // m))
        self._seen = {n.name: [] for n in self.graph.weight_nodes()}
        run = {k: v.copy() for k, v in self.bn_run.items()}
        try:
            for s in range(0, count * m, m):
                self.forward(x[s:s + m], train=self.batch_stats)
            seen = self._seen
        finally:
            self._seen = None
            for k, v in run.items():
                self.bn_run[k][:] = v
        top = 2 ** (self.in_bits - 1) - 1
        self.in_scale = {name: F32(histogram_percentile(mags, t.calibration_percentile / 100.0, INPUT_BINS,
                                                        *INPUT_RANGE) * F32(t.calibration_headroom / top))
                         for name, mags in seen.items()}

    def train_epoch(self, x: np.ndarray, y: np.ndarray) -> float:
        if not self.in_scale:
            self.calibrate(x)
        return calibrated_epoch(self.train, x, y, super().train_epoch, self.calibrate)


def make(case: str, graph, cfg, microbatch: int = 0) -> Baseline:
    if case == "fp32":
        return Baseline(graph, cfg.train, bn_microbatch=microbatch)
    kind = CalibratedInputs if case.startswith("threshold_int") else QuantisedForward
    extra = ({"in_bits": cfg.train.in_bits, "batch_stats": not case.endswith("runstats")}
             if kind is CalibratedInputs else {})
    return kind(graph, cfg.train, bn_microbatch=microbatch, levels=flatten(cfg.tiles.physics).levels,
                weight_range=cfg.train.weight_range,
                threshold=cfg.train.transfer_levels if case.startswith("threshold") else None, **extra)


CASES = ("fp32", "qat", "threshold", "threshold_int", "threshold_int_runstats")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    ap.add_argument("--preset", default="wu2023")
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0, help="config seed K, initial weights 1 + K (default 0)")
    ap.add_argument("--microbatch", type=int, default=0,
                    help="BatchNorm statistics per this many images, as the chip at this micro-batch (default 0: "
                         "per batch)")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    args = ap.parse_args()
    cases = chosen_cases(ap, args.cases, CASES)
    print_header()
    graph = load_graph(args.graph)
    cfg = load_config(args.preset, {"seed": args.seed, "train": {"init_seed": 1 + args.seed}} if args.seed else None)
    data = load_dataset(args.dataset, None, cfg.seed)
    models = {c: make(c, graph, cfg, args.microbatch) for c in cases}
    n_weights = sum(w.size for w in models[cases[0]].weights.values())
    print(f"\n| epoch | {' | '.join(cases)} | threshold: writes per weight (cumulative) |")
    print("|" + "---|" * (len(cases) + 2))
    n = len(data.y_train)
    for epoch in range(args.epochs):  # the example order of socsim train (ChipTrainer.order)
        idx = np.arange(n) if epoch == 0 else np.random.default_rng([cfg.seed, epoch]).permutation(n)
        accs = []
        for model in models.values():
            model.train_epoch(data.x_train[idx], data.y_train[idx])
            accs.append(f"{model.accuracy(data.x_test, data.y_test):.1%}")
        writes = f"{models['threshold'].writes / n_weights:.2f}" if "threshold" in models else "-"
        print(f"| {epoch + 1} | {' | '.join(accs)} | {writes} |", flush=True)


if __name__ == "__main__":
    main()
