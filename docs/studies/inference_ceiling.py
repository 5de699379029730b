"""Inference ceiling: FP32-trained weights programmed onto the chip, tested there, one non-ideality at a time.

Run: .venv/bin/python docs/studies/inference_ceiling.py [--preset wu2023] [--epochs 3] [--test-examples 1000]
The numpy baseline trains the graph in FP32 (same data, seed and initial weights as ``socsim train``);
its weights and biases are placed in the compiled programs' digital weight copy, the compiled ``init``
program write-verifies them onto the arrays, the compiled ``calibrate`` program (when the preset has one) sets
the converters' full scales and the input scales, and the compiled ``evaluate`` program tests them on the
chip. Each row switches one non-ideality of the preset off (or changes one field), so the table shows
what the hardware alone costs a trained network, separately from how training on it behaves.
"""

from __future__ import annotations

import argparse

from socsim.compiler import load_graph
from socsim.config.soc import load_config
from socsim.host.baseline import Baseline, trained_baseline
from socsim.host.data import load_dataset
from socsim.host.training import ChipTrainer
from socsim.tools.benchmarking import print_header

CASES: dict[str, dict] = {
    "as configured": {},
    "no device read noise": {"tiles": {"physics": {"read": {"noise_levels": 0.0}}}},
    "no ADC noise": {"tiles": {"physics": {"adc": {"noise_lsb": 0.0}}}},
    "no programming error": {"tiles": {"physics": {"write_verify": {"prog_error_levels": 0.0}}}},
    "ideal ADC (no range, noise or quantisation)": {"tiles": {"physics": {"adc": {"kind": "ideal"}}}},
    "none of the four above (levels and DAC only)": {"tiles": {"physics": {
        "read": {"noise_levels": 0.0}, "adc": {"kind": "ideal", "noise_lsb": 0.0},
        "write_verify": {"prog_error_levels": 0.0}}}},
    "16 device levels in the same conductance range": {"tiles": {"physics": {"device": {"levels": 16}}}},
}
"""Label -> config overrides laid on the preset (wu2023 field names; another preset may need its own)."""


def chip_accuracy(graph, cfg, data, base: Baseline) -> float:
    """Program the baseline's parameters through the compiled init program and run evaluate on the chip."""
    trainer = ChipTrainer(graph, cfg, data)
    trainer.soc.load(trainer.compiled.init)  # fresh initial data; then overwrite the digital copy
    for name, w in base.weights.items():
        trainer.write(f"w_{name}", w)
    for name, b in base.biases.items():
        trainer.write(f"b_{name}", b)
    trainer.calibrated(trainer.soc.run())  # the calibration, as after every programming: full and input scales
    return trainer.evaluate()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    ap.add_argument("--preset", default="wu2023")
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--epochs", type=int, default=3, help="baseline training epochs")
    ap.add_argument("--test-examples", type=int, default=1000)
    ap.add_argument("--cases", help="comma-separated row labels to run (default: all)")
    args = ap.parse_args()
    print_header()
    graph = load_graph(args.graph)
    cfg = load_config(args.preset)
    data = load_dataset(args.dataset, None, cfg.seed).subset(None, args.test_examples)
    base = trained_baseline(graph, cfg, data, args.epochs)
    n = min(args.test_examples, len(data.y_test))
    print(f"numpy FP32 baseline after {args.epochs} epochs: {base.accuracy(data.x_test[:n], data.y_test[:n]):.1%} "
          f"on {n} test images")
    print(f"| {args.preset}: the baseline's weights on the chip | test accuracy |\n|---|---|")
    cases = CASES if args.cases is None else {k: v for k, v in CASES.items() if k in args.cases.split(",")}
    for label, over in cases.items():
        print(f"| {label} | {chip_accuracy(graph, load_config(args.preset, over), data, base):.1%} |", flush=True)


if __name__ == "__main__":
    main()
