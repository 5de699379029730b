"""Run folders, the reading side: a run folder written by ``socsim train`` (config, run args, metrics, ledger,
device state).

Every other report module works on the :class:`RunFolder` fields (plain DataFrames and arrays), so a
report never needs the simulator or the checkpoint. Files that are missing load as ``None`` or empty
frames; :func:`load_run` fails only when the folder has no ``metrics.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from socsim.config import SocConfig
from socsim.configtools import ConfigError, from_mapping
from socsim.fileio import read_json, read_npz
from socsim.runfolder.files import (
    CONDUCTANCES,
    CONFIG,
    INITIAL_CONDUCTANCES,
    LEDGER,
    MAPPING,
    MAPPING_FORMAT,
    METRICS,
    RUN_ARGS,
    TRACE,
)
from socsim.runfolder.runargs import RunArgs
from socsim.sim.ledger import COLUMNS as LEDGER_COLUMNS
from socsim.sim.result import TIMELINE_COLUMNS
from socsim.tracefile import read_trace


@dataclass
class RunFolder:
    """The files of one training run, loaded. Energy in pJ, time in cycles of ``clock_hz`` or seconds."""

    path: Path
    config: dict[str, Any]
    """The full config as written in config.json (nested mapping)."""
    args: dict[str, Any]
    """run.json: graph, config, dataset, epochs, ..."""
    metrics: pd.DataFrame
    """metrics.csv: one row per epoch."""
    ledger: pd.DataFrame
    """ledger.csv: ledger rows with extra columns ``epoch`` and ``program`` (train / evaluate)."""
    initial: dict[str, np.ndarray] | None
    """conductances_initial.npz (device state after the init program), or None."""
    final: dict[str, np.ndarray] | None
    """conductances.npz (device state after the last epoch), or None."""
    timeline: pd.DataFrame | None
    """Unit jobs read back from trace.json, or None when the run was not traced."""
    mapping: dict[str, Any] | None = None
    """mapping.json: the mapping text, the placed blocks and the geometry's MACs per image the programs were
    compiled with (``socsim.runfolder.files.mapping_record``); None for a run of a socsim that did not write it."""

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def clock_hz(self) -> float:
        return float(self.config.get("clock_hz", 100e6))

    @property
    def epochs(self) -> int:
        return len(self.metrics)

    @property
    def train_images(self) -> int:
        """Training images over all epochs."""
        return int(self.metrics["train_images"].sum()) if "train_images" in self.metrics else 0

    @property
    def cycles(self) -> int:
        """Simulated cycles of every program in the ledger (training and evaluation, all epochs)."""
        cols = [c for c in ("train_cycles", "eval_cycles") if c in self.metrics]
        return int(self.metrics[cols].to_numpy().sum()) if cols else 0

    @property
    def device(self) -> dict[str, Any]:
        """config tiles.physics.device (conductance range, levels, endurance_pulses)."""
        return dict(self.config.get("tiles", {}).get("physics", {}).get("device", {}))

    @cached_property
    def soc_config(self):
        """The config as a :class:`socsim.config.SocConfig` (validated)."""
        return from_mapping(SocConfig, self.config, "config.json")


METRICS_REQUIRED = ("epoch", "test_accuracy", "train_images", "train_cycles", "train_s", "train_energy_pj",
                    "energy_per_image_pj", "latency_per_image_s", "eval_cycles", "eval_energy_pj")
"""Columns every report needs from metrics.csv (numbers; test_accuracy may be empty: timing-only runs)."""
LEDGER_REQUIRED = (*LEDGER_COLUMNS, "epoch", "program")


def _read_object(path: Path) -> dict[str, Any]:
    """A JSON object file, {} when absent; ValueError naming the file when it is not an object."""
    if not path.is_file():
        return {}
    data = read_json(path, path.name)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got a {type(data).__name__}")
    return data


def _read_npz(path: Path) -> dict[str, np.ndarray] | None:
    return read_npz(path, "device-state archive") if path.is_file() else None


def _read_csv(path: Path, required: tuple[str, ...], numeric: tuple[str, ...], **kwargs: Any) -> pd.DataFrame:
    """A CSV table with the ``required`` columns, ``numeric`` ones numbers (empty allowed); errors name the file."""
    try:
        frame = pd.read_csv(path, **kwargs)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError and EmptyDataError are ValueErrors
        raise ValueError(f"{path}: not a readable CSV table: {type(exc).__name__}: {exc}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (not written by 'socsim train')")
    for col in numeric:
        if col in frame.columns and not pd.api.types.is_numeric_dtype(frame[col]):
            bad = next(v for v in frame[col] if not _is_number(v))
            raise ValueError(f"{path}: column {col} holds {bad!r}, expected numbers")
    return frame


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def load_run(path: str | Path) -> RunFolder:
    """Load the run folder at ``path``; raises FileNotFoundError naming the folder when it has no metrics.csv,
    ValueError naming the file when one is damaged."""
    root = Path(path)
    if not (root / METRICS).is_file():
        raise FileNotFoundError(f"{root}: not a run folder written by 'socsim train' (no {METRICS})")
    metrics = _read_csv(root / METRICS, METRICS_REQUIRED, METRICS_REQUIRED)
    if (root / LEDGER).is_file():
        ledger = _read_csv(root / LEDGER, LEDGER_REQUIRED, ("count", "cycles", "energy_pj", "epoch"),
                           keep_default_na=False, dtype={"layer": str, "phase": str})
    else:
        ledger = pd.DataFrame(columns=[*LEDGER_COLUMNS, "epoch", "program"])
    timeline = None
    if (root / TRACE).is_file():
        timeline = read_trace(root / TRACE)
        if timeline.empty:
            timeline = pd.DataFrame(columns=TIMELINE_COLUMNS)
    config, args = _read_object(root / CONFIG), _read_object(root / RUN_ARGS)
    if config:
        try:
            from_mapping(SocConfig, config)
        except ConfigError as exc:
            raise ValueError(f"{root / CONFIG}: {exc}") from None
    if args:
        RunArgs.from_mapping(args, str(root / RUN_ARGS))
    mapping = _read_object(root / MAPPING) or None
    if mapping is not None and mapping.get("format") != MAPPING_FORMAT:
        raise ValueError(f"{root / MAPPING}: format {mapping.get('format')!r}; this socsim reads format "
                         f"{MAPPING_FORMAT}")
    return RunFolder(root, config, args, metrics, ledger, _read_npz(root / INITIAL_CONDUCTANCES),
                     _read_npz(root / CONDUCTANCES), timeline, mapping)
