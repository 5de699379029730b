"""Where the small ResNet loses its accuracy on pcm_hic: the table of docs/results.md ("Where the small ResNet loses
its accuracy on pcm_hic").

Run: .venv/bin/python docs/studies/pcm_hic_resnet_parts.py [--epochs 3] [--cases a,b] [--out DIR] [--errors | --reads]

Each case is ``docs/studies/pcm_hic_wide8.toml`` (pcm_hic with 8 tiles and 4 Mbit SRAMs) with a few fields changed;
it trains ``programs/resnet_digits.toml`` on digits at a micro-batch of 2 with ``socsim train`` into OUT/CASE (a
finished run folder is reused; the ``configured`` case also trains the numpy FP32 baseline, ``--baseline``). One
markdown table is printed from the run folders' metrics.csv: test accuracy per epoch, after the last epoch and the
mean of the last 3 (mean +- sample std over ``--seeds``), and each case's paired gap to the baseline. The
cases switch off one part of the chip at a time, then combine the parts that matter.

``--errors`` prints, instead, the size of the errors each weight layer's transposed read is driven with: the numpy
FP32 baseline's output gradient of every weight layer over the first batch, computed in micro-batches of 2 as the
chip does (the loss gradient over the 64-image batch), as rms, in LSBs of the 8-bit codes over
``train.error_range``, and the share that rounds to code 0 (numpy, an analysis aid; the first layer's errors drive
no transposed read).

``--reads`` prints, instead, how faithfully one transposed read (the backward pass's MVM on a pcm_hic tile of 64
rows x 8 weights, weights uniform over 2/3 of the device range) carries errors of a given rms: the 8-bit codes over
``train.error_range``, the read, its correlation with the exact product of the unrounded errors and the weights
and its error relative to that product, per config case (an analysis of the read path alone: the tile model of
socsim.physics, no program).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from socsim.compiler import load_graph
from socsim.config.soc import load_config
from socsim.host.baseline import Baseline
from socsim.host.data import load_dataset
from socsim.physics import make_crossbar
from socsim.tools.benchmarking import chosen_cases, percent_mean_std, print_header, train_run_folder

BASE = Path(__file__).resolve().parent / "pcm_hic_wide8.toml"
GRAPH = "programs/resnet_digits.toml"

ADC_IDEAL = "[tiles.physics.adc]\nkind = \"ideal\"\n"
QUIET_PCM = ("[tiles.physics.pcm]\nread_noise_scale = 0.0\nprog_noise_scale = 0.0\nset_step_std = 0.0\n"
             "binary_set_std_us = 0.0\ndrift = false\n")
AT_RESET = "granularity = \"at_reset\"\n"
"""Inside QUIET_PCM's table: the transfer's eps the SET increment at G = 0 (the default when the cases measured
against ``clean_at_reset`` were)."""
FIXED = "[train]\nerror_scaling = \"fixed\"\n"
"""Every layer's errors over the fixed train.error_range (as the cases below it were measured)."""
RANGE_02 = FIXED + "error_range = 0.02\n"
OLD_BACKWARD = ("[tiles.physics.dac_t]\nsigned_mode = \"twos_complement\"\n"
                "[tiles.physics.read]\nnoise_draw = \"pulse\"\n" + FIXED)
"""The backward pass as it was modelled before the chip measured its error scales: one fixed train.error_range,
errors driven in two's complement, the read noise drawn per pulse."""
CASES: dict[str, tuple[str, str]] = {
    "configured": ("", "pcm_hic as configured (wide8)"),
    "old_backward": (OLD_BACKWARD, "fixed error_range 0.05, two's complement errors, read noise per pulse (the "
                                   "earlier model)"),
    "fixed_range": (FIXED, "fixed error_range 0.05 (no measured scales)"),
    "twos_complement": ("[tiles.physics.dac_t]\nsigned_mode = \"twos_complement\"\n",
                        "errors driven in two's complement"),
    "noise_per_pulse": ("[tiles.physics.read]\nnoise_draw = \"pulse\"\n", "read noise drawn per pulse"),
    "acc_fp32": ("[train]\nacc_bits = 0\n", "FP32 accumulator (acc_bits = 0)"),
    "calibrated": ("[train]\ncalibration_images = 16\n", "input scales calibrated (16 images)"),
    "no_drift": ("[tiles.physics.pcm]\ndrift = false\n", "no drift"),
    "no_prog_error": ("[tiles.physics.pcm]\nprog_noise_scale = 0.0\nset_step_std = 0.0\nbinary_set_std_us = 0.0\n",
                      "no programming error (program-and-verify, SET steps, binary SET)"),
    "no_read_noise": ("[tiles.physics.pcm]\nread_noise_scale = 0.0\n", "no 1/f read noise"),
    "ideal_adc": (ADC_IDEAL, "ideal ADC (forward and transposed)"),
    "bwd_adc_noiseless": ("[tiles.physics.adc]\nnoise_t_lsb = 0.0\n", "transposed reads' ADC without noise"),
    "error_02": (RANGE_02, "error_range 0.02 (configured 0.05)"),
    "error_005": (FIXED + "error_range = 0.005\n", "error_range 0.005"),
    "err02_split": ("[tiles.physics.dac_t]\nsigned_mode = \"sign_split\"\n" + RANGE_02,
                    "error_range 0.02, errors sign-split (not two's complement)"),
    "arrays_wv": ("[train]\nscheme = \"radix4_digits\"\n",
                  "backward on the arrays, threshold write-verify transfer (scheme radix4_digits' recipe)"),
    "digital_bwd": ("[train]\nscheme = \"wu2023\"\n", "backward digital, threshold write-verify (scheme wu2023)"),
    "noread_err02": ("[tiles.physics.pcm]\nread_noise_scale = 0.0\n" + RANGE_02,
                     "no read noise, error_range 0.02"),
    "quiet_t_err02": ("[tiles.physics.adc]\nnoise_t_lsb = 0.0\n[tiles.physics.pcm]\nread_noise_scale = 0.0\n"
                      + RANGE_02,
                      "transposed reads' ADC without noise, no read noise, error_range 0.02"),
    "ideal_adc_err02": (ADC_IDEAL + RANGE_02, "ideal ADC, error_range 0.02"),
    "iae02_noprog": (ADC_IDEAL + "[tiles.physics.pcm]\nprog_noise_scale = 0.0\nset_step_std = 0.0\n"
                     "binary_set_std_us = 0.0\n" + RANGE_02,
                     "ideal ADC, error_range 0.02, no programming error"),
    "iae02_noread": (ADC_IDEAL + "[tiles.physics.pcm]\nread_noise_scale = 0.0\n" + RANGE_02,
                     "ideal ADC, error_range 0.02, no read noise"),
    "clean": (ADC_IDEAL + QUIET_PCM, "ideal ADC, noiseless drift-free PCM"),
    "clean_err02": (ADC_IDEAL + QUIET_PCM + RANGE_02,
                    "ideal ADC, noiseless drift-free PCM, error_range 0.02"),
    "clean_digital": (ADC_IDEAL + QUIET_PCM + "[train]\nscheme = \"wu2023\"\n",
                      "ideal ADC, noiseless drift-free PCM, backward digital (wu2023)"),
    "clean_arrays_wv": (ADC_IDEAL + QUIET_PCM + "[train]\nscheme = \"radix4_digits\"\n",
                        "ideal ADC, noiseless drift-free PCM, backward on the arrays, threshold write-verify transfer"),
    "clean_acc_fp32": (ADC_IDEAL + QUIET_PCM + "[train]\nacc_bits = 0\n",
                       "ideal ADC, noiseless drift-free PCM, FP32 accumulator (acc_bits = 0)"),
    "at_reset": ("[tiles.physics.pcm]\ngranularity = \"at_reset\"\n",
                 "pcm_hic, the transfer's eps the SET increment at G = 0 (the earlier default)"),
    "clean_at_reset": (ADC_IDEAL + QUIET_PCM + AT_RESET,
                       "clean, the transfer's eps the SET increment at G = 0 (the earlier default)"),
    "clean_no_refresh": (ADC_IDEAL + QUIET_PCM + AT_RESET + "refresh_fraction = 1.0\n",
                         "clean_at_reset, no refresh (an LSB device saturates at g_max)"),
    "clean_eps_mean": (ADC_IDEAL + QUIET_PCM + "granularity = \"mean\"\n",
                       "clean, the transfer's eps the mean SET increment over the LSB range (not the one at G = 0)"),
    "eps_mean": ("[tiles.physics.pcm]\ngranularity = \"mean\"\n",
                 "pcm_hic, the transfer's eps the mean SET increment over the LSB range (not the one at G = 0)"),
    "clean_step_01": (ADC_IDEAL + QUIET_PCM + AT_RESET + "set_step_us = 0.1\n",
                      "clean_at_reset, gradual-SET step 0.1 uS (configured 0.75)"),
    "clean_linear_set": (ADC_IDEAL + QUIET_PCM + AT_RESET + "set_nonlinearity = 0.0\n",
                         "clean_at_reset, gradual-SET step independent of the state (set_nonlinearity = 0)"),
    "analog_in": ("[train]\nin_bits = 0\n", "analog inputs and errors (in_bits = 0)"),
    "clean_analog_in": (ADC_IDEAL + QUIET_PCM + "[train]\nin_bits = 0\n",
                        "ideal ADC, noiseless drift-free PCM, analog inputs and errors (in_bits = 0)"),
}
"""case -> (TOML laid over pcm_hic_wide8.toml, description)."""

BASELINE_CASE = "configured"
"""The case trained with ``--baseline`` (the numpy baseline is the same for every case)."""

READ_CASES = ("configured", "no_read_noise", "ideal_adc", "clean", "err02_split")
"""Cases whose tile model ``--reads`` measures."""


def run_name(case: str, seed: int) -> str:
    """The run folder's name: the case, and ``-seedN`` for a seed other than the configured 0."""
    return case if seed == 0 else f"{case}-seed{seed}"


def config_file(case: str, out: Path, seed: int = 0) -> Path:
    """The case's config: a TOML file beside its run folder naming pcm_hic_wide8.toml as its base; seed ``seed``
    (device draws, data order) and initial weights ``train.init_seed = 1 + seed`` (seed 0: as configured)."""
    path = out.parent / f"{run_name(case, seed)}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    overlay = CASES[case][0]
    init = f"init_seed = {1 + seed}\n"
    overlay = (overlay.replace("[train]\n", "[train]\n" + init) if "[train]\n" in overlay
               else overlay + "[train]\n" + init)
    path.write_text(f"base = \"{BASE}\"\nname = \"{case}\"\nseed = {seed}\n{overlay}")
    return path


def train(case: str, epochs: int, out: Path, seed: int = 0) -> None:
    baseline = ["--baseline"] if case == BASELINE_CASE else []  # it does not depend on the chip: one per seed
    train_run_folder(out, epochs, [GRAPH, "--config", str(config_file(case, out, seed)), "--dataset", "digits",
                                   "--microbatch", "2", *baseline])


def per_epoch(runs: list[pd.Series]) -> str:
    """Per epoch, :func:`percent_mean_std` over the runs."""
    a = np.stack([r.to_numpy() for r in runs])
    return " / ".join(percent_mean_std(a[:, e]) for e in range(a.shape[1]))


def last3(runs: list[pd.Series]) -> np.ndarray:
    """Each run's mean over its last 3 epochs (the targets' measure)."""
    return np.array([r.iloc[-3:].mean() for r in runs])


def table(cases: list[str], root: Path, epochs: int, seeds: list[int]) -> str:
    """Per case the test accuracy per epoch, after the last epoch and over the last 3 (mean +- sample std over the
    seeds); with the baseline (the ``configured`` case's runs), its rows and the paired gap of each case to it."""
    lines = [f"| case | chip test accuracy per epoch (%), seeds {', '.join(map(str, seeds))} | after the last epoch | "
             "mean of the last 3 epochs | baseline - chip, last 3 epochs, paired |", "|---|---|---|---|---|"]
    base_files = [root / run_name(BASELINE_CASE, s) / "metrics.csv" for s in seeds]
    base = ([pd.read_csv(b).baseline_accuracy.iloc[:epochs] for b in base_files]
            if all(b.exists() for b in base_files) else None)
    for case in cases:
        runs = [pd.read_csv(root / run_name(case, s) / "metrics.csv").test_accuracy.iloc[:epochs] for s in seeds]
        gap = percent_mean_std(last3(base) - last3(runs)) if base is not None and not base[0].isna().any() else ""
        last = percent_mean_std(r.iloc[-1] for r in runs)
        lines.append(f"| {CASES[case][1]} | {per_epoch(runs)} | {last} | {percent_mean_std(last3(runs))} | {gap} |")
    if base is not None:
        lines.append(f"| numpy FP32 baseline (same data, order, initial weights; batch statistics per micro-batch "
                     f"of 2, as the chip) | {per_epoch(base)} | {percent_mean_std(r.iloc[-1] for r in base)} | "
                     f"{percent_mean_std(last3(base))} | |")
    return "\n".join(lines)


def read_fidelity(case: str, rms: float, root: Path) -> str:
    """One transposed read of 256 error vectors of ``rms`` (digital units) on case ``case``'s tile model."""
    cfg = load_config(str(config_file(case, root / case)))
    rows, cols = 64, 8
    rng = np.random.default_rng(0)
    w = rng.uniform(-1 / 1.5, 1 / 1.5, (rows, cols)).astype(np.float32)
    xb = make_crossbar(rows, cols, cfg.tiles.physics, 3)
    xb.load_weights(w, 0, 0, 0.0)
    lsb = cfg.train.error_range / (2 ** (cfg.train.in_bits - 1) - 1)
    e = rng.normal(0.0, rms, (1, 256, cols)).astype(np.float32)
    top = 2 ** (cfg.train.in_bits - 1) - 1
    codes = np.clip(np.round(e / lsb), -top, top).astype(np.float32)
    y, _ = xb.mvm_lanes(codes, 0, 0, rows, cfg.train.in_bits, np.array([1.0]), np.array([5], np.uint64), True)
    exact = (e[0] / lsb) @ w.T
    corr = np.corrcoef(y[0].ravel(), exact.ravel())[0, 1]
    off = np.linalg.norm(y[0] - exact) / np.linalg.norm(exact)
    return (f"| {CASES[case][1]} | {rms:.1e} | {rms / lsb:.2f} | {np.mean(codes == 0) * 100:.0f} % | "
            f"{corr:.2f} | {off:.2f} |")


def error_sizes(root: Path) -> str:
    """Per weight layer: rms, rms in code LSBs and share rounded to 0 of its output gradient (first batch, numpy)."""
    cfg = load_config(str(config_file("configured", root / "configured")))
    ref = Baseline(load_graph(GRAPH), cfg.train)
    data = load_dataset("digits", None, cfg.seed)
    lsb = cfg.train.error_range / (2 ** (cfg.train.in_bits - 1) - 1)
    mb, batch = 2, cfg.train.batch
    seen: dict[str, list[np.ndarray]] = {}
    plain = ref.layer_errors

    def record(node, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seen.setdefault(node.name, []).append(g.ravel() * (mb / batch))  # the gradient of the batch's mean loss
        return plain(node, g)

    ref.layer_errors = record
    for s in range(0, batch, mb):
        ref.gradients(data.x_train[s:s + mb], data.y_train[s:s + mb])
    lines = ["| weight layer | output-gradient rms | in code LSBs | rounded to code 0 |", "|---|---|---|---|"]
    for name, parts in seen.items():
        v = np.abs(np.concatenate(parts))
        rms = float(np.sqrt((v ** 2).mean()))
        lines.append(f"| {name} | {rms:.1e} | {rms / lsb:.2f} | {np.mean(v < lsb / 2) * 100:.0f} % |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    ap.add_argument("--out", default="runs/pcm_hic_resnet_parts", help="one run folder per case below this")
    ap.add_argument("--seeds", default="0", help="comma-separated config seeds (initial weights 1 + seed); the table "
                                                  "gives mean +- sample std over them")
    ap.add_argument("--reads", action="store_true", help="the transposed-read table instead of trainings")
    ap.add_argument("--errors", action="store_true", help="the error-size table (numpy) instead of trainings")
    ap.add_argument("--rms", default="9.3e-5,4.7e-3",
                    help="--reads: error rms values (digital units); defaults: b2_conv2's and fc's output gradient "
                         "at initialisation (numpy baseline, micro-batch 2)")
    args = ap.parse_args()
    cases = chosen_cases(ap, args.cases, CASES)
    root = Path(args.out)
    print_header()
    if args.errors:
        print(error_sizes(root))
        return
    if args.reads:
        print("| case | error rms | rms in code LSBs | codes rounded to 0 | correlation of the read with the exact "
              "product | rms of (read - exact) / rms of exact |\n|---|---|---|---|---|---|")
        for case in READ_CASES:
            for rms in (float(v) for v in args.rms.split(",")):
                print(read_fidelity(case, rms, root))
        return
    seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    for seed in seeds:
        for case in cases:
            train(case, args.epochs, root / run_name(case, seed), seed)
    print(table(cases, root, args.epochs, seeds))


if __name__ == "__main__":
    main()
