"""Running a whole sweep: skip finished points, run the rest, write the table per point, draw figures.

``run_sweep`` is the library entry point (``socsim sweep``: :mod:`socsim.cli.sweep`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from socsim.base.fileio import clean_temporaries, read_json, write_text
from socsim.base.locks import FolderLock
from socsim.sweep.backends import default_workers, run_dask, run_pool
from socsim.sweep.figures import write_figures
from socsim.sweep.jobs import PointJob
from socsim.sweep.spec import Point, SweepError, SweepSpec, expand
from socsim.sweep.summary import SUMMARY_CSV, write_summary_csv
from socsim.sweep.table import FAILED_STATUSES, REPLICATE, RESULTS, STATUS_OK, make_row, read_table, write_table

OWNER = "sweep.json"
"""Which sweep a results folder holds (``{"name": ...}``): another sweep's ``--out`` is refused unless --force."""
POINTS_DIR = "points"
"""Per-point folders ``points/KEY/`` (config.toml and, for training, the run folder)."""


@dataclass
class SweepOutcome:
    """What a sweep did: the table, which points it ran and which it found already finished."""

    table: pd.DataFrame
    results: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    summary: Path | None = None
    """``summary.csv`` (mean and standard deviation over the runs of each point) when ``[job] seeds`` > 1."""


def out_dir_of(spec: SweepSpec, out: str | None = None) -> Path:
    """``--out``, else the sweep file's ``out``, else ``runs/sweeps/NAME`` (relative to the working folder)."""
    return Path(out or spec.out or f"runs/sweeps/{spec.name}")


def is_finished(spec: SweepSpec, row: dict[str, str | None]) -> bool:
    """A row records a finished point: a final status, and for ``ok`` every metric filled in (a row with blank
    metrics, or a point another process held locked, is run again)."""
    status = row.get("status")
    if status == STATUS_OK:
        return all((row.get(m) or "").strip() for m in spec.metrics)
    return status in FAILED_STATUSES


def finished_rows(spec: SweepSpec, points: list[Point], results: Path, retry_failed: bool) -> dict[str, dict]:
    """Rows of an earlier run of this sweep to keep, by key, re-indexed for the current expansion."""
    by_key = {p.key: p for p in points}
    keep = {}
    for old in read_table(results):
        point = by_key.get(old.get("key") or "")
        if point is None or not is_finished(spec, old) or (retry_failed and old.get("status") != STATUS_OK):
            continue
        result = {k: v for k, v in old.items() if k not in ("point", REPLICATE, "key", *spec.fields)}
        keep[point.key] = make_row(spec, point, result)
    return keep


def run_sweep(spec: SweepSpec, out: str | Path | None = None, workers: int | None = None,
              scheduler: str | None = None, retry_failed: bool = False, figures: bool = True,
              progress: Callable[[str], None] | None = None, force: bool = False,
              threads: int | None = None) -> SweepOutcome:
    """Run every unfinished point of ``spec`` and return the table.

    ``workers``: local pool size (default: the CPUs available; 1 runs in this process);
    ``scheduler``: a Dask scheduler address, used instead of the local pool; ``threads``: threads the local
    workers share (default: the cores available; :mod:`socsim.base.threads`). Results go to
    ``OUT/results.csv`` (rewritten atomically as each point finishes), figures to ``OUT/*.png``. A folder that
    holds another sweep's results (``OUT/sweep.json`` names another sweep) is refused unless ``force``.
    """
    points = expand(spec)  # every bad field or value is reported here, before anything runs
    out_dir = out_dir_of(spec, str(out) if out else None).resolve()
    with FolderLock(out_dir, "sweep folder"):  # a second sweep into the same folder is refused, not interleaved
        claim_folder(spec, out_dir, force)
        clean_temporaries(out_dir)  # what a kill during an earlier write of the table left
        return _run_locked(spec, points, out_dir, workers, scheduler, retry_failed, figures, progress, threads)


def claim_folder(spec: SweepSpec, out_dir: Path, force: bool) -> None:
    """Record that ``out_dir`` holds sweep ``spec.name``; SweepError when it holds another sweep (unless
    ``force``: that sweep's rows are then dropped)."""
    owner = out_dir / OWNER
    if owner.exists():
        try:
            data = read_json(owner, OWNER)
            other = data.get("name") if isinstance(data, dict) else None
        except (OSError, ValueError):
            other = None
        if other != spec.name and not force:
            held = f"sweep {other!r}" if isinstance(other, str) else f"an unreadable {OWNER}"
            raise SweepError(f"{out_dir}: this results folder holds {held}, not {spec.name!r}; give another --out "
                             "(or the sweep file's 'out'), or --force to drop its rows")
        if other == spec.name:
            return
    write_text(owner, json.dumps({"name": spec.name}) + "\n")


def _run_locked(spec: SweepSpec, points: list[Point], out_dir: Path, workers: int | None, scheduler: str | None,
                retry_failed: bool, figures: bool, progress: Callable[[str], None] | None,
                threads: int | None = None) -> SweepOutcome:
    say = progress or (lambda line: None)
    results = out_dir / RESULTS
    rows = finished_rows(spec, points, results, retry_failed)
    todo = [p for p in points if p.key not in rows]
    outcome = SweepOutcome(pd.DataFrame(), results, skipped=[p.key for p in points if p.key in rows])
    if outcome.skipped:
        say(f"{len(outcome.skipped)} of {len(points)} points already finished in {results}; skipping them")
    write_table(results, spec, rows.values())
    by_key = {p.key: p for p in points}
    jobs = [PointJob(p.key, p.index, spec.job, p.config, str(out_dir / POINTS_DIR / p.key)) for p in todo]

    def on_result(result: dict[str, Any]) -> None:
        point = by_key[result["key"]]
        rows[point.key] = make_row(spec, point, result)
        write_table(results, spec, rows.values())
        outcome.ran.append(point.key)
        say(_progress_line(spec, point, result, len(outcome.ran), len(todo)))

    if todo:
        where = f"Dask scheduler {scheduler}" if scheduler else f"{min(workers or default_workers(), len(todo))} " \
                                                                  "local worker(s)"
        say(f"running {len(todo)} point(s) of sweep {spec.name!r} on {where}")
        if scheduler:
            run_dask(jobs, scheduler, on_result)
        else:
            run_pool(jobs, workers or default_workers(), on_result, threads)
    outcome.table = pd.read_csv(results, keep_default_na=False, na_values=[""])
    if spec.job.seeds > 1:
        outcome.summary = write_summary_csv(spec, outcome.table, out_dir / SUMMARY_CSV)
    if figures and len(outcome.table):
        outcome.figures = write_figures(spec, outcome.table, out_dir)
    return outcome


def _progress_line(spec: SweepSpec, point: Point, result: dict[str, Any], done: int, total: int) -> str:
    head = f"[{done}/{total}] point {point.index} ({point.label}) {point.key}: {result['status']}"
    if result["status"] != STATUS_OK:
        return f"{head}: {result['error']}"
    shown = spec.figures[0]
    values = "  ".join(f"{m} {result[m]:.6g}" for m in dict.fromkeys((shown.y, shown.x)) if m in result)
    return f"{head}  {values}  ({result['wall_s']:.1f} s)"
