"""Running a whole sweep: skip finished points, run the rest, write the table per point, draw figures.

``run_sweep`` is the library entry point; ``add_sweep_command`` registers ``socsim sweep``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, TextIO

import pandas as pd

from socsim.argtypes import positive_int
from socsim.fileio import clean_temporaries
from socsim.locks import FolderLock
from socsim.signals import EXIT_TERMINATED, Terminated
from socsim.sim.engines import ENGINE_HELP, ENGINES
from socsim.sweep.backends import default_workers, run_dask, run_pool
from socsim.sweep.jobs import PointJob
from socsim.sweep.spec import Point, SweepSpec, expand, load_sweep
from socsim.sweep.table import FAILED_STATUSES, RESULTS, STATUS_OK, make_row, read_table, write_table

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
        result = {k: v for k, v in old.items() if k not in ("point", "key", *spec.fields)}
        keep[point.key] = make_row(spec, point, result)
    return keep


def run_sweep(spec: SweepSpec, out: str | Path | None = None, workers: int | None = None,
              scheduler: str | None = None, retry_failed: bool = False, figures: bool = True,
              progress: Callable[[str], None] | None = None) -> SweepOutcome:
    """Run every unfinished point of ``spec`` and return the table.

    ``workers``: local pool size (default: the CPUs available; 1 runs in this process);
    ``scheduler``: a Dask scheduler address, used instead of the local pool. Results go to
    ``OUT/results.csv`` (rewritten atomically as each point finishes), figures to ``OUT/*.png``.
    """
    points = expand(spec)  # every bad field or value is reported here, before anything runs
    out_dir = out_dir_of(spec, str(out) if out else None).resolve()
    with FolderLock(out_dir, "sweep folder"):  # a second sweep into the same folder is refused, not interleaved
        clean_temporaries(out_dir)  # what a kill during an earlier write of the table left
        return _run_locked(spec, points, out_dir, workers, scheduler, retry_failed, figures, progress)


def _run_locked(spec: SweepSpec, points: list[Point], out_dir: Path, workers: int | None, scheduler: str | None,
                retry_failed: bool, figures: bool, progress: Callable[[str], None] | None) -> SweepOutcome:
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
            run_pool(jobs, workers or default_workers(), on_result)
    outcome.table = pd.read_csv(results, keep_default_na=False, na_values=[""])
    if figures and len(outcome.table):
        from socsim.sweep.figures import write_figures
        outcome.figures = write_figures(spec, outcome.table, out_dir)
    return outcome


def _progress_line(spec: SweepSpec, point: Point, result: dict[str, Any], done: int, total: int) -> str:
    head = f"[{done}/{total}] point {point.index} ({point.label}) {point.key}: {result['status']}"
    if result["status"] != STATUS_OK:
        return f"{head}: {result['error']}"
    shown = spec.figures[0]
    values = "  ".join(f"{m} {result[m]:.6g}" for m in dict.fromkeys((shown.y, shown.x)) if m in result)
    return f"{head}  {values}  ({result['wall_s']:.1f} s)"


# command line ------------------------------------------------------------------------------------------
def cmd_sweep(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    say = (lambda line: print(line, file=stream, flush=True))
    spec = load_sweep(args.sweep)
    if args.engine:
        spec = replace(spec, job=replace(spec.job, engine=args.engine))
    if args.dry_run:
        points = expand(spec)
        say(f"sweep {spec.name!r}: {len(points)} point(s), job {spec.job.kind}, base config {spec.base}")
        for p in points:
            say(f"  point {p.index:>3}  {p.key}  {p.label}")
        return 0
    try:
        outcome = run_sweep(spec, args.out, args.workers, args.scheduler, args.retry_failed,
                            figures=not args.no_figures, progress=say)
    except KeyboardInterrupt as exc:
        say(f"{'terminated' if isinstance(exc, Terminated) else 'interrupted'}; finished points are in "
            f"{out_dir_of(spec, args.out) / RESULTS}. Run the same command again to resume.")
        return EXIT_TERMINATED if isinstance(exc, Terminated) else 130
    table = outcome.table
    bad = table[table["status"] != STATUS_OK] if len(table) else table
    say(f"{len(table)} point(s) in {outcome.results} ({len(outcome.ran)} run now, {len(outcome.skipped)} "
        f"finished before, {len(bad)} failed)")
    for path in outcome.figures:
        say(f"{'summary' if path.suffix == '.html' else 'figure'} -> {path}")
    if len(table):
        from socsim.sweep.figures import pareto_table
        fig = spec.figures[0]
        front = pareto_table(spec, table)
        if len(front):
            say(f"Pareto front ({fig.x} {fig.x_goal}, {fig.y} {fig.y_goal}):")
            cols = ["point", *spec.fields, fig.x, fig.y]
            say(front[list(dict.fromkeys(cols))].to_string(index=False))
    return 0


def add_sweep_command(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``socsim sweep`` on the CLI's subparsers."""
    p = sub.add_parser("sweep", help="run a design-space sweep (grid / points of config fields)",
                       description="Expand SWEEP.toml into design points (config fields by dotted path), run each "
                                   "as an independent job on a local process pool or a Dask cluster, and write "
                                   "OUT/results.csv (one row per finished point, written as each finishes) and "
                                   "figures. Rerunning the same command skips finished points. See docs/sweeps.md.")
    p.add_argument("sweep", help="sweep file (TOML)")
    p.add_argument("--out", help="results folder (default: the file's 'out', else runs/sweeps/NAME)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="local worker processes (default: CPUs available; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing Dask distributed cluster, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--retry-failed", action="store_true", help="rerun points that finished with a trap or error")
    p.add_argument("--dry-run", action="store_true", help="check the file and list the points and keys; run nothing")
    p.add_argument("--no-figures", action="store_true", help="write the table only")
    p.add_argument("--engine", choices=sorted(ENGINES), help=ENGINE_HELP + " (default: the file's [job] engine, else "
                   "fast)")
    p.set_defaults(fn=cmd_sweep)
    return p
