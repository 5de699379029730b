"""A multi-seed training run: N ordinary run folders ``OUT/seed-0 ... OUT/seed-(N-1)`` and their summary.

Seed i is the run named by the same arguments with ``seed_index = i`` (:func:`socsim.host.inputs.seeded_config`:
config seed + i, which also moves the data order, and train.init_seed + 1000 i); seed 0 is the single-seed run.
``OUT/seeds.json`` keeps the arguments and N so that a resume continues every seed (and starts one that never
began); ``OUT/summary.csv`` holds per epoch the mean and sample standard deviation (ddof = 1) over the seeds of
every numeric metric of their metrics.csv, rewritten atomically after each seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from socsim.base.locks import FolderLock
from socsim.host.options import DEFAULTS, RunOptions
from socsim.host.train import TrainListener, run_training
from socsim.runfolder.digests import recording
from socsim.runfolder.files import CHECKPOINT, METRICS, clear_run, write_frame
from socsim.runfolder.metrics import MetricsRow
from socsim.runfolder.seeds import LEADING, SUMMARY, SeedsSpec, seed_folder
from socsim.sim import Result


def summarize(metrics: list[pd.DataFrame]) -> pd.DataFrame:
    """Per epoch over the seeds' metrics: ``n`` (seeds that reached the epoch) and the mean and sample standard
    deviation (ddof = 1; empty for n = 1) of every numeric column, test and baseline accuracy first (their columns
    are there, empty, when the runs did not measure them)."""
    frames = [m for m in metrics if len(m)]
    if not frames:
        return pd.DataFrame(columns=["epoch", *(f"{c}_{s}" for c in LEADING for s in ("mean", "std")), "n"])
    rows = pd.concat(frames, ignore_index=True)
    for c in LEADING:
        rows[c] = pd.to_numeric(rows[c], errors="coerce") if c in rows else float("nan")
    numeric = [*LEADING, *(c for c in rows.columns if c not in (*LEADING, "epoch")
                           and pd.api.types.is_numeric_dtype(rows[c]))]
    grouped = rows.groupby("epoch")
    mean, std = grouped[numeric].mean(), grouped[numeric].std(ddof=1)
    out = pd.DataFrame(index=mean.index)
    for c in numeric:
        out[f"{c}_mean"], out[f"{c}_std"] = mean[c], std[c]
        if c == LEADING[-1]:
            out["n"] = grouped.size()
    return out.reset_index()


def write_summary(out: Path, seeds: int) -> pd.DataFrame:
    """Summarize the metrics.csv of ``out``'s seed folders that have one into ``out/summary.csv`` (atomically)."""
    frames = [pd.read_csv(seed_folder(out, i) / METRICS) for i in range(seeds)
              if (seed_folder(out, i) / METRICS).is_file()]
    summary = summarize(frames)
    write_frame(Path(out) / SUMMARY, summary)
    return summary


def train_seeds(spec: SeedsSpec, out: Path, resume: bool = False,
                listener: Callable[[int], TrainListener | None] = lambda i: None,
                options: RunOptions = DEFAULTS,
                trace_cycles: int | None = None) -> tuple[list[list[MetricsRow]], Result | None]:
    """Train the seeds of ``spec`` one after the other into ``out/seed-i`` (a seed folder with a checkpoint resumes
    when ``resume``; the others start fresh; the baseline alongside when ``spec.baseline``), rewriting
    ``out/summary.csv`` after each. Returns every seed's metrics rows and the last seed's last training epoch.
    ``listener(i)`` hears seed i; ``trace_cycles`` traces seed 0; ``options`` as :func:`run_training` takes them."""
    out = Path(out)
    with FolderLock(out, "multi-seed run folder"):
        if not resume:  # a fresh start: nothing of an earlier multi-seed run in ``out`` is left
            for folder in out.glob("seed-*"):
                clear_run(folder)
            (out / SUMMARY).unlink(missing_ok=True)
            spec.save(out)
        all_rows, last = [], None
        for i in range(spec.seeds):
            folder = seed_folder(out, i)
            resumed = resume and (folder / CHECKPOINT).exists()
            with FolderLock(folder, "run folder"), recording(folder, resume=resumed):
                rows, last = run_training(spec.args(i), folder, resume=resumed,
                                          baseline=spec.baseline, listener=listener(i),
                                          trace_cycles=trace_cycles if i == 0 else None, options=options)
            all_rows.append(rows)
            write_summary(out, spec.seeds)
    return all_rows, last
