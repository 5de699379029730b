"""The pcm_hic paper's claims (Joshi et al. 2021) as measurements on the data we have: the tables of docs/results.md.

Run: .venv/bin/python docs/studies/pcm_hic_claims.py [--graph programs/lenet_wu2023.toml] [--dataset mnist5k]
     [--widths 1,1.5,2] [--epochs 3] [--out runs/pcm_hic_claims] [--config pcm_hic] [--microbatch N]
     [--data-path DIR] [--seeds 0,1,2] [--drift]

(The wider LeNets need larger SRAMs than pcm_hic's: ``--config docs/studies/pcm_hic_wide.toml --microbatch 1``.)

For each width multiplier the graph's hidden layers get ``round(width x)`` output channels / features (the last
weight layer keeps the class count; written to OUT/graphs/), and ``socsim train ... --config CONFIG --baseline``
trains it on the chip beside the numpy FP32 baseline of the same width (same data, order, initial weights). From
the run folders it prints, per width: chip and baseline test accuracy, the weights, the bits of weight storage
(the chip's bits per weight, below, against 32 for FP32), and the programming pulses per device (max and median
over the devices under placed weight blocks) against the device endurance. With ``--drift`` the width-1 run is
evaluated again 1 s and one year after training (``socsim drift``, 3 evaluations each, without and with global
drift compensation).

With ``--seeds 0,1,2`` each width trains once per seed: seed k is the config's seed k and initial weights
``train.init_seed = 1 + k`` (a config file ``OUT/configs/CONFIG-seedK.toml`` over ``--config``; seed 0 is
``--config`` as given), run folders ``OUT/wW`` (seed 0) and ``OUT/wW-seedK``; the tables then give mean +- sample
std over the seeds, and the accuracy columns both the last epoch and the mean of the last 3 epochs.

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
from socsim.tools.benchmarking import percent_mean_std, print_header, train_run_folder


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
    text = "\n".join(lines) + "\n"
    if not path.is_file() or path.read_text() != text:  # runs of other seeds may be reading it
        path.write_text(text)
    return path


def seed_config(config: str, seed: int, out: Path) -> str:
    """``config`` for seed ``seed``: as given for seed 0, else a file over it with ``seed = K`` and initial weights
    ``train.init_seed = 1 + K``."""
    if seed == 0:
        return config
    base = str(Path(config).resolve()) if Path(config).suffix else config
    path = out / "configs" / f"{Path(config).stem}-seed{seed}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'base = "{base}"\nname = "seed{seed}"\nseed = {seed}\n\n[train]\ninit_seed = {1 + seed}\n')
    return str(path)


def run_folder(out: Path, width: float, seed: int) -> Path:
    return out / (f"w{width:g}" if seed == 0 else f"w{width:g}-seed{seed}")


def train(graph: Path, args: argparse.Namespace, run: Path, seed: int) -> None:
    """Train (or finish) one run folder."""
    extra = ["--microbatch", str(args.microbatch)] if args.microbatch else []
    extra += ["--data-path", args.data_path] if args.data_path else []
    train_run_folder(run, args.epochs, [str(graph), "--config", seed_config(args.config, seed, Path(args.out)),
                                        "--dataset", args.dataset, "--baseline", *extra])


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
            "chip_last3": m.test_accuracy.iloc[-3:].mean(), "baseline_last3": m.baseline_accuracy.iloc[-3:].mean(),
            "chip_epochs": " / ".join(f"{a:.1%}" for a in m.test_accuracy),
            "weights": weights, "bits": bits, "chip_kbit": weights * bits / 1e3, "fp32_kbit": weights * 32 / 1e3,
            "max_writes": int(writes.max()) if writes.size else 0,
            "median_writes": float(np.median(writes)) if writes.size else 0.0,
            "mean_writes": float(writes.mean()) if writes.size else 0.0,
            "endurance": phys.device.endurance_pulses,
            "latency_ms": m.latency_per_image_s.iloc[-1] * 1e3, "energy_uj": m.energy_per_image_pj.iloc[-1] / 1e6,
            "wall_s": m.wall_s.mean()}


def pm(values: list[float]) -> str:
    """:func:`percent_mean_std` with a % sign."""
    return percent_mean_std(values, "%")


def width_table(rows: dict[float, list[dict]]) -> str:
    """One line per width; several seeds give mean +- sample std (writes: max over the seeds, means of the rest)."""
    lines = ["| width | seeds | chip test accuracy per epoch (mean) | chip final | chip, mean of the last 3 epochs | "
             "numpy FP32 baseline final | baseline, mean of the last 3 epochs | baseline - chip, last 3 (paired) | "
             "weights | chip bits per weight | chip weight storage | FP32 weight storage | writes per device max / "
             "median / mean | endurance | latency per training image | energy per training image | wall per epoch |",
             "|" + "---|" * 17]
    for width, rs in rows.items():
        first = rs[0]
        curve = np.mean([[float(x.rstrip("%")) for x in r["chip_epochs"].split(" / ")] for r in rs], axis=0)
        lines.append(
            f"| {width:g} | {len(rs)} | {' / '.join(f'{v:.1f}%' for v in curve)} | {pm([r['chip'] for r in rs])} | "
            f"{pm([r['chip_last3'] for r in rs])} | {pm([r['baseline'] for r in rs])} | "
            f"{pm([r['baseline_last3'] for r in rs])} | {pm([r['baseline_last3'] - r['chip_last3'] for r in rs])} | "
            f"{first['weights']} | {first['bits']:.2f} | {first['chip_kbit']:.1f} kbit | "
            f"{first['fp32_kbit']:.1f} kbit | "
            f"{max(r['max_writes'] for r in rs)} / {np.mean([r['median_writes'] for r in rs]):g} / "
            f"{np.mean([r['mean_writes'] for r in rs]):.0f} | {first['endurance']:.0e} | "
            f"{np.mean([r['latency_ms'] for r in rs]):.3g} ms | {np.mean([r['energy_uj'] for r in rs]):.3g} uJ | "
            f"{np.mean([r['wall_s'] for r in rs]):.1f} s |")
    return "\n".join(lines)


def drift_table(runs: list[Path]) -> str:
    """Width 1, each seed's run 1 s and one year after training (3 evaluations each), without and with global
    drift compensation; the year's cost paired per seed."""
    got: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        for comp in ("none", "global"):
            subprocess.run([sys.executable, "-m", "socsim", "drift", str(run), "--after", "1,31536000", "--repeats",
                            "3", "--compensation", comp, "--quiet"], check=True)
            d = pd.read_csv(run / "drift.csv")
            d = d[d.compensation == comp].sort_values("seconds_after_training")
            got.setdefault(comp, []).append((d.test_accuracy.iloc[0], d.test_accuracy.iloc[-1]))
    lines = ["| width 1, compensation | 1 s | 1 year | cost of the year (paired) |", "|---|---|---|---|"]
    for comp, pairs in got.items():
        lines.append(f"| {comp} | {pm([a for a, _ in pairs])} | {pm([b for _, b in pairs])} | "
                     f"{pm([a - b for a, b in pairs])} |")
    return "\n".join(lines)


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
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (config seed K, initial weights 1 + K)")
    ap.add_argument("--drift", action="store_true", help="also evaluate each seed's first-width run after 1 s and "
                                                         "1 year, without and with global drift compensation")
    args = ap.parse_args()
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    widths = [float(w) for w in args.widths.split(",")]
    print_header()
    rows: dict[float, list[dict]] = {}
    for width in widths:
        graph = widened(Path(args.graph), width, out)
        for seed in seeds:
            run = run_folder(out, width, seed)
            train(graph, args, run, seed)
            rows.setdefault(width, []).append(row(width, graph, run))
    print("\n" + width_table(rows))
    if args.drift:
        print("\n" + drift_table([run_folder(out, widths[0], seed) for seed in seeds]))


if __name__ == "__main__":
    main()
