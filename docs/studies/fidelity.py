"""How close on-chip training comes to the numpy baseline, and what each part of the hardware costs: the tables
of docs/results.md ("Training fidelity").

Run: .venv/bin/python docs/studies/fidelity.py [--graph G] [--dataset D] [--epochs N] [--cases a,b] [--out DIR]
[--microbatch M] [--seeds N]

Each case is the ``wu2023`` preset (or ``--preset``) with a few fields changed; it trains with ``socsim train
... --baseline`` into OUT/CASE (a finished run folder is reused, an unfinished one resumed). One markdown table
is printed from the run folders' metrics.csv: test accuracy per epoch, the numpy FP32 baseline's, the mean of
the last ``--mean-of`` epochs of both and their gap, writes per weight over the run, and the share of ADC
conversions over range in the last epoch. The cases go from the chip as configured towards a clean one, so the
differences between rows are what each part costs:

- ``configured``: the preset as it is (calibrated converter full scales and input scales);
- ``analog``: the pair subtracted before a centred converter (preset ``wu2023_analog``);
- ``fixed``: no calibration (the converter's 0-70 uA range and the input scales input_range / act_range);
- ``ideal_adc``: an ideal converter (no range, quantisation or noise), input scales still calibrated;
- ``clean``: an ideal converter and devices without read noise or programming error (levels, DAC, recipe);
- ``quiet_devices``: the converter as configured, devices without read noise or programming error (the
  device part of ``clean`` alone); ``no_read_noise``, ``no_prog_error``: only one of the two removed;
- ``seed1``: the configured chip with config seed 1 (another example order and other device draws);
- ``clean_analog_in``, ``clean_fixed``, ``clean_every1``: the clean chip with analog layer inputs, with fixed input
  scales, calibrated after every batch; ``ideal_scheme``: scheme ``ideal`` on the same chip.

``--seeds N`` trains every case at config seeds 0 .. N-1 (initial weights 1 + seed) into OUT/CASE and
OUT/CASE-seedK and prints, instead, each case's accuracy after the last epoch as a mean +- std over the seeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from socsim.tools.benchmarking import chosen_cases, print_header, train_run_folder

QUIET = "[tiles.physics.read]\nnoise_levels = 0.0\n[tiles.physics.write_verify]\nprog_error_levels = 0.0\n"
"""Devices without read noise or programming error (the converter as configured)."""

CLEAN = "[tiles.physics.adc]\nkind = \"ideal\"\n" + QUIET
"""An ideal converter and devices without read noise or programming error."""

CASES: dict[str, tuple[str, str]] = {
    "configured": ("", "the preset as configured"),
    "analog": ("base = \"wu2023_analog\"\n", "pair subtracted before a centred ADC (wu2023_analog)"),
    "fixed": ("[train]\ncalibration_images = 0\n", "no calibration: 0-70 uA, input scales input_range / act_range"),
    "ideal_adc": ("[tiles.physics.adc]\nkind = \"ideal\"\n", "ideal ADC, input scales calibrated"),
    "clean": (CLEAN, "ideal ADC, noiseless devices"),
    "quiet_devices": (QUIET, "ADC as configured, noiseless devices"),
    "no_read_noise": ("[tiles.physics.read]\nnoise_levels = 0.0\n", "ADC as configured, no read noise"),
    "no_prog_error": ("[tiles.physics.write_verify]\nprog_error_levels = 0.0\n",
                      "ADC as configured, no programming error"),
    "seed1": ("seed = 1\n", "as configured, config seed 1"),
    "clean_analog_in": (CLEAN + "[train]\nin_bits = 0\n", "clean, analog (unquantised) layer inputs"),
    "clean_fixed": (CLEAN + "[train]\ncalibration_images = 0\n",
                    "clean, input scales fixed at input_range / act_range (no calibration)"),
    "clean_every1": (CLEAN + "[train]\ncalibrate_every = 1\n", "clean, calibrated after every batch"),
    "ideal_scheme": ("[train]\nscheme = \"ideal\"\n", "scheme ideal (FP32 weights, no quantisers) on the same chip"),
}
"""case -> (TOML laid over the preset, description)."""


def seeded(text: str, seed: int) -> str:
    """The case's TOML with config seed ``seed`` (device draws, example order) and initial-weight seed
    ``1 + seed`` (seed 0: the text unchanged, the presets' seeds)."""
    if seed == 0:
        return text
    init = f"init_seed = {1 + seed}\n"
    train = text.replace("[train]\n", "[train]\n" + init, 1) if "[train]\n" in text else f"{text}[train]\n{init}"
    return f"seed = {seed}\n{train}"


def folder(root: Path, case: str, seed: int) -> Path:
    """The run folder of ``case`` at ``seed`` (seed 0: OUT/CASE, else OUT/CASE-seedK)."""
    return root / (case if seed == 0 else f"{case}-seed{seed}")


def config_file(case: str, preset: str, out: Path, seed: int = 0) -> Path:
    """The case's config: a TOML file in its run folder's parent naming the preset as its base."""
    text = CASES[case][0]
    head = "" if text.startswith("base") else f"base = \"{preset}\"\n"
    path = out.parent / f"{out.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}name = \"{case}\"\n{seeded(text, seed)}")
    return path


def train(case: str, args: argparse.Namespace, out: Path, seed: int) -> None:
    train_run_folder(out, args.epochs, [args.graph, "--config", str(config_file(case, args.preset, out, seed)),
                                        "--dataset", args.dataset, "--baseline",
                                        *(["--microbatch", str(args.microbatch)] if args.microbatch else [])])


def table(cases: list[str], root: Path, epochs: int, mean_of: int) -> str:
    span = f"epoch {epochs}" if mean_of == 1 else f"mean of epochs {epochs - mean_of + 1}-{epochs}"
    lines = [f"| case | test accuracy per epoch (%) | numpy baseline per epoch (%) | {span}: chip / baseline / gap | "
             "writes per weight | ADC inputs over range, last epoch |",
             "|" + "---|" * 6]
    for case in cases:
        m = pd.read_csv(root / case / "metrics.csv").iloc[:epochs]
        acc, base = m.test_accuracy * 100, m.baseline_accuracy * 100
        a, b = acc.iloc[-mean_of:].mean(), base.iloc[-mean_of:].mean()
        lines.append(f"| {CASES[case][1]} | {' / '.join(f'{v:.1f}' for v in acc)} | "
                     f"{' / '.join(f'{v:.1f}' for v in base)} | {a:.2f} / {b:.2f} / {b - a:+.2f} pt | "
                     f"{m.writes_per_weight.sum():.3g} | {m.adc_saturated_share.iloc[-1] * 100:.2f} % |")
    return "\n".join(lines)


def seeds_table(cases: list[str], root: Path, epochs: int, seeds: int) -> str:
    """Per case: the chip's and the baseline's test accuracy after ``epochs`` epochs, mean +- std over the seeds."""
    lines = [f"| case | chip, epoch {epochs} (%) | numpy baseline, epoch {epochs} (%) | seeds |", "|---|---|---|---|"]
    for case in cases:
        rows = [pd.read_csv(folder(root, case, k) / "metrics.csv").iloc[epochs - 1] for k in range(seeds)]
        chip = np.array([r.test_accuracy for r in rows]) * 100
        base = np.array([r.baseline_accuracy for r in rows]) * 100
        lines.append(f"| {CASES[case][1]} | {chip.mean():.1f} +- {chip.std(ddof=1) if seeds > 1 else 0:.1f} | "
                     f"{base.mean():.1f} +- {base.std(ddof=1) if seeds > 1 else 0:.1f} | {seeds} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph", default="programs/lenet_wu2023.toml")
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--preset", default="wu2023")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--microbatch", type=int, default=0, help="images per micro-batch (default: the compiler's)")
    ap.add_argument("--mean-of", type=int, default=3, help="epochs at the end averaged (default 3)")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    ap.add_argument("--out", default="runs/fidelity", help="one run folder per case below this")
    ap.add_argument("--seeds", type=int, default=1,
                    help="seeds per case (config seed k, initial weights 1 + k); above 1: a mean +- std table")
    ap.add_argument("--table-only", action="store_true", help="print the table from existing run folders")
    args = ap.parse_args()
    cases = chosen_cases(ap, args.cases, CASES)
    root = Path(args.out)
    print_header()
    if not args.table_only:
        for seed in range(args.seeds):
            for case in cases:
                train(case, args, folder(root, case, seed), seed)
    print(table(cases, root, args.epochs, args.mean_of) if args.seeds == 1
          else seeds_table(cases, root, args.epochs, args.seeds))


if __name__ == "__main__":
    main()
