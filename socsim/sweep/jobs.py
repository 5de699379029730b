"""Running one sweep point: the picklable job and the worker function every backend calls.

``run_point(job)`` never raises for a failing design point: a trap, divergence or bad input is
recorded in the returned row (``status`` and ``error``) so the sweep goes on. A training point
resumes from its own checkpoint if an earlier, interrupted sweep left one.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isa import load_program
from socsim.base.configtools import dumps_toml, from_mapping
from socsim.base.errors import error_kind
from socsim.base.fileio import write_text
from socsim.base.locks import FolderBusy, FolderLock
from socsim.compiler import load_graph
from socsim.config.soc import SocConfig
from socsim.host.data import load_dataset
from socsim.host.inference import run_inference
from socsim.host.options import RunOptions
from socsim.host.train import Diverged, RunArgs, run_training
from socsim.pricing.area import total_area_mm2
from socsim.report.report import build_report
from socsim.runfolder.digests import recording
from socsim.runfolder.files import CHECKPOINT, ERROR_FILE, REPORT, atomic_write
from socsim.runfolder.read import load_run
from socsim.sim import Soc, Trap
from socsim.sweep.spec import INFER_METRICS, PROGRAM_METRICS, TRAIN_METRICS, JobSpec
from socsim.sweep.table import STATUS_BUSY

POINT_CONFIG = "config.toml"
"""Each point folder's self-contained config: ``socsim train GRAPH --config points/KEY/config.toml``."""
"""Traceback of a point that crashed with an unexpected exception."""


@dataclass(frozen=True)
class PointJob:
    """Everything a worker needs to run one point (picklable, no open files)."""

    key: str
    index: int
    job: JobSpec
    config: dict[str, Any]
    """The resolved config mapping."""
    folder: str
    """The point's folder (absolute): config.toml and, for training, the run folder."""


def write_point_config(job: PointJob) -> Path:
    folder = Path(job.folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / POINT_CONFIG
    text = dumps_toml(job.config, header=f"sweep point {job.key}: the resolved config (every field)")
    atomic_write(path, lambda fh: fh.write(text), binary=False)
    return path


def _options(spec: JobSpec) -> RunOptions:
    """The ``[job]``'s engine and timing-only mode, as the host takes them."""
    return RunOptions(engine=spec.engine, timing_only=spec.timing_only)


def _train(job: PointJob, config_path: Path) -> dict[str, Any]:
    spec = job.job
    folder = Path(job.folder)
    args = RunArgs(spec.graph, str(config_path), spec.dataset, spec.data_path, job.config["train"]["epochs"],
                   spec.train_examples, spec.test_examples, spec.microbatch, timing_only=spec.timing_only)
    resume = (folder / CHECKPOINT).exists()
    with recording(folder, resume):
        out = run_training(args, folder, resume=resume, options=_options(spec))
    rows = out[0] if isinstance(out, tuple) else out  # (rows, last Result) or rows
    last = dict(rows[-1].as_dict(), area_mm2=_area(job))
    if spec.report:
        _write_report(folder)
    return {"epochs": int(last["epoch"]), **{m: last.get(m) for m in TRAIN_METRICS}}  # older rows lack some


def _write_report(folder: Path) -> None:
    """``socsim report`` of a finished training point: ``report.html`` in its run folder."""
    import matplotlib.pyplot as plt  # deferred: the report's figures load matplotlib
    write_text(folder / REPORT, build_report(load_run(folder)))
    plt.close("all")


def _infer(job: PointJob) -> dict[str, Any]:
    """``socsim infer`` on the point's config: the job's graph over its test images, with the trained state of
    ``[job] weights`` when given."""
    spec = job.job
    cfg = from_mapping(SocConfig, job.config)
    data = load_dataset(spec.dataset, spec.data_path, cfg.seed)
    inf = run_inference(load_graph(spec.graph), cfg, data, spec.images, spec.microbatch, spec.weights or None,
                        _options(spec))
    values = {"test_accuracy": inf.accuracy, "latency_per_image_s": inf.latency_per_image_s,
              "energy_per_image_pj": inf.energy_per_image_pj,
              "static_energy_per_image_pj": inf.static_energy_per_image_pj, "images_per_s": inf.images_per_s,
              "tops_per_w_tile": inf.tops_per_w_tile, "tops_per_w_chip": inf.tops_per_w_chip, "images": inf.images,
              "cycles": inf.result.cycles, "area_mm2": _area(job)}
    return {m: values[m] for m in INFER_METRICS}


def _area(job: PointJob) -> float:
    """Chip area (mm^2) of the point's config."""
    return total_area_mm2(from_mapping(SocConfig, job.config))


def _program(job: PointJob) -> dict[str, Any]:
    cfg = from_mapping(SocConfig, job.config)
    result = Soc.from_config(cfg, engine=job.job.engine).run(load_program(job.job.program))
    values = {"cycles": result.cycles, "seconds": result.seconds, "energy_pj": result.energy_pj,
              "instructions": result.instructions, "static_energy_pj": result.static_energy_pj,
              "area_mm2": _area(job)}
    return {m: values[m] for m in PROGRAM_METRICS}


def run_point(job: PointJob) -> dict[str, Any]:
    """Run one point; returns ``{key, status, error, wall_s, <metrics>}`` (status ok, trap, diverged, error, crash,
    or busy when another process holds the point folder's lock)."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {"key": job.key, "status": "ok", "error": ""}
    try:
        with FolderLock(job.folder, "sweep point folder"):  # one process computes a point at a time
            config_path = write_point_config(job)
            run = {"train": lambda: _train(job, config_path), "infer": lambda: _infer(job),
                   "program": lambda: _program(job)}[job.job.kind]
            row.update(run())
    except FolderBusy as exc:
        row.update(status=STATUS_BUSY, error=str(exc))
    except Trap as exc:
        row.update(status="trap", error=str(exc))
    except Diverged as exc:
        row.update(status="diverged", error=str(exc))
    except Exception as exc:  # noqa: BLE001 -- bad input (GraphError, ConfigError, does not fit, ...) or a bug
        if error_kind(exc) is not None:
            row.update(status="error", error=str(exc))
        else:  # a simulator bug: keep the traceback beside the point, go on with the sweep
            write_text(Path(job.folder) / ERROR_FILE, traceback.format_exc())
            row.update(status="crash",
                       error=f"{type(exc).__name__}: {exc} (traceback in {job.folder}/{ERROR_FILE})")
    row["wall_s"] = time.perf_counter() - t0
    return row
