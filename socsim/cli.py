"""Command line: ``socsim asm | disasm | run | presets | config``. ``socsim COMMAND --help`` for each."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from isa import assemble_file, disassemble, read_binary, write_binary
from isa.program import Program
from socsim.argtypes import positive_int, positive_seconds
from socsim.fileio import write_text
from socsim.sim.engines import DEFAULT_ENGINE, ENGINE_HELP, ENGINES
from socsim.sim.timing_only import HELP as TIMING_ONLY_HELP

EXIT_ERROR = 2
EXIT_TRAP = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a Unix tool reports when the reader of its output (``| head``) went away."""
DEFAULT_RUN_CYCLES = 100_000_000
"""Cycle budget of ``socsim run`` unless ``--max-cycles`` says otherwise: 1 s of simulated time at 100 MHz,
a few minutes on the host for a runaway loop (``controller.max_cycles`` alone defaults to 2^40)."""


def _load_program(path: str) -> Program:
    """A program from assembly text (``.s``) or a binary (``.bin``, or any file with the binary magic)."""
    p = Path(path)
    if p.suffix == ".bin" or (p.exists() and p.read_bytes()[:6] == b"SOCSIM"):
        return read_binary(p)
    return assemble_file(p)


def cmd_asm(args: argparse.Namespace) -> int:
    program = assemble_file(args.source)
    out = args.output or str(Path(args.source).with_suffix(".bin"))
    write_binary(program, out)
    print(f"{args.source}: {len(program.instructions)} instructions, {program.code_bytes()} bytes of code, "
          f"{len(program.symbols)} symbols -> {out}")
    return 0


def cmd_disasm(args: argparse.Namespace) -> int:
    text = disassemble(read_binary(args.binary))
    if args.output:
        write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def run_budget(cfg, max_cycles: int | None):
    """``cfg`` with the cycle budget of ``socsim run``: ``--max-cycles`` if given, else the config's
    ``controller.max_cycles`` capped at :data:`DEFAULT_RUN_CYCLES`."""
    budget = max_cycles if max_cycles is not None else min(cfg.controller.max_cycles, DEFAULT_RUN_CYCLES)
    return replace(cfg, controller=replace(cfg.controller, max_cycles=budget))


def _limit_trap(exc, args: argparse.Namespace):
    """A cycle or wall-clock trap of ``socsim run``, its detail saying how to raise the limit."""
    from socsim.sim.traps import Trap, TrapKind
    if exc.kind is TrapKind.TIMEOUT:
        hint = "; give socsim run --max-cycles N to allow more"
    elif exc.kind is TrapKind.WALL_CLOCK:
        hint = f" (--timeout {args.timeout:g} s)"
    else:
        return exc
    return Trap(exc.kind, exc.detail + hint, exc.pc, exc.instruction, exc.cycle, exc.state)


def cmd_run(args: argparse.Namespace) -> int:
    from socsim.config import load_config
    from socsim.sim import Soc, Trap
    cfg = run_budget(load_config(args.config), args.max_cycles)
    program = _load_program(args.program)
    if args.dump and args.timing_only:
        raise ValueError("--dump needs the numerics; --timing-only does not compute memory contents")
    soc = Soc.from_config(cfg, timeline=bool(args.trace), timing_only=args.timing_only, engine=args.engine)
    if args.timeout is not None:
        soc.deadline = time.monotonic() + args.timeout
    try:
        result = soc.run(program)
    except Trap as exc:
        raise _limit_trap(exc, args) from None
    print(f"program       {args.program}")
    print(f"config        {cfg.name} ({args.config})" + ("  [timing only: numerics skipped]" if args.timing_only
                                                          else ""))
    from socsim.report.summary import result_summary
    print(result_summary(result))
    for name in args.dump or ():
        if name not in result.outputs:
            raise KeyError(f"--dump {name}: no such symbol; the program has: {', '.join(result.outputs)}")
        with np.printoptions(precision=5, suppress=True, linewidth=110, threshold=200):
            print(f"\n{name} =\n{result.outputs[name]}")
    if args.trace:
        from socsim.report.trace import write_trace
        n = write_trace(result.timeline, args.trace, cfg.clock_hz, args.trace_cycles)
        print(f"\ntrace: {n} unit jobs -> {args.trace}")
    if args.ledger:
        write_text(args.ledger, result.ledger.to_csv(index=False))
        print(f"\nledger rows -> {args.ledger}")
    if args.json:
        summary = {"cycles": result.cycles, "seconds": result.seconds, "energy_pj": result.energy_pj,
                   "instructions": result.instructions,
                   "components": result.by_component().reset_index().to_dict(orient="records")}
        write_text(args.json, json.dumps(summary, indent=2))
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from socsim.compiler.lower import compile_training
    from socsim.config import load_config
    cfg = load_config(args.config)
    from socsim.compiler import load_graph
    graph = load_graph(args.graph)
    if args.mapping:
        from socsim.compiler.check import mapping_check
        text, _ = mapping_check(graph, cfg, args.train_examples, args.test_examples)
        print(text)
        return 0
    compiled = compile_training(graph, cfg, args.train_examples, args.test_examples)
    print(f"{graph.name} on {cfg.name}: scheme {cfg.train.scheme.value}, batch {cfg.train.batch}, micro-batch "
          f"{compiled.microbatch}, {compiled.batches_per_epoch} batches per epoch")
    print(compiled.placement.table())
    for name in ("init", "train_epoch", "evaluate", "calibrate"):
        prog = getattr(compiled, name)
        if prog is not None:  # calibrate: only for converters with a programmable full scale
            print(f"{name:<12} {len(prog.instructions):>5} instructions {prog.code_bytes():>7} bytes")
    if args.output:
        out = Path(args.output)
        stem = out.with_suffix("")
        for name, path in (("train_epoch", out), ("init", stem.with_suffix(".init.s")),
                           ("evaluate", stem.with_suffix(".eval.s")), ("calibrate", stem.with_suffix(".cal.s"))):
            if name not in compiled.text:
                continue
            write_text(path, compiled.text[name])
            print(f"{name} -> {path}")
    return 0


def preset_description(name: str) -> str:
    """A shipped preset's one-line description: the first line of its TOML file, a ``# `` comment."""
    from socsim.config import PRESET_DIR
    first = (PRESET_DIR / f"{name}.toml").read_text().partition("\n")[0]
    return first[2:].strip() if first.startswith("# ") else ""


def cmd_presets(args: argparse.Namespace) -> int:
    from socsim.config import DEFAULT_PRESET, preset_names
    names = preset_names()
    width = max(map(len, names))
    for name in names:
        mark = "(default) " if name == DEFAULT_PRESET else ""
        print(f"{name:<{width}}  {mark}{preset_description(name)}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from socsim.config import load_config
    from socsim.configtools import to_mapping
    print(json.dumps(to_mapping(load_config(args.config)), indent=2))
    return 0


def cmd_area(args: argparse.Namespace) -> int:
    from socsim.config import load_config
    from socsim.report.summary import area_text
    print(area_text(load_config(args.config)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socsim",
        description="Cycle-level, event-driven simulator of a compute-in-memory SoC that trains neural networks.",
        epilog="Exit status: 0 ok, 2 bad input (file, field or line named), 3 the simulated program trapped.")
    from socsim import __version__
    parser.add_argument("--version", action="version", version=f"socsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(fn=fn)
        return p

    p = add("asm", cmd_asm, "assemble a .s program into a binary")
    p.add_argument("source", help="assembly file (.s)")
    p.add_argument("-o", "--output", help="binary to write (default: SOURCE with .bin)")

    p = add("disasm", cmd_disasm, "print the assembly of a binary (re-assembles to the same binary)")
    p.add_argument("binary", help="binary written by 'socsim asm'")
    p.add_argument("-o", "--output", help="write the text here instead of stdout")

    p = add("run", cmd_run, "run a program (.s or .bin) on the SoC model; print cycles, time and energy")
    p.add_argument("program", help="assembly (.s) or binary (.bin) program")
    p.add_argument("--config", default="wu2023", help="preset name or TOML file (default: wu2023)")
    p.add_argument("--dump", action="append", metavar="SYMBOL", help="print a symbol's final contents")
    p.add_argument("--ledger", metavar="CSV", help="write the energy/activity ledger rows as CSV")
    p.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    p.add_argument("--trace", metavar="FILE", help="write the unit timeline as Chrome trace-event JSON (Perfetto)")
    p.add_argument("--trace-cycles", type=positive_int, metavar="N",
                   help="with --trace: only the jobs starting in the first N cycles")
    p.add_argument("--timing-only", action="store_true", help=TIMING_ONLY_HELP)
    p.add_argument("--engine", choices=sorted(ENGINES), default=DEFAULT_ENGINE, help=ENGINE_HELP)
    p.add_argument("--max-cycles", type=positive_int, metavar="N",
                   help=f"trap (exit 3, with the PC) past N cycles (default {DEFAULT_RUN_CYCLES}, or the config's "
                        "controller.max_cycles if lower)")
    p.add_argument("--timeout", type=positive_seconds, metavar="SECONDS",
                   help="trap (exit 3, with the PC) when the run takes longer than this on the host (wall clock)")

    p = add("compile", cmd_compile, "compile a network graph (.toml or .onnx) to training programs")
    p.add_argument("graph", help="network graph: TOML layer list or ONNX model")
    p.add_argument("--config", default="wu2023", help="preset name or TOML file (default: wu2023)")
    p.add_argument("--mapping", action="store_true",
                   help="print per layer: crossbars, row/col blocks, utilization, MVMs and tile operations per image")
    p.add_argument("-o", "--output", metavar="NET.s",
                   help="write the training-epoch assembly here, and NET.init.s / NET.eval.s (/ NET.cal.s) beside it")
    p.add_argument("--train-examples", type=positive_int, default=4000, help="training set size (default 4000)")
    p.add_argument("--test-examples", type=positive_int, default=1000, help="test set size (default 1000)")

    from socsim.trainrun import add_train_command
    add_train_command(sub)
    from socsim.inferrun import add_infer_command
    add_infer_command(sub)
    from socsim.report.cli import add_report_commands
    add_report_commands(sub)
    from socsim.sweep import add_sweep_command
    add_sweep_command(sub)
    from socsim.drift import add_drift_command
    add_drift_command(sub)

    add("presets", cmd_presets, "list the shipped configuration presets with a one-line description each")
    p = add("area", cmd_area, "print the chip area and leakage of a preset or TOML config, part by part "
                              "(docs/area.md)")
    p.add_argument("config", nargs="?", default="wu2023", help="preset name or TOML file")
    p = add("config", cmd_config, "print a preset or TOML config with every default filled in, as JSON")
    p.add_argument("config", nargs="?", default="wu2023", help="preset name or TOML file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from socsim.signals import EXIT_TERMINATED, Terminated, handle_sigterm
    from socsim.sim.traps import Trap
    restore = handle_sigterm()  # SIGTERM is handled like Ctrl-C
    try:
        code = args.fn(args)
        sys.stdout.flush()  # a closed pipe shows up here rather than at interpreter exit
        return code
    except BrokenPipeError:  # the reader went away (socsim compile ... | head): stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush must not fail again
        except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
            pass
        return EXIT_BROKEN_PIPE
    except Trap as exc:
        print(f"socsim: {exc}", file=sys.stderr)
        return EXIT_TRAP
    except KeyboardInterrupt as exc:
        print(f"socsim: {'terminated' if isinstance(exc, Terminated) else 'interrupted'}; a training run continues "
              "with --resume RUN_DIR from its last checkpoint, a sweep when run again", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except MemoryError:
        print("socsim: error: the host ran out of memory for this input (a size in the config, graph or program is "
              "too large for this machine)", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, KeyError, OSError) as exc:  # IsaError, ConfigError, GraphError, DataError among them
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"socsim: error: {msg}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        restore()


if __name__ == "__main__":
    sys.exit(main())
