"""What a year of drift still costs a BatchNorm network with its statistics re-estimated, link by link.

Run: .venv/bin/python docs/studies/pcm_hic_adabs.py RUN_DIR [--compensation global+bn] [--bn-images 256]
     [--evals 3] [--cases configured,no_read_noise,fine_adc,no_drift,ideal_read]

The chip of a run folder's last checkpoint (``socsim train`` output, a PCM preset) is evaluated 1 s and one year
after training with a drift compensation (socsim.compiler.compensations), as ``socsim drift`` does, once per case:
the chip as configured, and the same checkpoint with one part of the evaluation made ideal at evaluation time (the
devices' state, their drift and the trained weights unchanged): ``no_read_noise`` (``pcm.read_noise_scale = 0``: the
1/f read noise, which grows with the time since programming, docs/physics.md), ``fine_adc`` (the converter
noiseless and 16-bit over its range: drift shrinks the readings, so a fixed-range converter resolves them more
coarsely), ``no_drift`` (``pcm.drift = false``: what remains at a year is the read noise's growth alone),
``ideal_read`` (both read noise off and the fine converter: what remains is the drift the compensation does not
undo, the spread of ``nu`` from device to device). Per case
the table gives the mean +- std of ``--evals`` evaluations (each its own read-noise draws) at both times and the
cost of the year. The run folder is not written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from socsim.base.configtools import deep_merge, from_mapping, to_mapping
from socsim.compiler.compensations import COMPENSATIONS
from socsim.config.soc import SocConfig
from socsim.host.inputs import run_inputs
from socsim.host.training import ChipTrainer
from socsim.runfolder.files import read_checkpoint
from socsim.runfolder.runargs import RunArgs
from socsim.tools.benchmarking import print_header

YEAR_S = 31536000.0
CASES = {
    "configured": {},
    "no_read_noise": {"tiles": {"physics": {"pcm": {"read_noise_scale": 0.0}}}},
    "fine_adc": {"tiles": {"physics": {"adc": {"bits": 16, "noise_lsb": 0.0}}}},
    "no_drift": {"tiles": {"physics": {"pcm": {"drift": False}}}},
    "ideal_read": {"tiles": {"physics": {"pcm": {"read_noise_scale": 0.0}, "adc": {"bits": 16, "noise_lsb": 0.0}}}},
}
"""Evaluation-time overrides of the run's config, by case."""


def accuracies(run_dir: Path, overrides: dict, compensation: str, bn_images: int, evals: int) -> list[np.ndarray]:
    """Test accuracies (%) of ``evals`` evaluations 1 s and one year after training, with ``compensation``."""
    run = RunArgs.load(run_dir)
    cfg, graph, data = run_inputs(run, run_dir)
    cfg = from_mapping(SocConfig, deep_merge(to_mapping(cfg), overrides))
    comp = COMPENSATIONS[compensation]
    trainer = ChipTrainer(graph, cfg, data, run.microbatch, state=read_checkpoint(run_dir).trainer, inference=True,
                          compensation=comp.global_drift, bn_images=bn_images if comp.bn_statistics else 0)
    end = trainer.seconds()
    if comp.global_drift:
        trainer.compensate(reference=True)
    out = []
    for t in (1.0, YEAR_S):
        trainer.idle_until(end + t)
        if comp.global_drift:
            trainer.compensate(reference=False)
        if comp.bn_statistics:
            trainer.reestimate_statistics()
        out.append(np.array([trainer.evaluate()[0] * 100 for _ in range(evals)]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--compensation", default="global+bn", choices=list(COMPENSATIONS))
    ap.add_argument("--bn-images", type=int, default=256)
    ap.add_argument("--evals", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    print_header()
    print(f"{args.run_dir}, {args.compensation}, {args.bn_images} images, {args.evals} evaluations per cell\n")
    print("| case | 1 s (%) | 1 year (%) | cost of the year (points) |\n|---|---|---|---|")
    for case in args.cases.split(","):
        now, year = accuracies(args.run_dir, CASES[case], args.compensation, args.bn_images, args.evals)
        print(f"| {case} | {now.mean():.1f} +- {now.std(ddof=1):.1f} | {year.mean():.1f} +- {year.std(ddof=1):.1f} "
              f"| {now.mean() - year.mean():.1f} |", flush=True)


if __name__ == "__main__":
    main()
