"""``socsim report RUN_DIR`` and ``socsim compare RUN_A RUN_B ...``: a run folder's HTML report, runs side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from socsim.base.errors import InputError
from socsim.base.exits import EXIT_OK
from socsim.base.fileio import output_file, write_text
from socsim.cli.commands import command
from socsim.report.compare import compare_table
from socsim.report.report import build_compare, build_report, compare_text, export, run_figures
from socsim.report.seeds import build_seeds_report
from socsim.runfolder.digests import ACCEPT_EDITS_HELP, check_unedited
from socsim.runfolder.files import REPORT, check_not_run_file
from socsim.runfolder.read import load_run
from socsim.runfolder.seeds import SUMMARY, is_seeds_folder

COMPARE = "compare.html"
"""The comparison page's file name in the first run folder (``socsim compare`` without ``-o``)."""


def cmd_report(args: argparse.Namespace) -> int:
    check_unedited(args.run_dir, args.accept_edits)
    if is_seeds_folder(Path(args.run_dir)):
        if args.export:
            raise InputError(f"--export with the multi-seed folder {args.run_dir}: export one seed's run folder "
                             f"({args.run_dir}/seed-0 ...); the summary is {args.run_dir}/{SUMMARY}")
        out = Path(args.output) if args.output else Path(args.run_dir) / REPORT
        write_text(out, build_seeds_report(Path(args.run_dir), embed=args.embed))
        print(f"report -> {out}")
        return EXIT_OK
    run = load_run(args.run_dir)
    out = check_not_run_file(args.output, "-o", (REPORT,)) if args.output else run.path / REPORT
    figures = run_figures(run)
    if args.export:
        paths = export(run, args.export, figures=figures)
        print(f"{len(paths)} tables and figures -> {args.export}")
    write_text(out, build_report(run, embed=args.embed, figures=figures))
    print(f"report -> {out}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    if args.output:
        check_not_run_file(args.output, "-o")
    if args.csv:
        check_not_run_file(args.csv, "--csv")
    for path in args.run_dirs:
        check_unedited(path, args.accept_edits)
    runs = [load_run(p) for p in args.run_dirs]
    print(compare_text(runs))
    out = Path(args.output) if args.output else runs[0].path / COMPARE
    write_text(out, build_compare(runs, embed=args.embed))
    print(f"\ncomparison -> {out}")
    if args.csv:
        write_text(args.csv, compare_table(runs).to_csv())
        print(f"table -> {args.csv}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` and ``compare`` to the CLI's subcommands."""
    p = command(sub, "report", cmd_report, "write a self-contained HTML report of a training run folder",
                description="Read a run folder written by 'socsim train' and write RUN_DIR/report.html: "
                                   "headline numbers (accuracy, energy and latency per training image, TOPS/W), "
                                   "figures, per-epoch / component / layer x phase / opcode tables, the mapping "
                                   "and the config. Figures are embedded; the page references no other file.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run folder written by 'socsim train', or the folder of a "
                   "multi-seed run (--seeds): then the page shows accuracy as mean +- std over the seeds")
    p.add_argument("-o", "--output", metavar="HTML", type=output_file,
                   help="page to write (default: RUN_DIR/report.html)")
    p.add_argument("--accept-edits", action="store_true", help=ACCEPT_EDITS_HELP)
    p.add_argument("--embed", choices=("svg", "png"), default="svg",
                   help="figures as inline SVG (default) or base64 PNG")
    p.add_argument("--export", metavar="DIR", help="also write every table (CSV, JSON) and figure (PNG, SVG) here")

    p = command(sub, "compare", cmd_compare, "put training runs side by side (table on stdout and an HTML page)",
                description="One column per run folder: accuracy, energy and latency per training image, "
                                   "TOPS/W, device writes; a 'config: FIELD' row per config field in which the runs "
                                   "differ; a ratio column per run against the first. Prints the table and writes an "
                                   "HTML page with accuracy, energy and latency figures.")
    p.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", help="run folders written by 'socsim train'")
    p.add_argument("-o", "--output", metavar="HTML", type=output_file,
                   help=f"page to write (default: {COMPARE} in the first run folder; nothing is written into the "
                        "working folder)")
    p.add_argument("--csv", metavar="FILE", type=output_file,
                   help="also write the table as CSV (plain numbers in pJ and s)")
    p.add_argument("--accept-edits", action="store_true", help=ACCEPT_EDITS_HELP)
    p.add_argument("--embed", choices=("svg", "png"), default="svg",
                   help="figures as inline SVG (default) or base64 PNG")
