"""Accuracy, writes and energy of every training scheme on one graph and dataset: the tables of docs/results.md.

Run: .venv/bin/python docs/studies/train_results.py [--presets wu2023,naive,...] [--epochs 3] [--out runs/results]
Each preset trains with ``socsim train ... --baseline`` into OUT/PRESET (a finished run folder is reused, an
unfinished one resumed), then one markdown table is printed from the run folders' metrics.csv: test accuracy
per epoch beside the numpy FP32 baseline, the gap, device writes per weight (total over the run) and the
write reduction against ``naive``, energy and simulated latency per training image, wall time per epoch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from socsim.tools.benchmarking import print_header, train_run_folder

PRESETS = "ideal,wu2023,naive,mp_onarray,pcm_hic,radix4"


def train(preset: str, args: argparse.Namespace, out: Path) -> None:
    """Train (or finish) one preset's run folder."""
    extra = ["--train-examples", str(args.train_examples)] if args.train_examples else []
    train_run_folder(out, args.epochs, [args.graph, "--config", preset, "--dataset", args.dataset, "--baseline",
                                        *extra])


def _si(value: float, unit: str) -> str:
    """4.2e-6, 'J' -> '4.20 uJ'."""
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def table(presets: list[str], root: Path, epochs: int) -> str:
    """The markdown table of the run folders under ``root``."""
    metrics = {p: pd.read_csv(root / p / "metrics.csv").iloc[:epochs] for p in presets}
    writes = {p: m.writes_per_weight.sum() for p, m in metrics.items()}
    lines = ["| preset | test accuracy per epoch | numpy baseline per epoch | final gap | writes per weight "
             "(total) | fewer writes than naive | energy per training image | simulated latency per image | "
             "wall per epoch |", "|" + "---|" * 9]
    for p, m in metrics.items():
        acc = " / ".join(f"{a:.1%}" for a in m.test_accuracy)
        base = " / ".join(f"{a:.1%}" for a in m.baseline_accuracy) if "baseline_accuracy" in m else "-"
        gap = (f"{(m.baseline_accuracy.iloc[-1] - m.test_accuracy.iloc[-1]) * 100:+.1f} pt"
               if "baseline_accuracy" in m else "-")
        ratio = f"{writes['naive'] / writes[p]:.3g}x" if "naive" in writes and writes[p] else "-"
        lines.append(f"| `{p}` | {acc} | {base} | {gap} | {writes[p]:.3g} | {ratio} | "
                     f"{_si(m.energy_per_image_pj.mean() * 1e-12, 'J')} | {_si(m.latency_per_image_s.mean(), 's')} | "
                     f"{m.wall_s.median():.3g} s |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--train-examples", type=int, help="first N training examples (default: all)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--presets", default=PRESETS, help=f"comma-separated (default: {PRESETS})")
    ap.add_argument("--out", default="runs/results", help="one run folder per preset below this")
    ap.add_argument("--table-only", action="store_true", help="print the table from existing run folders")
    args = ap.parse_args()
    presets = [p for p in args.presets.split(",") if p]
    root = Path(args.out)
    print_header()
    if not args.table_only:
        for p in presets:
            train(p, args, root / p)
    print(table(presets, root, args.epochs))


if __name__ == "__main__":
    main()
