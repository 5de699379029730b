"""``socsim sweep``: run a design-space sweep file and print its progress, table and Pareto front."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TextIO

from socsim.base.argtypes import positive_int
from socsim.base.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED
from socsim.base.signals import Terminated
from socsim.cli.options import add_engine, add_threads
from socsim.host.options import DEFAULTS
from socsim.sweep.backends import check_scheduler_address
from socsim.sweep.pareto import pareto_table
from socsim.sweep.run import out_dir_of, run_sweep
from socsim.sweep.spec import expand, load_sweep
from socsim.sweep.summary import means_table, summarize
from socsim.sweep.table import RESULTS, STATUS_OK


def cmd_sweep(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    say = (lambda line: print(line, file=stream, flush=True))
    if args.scheduler:
        check_scheduler_address(args.scheduler)  # before anything is read, built or connected
    spec = load_sweep(args.sweep)
    if args.engine:
        spec = replace(spec, job=replace(spec.job, engine=args.engine))
    if args.dry_run:
        points = expand(spec)
        say(f"sweep {spec.name!r}: {len(points)} point(s), job {spec.job.kind}, base config {spec.base}")
        for p in points:
            say(f"  point {p.index:>3}  {p.key}  {p.label}")
        return EXIT_OK
    try:
        outcome = run_sweep(spec, args.out, args.workers, args.scheduler, args.retry_failed,
                            figures=not args.no_figures, progress=say, force=args.force, threads=args.threads)
    except KeyboardInterrupt as exc:
        say(f"{'terminated' if isinstance(exc, Terminated) else 'interrupted'}; finished points are in "
            f"{out_dir_of(spec, args.out) / RESULTS}. Run the same command again to resume.")
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    table = outcome.table
    bad = table[table["status"] != STATUS_OK] if len(table) else table
    say(f"{len(table)} point(s) in {outcome.results} ({len(outcome.ran)} run now, {len(outcome.skipped)} "
        f"finished before, {len(bad)} failed)")
    if outcome.summary is not None:
        say(f"mean and std over {spec.job.seeds} seeds per point -> {outcome.summary}")
    for path in outcome.figures:
        say(f"{'summary' if path.suffix == '.html' else 'figure'} -> {path}")
    if len(table):
        fig = spec.figures[0]
        means = spec.job.seeds > 1
        if means:
            table = means_table(summarize(spec, table), spec)
        front = pareto_table(spec, table)
        if len(front):
            say(f"Pareto front ({fig.x} {fig.x_goal}, {fig.y} {fig.y_goal}{', means over seeds' if means else ''}):")
            cols = ["point", *spec.fields, fig.x, fig.y]
            say(front[list(dict.fromkeys(cols))].to_string(index=False))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``socsim sweep`` to the CLI's subcommands."""
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
    p.add_argument("--force", action="store_true",
                   help="write into a results folder that holds another sweep (its rows are dropped)")
    p.add_argument("--no-figures", action="store_true", help="write the table only")
    add_engine(p, default=False, help_tail=f" (default: the file's [job] engine, else {DEFAULTS.engine})")
    add_threads(p, "; divided among the workers")
    p.set_defaults(fn=cmd_sweep)
