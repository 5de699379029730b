"""Wu et al. 2023 (arXiv 2305.14547), Table 2: per-image inference latency and CIM energy, paper vs socsim.

Run: .venv/bin/python docs/studies/table2.py [--networks lenet,lenet64,vgg8,resnet18] [--images 8]
       [--config wu2023_table2] [--layers]

Every socsim number comes from running the compiled evaluation program (the same run as ``socsim infer GRAPH --config
wu2023_table2 --images N --microbatch 1``): latency per image = the program's cycles / clock / images (its one-time
set-up, configuring the tiles' stream patterns and zeroing padded buffers, included and shown apart); CIM energy per
image = the ledger's tile MVM datapath energy (DAC pulses, array, ADC + TIA, shift-add of the MVM rows) / images,
which ``energy.mvm_pricing = full_tile`` prices as one full-array operation per block MVM (Table 2's accounting);
beside it the same program priced by its active rows and bit lines (``energy.mvm_pricing = active``, a second run).
The paper's own arithmetic is shown beside it: MVMs per image x one 0.72 us conversion (8 ADC steps x 9 cycles at
100 MHz), tile operations per image x 2.66 nJ (64 x 64) or 2.93 nJ (256 x 64).

Rows: ``lenet`` on wu2023_table2 (256 x 64 arrays: LeNet fits one), ``lenet64`` on the paper's 64 x 64 arrays
(wu2023_table2 with tiles.rows = 64: 6 crossbars, 707 tile operations), ``vgg8`` (programs/vgg8_wu.toml), and
``resnet18`` with a 40 MiB data SRAM (the compiler keeps every activation and gradient of the training program in the
data SRAM; staging them through DRAM is not implemented, so the preset's 4 MiB does not compile ResNet-18). The
inputs are random images for the CIFAR networks (latency and full-tile energy do not depend on the data).
``--config wu2023_256`` runs the default (sequential) datapath instead; ``--layers`` adds elapsed time per layer and
the busy time of each unit kind on it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

import pandas as pd

from socsim.base.configtools import deep_merge
from socsim.compiler import load_graph
from socsim.compiler.mapping.table import map_graph
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.inference import Inference, run_inference
from socsim.report.headline import tile_mvm_energy_pj
from socsim.report.tables import UNIT_ACTIONS, layer_phase_table
from socsim.tools.benchmarking import print_header

CONVERSION_S = 8 * 9 / 100e6
"""One MVM of Wu et al.: 8 ADC steps x 9 cycles at 100 MHz = 0.72 us."""
FULL_TILE_J = {64: 2.66e-9, 256: 2.93e-9}
"""Energy of one full-array operation by array rows (64 x 64 and 256 x 64 arrays; Wu et al.), J."""


@dataclass(frozen=True)
class Network:
    """One row of Table 2: the graph, its test images and the paper's numbers."""

    label: str
    graph: str
    dataset: str
    paper_latency_s: float
    paper_energy_j: float
    overrides: dict = field(default_factory=dict)
    """Laid on the config (deviations from the preset, said in the module docstring)."""


ACTIVE = {"energy": {"mvm_pricing": "active"}}
"""The physical figure beside Table 2's: only the active block's rows, bit lines and conversions priced."""

NETWORKS: dict[str, Network] = {
    "lenet": Network("LeNet", "programs/lenet_wu2023.toml", "mnist5k", 0.46e-3, 1.9e-6),
    "lenet64": Network("LeNet, 64x64 arrays", "programs/lenet_wu2023.toml", "mnist5k", 0.46e-3, 1.9e-6,
                       {"tiles": {"rows": 64}}),
    "vgg8": Network("VGG-8", "programs/vgg8_wu.toml", "synthetic", 1.94e-3, 23e-6),
    "resnet18": Network("ResNet-18", "programs/resnet18.toml", "synthetic", 4.90e-3, 240e-6,
                        {"controller": {"dmem_kbit": 327680}}),
}


def dev(ours: float, paper: float) -> str:
    return f"{ours / paper - 1:+.1%}"


def unit_kind(component: str) -> str:
    """tile17 -> tiles, dma0 -> dma; the rest as named."""
    return component.rstrip("0123456789").replace("tile", "tiles")


def layer_lines(inf: Inference) -> list[str]:
    """Elapsed time of each layer per image and the busy time of each unit kind on it (summed over its units), ms."""
    led, per = inf.result.ledger, 1e3 / inf.cfg.clock_hz / inf.images
    layers = layer_phase_table(led).set_index(["layer", "phase"])
    busy = led[led["action"].isin(UNIT_ACTIONS)].assign(kind=lambda d: d["component"].map(unit_kind))
    busy = busy.groupby(["layer", "phase", "kind"])["cycles"].sum().unstack("kind").fillna(0)
    kinds = [k for k in ("tiles", "du", "dma", "bus", "controller") if k in busy.columns]
    lines = ["| layer | phase | elapsed ms/image | " + " | ".join(f"busy {k} ms" for k in kinds) + " |",
             "|---|---|---|" + "---|" * len(kinds)]
    for (layer, phase), row in layers.iterrows():
        if row["elapsed_cycles"] == 0:
            continue
        b = busy.loc[(layer, phase)] if (layer, phase) in busy.index else pd.Series(0, index=kinds)
        lines.append(f"| {layer} | {phase} | {row['elapsed_cycles'] * per:.4f} | "
                     + " | ".join(f"{b[k] * per:.4f}" for k in kinds) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", default="lenet,lenet64,vgg8,resnet18", help=f"of {', '.join(NETWORKS)}")
    ap.add_argument("--config", default="wu2023_table2")
    ap.add_argument("--images", type=int, default=8, help="test images, one per micro-batch")
    ap.add_argument("--layers", action="store_true", help="elapsed and busy time per layer")
    args = ap.parse_args()
    print_header()
    rows, details = [], []
    for key in args.networks.split(","):
        net = NETWORKS[key]
        cfg = load_config(args.config, net.overrides)
        graph = load_graph(net.graph)
        m = map_graph(graph, cfg)
        t0 = time.perf_counter()
        inf = run_inference(graph, cfg, load_dataset(net.dataset, None, cfg.seed), args.images, microbatch=1)
        wall = time.perf_counter() - t0
        table = layer_phase_table(inf.result.ledger)
        setup_s = float(table.loc[table["phase"] == "other", "elapsed_cycles"].sum()) / cfg.clock_hz / inf.images
        cim_j = tile_mvm_energy_pj(inf.result.ledger) * 1e-12 / inf.images
        active = run_inference(graph, load_config(args.config, deep_merge(net.overrides, ACTIVE)),
                               load_dataset(net.dataset, None, cfg.seed), args.images, microbatch=1)
        active_j = tile_mvm_energy_pj(active.result.ledger) * 1e-12 / active.images
        arith_j = m.tile_ops * FULL_TILE_J.get(cfg.tiles.rows, float("nan"))
        rows.append(f"| {net.label} | {cfg.tiles.rows}x{cfg.tiles.bitlines} | {m.crossbars} / {m.mvms} / "
                    f"{m.tile_ops} | {net.paper_latency_s * 1e3:.2f} | {m.mvms * CONVERSION_S * 1e3:.3f} | "
                    f"{inf.latency_per_image_s * 1e3:.3f} ({dev(inf.latency_per_image_s, net.paper_latency_s)}) | "
                    f"{setup_s * 1e3:.3f} | {net.paper_energy_j * 1e6:.3g} | {arith_j * 1e6:.3g} | "
                    f"{cim_j * 1e6:.3g} ({dev(cim_j, net.paper_energy_j)}) | {active_j * 1e6:.3g} | {wall:.0f} s |")
        over = f" with {net.overrides}" if net.overrides else ""
        details.append(f"{net.label}: socsim infer {net.graph} --config {args.config}{over} --dataset {net.dataset} "
                       f"--images {args.images} --microbatch 1  ({inf.result.cycles:,} cycles)")
        if args.layers:
            details += ["", f"{net.label} on {cfg.name}{over}, per image:", *layer_lines(inf), ""]
    print(f"\nWu et al. 2023, Table 2, vs socsim on {args.config} ({args.images} images, micro-batch 1):\n")
    print("| network | array | crossbars / MVMs / tile ops per image | paper ms | MVMs x 0.72 us | socsim ms | "
          "of it one-time set-up ms | paper CIM uJ | tile ops x full-tile nJ | socsim CIM uJ | active rows CIM uJ | "
          "simulated in |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print("\n".join(details))


if __name__ == "__main__":
    main()
