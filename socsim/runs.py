"""Run folders: atomic writes of the config, per-epoch metrics, conductances and checkpoints."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

CHECKPOINT = "checkpoint.pkl"
METRICS = "metrics.csv"
CONFIG = "config.json"
RUN_ARGS = "run.json"
CONDUCTANCES = "conductances.npz"
LEDGER = "ledger.csv"
"""Every epoch's ledger rows (train and evaluate programs), with columns epoch and program."""
INITIAL_CONDUCTANCES = "conductances_initial.npz"


def atomic_write(path: Path, write: Callable[[Any], None], binary: bool = True) -> None:
    """Write via ``write(file)`` into a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda fh: json.dump(data, fh, indent=2, sort_keys=True), binary=False)


def write_metrics(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write(path, lambda fh: pd.DataFrame(rows).to_csv(fh, index=False), binary=False)


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda fh: frame.to_csv(fh, index=False), binary=False)


def write_checkpoint(path: Path, state: dict[str, Any]) -> None:
    atomic_write(path, lambda fh: pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL))


def read_checkpoint(run_dir: Path) -> dict[str, Any]:
    path = run_dir / CHECKPOINT
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no checkpoint (expected a run folder written by 'socsim train')") \
            from None
    except (pickle.UnpicklingError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable checkpoint: {exc}") from None


def write_conductances(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
