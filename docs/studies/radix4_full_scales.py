"""The converter full scales the radix4 chip's calibrate program sets at initialisation, by noise and passes.

Run: .venv/bin/python docs/studies/radix4_full_scales.py [--graph programs/mlp.toml] [--dataset digits]
     [--noise 8,0] [--passes 2,4]

For each converter noise level (``tiles.physics.adc.noise_lsb``, LSB) and number of calibration passes
(``train.calibration_passes``), builds the chip of the ``radix4`` preset (``socsim.host.training.ChipTrainer``: it
runs ``init`` and then the compiled ``calibrate`` program on the first training images) and prints each forward
block's full-scale setting (uA), read from the array's gain register. Every number comes from running the compiled
programs on the SoC model; nothing is trained. A calibration that converged sets the same full scales with noise
as without it.
"""

from __future__ import annotations

import argparse

from socsim.compiler import load_graph
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.training import ChipTrainer


def full_scales(graph_path: str, dataset: str, noise_lsb: float, passes: int) -> list[tuple[str, float]]:
    """(block, full scale in uA) per placed forward block after the calibration that follows ``init``; a block is
    named ``LAYER@ROW,COL``, its first weight's position in the layer's matrix."""
    cfg = load_config("radix4", {"tiles": {"physics": {"adc": {"noise_lsb": noise_lsb}}},
                                 "train": {"calibration_passes": passes}})
    trainer = ChipTrainer(load_graph(graph_path), cfg, load_dataset(dataset).subset(256, 64))
    return [(f"{p.layer}@{p.row_start},{p.col_start}",
             float(trainer.soc.tiles[p.tile].crossbar.full_scale[p.tile_row, p.tile_col]))
            for p in trainer.compiled.placement.blocks]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", default="programs/mlp.toml")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--noise", default="8,0", help="converter noise levels, LSB, comma-separated")
    ap.add_argument("--passes", default="2,4", help="calibration passes, comma-separated")
    args = ap.parse_args()
    rows = [(n, p, full_scales(args.graph, args.dataset, n, p))
            for n in map(float, args.noise.split(",")) for p in map(int, args.passes.split(","))]
    blocks = [layer for layer, _ in rows[0][2]]
    print(f"| noise_lsb (LSB) | calibration_passes | {' | '.join(f'{b} (uA)' for b in blocks)} |")
    print("|" + "---|" * (2 + len(blocks)))
    for noise, passes, fs in rows:
        print(f"| {noise:g} | {passes} | " + " | ".join(f"{v:.2f}" for _, v in fs) + " |")


if __name__ == "__main__":
    main()
