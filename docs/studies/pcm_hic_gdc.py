"""How far global drift compensation's per-layer scales sit from 1 where there is no drift to undo.

Run: .venv/bin/python docs/studies/pcm_hic_gdc.py RUN_DIR [--after 1] [--draws 8]

The chip of a run folder's last checkpoint (``socsim train`` output, a PCM preset) runs the ``compensate`` program
``--draws`` times in reference mode right after training (each with its own read-noise draws) and, for each
reference, once in measuring mode ``--after`` seconds later; per weight layer the table gives the spread of the
reference sums (relative std over the draws) and the mean and std of the scale reference / now the evaluation
multiplies the layer's outputs by (socsim.compiler.lower.compensate: the one-hot reference reads). Where there is
no drift to undo, the scales' spread is what the compensation adds to every evaluation. ``--accuracy EVALS`` gives,
instead, per reference draw the test accuracy with the measured scales and with every scale set back to 1 on the
same chip at the same time: what the scales cost or gain.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from socsim.host.inputs import run_inputs
from socsim.host.training import ChipTrainer
from socsim.runfolder.files import read_checkpoint
from socsim.runfolder.runargs import RunArgs
from socsim.tools.benchmarking import print_header


def scales(run_dir: Path, after: float, draws: int) -> str:
    run = RunArgs.load(run_dir)
    cfg, graph, data = run_inputs(run, run_dir)
    names = [n.name for n in graph.weight_nodes()]
    refs: dict[str, list[float]] = {n: [] for n in names}
    sc: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(draws):
        trainer = ChipTrainer(graph, cfg, data, run.microbatch, state=read_checkpoint(run_dir).trainer,
                              inference=True, compensation=True)
        end = trainer.seconds()
        for _ in range(len(refs[names[0]]) + 1):  # a new reference draw each time (counter-based draws)
            trainer.compensate(reference=True)
        for n in names:
            refs[n].append(float(trainer.read(f"gdc_ref_{n}")[0]))
        trainer.idle_until(end + after)
        trainer.compensate(reference=False)
        for n in names:
            sc[n].append(float(trainer.read(f"gdc_scale_{n}")[0]))
    lines = [f"| weight layer | reference sum, relative std over {draws} draws | scale after {after:g} s: mean +- "
             "std |", "|---|---|---|"]
    for n in names:
        r, s = np.array(refs[n]), np.array(sc[n])
        lines.append(f"| {n} | {r.std() / abs(r.mean()) * 100:.1f} % | {s.mean():.3f} +- {s.std():.3f} |")
    return "\n".join(lines)


def accuracy_cost(run_dir: Path, after: float, draws: int, evals: int) -> str:
    """Per reference draw: test accuracy ``after`` s after training with the measured scales and, on the same chip
    and time, with every scale set back to 1 (mean of ``evals`` evaluations each): what the scales alone cost."""
    run = RunArgs.load(run_dir)
    cfg, graph, data = run_inputs(run, run_dir)
    names = [n.name for n in graph.weight_nodes()]
    lines = ["| reference draw | with the scales (%) | scales set to 1 (%) | difference (points) |",
             "|---|---|---|---|"]
    diffs = []
    for d in range(draws):
        trainer = ChipTrainer(graph, cfg, data, run.microbatch, state=read_checkpoint(run_dir).trainer,
                              inference=True, compensation=True)
        end = trainer.seconds()
        for _ in range(d + 1):
            trainer.compensate(reference=True)
        trainer.idle_until(end + after)
        trainer.compensate(reference=False)
        scaled = np.mean([trainer.evaluate()[0] for _ in range(evals)]) * 100
        for n in names:
            trainer.write(f"gdc_scale_{n}", np.array([1.0], np.float32))
        unity = np.mean([trainer.evaluate()[0] for _ in range(evals)]) * 100
        diffs.append(scaled - unity)
        lines.append(f"| {d} | {scaled:.1f} | {unity:.1f} | {scaled - unity:+.1f} |")
    lines.append(f"| mean +- std | | | {np.mean(diffs):+.1f} +- {np.std(diffs):.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--after", type=float, default=1.0, help="seconds after training of the measuring read")
    ap.add_argument("--draws", type=int, default=8)
    ap.add_argument("--accuracy", type=int, default=0, metavar="EVALS",
                    help="instead: per reference draw, the test accuracy with the scales and with every scale 1 "
                         "(EVALS evaluations each)")
    args = ap.parse_args()
    print_header()
    if args.accuracy:
        print(accuracy_cost(args.run_dir, args.after, args.draws, args.accuracy))
    else:
        print(scales(args.run_dir, args.after, args.draws))


if __name__ == "__main__":
    main()
