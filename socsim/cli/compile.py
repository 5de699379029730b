"""``socsim compile``: a network graph compiled to its training programs (or, ``--infer``, only what inference
needs), or its mapping onto the tiles."""

from __future__ import annotations

import argparse
from pathlib import Path

from isa.bundle import BUNDLE_SUFFIX, bundle_text
from socsim.base.argtypes import positive_int
from socsim.base.exits import EXIT_ERROR, EXIT_OK
from socsim.base.fileio import write_text
from socsim.cli.commands import command
from socsim.cli.options import add_config
from socsim.compiler import load_graph
from socsim.compiler.check import mapping_check
from socsim.compiler.lower.lowering import compile_training
from socsim.config.soc import load_config


def cmd_compile(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    graph = load_graph(args.graph)
    if args.mapping:
        text, plan = mapping_check(graph, cfg, args.train_examples, args.test_examples, args.infer)
        print(text)
        return EXIT_OK if plan.ok else EXIT_ERROR  # the plan printed, and a script sees that it does not fit
    compiled = compile_training(graph, cfg, args.train_examples, args.test_examples, inference=args.infer)
    if args.infer:
        print(f"{graph.name} on {cfg.name}: inference only, micro-batch {compiled.microbatch}")
    else:
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
        written = {}
        for name, path in (("train_epoch", out), ("init", stem.with_suffix(".init.s")),
                           ("evaluate", stem.with_suffix(".eval.s")), ("calibrate", stem.with_suffix(".cal.s"))):
            if name not in compiled.text:
                continue
            if args.infer and name == "evaluate":
                path = out  # no training program: -o names the evaluation program's file
            write_text(path, compiled.text[name])
            written[name] = path
            print(f"{name} -> {path}")
        bundle = stem.with_suffix(BUNDLE_SUFFIX)  # socsim run NET.bundle: init, then eval, on one SoC
        write_text(bundle, bundle_text([written["init"].name, written["evaluate"].name]))
        print(f"init + evaluate -> {bundle}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``compile`` to the CLI's subcommands."""
    p = command(sub, "compile", cmd_compile, "compile a network graph (.toml or .onnx) to training programs")
    p.add_argument("graph", help="network graph: TOML layer list or ONNX model")
    add_config(p)
    p.add_argument("--mapping", action="store_true",
                   help="print per layer: crossbars, row/col blocks, utilization, MVMs and tile operations per image")
    p.add_argument("-o", "--output", metavar="NET.s",
                   help="write the training-epoch assembly here (with --infer: the evaluation program), and "
                        "NET.init.s / NET.eval.s (/ NET.cal.s) beside it, with NET.bundle: init then eval, which "
                        "socsim run NET.bundle runs")
    p.add_argument("--train-examples", type=positive_int, default=4000, help="training set size (default 4000)")
    p.add_argument("--test-examples", type=positive_int, default=1000, help="test set size (default 1000)")
    p.add_argument("--infer", action="store_true",
                   help="compile only what inference needs (init, evaluate, calibrate: no training program, "
                        "gradients, optimizer state or update scratch; the weights' copy in DRAM), as socsim infer "
                        "does; the memory plan (--mapping) and the capacity checks count only that")
