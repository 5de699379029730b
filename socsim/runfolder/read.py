"""Run folders, the reading side: a run folder written by ``socsim train`` (config, run args, metrics, ledger,
device state).

Every other report module works on the :class:`RunFolder` fields (plain DataFrames and arrays), so a
report never needs the simulator or the checkpoint. Files that are missing load as ``None`` or empty
frames; :func:`load_run` fails only when the folder has no ``metrics.csv``.

Each file is read by one checked reader; an error names the file and the field: metrics.csv has one row per
epoch (1, 2, ... in order), finite numbers >= 0 (accuracies and shares in [0, 1]; test_accuracy may be empty:
timing-only runs); ledger.csv has finite counts, cycles and energies >= 0 whose sums per epoch and program equal
metrics.csv's energies; mapping.json has the types :func:`socsim.runfolder.files.mapping_record` writes; the
device-state archives hold ``tile{i}_{g,writes,t_prog,w}`` arrays of the config's tiles, shaped for its arrays,
finite, with conductances within the device's range and counters >= 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from socsim.base.configtools import ConfigError, from_mapping, to_mapping
from socsim.base.errors import InputError, MissingInput
from socsim.base.fileio import read_json, read_npz
from socsim.config.soc import SocConfig
from socsim.debug.tracefile import read_trace
from socsim.physics.rram_wv import SET_OVERSHOOT
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


@dataclass
class RunFolder:
    """The files of one training run, loaded. Energy in pJ, time in cycles of ``clock_hz`` or seconds."""

    path: Path
    config: SocConfig | None
    """config.json, the config the run trained on (validated); None for a folder without one."""
    args: RunArgs | None
    """run.json: graph, config, dataset, epochs, ...; None for a folder without one."""
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
    config_table: dict[str, Any] | None = None
    """config.json as read (:attr:`config_mapping`); None: made from :attr:`config`."""

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def clock_hz(self) -> float:
        return float(self.soc_config.clock_hz)

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
        """config tiles.physics.device (conductance range, levels, endurance_pulses) as a table."""
        return to_mapping(self.soc_config.tiles.physics.device)

    @cached_property
    def soc_config(self) -> SocConfig:
        """The run's config; the defaults for a folder without config.json."""
        return self.config if self.config is not None else SocConfig()

    @property
    def config_mapping(self) -> dict[str, Any]:
        """The config as config.json holds it (nested tables, keys sorted; an older socsim's file without the fields
        it did not have); empty for a folder without one."""
        if self.config_table is not None:
            return self.config_table
        return _sorted_keys(to_mapping(self.config)) if self.config is not None else {}


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
        raise InputError(f"expected a JSON object, got a {type(data).__name__}", file=path)
    return data


def _read_npz(path: Path) -> dict[str, np.ndarray] | None:
    return read_npz(path, "device-state archive") if path.is_file() else None


def _read_csv(path: Path, required: tuple[str, ...], numeric: tuple[str, ...], **kwargs: Any) -> pd.DataFrame:
    """A CSV table with the ``required`` columns, ``numeric`` ones numbers (empty allowed); errors name the file."""
    try:
        frame = pd.read_csv(path, **kwargs)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError and EmptyDataError are ValueErrors
        raise InputError(f"not a readable CSV table: {type(exc).__name__}: {exc}", file=path) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} (not written by 'socsim train')", file=path)
    if frame.empty:
        return frame
    for col in numeric:
        if col in frame.columns and not pd.api.types.is_numeric_dtype(frame[col]):
            bad = next((v for v in frame[col] if not _is_number(v)), None)
            if bad is None:  # numbers, but one beyond 64 bits
                bad = next(v for v in frame[col] if abs(float(v)) >= 2 ** 63)
                raise InputError(f"column {col} holds {bad}, expected a number below 2^63", file=path)
            raise InputError(f"column {col} holds {bad!r}, expected numbers", file=path)
    return frame


SHARE_COLUMNS = ("test_accuracy", "adc_saturated_share")
"""metrics.csv columns that are fractions in [0, 1]."""
OPTIONAL_EMPTY = ("test_accuracy",)
"""Required metrics.csv columns that may be empty (timing-only runs measure no accuracy)."""
ENERGY_TOLERANCE = 1e-6
"""Relative difference allowed between metrics.csv's energies and the sums of ledger.csv's rows."""


def check_metrics(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """metrics.csv as a run writes it: rows, epochs 1..N in order, finite numbers >= 0, shares in [0, 1]."""
    if frame.empty:
        raise InputError("no rows (a run writes one row per finished epoch)", file=path)
    epochs = frame["epoch"].to_numpy(dtype=float)
    if not np.array_equal(epochs, np.arange(1, len(frame) + 1)):
        raise InputError(f"column epoch holds {[_plain(e) for e in epochs[:8]]}; expected 1, 2, ... "
                         f"{len(frame)} (one row per epoch, in order, none repeated)", file=path)
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            continue
        values = frame[col].to_numpy(dtype=float)
        if col in METRICS_REQUIRED and col not in OPTIONAL_EMPTY and np.isnan(values).any():
            raise InputError(f"column {col}, epoch {int(epochs[np.isnan(values)][0])}: empty or NaN; "
                             "expected a number", file=path)
        hi = 1.0 if col in SHARE_COLUMNS else np.inf
        bad = ~np.isnan(values) & ((values < 0) | (values > hi) | np.isinf(values))
        if bad.any():
            row = int(np.argmax(bad))
            expected = "a fraction in [0, 1]" if col in SHARE_COLUMNS else "a finite number >= 0"
            raise InputError(f"column {col}, epoch {int(epochs[row])}: {float(values[row])!r}; expected "
                             f"{expected}", file=path)
    return frame


def _plain(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def check_ledger(ledger: pd.DataFrame, metrics: pd.DataFrame, path: Path) -> pd.DataFrame:
    """ledger.csv's counts, cycles and energies finite and >= 0, summing per epoch and program to metrics.csv's
    train_energy_pj and eval_energy_pj."""
    for col in ("count", "cycles", "energy_pj", "epoch"):
        values = ledger[col].to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise InputError(f"row {row + 2}, column {col}: {float(values[row])!r}; expected a finite "
                             "number >= 0", file=path)
    sums = ledger.groupby(["epoch", "program"])["energy_pj"].sum()
    for _, m in metrics.iterrows():
        for program, col in (("train", "train_energy_pj"), ("evaluate", "eval_energy_pj")):
            key = (int(m["epoch"]), program)
            if key in sums.index and not np.isclose(sums[key], m[col], rtol=ENERGY_TOLERANCE, atol=1e-3):
                raise InputError(f"epoch {key[0]}, program {program}: the rows' energy_pj sum to "
                                 f"{sums[key]:.9g} pJ, metrics.csv's {col} says {m[col]:.9g} pJ; one of the two "
                                 "was edited", file=path)
    return ledger


def check_mapping(mapping: dict[str, Any], path: Path) -> dict[str, Any]:
    """mapping.json with the fields and types :func:`socsim.runfolder.files.mapping_record` writes."""
    def need(table: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        value = table.get(key) if isinstance(table, dict) else None
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if ok and isinstance(value, int):
            ok = 0 <= value < 2 ** 63
        elif ok and isinstance(value, float):
            ok = math.isfinite(value) and value >= 0
        if not ok:
            name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            missing = not isinstance(table, dict) or key not in table
            got = "" if missing else f", got {value!r}"
            raise InputError(f"{path}: {where}{key}: {'missing; ' if missing else ''}expected {name}"
                             f"{' >= 0' if name in ('int', 'float') else ''}{got}"[:300])
        return value
    if mapping.get("format") != MAPPING_FORMAT:
        raise InputError(f"format {mapping.get('format')!r}; this socsim reads format {MAPPING_FORMAT}", file=path)
    need(mapping, "graph", str, "")
    need(mapping, "text", str, "")
    need(mapping, "geometry_macs_per_image", (int, float), "")
    placement = need(mapping, "placement", dict, "")
    need(placement, "tiles_used", int, "placement.")
    need(placement, "table", str, "placement.")
    for i, block in enumerate(need(placement, "blocks", list, "placement.")):
        where = f"placement.blocks[{i}]."
        need(block, "layer", str, where)
        for key in ("tile", "tile_row", "tile_col", "rows", "cols", "row_start", "col_start"):
            need(block, key, int, where)
    return mapping


DEVICE_ARRAYS = ("g", "writes", "t_prog", "w")
"""The device-state arrays a run saves per tile (``tile{i}_{kind}``)."""


def check_device_state(arrays: dict[str, np.ndarray], cfg: SocConfig, path: Path) -> dict[str, np.ndarray]:
    """A conductances archive of ``cfg``'s chip: known names of existing tiles, arrays whose last two dimensions
    are the array's (rows, weight columns), finite, counters and times >= 0, conductances in [0, the highest
    conductance a device of the config reaches] (RRAM: g_max + SET_OVERSHOOT x its range; PCM: its g_max; SRAM:
    a cell)."""
    phys = cfg.tiles.physics
    span = phys.device.g_max_us - phys.device.g_min_us
    g_top = max(phys.device.g_max_us + SET_OVERSHOOT * span, phys.pcm.g_max_us, phys.sram.cell_us)
    shape = (cfg.tiles.rows, cfg.tiles.weight_cols)
    for name, a in arrays.items():
        match = re.fullmatch(r"tile(\d+)_(\w+)", name)
        if match is None or match[2] not in DEVICE_ARRAYS or int(match[1]) >= cfg.tiles.count:
            raise InputError(f"array {name!r}: expected tile<i>_<{'|'.join(DEVICE_ARRAYS)}> for one of the "
                             f"config's {cfg.tiles.count} tiles", file=path)
        kind = match[2]
        if a.dtype.kind not in "fiub" or a.shape[-2:] != shape or a.ndim not in ((2,) if kind == "w" else (4,)):
            raise InputError(f"array {name!r} has shape {a.shape} ({a.dtype}); the config's arrays are "
                             f"{shape[0]} x {shape[1]} (config.json tiles.rows, tiles.bitlines)", file=path)
        if not np.isfinite(a).all():
            raise InputError(f"array {name!r} holds NaN or inf", file=path)
        if kind != "w" and a.size and a.min() < 0:
            raise InputError(f"array {name!r} holds {a.min()!r}; expected values >= 0", file=path)
        if kind == "g" and a.size and a.max() > g_top:
            raise InputError(f"array {name!r} holds {a.max()!r} uS, above the devices' highest "
                             f"conductance ({g_top} uS)", file=path)
    return arrays


def _sorted_keys(value: Any) -> Any:
    """Nested tables with their keys in order, as config.json is written (``write_json``: sort_keys)."""
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    return value


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def load_run(path: str | Path) -> RunFolder:
    """Load the run folder at ``path``; raises :class:`MissingInput` (a FileNotFoundError) naming the folder when it
    has no metrics.csv, ValueError naming the file when one is damaged."""
    root = Path(path)
    if not (root / METRICS).is_file():
        raise MissingInput(f"not a run folder written by 'socsim train' (no {METRICS})", file=root)
    metrics = check_metrics(_read_csv(root / METRICS, METRICS_REQUIRED, METRICS_REQUIRED), root / METRICS)
    if (root / LEDGER).is_file():
        ledger = _read_csv(root / LEDGER, LEDGER_REQUIRED, ("count", "cycles", "energy_pj", "epoch"),
                           keep_default_na=False, dtype={"layer": str, "phase": str})
        ledger = check_ledger(ledger, metrics, root / LEDGER)
    else:
        ledger = pd.DataFrame(columns=[*LEDGER_COLUMNS, "epoch", "program"])
    timeline = None
    if (root / TRACE).is_file():
        timeline = read_trace(root / TRACE)
        if timeline.empty:
            timeline = pd.DataFrame(columns=TIMELINE_COLUMNS)
    config, args = _read_object(root / CONFIG), _read_object(root / RUN_ARGS)
    cfg = None
    if config:
        try:
            cfg = from_mapping(SocConfig, config)
        except ConfigError as exc:
            raise InputError(f"{exc}", file=root / CONFIG) from None
    run_args = RunArgs.from_mapping(args, str(root / RUN_ARGS)) if args else None
    mapping = _read_object(root / MAPPING) or None
    if mapping is not None:
        check_mapping(mapping, root / MAPPING)
    states = {}
    for name in (INITIAL_CONDUCTANCES, CONDUCTANCES):
        states[name] = _read_npz(root / name)
        if states[name] is not None and cfg is not None:
            check_device_state(states[name], cfg, root / name)
    if mapping is not None and cfg is not None:
        _check_blocks_fit(mapping, cfg, root / MAPPING)
    return RunFolder(root, cfg, run_args, metrics, ledger, states[INITIAL_CONDUCTANCES], states[CONDUCTANCES],
                     timeline, mapping, config)


def _check_blocks_fit(mapping: dict[str, Any], cfg: SocConfig, path: Path) -> None:
    """Every placed block lies inside one of the config's arrays (tiles.count x tiles.rows x weight columns)."""
    for i, b in enumerate(mapping["placement"]["blocks"]):
        if (b["tile"] >= cfg.tiles.count or b["tile_row"] + b["rows"] > cfg.tiles.rows
                or b["tile_col"] + b["cols"] > cfg.tiles.weight_cols):
            raise InputError(f"placement.blocks[{i}] (layer {b['layer']!r}, tile {b['tile']}, rows "
                             f"{b['tile_row']}+{b['rows']}, cols {b['tile_col']}+{b['cols']}) does not fit the "
                             f"config's {cfg.tiles.count} arrays of {cfg.tiles.rows} x {cfg.tiles.weight_cols} "
                             "(config.json)", file=path)
