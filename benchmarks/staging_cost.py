"""What staging through DRAM costs: one timing-only training batch of VGG-8 and ResNet-18 on wu2023_256.

Run: .venv/bin/python benchmarks/staging_cost.py [--images 64]
Each network trains one batch of random CIFAR-sized images (timing only, micro-batch 1) twice: staged on
``wu2023_256`` (4 MiB data SRAM) and unstaged on the same SoC with a data SRAM large enough for the unstaged plan
(``unstaged SRAM``), so the programs differ only by the staging copies and the banded transfer. Per image: latency
at the clock, energy, DRAM words and energy, the DMA channels' busy cycles on ``copy``; and the extra cycles of the
staged batch over the unstaged one (time the controller waits on the copies: they are issued where the tensor is
needed). Prints the machine and command (docs/results.md, "Staging through DRAM").
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from socsim.compiler import load_graph
from socsim.config.soc import load_config
from socsim.host.data import synthetic
from socsim.host.options import RunOptions
from socsim.host.training import ChipTrainer

ROOT = Path(__file__).resolve().parents[1]
RUNS = [("VGG-8", "vgg8_wu", 32768), ("ResNet-18", "resnet18", 327680)]
"""(network, programs/NAME.toml, dmem_kbit of the unstaged reference: 4 MiB holds VGG-8's plan, 40 MiB ResNet-18's)."""


def one_batch(graph, cfg, images: int) -> dict:
    data = synthetic(n_train=images, n_test=1)
    trainer = ChipTrainer(graph, cfg, data, microbatch=1, options=RunOptions(timing_only=True))
    t0 = time.perf_counter()
    r = trainer.train_epoch()
    led = r.ledger
    dram = led[led.component == "dram"]
    copy = led[led.component.str.startswith("dma") & (led.action == "busy") & (led.opcode == "copy")]
    return {"cycles": r.cycles, "s": r.seconds, "pj": r.energy_pj, "dram_words": int(dram["count"].sum()),
            "dram_pj": float(dram.energy_pj.sum()), "copy_cycles": int(copy.cycles.sum()),
            "staged": trainer.compiled.memory.staged, "wall": time.perf_counter() - t0,
            "sram": next(u.need for u in trainer.compiled.memory.uses if u.space == "sram")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=64, help="images of the one training batch (default 64)")
    args = p.parse_args()
    print(f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cpus, Python "
          f"{platform.python_version()}; command: python {' '.join(sys.argv)}")
    print("| network | plan | SRAM words | staged words / image | us / image | uJ / image | DRAM words / image | "
          "DRAM uJ / image | DMA copy busy / cycles | cycles vs unstaged | simulated in |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, name, kbit in RUNS:
        graph = load_graph(str(ROOT / "programs" / f"{name}.toml"))
        base = {"train": {"batch": args.images}}
        plans = {"staged": load_config("wu2023_256", {**base, "compiler": {"staging": "always"}}),
                 "unstaged SRAM": load_config("wu2023_256", {**base, "compiler": {"staging": "off"},
                                                             "controller": {"dmem_kbit": kbit}})}
        out = {k: one_batch(graph, cfg, args.images) for k, cfg in plans.items()}
        ref = out["unstaged SRAM"]["cycles"]
        for k, m in out.items():
            n = args.images
            print(f"| {label} | {k} | {m['sram']:,} | {max(m['staged'], 0):,} | {m['s'] / n * 1e6:,.1f} | "
                  f"{m['pj'] / n / 1e6:,.1f} | {m['dram_words'] / n:,.0f} | {m['dram_pj'] / n / 1e6:,.2f} | "
                  f"{m['copy_cycles'] / m['cycles']:.1%} | {m['cycles'] / ref - 1:+.1%} | {m['wall']:.0f} s |")


if __name__ == "__main__":
    main()
