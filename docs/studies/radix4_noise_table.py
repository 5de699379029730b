"""The tables of docs/results.md's radix-4 noise study, from a finished sweep of programs/sweeps/radix4_noise*.toml.

Run: .venv/bin/python docs/studies/radix4_noise_table.py [runs/sweeps/radix4_noise]   (or .._backward)

Reads OUT/results.csv (every number in it comes from running the compiled programs on the SoC model) and prints,
per analog-noise level and error mapping, the test accuracy of each seed and their mean, the loss against the
noiseless run of the same mapping, and the simulated latency and energy per training image.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

MAPPING = "tiles.physics.dac_t.encoding"
NOISES = ("tiles.physics.adc.noise_t_lsb", "tiles.physics.adc.noise_lsb")
NAMES = {"radix4": "radix-4 multi-level (radix4)", "integer": "bit-serial (radix4_bitserial)"}


def table(results: pd.DataFrame) -> str:
    ok = results[results.status == "ok"]
    noise = next(c for c in NOISES if c in ok.columns)                  # the swept one
    lines = [f"| {noise.split('.')[-1]} (LSB) | mapping | test accuracy per seed | mean | loss vs noiseless | "
             "latency per training image | energy per training image |", "|" + "---|" * 7]
    clean = ok[ok[noise] == 0].groupby(MAPPING).test_accuracy.mean()
    for (level, mapping), g in ok.sort_values("seed").groupby([noise, MAPPING], sort=True):
        mean = g.test_accuracy.mean()
        accs = " / ".join(f"{a:.1%}" for a in g.test_accuracy)
        lines.append(f"| {level:g} | {NAMES.get(mapping, mapping)} | {accs} | {mean:.1%} | "
                     f"{100 * (clean.get(mapping, float('nan')) - mean):+.1f} pt | "
                     f"{g.latency_per_image_s.mean() * 1e3:.3g} ms | {g.energy_per_image_pj.mean() / 1e6:.3g} uJ |")
    return "\n".join(lines)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/sweeps/radix4_noise")
    print(table(pd.read_csv(out / "results.csv")))


if __name__ == "__main__":
    main()
