"""``socsim asm``, ``disasm`` and ``run``: a program file assembled, printed back, or run on the SoC model."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from isa import assemble_file, disassemble, encode, load_program, read_binary
from isa.bundle import expand
from isa.listing import listing
from socsim.base.argtypes import positive_int, positive_seconds
from socsim.base.errors import InputError
from socsim.base.exits import EXIT_OK
from socsim.base.fileio import output_file, write_bytes, write_text
from socsim.cli.commands import command
from socsim.cli.options import add_config, add_engine, add_threads, add_timing_only, run_options
from socsim.config.soc import load_config
from socsim.debug.tracefile import write_trace
from socsim.report.summary import result_summary
from socsim.sim import Soc, Trap
from socsim.sim.profile import EVENT_COLUMNS
from socsim.sim.traps import TrapKind

DEFAULT_RUN_CYCLES = 100_000_000
"""Cycle budget of ``socsim run`` unless ``--max-cycles`` says otherwise: 1 s of simulated time at 100 MHz,
a few minutes on the host for a runaway loop (``controller.max_cycles`` alone defaults to 2^40)."""


def warn(program) -> None:
    """Print the assembler's warnings of ``program`` on stderr."""
    for w in program.warnings:
        print(f"socsim: warning: {w}", file=sys.stderr)


def cmd_asm(args: argparse.Namespace) -> int:
    program = assemble_file(args.source)
    warn(program)
    if args.listing:
        sys.stdout.write(listing(program))
        return EXIT_OK
    out = args.output or str(Path(args.source).with_suffix(".bin"))
    write_bytes(out, encode(program, args.lines))  # atomic; never through a link, onto a device or a FIFO
    print(f"{args.source}: {len(program.instructions)} instructions, {program.code_bytes()} bytes of code, "
          f"{len(program.symbols)} symbols -> {out}")
    return EXIT_OK


def cmd_disasm(args: argparse.Namespace) -> int:
    text = disassemble(read_binary(args.binary))
    if args.output:
        write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def run_budget(cfg, max_cycles: int | None):
    """``cfg`` with the cycle budget of ``socsim run``: ``--max-cycles`` if given, else the config's
    ``controller.max_cycles`` capped at :data:`DEFAULT_RUN_CYCLES`."""
    budget = max_cycles if max_cycles is not None else min(cfg.controller.max_cycles, DEFAULT_RUN_CYCLES)
    return replace(cfg, controller=replace(cfg.controller, max_cycles=budget))


def _limit_trap(exc: Trap, args: argparse.Namespace) -> Trap:
    """A cycle or wall-clock trap of ``socsim run``, its detail saying how to raise the limit."""
    if exc.kind is TrapKind.TIMEOUT:
        exc.detail += "; give socsim run --max-cycles N to allow more"
    elif exc.kind is TrapKind.WALL_CLOCK:
        exc.detail += f" (--timeout {args.timeout:g} s)"
    exc.args = (exc.message(),)
    return exc


def trap_report(exc: Trap, written: list[str]) -> str:
    """What ``socsim run`` tells after a trap's line: what ran until it, the registers, the files written."""
    lines = []
    if exc.partial is not None:
        r = exc.partial
        lines.append(f"  ran           {r.instructions} instructions in {r.cycles} cycles, {r.energy_pj:.6g} pJ")
    if exc.registers is not None:
        regs = [f"x{i}={v}" for i, v in enumerate(exc.registers) if v]
        lines.append("  registers     " + (" ".join(regs) if regs else "all zero"))
    lines += [f"  wrote         {w}" for w in written]
    return "\n".join(lines)


def write_run_files(args: argparse.Namespace, cfg, result) -> list[str]:
    """Write the run's --trace, --ledger and --json files; returns what was written (one line each)."""
    written = []
    if args.trace:
        n = write_trace(result.timeline, args.trace, cfg.clock_hz, args.trace_cycles)
        written.append(f"trace: {n} unit jobs -> {args.trace}")
    if args.ledger:
        write_text(args.ledger, result.ledger.to_csv(index=False))
        written.append(f"ledger rows -> {args.ledger}")
    if args.json:
        summary = {"cycles": result.cycles, "seconds": result.seconds, "energy_pj": result.energy_pj,
                   "instructions": result.instructions,
                   "components": result.by_component().reset_index().to_dict(orient="records")}
        write_text(args.json, json.dumps(summary, indent=2))
    return written


def cmd_run(args: argparse.Namespace) -> int:
    cfg = run_budget(load_config(args.config), args.max_cycles)
    programs = expand(args.program)
    *before, last = programs
    program = load_program(last)
    warn(program)
    if args.dump and args.timing_only:
        raise InputError("--dump needs the numerics; --timing-only does not compute memory contents")
    opts = run_options(args)
    engine = "reference" if args.profile else opts.engine  # a profile counts pc by pc: the same numbers
    soc = Soc.from_config(cfg, timeline=bool(args.trace), timing_only=opts.timing_only, engine=engine)
    if args.timeout is not None:
        soc.deadline = time.monotonic() + args.timeout
    try:
        for path in before:  # earlier programs set up memories and tiles for the last (NET.init.s, NET.eval.s)
            first = load_program(path)
            warn(first)
            soc.run(first, outputs=())
        profile = soc.start_profile(events=bool(args.trace)) if args.profile else None
        result = soc.run(program)
        if profile is not None and profile.events is not None:  # the trace: the controller and why jobs waited
            result.timeline = pd.DataFrame(profile.events, columns=EVENT_COLUMNS)
    except Trap as exc:
        _limit_trap(exc, args)
        if exc.partial is not None:  # the files cover the run up to the trap
            exc.report = trap_report(exc, write_run_files(args, cfg, exc.partial))
        raise exc from None
    for why in getattr(soc.engine, "fallbacks", ()):
        print(f"socsim: note: {why}", file=sys.stderr)
    print(f"program       {' + '.join(programs)}")
    print(f"config        {cfg.name} ({args.config})" + ("  [timing only: numerics skipped]" if args.timing_only
                                                          else ""))
    print(result_summary(result))
    for name in args.dump or ():
        if name not in result.outputs:
            raise InputError(f"--dump {name}: no such symbol; the program has: {', '.join(result.outputs)}")
        with np.printoptions(precision=5, suppress=True, linewidth=110, threshold=200):
            print(f"\n{name} =\n{result.outputs[name]}")
    for line in write_run_files(args, cfg, result):
        print(f"\n{line}")
    if profile is not None:
        write_text(args.profile, profile.csv_text(program))
        print(f"\nprofile: {len(profile.rows)} instructions -> {args.profile}")
        worst = profile.longest_stall()
        if worst is not None:
            pc, row = worst
            src = program.source_of(pc)
            print(f"longest stall: pc {pc} ({program.describe(pc)}{', ' + str(src) if src else ''}): {row.stall} "
                  f"cycles over {row.count} executions; {row.reasons.most_common(1)[0][0]}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``asm``, ``disasm`` and ``run`` to the CLI's subcommands."""
    p = command(sub, "asm", cmd_asm, "assemble a .s program into a binary")
    p.add_argument("source", help="assembly file (.s)")
    p.add_argument("-o", "--output", help="binary to write (default: SOURCE with .bin)")
    p.add_argument("--listing", action="store_true",
                   help="print per instruction its pc, file:line, source and encoding (hex words) instead")
    p.add_argument("--lines", action="store_true",
                   help="keep the line table in the binary (traps and listings of the binary then cite the source)")

    p = command(sub, "disasm", cmd_disasm, "print the assembly of a binary (re-assembles to the same binary)")
    p.add_argument("binary", help="binary written by 'socsim asm'")
    p.add_argument("-o", "--output", help="write the text here instead of stdout")

    p = command(sub, "run", cmd_run, "run a program (.s or .bin) on the SoC model; print cycles, time and energy")
    p.add_argument("program", nargs="+",
                   help="assembly (.s) or binary (.bin) program; several run in order on one SoC (memories, tiles "
                        "and time carry over, e.g. a compiled NET.init.s then NET.eval.s) and the report, --dump, "
                        "--trace, --ledger, --json and --profile cover the last; a NET.bundle (socsim compile -o) "
                        "stands for the programs it lists")
    add_config(p)
    p.add_argument("--dump", action="append", metavar="SYMBOL", help="print a symbol's final contents")
    p.add_argument("--ledger", type=output_file, metavar="CSV", help="write the energy/activity ledger rows as CSV")
    p.add_argument("--json", type=output_file, metavar="FILE", help="write the summary as JSON")
    p.add_argument("--trace", type=output_file, metavar="FILE",
                   help="write the unit timeline as Chrome trace-event JSON (Perfetto)")
    p.add_argument("--trace-cycles", type=positive_int, metavar="N",
                   help="with --trace: only the jobs starting in the first N cycles")
    add_timing_only(p)
    add_engine(p)
    add_threads(p)
    p.add_argument("--profile", metavar="CSV",
                   help="write per pc: pc, line, instruction, count, cycles, stall_cycles, energy_pj, stall_reason "
                        "(runs on the reference engine); print the instruction that stalled longest; with --trace, "
                        "the trace also has the controller's instructions and each job's issue cycle and waits")
    p.add_argument("--max-cycles", type=positive_int, metavar="N",
                   help=f"trap (exit 3, with the PC) past N cycles (default {DEFAULT_RUN_CYCLES}, or the config's "
                        "controller.max_cycles if lower)")
    p.add_argument("--timeout", type=positive_seconds, metavar="SECONDS",
                   help="trap (exit 3, with the PC) when the run takes longer than this on the host (wall clock)")
