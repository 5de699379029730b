"""Test accuracy of a trained chip at later times, as its devices drift.

The chip of the run's last checkpoint is left idle (no instruction runs, simulated time passes) until
each requested time after the end of training and the compiled ``evaluate`` program is run there. PCM
conductances drift as ``G(t) = G(t_prog) (t / t_prog)^-nu`` and read noise follows the state at the read
time (socsim/physics/pcm_hic.py); models without drift give the same accuracy at every time up to
read noise. With ``repeats`` the evaluation runs that many times at each time, each run with its own read-noise
draws (counter-based: socsim.physics.draws), and the table gives their mean and standard deviation. The
checkpoint is not changed; ``drift.csv`` in the run folder holds the table, written atomically; the caller holds
the run folder's lock (socsim.base.locks) for the whole evaluation, as ``socsim drift`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from socsim.base.errors import InputError
from socsim.host.inputs import run_inputs
from socsim.host.training import ChipTrainer, StateMismatch
from socsim.runfolder.files import CHECKPOINT, DRIFT, CheckpointError, read_checkpoint, write_frame
from socsim.runfolder.runargs import RunArgs

COMPENSATIONS = ("none", "global")
"""``socsim drift --compensation``: none, or global drift compensation (socsim.compiler.lower.compensate)."""


def evaluate_drift(run_dir: Path, times: list[float],
                   measured: Callable[[dict[str, Any]], None] | None = None, repeats: int = 1,
                   compensation: str = "none") -> pd.DataFrame:
    """Accuracy (mean and std over ``repeats`` evaluations) and evaluation energy at ``times`` seconds after the
    run's last checkpointed epoch, written to the run folder's drift table; ``measured`` hears each row as it is
    measured. ``compensation = "global"``: the compensate program stores each layer's reference reading at the end
    of training and, at each time, sets the layers' drift scales before the evaluations. The table keeps the rows
    of the other compensation (one curve each)."""
    if compensation not in COMPENSATIONS:
        raise InputError(f"compensation {compensation!r}: expected one of {', '.join(COMPENSATIONS)}")
    if repeats < 1:
        raise InputError(f"repeats = {repeats}: expected at least 1")

    run = RunArgs.load(run_dir)
    if run.timing_only:
        raise InputError("a --timing-only run has no device state or accuracy to age; "
                         "train without --timing-only", file=run_dir)
    state = read_checkpoint(run_dir).trainer
    cfg, graph, data = run_inputs(run, run_dir)
    try:
        trainer = ChipTrainer(graph, cfg, data, run.microbatch, state=state, inference=True,
                              compensation=compensation == "global")
    except StateMismatch as exc:
        raise CheckpointError(f"{run_dir / CHECKPOINT}: does not fit the run's graph and config: {exc}") from None
    end_s = trainer.seconds()
    if compensation == "global":
        trainer.compensate(reference=True)  # the reference readings, at the end of training
    rows = []
    for t in times:
        trainer.idle_until(max(end_s + t, trainer.seconds()))
        cycles = trainer.compensate(reference=False).cycles if compensation == "global" else 0
        acc, result = trainer.evaluate()
        accs = [acc] + [trainer.evaluate()[0] for _ in range(repeats - 1)]
        rows.append({"epoch": trainer.epoch, "seconds_after_training": t, "test_accuracy": float(np.mean(accs)),
                     "test_accuracy_std": float(np.std(accs, ddof=1)) if repeats > 1 else 0.0,
                     "repeats": repeats, "compensation": compensation, "compensate_cycles": cycles,
                     "eval_energy_pj": result.energy_pj, "eval_cycles": result.cycles})
        if measured is not None:
            measured(rows[-1])
    frame = pd.DataFrame(rows)
    if (run_dir / DRIFT).is_file():  # keep the other compensation's curve
        old = pd.read_csv(run_dir / DRIFT)
        if "compensation" in old:
            frame = pd.concat([old[old["compensation"] != compensation], frame], ignore_index=True)
    write_frame(run_dir / DRIFT, frame)
    return frame[frame["compensation"] == compensation].reset_index(drop=True)
