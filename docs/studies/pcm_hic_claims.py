"""The pcm_hic paper's claims (Joshi et al. 2021) as measurements on the data we have: the tables of docs/results.md.

Run: .venv/bin/python docs/studies/pcm_hic_claims.py [--graph programs/lenet_wu2023.toml] [--dataset mnist5k]
     [--widths 1,1.5,2] [--epochs 3] [--out runs/pcm_hic_claims] [--config pcm_hic] [--microbatch N]
     [--data-path DIR] [--drift]

(The wider LeNets need larger SRAMs than pcm_hic's: ``--config docs/studies/pcm_hic_wide.toml --microbatch 1``.)

For each width multiplier the graph's hidden layers get ``round(width x)`` output channels / features (the last
weight layer keeps the class count; written to OUT/graphs/), and ``socsim train ... --config CONFIG --baseline``
trains it on the chip beside the numpy FP32 baseline of the same width (same data, order, initial weights). From
the run folders it prints, per width: chip and baseline test accuracy, the weights, the bits of weight storage
(the chip's bits per weight, below, against 32 for FP32), and the programming pulses per device (max and median
over the devices under placed weight blocks) against the device endurance. With ``--drift`` the width-1 run is
evaluated again 1 s and one year after training (``socsim drift``).

Bits per weight of pcm_hic: each of the ``pcm.n_msb`` binary MSB pairs holds a digit in {-1, 0, +1} (log2 3
bits), the multi-level LSB pair a signed residual of ``2 (levels - 1) + 1`` values (``device.levels`` per
device): ``n_msb log2 3 + log2(2 levels - 1)`` bits. Every number except that count comes from running the
compiled programs on the SoC model (the baseline is the numpy analysis aid, labelled as such).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from socsim.compiler import load_graph
from socsim.report.devices import device_values, placed_masks
from socsim.runfolder.read import load_run
from socsim.tools.benchmarking import print_header, train_run_folder


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def widened(graph_file: Path, width: float, out: Path) -> Path:
    """``graph_file`` with every conv2d / linear layer but the last weight layer ``round(width x)`` wide."""
    data = tomllib.loads(graph_file.read_text())
    layers = data["layer"]
    weighted = [i for i, layer in enumerate(layers) if layer["type"] in ("conv2d", "linear")]
    for i in weighted[:-1]:
        key = "out_channels" if layers[i]["type"] == "conv2d" else "out_features"
        layers[i][key] = max(1, round(width * layers[i][key]))
    name = f"{data['name']}_w{width:g}"
    lines = [f'name = "{name}"', "", "[input]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in data["input"].items()]
    for layer in layers:
        lines += ["", "[[layer]]"] + [f"{k} = {_toml_value(v)}" for k, v in layer.items()]
    path = out / "graphs" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def train(graph: Path, args: argparse.Namespace, run: Path) -> None:
    """Train (or finish) one run folder."""
    extra = ["--microbatch", str(args.microbatch)] if args.microbatch else []
    extra += ["--data-path", args.data_path] if args.data_path else []
    train_run_folder(run, args.epochs, [str(graph), "--config", args.config, "--dataset", args.dataset, "--baseline",
                                        *extra])


def bits_per_weight(device: dict, pcm: dict) -> float:
    """Storage bits of one pcm_hic weight (module docstring)."""
    return pcm["n_msb"] * math.log2(3) + math.log2(2 * device["levels"] - 1)


def row(width: float, graph: Path, run_dir: Path) -> dict:
    run = load_run(run_dir)
    m = pd.read_csv(run_dir / "metrics.csv")
    g = load_graph(str(graph))
    weights = sum(int(np.prod(g.weight_shape(n.name))) for n in g.weight_nodes())
    phys = run.soc_config.tiles.physics
    bits = bits_per_weight({"levels": phys.device.levels}, {"n_msb": phys.pcm.n_msb})
    masks = placed_masks(run)
    writes = device_values(run.final, "writes", masks)
    return {"width": width, "chip": m.test_accuracy.iloc[-1], "baseline": m.baseline_accuracy.iloc[-1],
            "chip_epochs": " / ".join(f"{a:.1%}" for a in m.test_accuracy),
            "weights": weights, "bits": bits, "chip_kbit": weights * bits / 1e3, "fp32_kbit": weights * 32 / 1e3,
            "max_writes": int(writes.max()) if writes.size else 0,
            "median_writes": float(np.median(writes)) if writes.size else 0.0,
            "mean_writes": float(writes.mean()) if writes.size else 0.0,
            "endurance": phys.device.endurance_pulses,
            "latency_ms": m.latency_per_image_s.iloc[-1] * 1e3, "energy_uj": m.energy_per_image_pj.iloc[-1] / 1e6,
            "wall_s": m.wall_s.mean()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--widths", default="1,1.5,2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--config", default="pcm_hic", help="preset or TOML file (default pcm_hic)")
    ap.add_argument("--out", default="runs/pcm_hic_claims")
    ap.add_argument("--data-path", default=None, help="folder of a file-based dataset (mnist, cifar10)")
    ap.add_argument("--microbatch", type=int, default=0, help="images per pass (default: the largest that fits)")
    ap.add_argument("--drift", action="store_true", help="also evaluate the width-1 run after 1 s and 1 year")
    args = ap.parse_args()
    out = Path(args.out)
    print_header()
    rows = []
    for width in (float(w) for w in args.widths.split(",")):
        graph = widened(Path(args.graph), width, out)
        run = out / f"w{width:g}"
        train(graph, args, run)
        rows.append(row(width, graph, run))
    print("\n| width | chip test accuracy per epoch | chip final | numpy FP32 baseline final | weights | chip bits "
          "per weight | chip weight storage | FP32 weight storage | writes per device max / median / mean | endurance "
          "| latency per training image | energy per training image | wall per epoch |")
    print("|" + "---|" * 13)
    for r in rows:
        print(f"| {r['width']:g} | {r['chip_epochs']} | {r['chip']:.1%} | {r['baseline']:.1%} | {r['weights']} | "
              f"{r['bits']:.2f} | {r['chip_kbit']:.1f} kbit | {r['fp32_kbit']:.1f} kbit | {r['max_writes']} / "
              f"{r['median_writes']:g} / {r['mean_writes']:.0f} | {r['endurance']:.0e} | {r['latency_ms']:.3g} ms | "
              f"{r['energy_uj']:.3g} uJ | {r['wall_s']:.1f} s |")
    if args.drift:
        run = out / f"w{float(args.widths.split(',')[0]):g}"
        subprocess.run([sys.executable, "-m", "socsim", "drift", str(run), "--after", "1,31536000", "--quiet"],
                       check=True)
        d = pd.read_csv(run / "drift.csv")
        print("\n| seconds after training | test accuracy |\n|---|---|")
        for _, r in d.iterrows():
            print(f"| {r.seconds_after_training:g} | {r.test_accuracy:.1%} |")


if __name__ == "__main__":
    main()
