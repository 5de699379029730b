"""Run folders, the writing side: every file name, atomic writes of the config, per-epoch metrics,
conductances and checkpoints; what a run holds. The reading side is :mod:`socsim.runfolder.read`.

A checkpoint is data only (:mod:`socsim.runfolder.checkpoint`); :func:`read_checkpoint` also checks that it has the
structure a training run resumes from, and names the file and the key when it has not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from socsim.base.errors import InputError, MissingInput
from socsim.base.fileio import atomic_write, is_temporary
from socsim.base.locks import LOCK
from socsim.compiler.check import mapping_text, placed_line
from socsim.compiler.graph import Graph
from socsim.compiler.lower.lowering import Compiled
from socsim.compiler.mapping.table import map_graph
from socsim.config.soc import SocConfig
from socsim.physics.state import MAX_COUNT
from socsim.runfolder.checkpoint import CheckpointError, load_checkpoint, write_checkpoint
from socsim.runfolder.metrics import MetricsRow, as_dicts

CHECKPOINT = "checkpoint.npz"
LEGACY_CHECKPOINT = "checkpoint.pkl"
"""Checkpoints of socsim before the data-only format: pickles, which are never loaded (unpickling runs code)."""
METRICS = "metrics.csv"
CONFIG = "config.json"
RUN_ARGS = "run.json"
CONDUCTANCES = "conductances.npz"
LEDGER = "ledger.csv"
"""Every epoch's ledger rows (train and evaluate programs), with columns epoch and program."""
INITIAL_CONDUCTANCES = "conductances_initial.npz"
MAPPING = "mapping.json"
"""The mapping and placement the run's programs were compiled with (:func:`mapping_record`)."""
MAPPING_FORMAT = 1
"""Version of :func:`mapping_record`'s layout."""
TRACE = "trace.json"
"""The unit jobs of the first epoch trained (``socsim train --trace``), as Chrome trace events; the report reads
it back as a timeline."""
REPORT = "report.html"
"""The page ``socsim report`` writes."""
DRIFT = "drift.csv"
"""``socsim drift``'s table: accuracy at later times."""
DIGESTS = "digests.json"
"""SHA-256 of every file the run wrote, and the config it started with (socsim.runfolder.digests)."""
ERROR_FILE = "error.txt"
"""A sweep point's error, when it failed."""
RUN_FILES = (RUN_ARGS, CONFIG, METRICS, CHECKPOINT, LEGACY_CHECKPOINT, CONDUCTANCES, INITIAL_CONDUCTANCES, LEDGER,
             MAPPING, TRACE, REPORT, DRIFT, ERROR_FILE, DIGESTS)
"""Every file ``socsim train`` (and report, drift, a sweep point) writes into a run folder."""

__all__ = ["CHECKPOINT", "CONDUCTANCES", "CONFIG", "DRIFT", "ERROR_FILE", "INITIAL_CONDUCTANCES", "LEDGER",
           "MAPPING", "METRICS", "REPORT", "RUN_ARGS", "RUN_FILES", "TRACE", "CheckpointError", "atomic_write",
           "RunState", "TrainerState", "clear_run", "read_checkpoint", "run_files", "write_checkpoint",
           "write_conductances", "write_frame", "write_run_state",
           "write_json", "write_metrics", "MAPPING_FORMAT", "mapping_record"]


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda fh: json.dump(data, fh, indent=2, sort_keys=True), binary=False)


def write_metrics(path: Path, rows: list[MetricsRow]) -> None:
    """``metrics.csv``: one row per epoch, the columns of :class:`MetricsRow` in order."""
    atomic_write(path, lambda fh: pd.DataFrame(as_dicts(rows)).to_csv(fh, index=False), binary=False)


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda fh: frame.to_csv(fh, index=False), binary=False)


def write_conductances(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))


def mapping_record(graph: Graph, cfg: SocConfig, compiled: Compiled) -> dict[str, Any]:
    """What a run folder keeps of the mapping its programs were compiled with (``mapping.json``), so a report
    needs neither the graph file nor the compiler: the ``--mapping`` text, every placed block, the lowering's
    placement table and the forward MACs per image of the mapping's geometry."""
    mapping, placement = map_graph(graph, cfg), compiled.placement
    text = mapping_text(mapping, placed_line(placement, cfg), compiled.memory)
    macs = float(sum(lm.rows * lm.cols * lm.mvms for lm in mapping.layers))
    blocks = [dataclasses.asdict(b) for b in placement.blocks]
    return {"format": MAPPING_FORMAT, "graph": graph.name, "text": text,
            "placement": {"tiles_used": placement.tiles_used, "blocks": blocks, "table": placement.table()},
            "geometry_macs_per_image": macs}


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a run (its run.json, metrics.csv or checkpoint)."""
    return any((folder / name).exists() for name in (RUN_ARGS, METRICS, CHECKPOINT, LEGACY_CHECKPOINT))


def check_not_run_file(path: str | Path, option: str, allowed: tuple[str, ...] = ()) -> Path:
    """``path`` unless it names a file of a run folder (other than ``allowed``), which an output must not replace:
    ValueError naming ``option`` and the file."""
    path = Path(path)
    if path.name in RUN_FILES and path.name not in allowed and is_run_folder(path.parent):
        raise InputError(f"{option} {path}: a file of the run folder {path.parent}; write the output elsewhere")
    return path


def run_files(run_dir: Path) -> list[str]:
    """Names in ``run_dir`` that a run wrote (its files and the temporaries of interrupted writes)."""
    if not run_dir.is_dir():
        return []
    return sorted(p.name for p in run_dir.iterdir() if p.name in RUN_FILES or is_temporary(p.name))


def check_fresh(out: Path, force: bool, what: str, held: list[str], others: list[str]) -> None:
    """Refuse ``out`` as the folder of a new ``what`` ("run", "multi-seed run"): when it is not a folder, when it
    holds one (``held``: its files) unless ``force`` (which deletes them), or when it holds only files that are not
    one's (``others``). A folder that does not exist yet is fresh."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if held and not force:
        raise InputError(f"already holds a {what} ({', '.join(held[:4])}{', ...' if len(held) > 4 else ''}); "
                         f"continue it with --resume {out}, or start over with --force (deletes its files)", file=out)
    if others and not held:
        raise InputError(f"holds files that are not a {what}'s ({', '.join(others[:4])}); choose a new or empty "
                         "folder for --out", file=out)


def check_fresh_run(out: Path, force: bool) -> None:
    """:func:`check_fresh` for a single-seed run in ``out``."""
    held = run_files(out)
    others = sorted(p.name for p in out.iterdir() if p.name not in held and p.name != LOCK) if out.is_dir() else []
    check_fresh(out, force, "run", held, others)


def clear_run(run_dir: Path) -> list[str]:
    """Delete what a run wrote in ``run_dir`` (``socsim train --force``); other files stay. Returns the names."""
    names = run_files(run_dir)
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            (run_dir / name).unlink()
    return names


MAX_EPOCHS = 1 << 20
"""Most epochs a checkpoint may record."""


@dataclasses.dataclass
class TrainerState:
    """The chip's state a run continues from (socsim.host.training.ChipTrainer.state): plain data, no objects."""

    epoch: int
    """Epochs finished."""
    cycle: int
    """The simulated clock (cycles)."""
    memory: dict[str, np.ndarray]
    """Every program symbol but the datasets' (weights, optimizer state, accumulators, ...): float32 words."""
    crossbars: list[dict[str, Any] | None]
    """Per tile the crossbar's mutable state (socsim.physics state_dict, generators included); an empty table: a tile
    no instruction has used (its fresh state, made from the config and seed when first needed); None: timing only."""
    blocks: list[list[int]]
    """Per tile its active block: r0, c0, rows, cols, in_bits."""

    def as_mapping(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "cycle": self.cycle, "memory": self.memory, "crossbars": self.crossbars,
                "blocks": self.blocks}

    @classmethod
    def from_mapping(cls, table: dict[str, Any]) -> TrainerState:
        """The checkpoint's ``trainer`` table (checked by :func:`check_run_state`)."""
        return cls(table["epoch"], table["cycle"], table["memory"], table["crossbars"], table["blocks"])


@dataclasses.dataclass
class RunState:
    """What a run's checkpoint holds: everything a resumed run continues from, bit for bit."""

    trainer: TrainerState
    """The chip's state (socsim.host.training.ChipTrainer.state)."""
    metrics: list[MetricsRow]
    """One row per finished epoch."""
    ledgers: list[pd.DataFrame]
    """Every program run's ledger rows (train and evaluate per epoch), with columns epoch and program."""

    @property
    def epoch(self) -> int:
        """Epochs finished."""
        return int(self.trainer.epoch)

    def as_mapping(self) -> dict[str, Any]:
        """The checkpoint's tables: ``{"trainer": {...}, "metrics": [row, ...], "ledgers": [frame, ...]}``."""
        return {"trainer": self.trainer.as_mapping(), "metrics": as_dicts(self.metrics), "ledgers": self.ledgers}

    @classmethod
    def from_mapping(cls, state: Any, where: str) -> RunState:
        """A checkpoint's tables, checked (CheckpointError naming ``where`` and the key)."""
        check_run_state(state, where)
        rows = []
        for i, row in enumerate(state["metrics"]):
            try:
                rows.append(MetricsRow.from_dict(row, f"metrics[{i}]"))
            except InputError as exc:
                raise CheckpointError(str(exc), file=where) from None
        return cls(TrainerState.from_mapping(state["trainer"]), rows, state["ledgers"])


def write_run_state(path: Path, state: RunState) -> None:
    """Write a run's checkpoint atomically (data only, :mod:`socsim.runfolder.checkpoint`)."""
    write_checkpoint(path, state.as_mapping())


def read_checkpoint(run_dir: Path) -> RunState:
    """The checkpoint of a run folder, checked."""
    path = run_dir / CHECKPOINT
    if not path.exists() and (run_dir / LEGACY_CHECKPOINT).exists():
        raise CheckpointError(f"{run_dir / LEGACY_CHECKPOINT}: a pickle checkpoint of an older socsim; it is not "
                              "loaded, since unpickling a file can run any code. Start the run again (--force)")
    try:
        state = load_checkpoint(path)
    except FileNotFoundError:
        raise MissingInput("no checkpoint (expected a run folder written by 'socsim train')", file=path) from None
    return RunState.from_mapping(state, str(path))


def _need(table: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(table, dict) or key not in table:
        raise CheckpointError(f"{where}: missing {key!r}")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CheckpointError(f"{where}: {key}: expected {names}, got {type(value).__name__}")
    return value


def check_run_state(state: Any, where: str) -> None:
    """Raise CheckpointError naming ``where`` and the key unless ``state`` has a training run's structure."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: the state is a {type(state).__name__}, expected a table")
    trainer = _need(state, "trainer", dict, where)
    metrics = _need(state, "metrics", list, where)
    ledgers = _need(state, "ledgers", list, where)
    t = f"{where}: trainer"
    for key, top in (("epoch", MAX_EPOCHS), ("cycle", MAX_COUNT)):
        if not 0 <= _need(trainer, key, int, t) <= top:
            raise CheckpointError(f"{t}: {key} = {trainer[key]} is not in 0..{top}")
    memory = _need(trainer, "memory", dict, t)
    for name, values in memory.items():
        if not isinstance(values, np.ndarray) or values.dtype != np.float32 or values.ndim != 1:
            raise CheckpointError(f"{t}: memory {name!r}: expected a 1-D float32 array")
        if not np.isfinite(values).all():
            raise CheckpointError(f"{t}: memory {name!r}: holds NaN or inf (a run that produces one traps)")
    for i, xbar in enumerate(_need(trainer, "crossbars", list, t)):
        if xbar is not None and not isinstance(xbar, dict):
            raise CheckpointError(f"{t}: crossbars[{i}]: expected a table of device state or null")
    for i, block in enumerate(_need(trainer, "blocks", list, t)):
        if not (isinstance(block, list) and len(block) == 5 and all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_COUNT for v in block)):
            raise CheckpointError(f"{t}: blocks[{i}]: expected 5 integers >= 0 (r0, c0, rows, cols, in_bits)")
    if len(metrics) != trainer["epoch"] or not all(isinstance(r, dict) for r in metrics):
        raise CheckpointError(f"{where}: metrics: expected one row (a table) per finished epoch "
                              f"({trainer['epoch']}), got {len(metrics)}")
    if not all(isinstance(f, pd.DataFrame) for f in ledgers):
        raise CheckpointError(f"{where}: ledgers: expected tables")
