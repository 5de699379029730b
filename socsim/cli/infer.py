"""``socsim infer``: run a graph's evaluation program over a batch of test images and print latency, energy and
throughput per image, TOPS/W and, with a model's weights (an ONNX graph's initializers, ``--weights FILE.npz`` for
a TOML graph, or a training run's state: ``--weights RUN_DIR``), accuracy (mean +- std over ``--repeats``)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from socsim.base.argtypes import positive_int
from socsim.base.errors import InputError
from socsim.base.exits import EXIT_OK
from socsim.base.fileio import output_file, write_text
from socsim.base.locks import reader_lock
from socsim.base.units import fmt_energy, fmt_sig, fmt_time
from socsim.cli.commands import command
from socsim.cli.options import add_config, add_engine, add_threads, add_timing_only, run_options
from socsim.compiler import load_graph
from socsim.config.soc import Datapath, SocConfig, load_config
from socsim.host.data import load_dataset
from socsim.host.inference import PIPELINED_WITH_WEIGHTS, Inference, inference_json, run_inference
from socsim.host.options import DEFAULTS
from socsim.host.parameters import ModelParameters, graph_and_parameters, is_npz
from socsim.report.summary import result_summary
from socsim.runfolder.digests import ACCEPT_EDITS_HELP, check_unedited
from socsim.runfolder.runargs import RunArgs, file_sha256


def _count(value: float) -> str:
    """3 significant digits below 1000, whole numbers with separators above (``344,350``)."""
    return fmt_sig(value) if value < 1000 else f"{value:,.0f}"


def _accuracy(inf: Inference) -> str:
    """``87.30%``, or ``87.10% +- 0.35% (3 read-noise draws)`` with repeats; why it is not measured otherwise."""
    if inf.accuracy is None:
        given = inf.weights or inf.parameters
        return "not measured (" + ("timing only" if given else "no trained weights") + ")"
    if inf.accuracy_std is None:
        return f"{inf.accuracy:.2%}"
    return f"{inf.accuracy:.2%} +- {inf.accuracy_std:.2%} ({len(inf.accuracies)} read-noise draws)"


def _deploy_lines(inf: Inference) -> list[str]:
    """The software baseline and the deploy run, when the model's own weights were programmed."""
    if inf.deploy is None:
        return []
    d = inf.deploy
    lines = []
    if inf.software_accuracy is not None:
        lines.append(f"software      {inf.software_accuracy:.2%} (numpy FP32, the same weights and images)")
    lines.append(f"deploy        {d.cycles:,} cycles ({fmt_time(d.cycles / inf.cfg.clock_hz)}), "
                 f"{fmt_energy(d.energy_pj)}, {inf.deploy_cells_written:,.0f} device writes (init program"
                 f"{', then calibrate' if inf.cfg.train.calibration_images else ''})")
    return lines


def inference_summary(inf: Inference) -> str:
    """The headline lines of an inference job, then the run's summary (per component and per layer)."""
    r, cfg = inf.result, inf.cfg
    source = (f"trained weights of {inf.weights} (epoch {inf.epoch})" if inf.weights else
              f"the model's weights from {inf.parameters}" if inf.parameters else
              "initial weights (give --weights RUN_DIR for trained ones)")
    lines = [f"{inf.graph.name} on {cfg.name}: {inf.images} test images of {inf.dataset}, micro-batch "
             f"{inf.microbatch}, {source}",
             f"accuracy      {_accuracy(inf)}",
             *_deploy_lines(inf),
             f"latency       {fmt_time(inf.latency_per_image_s)} per image ({r.cycles:,} cycles at "
             f"{cfg.clock_hz / 1e6:g} MHz for {inf.images} images)",
             f"throughput    {_count(inf.images_per_s)} images/s",
             f"energy        {fmt_energy(inf.energy_per_image_pj)} per image (dynamic "
             f"{fmt_energy(inf.dynamic_energy_per_image_pj)} + static {fmt_energy(inf.static_energy_per_image_pj)})",
             f"TOPS/W        {fmt_sig(inf.tops_per_w_tile)} tile MVM datapath, {fmt_sig(inf.tops_per_w_chip)} whole "
             f"chip ({inf.tile_macs / inf.images:,.0f} tile MACs per image)",
             "",
             "the evaluation program on the chip:",
             result_summary(r)]
    return "\n".join(lines)


def _inputs(args: argparse.Namespace) -> tuple[SocConfig, object, str, str | None, int | None, int | None,
                                               ModelParameters | None]:
    """(config, graph, dataset name, data path, microbatch, images, model parameters) from the arguments, or from
    the run folder of ``--weights`` (its saved config.json and run.json: by default its test images; a GRAPH given
    must be the run's graph)."""
    if args.weights is None or is_npz(args.weights):
        if not args.graph:
            raise InputError("socsim infer needs a GRAPH (or --weights RUN_DIR)")
        graph, params = graph_and_parameters(args.graph, args.weights, args.weight_percentile)
        return (load_config(args.config or DEFAULTS.config), graph, args.dataset or DEFAULTS.dataset,
                args.data_path, args.microbatch, args.images, params)
    run_dir = Path(args.weights)
    check_unedited(run_dir, args.accept_edits)
    run = RunArgs.load(run_dir)
    if args.config is not None:
        raise InputError(f"--config with --weights {run_dir}: the weights were trained on the run's own config "
                         f"({run_dir / 'config.json'}), which infer uses; leave --config out")
    if args.microbatch is not None and run.microbatch is not None and args.microbatch != run.microbatch:
        raise InputError(f"--microbatch {args.microbatch}: the run {run_dir} trained with micro-batch "
                         f"{run.microbatch}, whose buffers its checkpoint holds")
    graph_path = args.graph or run.graph
    if run.graph_sha256 is not None and Path(graph_path).is_file() and file_sha256(graph_path) != run.graph_sha256:
        raise InputError(f"not the graph the run {run_dir} was trained on (its SHA-256 differs from "
                         f"run.json's)", file=graph_path)
    return (run.saved_config(run_dir), load_graph(graph_path), args.dataset or run.dataset,
            args.data_path or run.data_path, args.microbatch or run.microbatch, args.images or run.test_examples, None)


def pipelined(cfg: SocConfig, weights: str | None) -> SocConfig:
    """``cfg`` with ``compiler.datapath = pipelined`` (``--pipelined``); refused with the trained state of a run
    compiled for the sequential datapath, whose memory layout differs."""
    if weights is not None and cfg.compiler.datapath is not Datapath.PIPELINED:
        raise InputError(PIPELINED_WITH_WEIGHTS.format(datapath=cfg.compiler.datapath.value))
    return replace(cfg, compiler=replace(cfg.compiler, datapath=Datapath.PIPELINED))


def cmd_infer(args: argparse.Namespace) -> int:
    if args.weights is None or is_npz(args.weights):
        return _infer(args)
    with reader_lock(args.weights, "run folder"):  # no train --force may replace it meanwhile
        return _infer(args)


def _infer(args: argparse.Namespace) -> int:
    cfg, graph, dataset, data_path, microbatch, images, params = _inputs(args)
    run_dir = args.weights if params is None else None
    if args.pipelined:
        cfg = pipelined(cfg, run_dir)
    data = load_dataset(dataset, data_path, cfg.seed)
    inf = run_inference(graph, cfg, data, images, microbatch, run_dir, run_options(args), params, args.repeats)
    print(inference_summary(inf))
    if args.ledger:
        write_text(args.ledger, inf.result.ledger.to_csv(index=False))
        print(f"\nledger rows -> {args.ledger}")
    if args.json:
        write_text(args.json, json.dumps(inference_json(inf), indent=2))
        print(f"summary -> {args.json}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``infer`` to the CLI's subcommands."""
    p = command(sub, "infer", cmd_infer, "run a network's inference (evaluation program) on the chip; latency, "
                "energy, throughput and TOPS/W per image",
                description="Compile GRAPH, program its weights (an ONNX model's initializers, a .npz file of "
                                   "a TOML graph's layers with --weights FILE.npz, the trained state of a run folder "
                                   "with --weights RUN_DIR, else the graph's initial ones), run the evaluation "
                                   "program over a batch of test images and print latency and energy per image, "
                                   "throughput, TOPS/W of the tiles and of the chip, the area, and accuracy when "
                                   "trained weights are given (with a model's weights: beside the numpy baseline's, "
                                   "and the deploy run that programmed them). docs/api.md lists the .npz keys.")
    p.add_argument("graph", nargs="?", help="network graph (.toml or .onnx); with --weights, the run's by default")
    add_config(p, default=False, help_text=f"preset name or TOML file (default: {DEFAULTS.config}; with --weights "
                                           "the run's)")
    p.add_argument("--weights", metavar="RUN_DIR|FILE.npz",
                   help="a run folder of socsim train (infer with its trained state), or a .npz of the graph's "
                        "parameters (keys LAYER.weight, LAYER.bias, BN.scale, BN.bias, BN.mean, BN.var in PyTorch "
                        "layout)")
    p.add_argument("--accept-edits", action="store_true", help=ACCEPT_EDITS_HELP)
    p.add_argument("--weight-percentile", type=float, default=100.0, metavar="P",
                   help="a model's weights: each layer's P-th percentile of |w| is mapped onto the devices' largest "
                        "weight (tiles.physics.w_max), larger ones clipped (default 100: the largest |w|)")
    p.add_argument("--repeats", type=positive_int, default=1,
                   help="evaluate N times, each run with its own read-noise draws; accuracy as mean +- std")
    p.add_argument("--dataset", help=f"test images from this dataset (default: {DEFAULTS.dataset}, or the run's)")
    p.add_argument("--data-path", help="directory of the dataset files (mnist, cifar10)")
    p.add_argument("--images", type=positive_int,
                   help="the first N test images (default: the whole test set, or the run's test images); the last "
                        "micro-batch is filled with blank images that never count")
    p.add_argument("--microbatch", type=positive_int, help="images per pass through the network (default: largest "
                                                           "that fits; with --weights the run's)")
    p.add_argument("--pipelined", action="store_true",
                   help="the pipelined datapath (compiler.datapath = pipelined): a layer's blocks convert "
                        "concurrently, each tile streams its inputs from SRAM and chains the partial sums; same "
                        "numbers as the sequential program, other timing")
    add_timing_only(p, "; accuracy is not measured")
    add_engine(p)
    add_threads(p)
    p.add_argument("--ledger", metavar="CSV", type=output_file, help="write the evaluation run's ledger rows as CSV")
    p.add_argument("--json", metavar="FILE", type=output_file, help="write the headline numbers as JSON")
