"""``socsim drift RUN_DIR``: test accuracy of a trained chip at later times, as its devices drift.

The chip of the run's last checkpoint is left idle (no instruction runs, simulated time passes) until
each requested time after the end of training and the compiled ``evaluate`` program is run there. PCM
conductances drift as ``G(t) = G(t_prog) (t / t_prog)^-nu`` and read noise follows the state at the read
time (socsim/physics/pcm_hic.py); models without drift give the same accuracy at every time up to
read noise. The checkpoint is not changed; ``drift.csv`` in the run folder holds the table.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from socsim.runs import CHECKPOINT, LEGACY_CHECKPOINT, read_checkpoint, write_frame

DRIFT = "drift.csv"


def parse_times(text: str) -> list[float]:
    """'1,3600,86400' -> [1.0, 3600.0, 86400.0] (seconds, ascending, >= 0)."""
    try:
        times = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValueError(f"--after {text!r}: expected comma-separated seconds, e.g. 1,3600,86400") from None
    if not times or any(not math.isfinite(t) or t < 0 for t in times) or times != sorted(times):
        raise ValueError(f"--after {text!r}: expected one or more ascending, finite times >= 0 s")
    return times


def evaluate_drift(run_dir: Path, times: list[float], quiet: bool = False) -> pd.DataFrame:
    """Accuracy and evaluation energy at ``times`` seconds after the run's last checkpointed epoch."""
    from socsim.runargs import RunArgs
    from socsim.runs import CheckpointError
    from socsim.training import ChipTrainer, StateMismatch

    run = RunArgs.load(run_dir)
    if run.timing_only:
        raise ValueError(f"{run_dir}: a --timing-only run has no device state or accuracy to age; "
                         "train without --timing-only")
    state = read_checkpoint(run_dir)["trainer"]
    cfg, graph, data = run.inputs(run_dir)
    try:
        trainer = ChipTrainer(graph, cfg, data, run.microbatch, state=state)
    except StateMismatch as exc:
        raise CheckpointError(f"{run_dir / CHECKPOINT}: does not fit the run's graph and config: {exc}") from None
    end_s = trainer.seconds()
    rows = []
    for t in times:
        trainer.idle_until(end_s + t)
        acc, result = trainer.evaluate()
        rows.append({"epoch": trainer.epoch, "seconds_after_training": t, "test_accuracy": acc,
                     "eval_energy_pj": result.energy_pj, "eval_cycles": result.cycles})
        if not quiet:
            print(f"{t:>12.6g} s after training: test accuracy {acc:.2%}")
    frame = pd.DataFrame(rows)
    write_frame(run_dir / DRIFT, frame)
    return frame


def add_drift_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("drift", help="test accuracy of a trained run at later times (device drift)",
                       description="Leave the chip of RUN_DIR's last checkpoint idle until each time after training "
                                   "and run the evaluate program there; writes RUN_DIR/drift.csv.")
    p.add_argument("run_dir", help="run folder written by 'socsim train'")
    p.add_argument("--after", default="1,60,3600,86400",
                   help="comma-separated seconds after training, ascending (default: 1,60,3600,86400)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_drift)


def cmd_drift(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / CHECKPOINT).exists() and not (run_dir / LEGACY_CHECKPOINT).exists():
        raise FileNotFoundError(f"{run_dir / CHECKPOINT}: no checkpoint; train first with 'socsim train'")
    evaluate_drift(run_dir, parse_times(args.after), quiet=args.quiet)
    if not args.quiet:
        print(f"wrote {run_dir / DRIFT}", file=sys.stdout)
    return 0
