"""A sweep's expansion into design points: the grid's product and the explicit points, each with its resolved config
and its key (a hash of that config, the job's identity and socsim's version), each run ``[job] seeds`` times.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any, Mapping

from socsim import __version__
from socsim.base.configtools import ConfigError, deep_merge, from_mapping, to_mapping
from socsim.config.soc import PRESET_DIR, SocConfig, load_config
from socsim.runfolder.runargs import RunArgs
from socsim.sweep.records import CONFIG_AXIS, Point, SweepError, SweepSpec


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}`` (the overrides mapping of ``load_config``)."""
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _base_file(base: str) -> str:
    return base if Path(base).suffix else str(PRESET_DIR / f"{base}.toml")


MAX_POINTS = 10_000
"""A sweep expands to at most this many points (grid product plus explicit points), counted before any is made."""


def check_point_count(grid: dict[str, list[Any]], points: list[Any], where: str, seeds: int = 1) -> int:
    """The number of points ``grid`` and ``points`` expand to (before duplicates are dropped), each run ``seeds``
    times; SweepError naming ``where`` and every axis's length past MAX_POINTS."""
    count = math.prod(len(v) for v in grid.values()) if grid else 0
    count = (count + len(points)) * seeds
    if count > MAX_POINTS:
        sizes = " x ".join(f"{axis} ({len(v)})" for axis, v in grid.items()) or "none"
        raise SweepError(f"{where}: the sweep has {count} points (grid {sizes}, {len(points)} explicit, "
                         f"{seeds} seed(s) each); at most "
                         f"{MAX_POINTS} are allowed: split it into several sweeps")
    return count


def _load(spec: SweepSpec, base: str, overrides: dict[str, Any]) -> SocConfig:
    """The config of ``base`` (a preset, a TOML file, or a run folder's config.json) with ``overrides``."""
    if spec.job.weights:
        saved = to_mapping(RunArgs.load(Path(base)).saved_config(Path(base)))
        return from_mapping(SocConfig, deep_merge(saved, overrides))
    return load_config(base, overrides)


def _seeded(config: dict[str, Any], offset: int) -> dict[str, Any]:
    """``config`` (a resolved mapping) with ``offset`` added to ``seed`` and ``train.init_seed``."""
    if not offset:
        return config
    return {**config, "seed": config["seed"] + offset,
            "train": {**config["train"], "init_seed": config["train"]["init_seed"] + offset}}


def _key(job_id: dict[str, Any], config: dict[str, Any]) -> str:
    blob = json.dumps({"job": job_id, "config": config, "socsim": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def expand(spec: SweepSpec) -> list[Point]:
    """Every point of the sweep with its resolved config, each ``[job] seeds`` times (seed 0 first); a bad value
    raises SweepError naming the point."""
    check_point_count(spec.grid, spec.points, spec.path, spec.job.seeds)
    combos = []
    for values in itertools.product(*spec.grid.values()):
        combo: dict[str, Any] = {}
        for axis, value in zip(spec.grid, values):
            combo.update(value if isinstance(value, dict) else {axis: value})
        combos.append(combo)
    if not spec.grid and spec.points:
        combos = []
    combos += [dict(p) for p in spec.points]
    job_id = spec.job.identity()
    out: list[Point] = []
    seen: set[str] = set()
    index = 0
    for values in combos:
        base = spec.bases[values[CONFIG_AXIS]] if spec.bases else spec.base
        flat = {k: v for k, v in {**spec.fixed, **values}.items() if k != CONFIG_AXIS}
        overrides = nest(flat)
        if spec.job.kind == "train" and spec.job.epochs is not None:
            overrides.setdefault("train", {})["epochs"] = spec.job.epochs
        label = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "base config"
        prefix = _base_file(base) + ": "
        try:
            cfg = _load(spec, base, overrides)
        except ConfigError as exc:
            msg = str(exc)
            msg = msg[len(prefix):] if msg.startswith(prefix) else msg
            raise SweepError(f"{spec.path}: point {index} ({label}): {msg}") from None
        config = to_mapping(cfg)
        key = _key(job_id, config)
        if key in seen:  # an explicit point equal to a grid point runs once
            continue
        seen.add(key)
        for s in range(spec.job.seeds):
            seeded = _seeded(config, s)
            out.append(Point(index, values, seeded, key if s == 0 else _key(job_id, seeded), s))
        index += 1
    return out
