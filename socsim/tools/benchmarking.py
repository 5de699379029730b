"""What the benchmarks and studies share: the two lines they print first (the machine it ran on and the command
that ran it, so a recorded output says where its numbers come from: ``benchmarks/``, ``docs/studies/``,
docs/performance.md), training a run folder through the command line (:func:`train_run_folder`), the
``--cases`` option's check (:func:`chosen_cases`) and an accuracy over seeds as text (:func:`percent_mean_std`)."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from socsim.runfolder.files import CHECKPOINT, METRICS


def machine_line(*details: str, processor: bool = False) -> str:
    """``machine: <platform>, <n> cpus, [<processor>, ]python <version>[, <details>...]``: the processor when
    ``processor`` (its name, or the machine type where the platform gives none), then each of ``details`` (e.g.
    ``"numpy 1.26.4"``)."""
    parts = [platform.platform(), f"{os.cpu_count()} cpus"]
    if processor:
        parts.append(platform.processor() or platform.machine())
    return "machine: " + ", ".join([*parts, f"python {platform.python_version()}", *details])


def load_line() -> str:
    """``load average 1.23, 1.10, 0.98 (1, 5, 15 min)``: how busy the machine was when a benchmark started (the
    numbers of a loaded machine are slower, and thread scaling is not measurable on one)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"


def command_line() -> str:
    """``command: <the Python executable's name> <the arguments>``: how to run it again."""
    return f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}"


def print_header(*details: str, processor: bool = False) -> None:
    """Print :func:`machine_line` (with ``details`` and ``processor``) and :func:`command_line` to stdout."""
    print(machine_line(*details, processor=processor))
    print(command_line())


def train_run_folder(out: Path, epochs: int, fresh: list[str]) -> None:
    """Bring run folder ``out`` to ``epochs`` trained epochs with ``socsim train`` in a subprocess, printing the
    command: nothing when its metrics.csv has them, a ``--resume`` from its checkpoint when it has one, else a fresh
    run of ``fresh`` (the graph and its options) into ``out`` (``--force``: a folder a kill left without a checkpoint
    starts over)."""
    done = out / METRICS
    if done.exists() and len(pd.read_csv(done)) >= epochs:
        return
    socsim = [sys.executable, "-m", "socsim.cli", "train"]
    if (out / CHECKPOINT).exists():
        cmd = socsim + ["--resume", str(out), "--epochs", str(epochs), "--quiet"]
    else:
        cmd = socsim + [*fresh, "--epochs", str(epochs), "--quiet", "--out", str(out), "--force"]
    print("running:", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)


def chosen_cases(ap: argparse.ArgumentParser, text: str, known: Iterable[str]) -> list[str]:
    """The cases a comma-separated ``--cases`` names, in its order; ``ap.error`` (exit 2) naming any unknown one
    and the known ones."""
    known = list(known)
    cases = [c for c in text.split(",") if c]
    unknown = [c for c in cases if c not in known]
    if unknown:
        ap.error(f"--cases: unknown {', '.join(unknown)}; expected some of {', '.join(known)}")
    return cases


def percent_mean_std(values: Iterable[float], suffix: str = "") -> str:
    """Fractions (accuracies in [0, 1], or their differences) in %: ``mean`` for one value, else ``mean +- std``
    with the sample std (ddof = 1) over them, one decimal, ``suffix`` after it."""
    a = np.asarray(list(values), float) * 100
    return f"{a[0]:.1f}{suffix}" if len(a) == 1 else f"{a.mean():.1f} +- {a.std(ddof=1):.1f}{suffix}"
