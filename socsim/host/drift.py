"""Test accuracy of a trained chip at later times, as its devices drift.

The chip of the run's last checkpoint is left idle (no instruction runs, simulated time passes) until
each requested time after the end of training and the compiled ``evaluate`` program is run there. PCM
conductances drift as ``G(t) = G(t_prog) (t / t_prog)^-nu`` and read noise follows the state at the read
time (socsim/physics/pcm_hic.py); models without drift give the same accuracy at every time up to
read noise. With ``repeats`` the evaluation runs that many times at each time, each run with its own read-noise
draws (counter-based: socsim.physics.draws), and the table gives their mean and standard deviation. A drift
compensation (socsim.compiler.compensations) adds its programs, run before the evaluations at each time: global
drift compensation (``compensate``) and the BatchNorm statistics re-estimated on the drifted chip (``bnstats``);
their cycles and energy are in the table. The checkpoint is not changed (the re-estimated statistics live in the
simulated chip's memory of this evaluation only); ``drift.csv`` in the run folder holds the table, written
atomically; the caller holds the run folder's lock (socsim.base.locks) for the whole evaluation, as ``socsim drift``
does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from socsim.base.errors import InputError
from socsim.compiler.compensations import COMPENSATIONS
from socsim.host.inputs import run_inputs
from socsim.host.training import ChipTrainer, StateMismatch
from socsim.runfolder.files import CHECKPOINT, DRIFT, CheckpointError, read_checkpoint, write_frame
from socsim.runfolder.runargs import RunArgs

BN_IMAGES = 256
"""Training images the BatchNorm statistics are re-estimated from by default (``--bn-images``): 128 micro-batches of
2, more than ten times the ~10 the running statistics' exponential average (momentum 0.1) mostly holds after
training, for the cost of about 0.7 evaluations of the 360 digits test images (docs/results.md: 64, 256 and 1024
images give the same accuracy within the spread on the small ResNet)."""


def evaluate_drift(run_dir: Path, times: list[float],
                   measured: Callable[[dict[str, Any]], None] | None = None, repeats: int = 1,
                   compensation: str = "none", bn_images: int = BN_IMAGES) -> pd.DataFrame:
    """Accuracy (mean and std over ``repeats`` evaluations) and evaluation energy at ``times`` seconds after the
    run's last checkpointed epoch, written to the run folder's drift table; ``measured`` hears each row as it is
    measured. ``compensation`` (socsim.compiler.compensations): with global drift compensation the compensate
    program stores each layer's reference reading at the end of training and, at each time, sets the layers' drift
    scales before the evaluations; with the BatchNorm statistics, the bnstats program then re-estimates them from the
    first ``bn_images`` training images. The table keeps the rows of the other compensations (one curve each)."""
    if compensation not in COMPENSATIONS:
        raise InputError(f"compensation {compensation!r}: expected one of {', '.join(COMPENSATIONS)}")
    if repeats < 1:
        raise InputError(f"repeats = {repeats}: expected at least 1")
    comp = COMPENSATIONS[compensation]
    if comp.bn_statistics and bn_images < 1:
        raise InputError(f"bn_images = {bn_images} (--bn-images): expected at least 1 training image")

    run = RunArgs.load(run_dir)
    if run.timing_only:
        raise InputError("a --timing-only run has no device state or accuracy to age; "
                         "train without --timing-only", file=run_dir)
    state = read_checkpoint(run_dir).trainer
    cfg, graph, data = run_inputs(run, run_dir)
    images = bn_images if comp.bn_statistics else 0  # the compiler refuses more than the training set holds
    try:
        trainer = ChipTrainer(graph, cfg, data, run.microbatch, state=state, inference=True,
                              compensation=comp.global_drift, bn_images=images)
    except StateMismatch as exc:
        raise CheckpointError(f"{run_dir / CHECKPOINT}: does not fit the run's graph and config: {exc}") from None
    end_s = trainer.seconds()
    if comp.global_drift:
        trainer.compensate(reference=True)  # the reference readings, at the end of training
    rows = []
    for t in times:
        trainer.idle_until(max(end_s + t, trainer.seconds()))
        gdc = trainer.compensate(reference=False) if comp.global_drift else None
        bns = trainer.reestimate_statistics() if comp.bn_statistics else None
        acc, result = trainer.evaluate()
        accs = [acc] + [trainer.evaluate()[0] for _ in range(repeats - 1)]
        programs = [r for r in (gdc, bns) if r is not None]
        rows.append({"epoch": trainer.epoch, "seconds_after_training": t, "test_accuracy": float(np.mean(accs)),
                     "test_accuracy_std": float(np.std(accs, ddof=1)) if repeats > 1 else 0.0,
                     "repeats": repeats, "compensation": compensation,
                     "compensate_cycles": sum(r.cycles for r in programs),
                     "compensate_energy_pj": float(sum(r.energy_pj for r in programs)), "bn_images": images,
                     "bnstats_cycles": bns.cycles if bns else 0, "bnstats_energy_pj": bns.energy_pj if bns else 0.0,
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
