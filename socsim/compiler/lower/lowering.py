"""Lowering: a graph -> the ISA programs that initialise, train and evaluate it on the SoC.

The programs share one memory layout (the same symbol declarations in the same order):
``init`` (weights' digital copy -> write-verified onto the tiles), ``train_epoch`` (loops over
batches and micro-batches: DMA in, forward on the tiles, loss gradient, backward, optimizer,
accumulate, transfer to the devices), ``evaluate`` (forward, argmax, count correct) and, when the
converters have a programmable full scale, ``calibrate`` (lower.calibrate). The host
loads the dataset into the DRAM symbols ``train_x``, ``train_y``, ``test_x``, ``test_y`` before
running them (socsim.host.training does).

:func:`lowering` composes the compiler of one micro-batch size from named parts (docs/compiler.md, "The parts"):
the network's facts (``lower.network``), the memory layout (``lower.plan``), the emitters (``lower.errors``,
``lower.blocks``, ``lower.forward``, ``lower.backward``, ``lower.update``, ``lower.calibrate``,
``lower.pipelined``) and the programs (``lower.programs``); :func:`compile_training` picks the micro-batch and
assembles the programs."""

from __future__ import annotations

from dataclasses import dataclass, replace

from isa.program import Program
from socsim.compiler.emit import Asm, Buffer
from socsim.compiler.graph import Graph, GraphError
from socsim.compiler.lower.assembly import assemble_programs
from socsim.compiler.lower.backward import Backward
from socsim.compiler.lower.blocks import Blocks
from socsim.compiler.lower.bnstats import bnstats_program, plan_statistics
from socsim.compiler.lower.calibrate import Calibration
from socsim.compiler.lower.compensate import CompensationBuffers, compensate_program, plan_compensation
from socsim.compiler.lower.errors import ErrorQuantiser
from socsim.compiler.lower.forward import Forward
from socsim.compiler.lower.network import Network, network
from socsim.compiler.lower.pipelined import PipelinedEvaluation
from socsim.compiler.lower.plan import MemoryLayout, StatisticsBuffers, check_in_offset_range, plan_memory
from socsim.compiler.lower.programs import (
    calibrate_program,
    declare_data,
    eval_program,
    init_program,
    train_micro,
    train_program,
)
from socsim.compiler.lower.tensors import Tensors
from socsim.compiler.lower.update import Update
from socsim.compiler.mapping.placement import Placement
from socsim.compiler.memory.plan import CapacityError, MemoryPlan, fit, imem_use, space_uses
from socsim.compiler.memory.shortfalls import every_shortfall, text_code_bytes
from socsim.compiler.memory.staging import StagingPlan
from socsim.config.soc import Datapath, SocConfig, Staging, TrainConfig

STAGED_NOTE = "even with activations and gradients staged through DRAM (compiler.staging)"
"""What a CapacityError adds when the staged plan does not fit either."""


@dataclass(frozen=True)
class Compiled:
    """The three programs of a network and the facts the host needs to drive them."""

    init: Program
    train_epoch: Program | None
    """None when compiled for inference only (``compile_training(..., inference=True)``)."""
    evaluate: Program
    calibrate: Program | None
    """Sets every forward block's converter full scale from its readings (None: the converters are not
    calibrated, socsim.compiler.lower.calibrate.calibrates)."""
    microbatch: int
    batches_per_epoch: int
    test_examples: int
    placement: Placement
    text: dict[str, str]
    """Readable assembly of each program, by name."""
    memory: MemoryPlan
    """What the programs need of each on-chip memory (``socsim compile --mapping`` prints it)."""
    logits: tuple[str, int, int]
    """Where ``evaluate`` leaves the last micro-batch's logits: (symbol, first word in it, words)."""
    staging: StagingPlan | None = None
    """How activations and gradients are staged through DRAM (None: not staged, every tensor has its own symbol)."""
    test_slots: int = 0
    """Images the evaluation program runs: ``test_examples`` rounded up to whole micro-batches. The last micro-batch
    is padded with blank images labelled -1 (never a hit), so every test image is evaluated whatever the
    micro-batch, and accuracy = hits / ``test_examples``."""

    @property
    def padding(self) -> int:
        """Blank images that fill the last test micro-batch."""
        return max(self.test_slots - self.test_examples, 0)
    compensate: Program | None = None
    """Global drift compensation (socsim.compiler.lower.compensate; None: not compiled)."""
    bnstats: Program | None = None
    """The BatchNorm statistics re-estimated on the chip (socsim.compiler.lower.bnstats; None: not compiled)."""


@dataclass(frozen=True)
class Lowering:
    """The compiler of one micro-batch size, as named parts: the network's facts, the memory layout, and the
    emitters composed with them (each given what it uses; none calls one built after it)."""

    network: Network
    asm: Asm
    """The assembly writer: the declared symbols (``asm.buffers``) and the program being emitted."""
    layout: MemoryLayout
    tensors: Tensors
    """Where the activations, gradients and padded copies are at each step (staged: views of the pool)."""
    errors: ErrorQuantiser
    blocks: Blocks
    forward: Forward
    backward: Backward
    update: Update
    calibration: Calibration | None
    """The calibration's readings and scales (None: the programs do not calibrate)."""
    reading_forward: Forward | None
    """The forward pass whose blocks record the calibration's readings."""
    pipelined: PipelinedEvaluation | None
    """The pipelined evaluation (None: sequential datapath)."""
    compensation: CompensationBuffers | None = None
    """Global drift compensation's words (None: not compiled)."""
    statistics: StatisticsBuffers | None = None
    """The ``bnstats`` program's words (None: not compiled)."""

    @property
    def logits(self) -> Buffer:
        """Where ``evaluate`` leaves the micro-batch's logits."""
        net = self.network
        if self.pipelined is not None:
            return self.pipelined.plan.layouts[net.logits].buf
        return self.tensors.final_output(net.logits)

    def programs(self) -> dict[str, str]:
        """The text of every program, in emission order (the DRAM data declared first). Call it once: the programs
        share the writer's layer tags and labels, so a second emission would number them on."""
        net, asm, acts, tensors = self.network, self.asm, self.layout.activations, self.tensors
        if not net.inference:  # inference: declared before the memory plan (lowering)
            declare_data(asm, net, tensors)
        texts = {"init": init_program(asm, net, self.layout.parameters.weight_copy, self.blocks)}
        if not net.inference:
            texts["train_epoch"] = _strip_init(train_program(asm, net, acts, tensors, self.forward, self.backward,
                                                             self.update))
        texts["evaluate"] = _strip_init(eval_program(asm, net, acts, tensors, self.logits, self.forward,
                                                     self.pipelined))
        if self.calibration is not None:
            texts["calibrate"] = _strip_init(calibrate_program(asm, net, tensors, self.reading_forward,
                                                               self.calibration))
        if self.compensation is not None:
            texts["compensate"] = _strip_init(compensate_program(asm, net, self.layout.tiles, self.compensation))
        if self.statistics is not None:
            texts["bnstats"] = _strip_init(bnstats_program(asm, net, self.tensors,
                                                           replace(self.forward, statistics=self.statistics),
                                                           self.statistics))
        return texts


def lowering(graph: Graph, cfg: SocConfig, train: TrainConfig, microbatch: int, n_train: int,
             n_test: int, staged: bool = False, weight_scale: dict[str, float] | None = None,
             inference: bool = False, compensation: bool = False, bn_images: int = 0) -> Lowering:
    """Plan the buffers of micro-batch ``microbatch`` and compose the emitters (a GraphError, or a CapacityError
    naming the memory, if it cannot); ``staged``: activations and gradients staged through DRAM, their SRAM pool
    planned from a recording of the training micro-batch (socsim.compiler.lower.tensors); ``weight_scale``: the
    layers' weight scales, given (socsim.compiler.lower.network.network)."""
    net = network(graph, cfg, train, microbatch, n_train, n_test, staged, weight_scale, inference, compensation,
                  bn_images)
    asm = Asm(graph.name)
    if inference:
        declare_data(asm, net, None)
    layout = plan_memory(net, asm)
    gdc = plan_compensation(net, asm) if compensation else None
    statistics = plan_statistics(net, asm) if bn_images else None
    acts, params, scratch = layout.activations, layout.parameters, layout.scratch
    tensors = Tensors(asm, net, layout.tensor_names(), layout.tensor_buffers())
    errors = ErrorQuantiser(asm, net, layout.errors)
    blocks = Blocks(asm, net, layout.tiles, acts.input_scale, params.weight_copy, scratch.block_target,
                    scratch.block_mask, errors, drift_scale=None if gdc is None else gdc.scale)
    forward = Forward(asm, net, tensors, params, scratch, blocks)
    backward = Backward(asm, net, acts, tensors, params, scratch, blocks, errors)
    if staged:
        sram_over = not next(u for u in space_uses(asm, cfg) if u.space == "sram").ok
        tensors.stage(lambda: train_micro(asm, net, acts, tensors, forward, backward), sram_over)
        check_in_offset_range(net, [tensors.pool])
    update = Update(asm, net, params.weight_copy, scratch.xfer_target, scratch.xfer_mask, blocks)
    calibration = Calibration(asm, net, layout.calibration, acts.input_scale) if layout.calibration.enabled else None
    reading_forward = (replace(forward, blocks=replace(blocks, readings=calibration))
                       if calibration is not None else None)
    pipelined = (PipelinedEvaluation(asm, net, acts, params, layout.pipeline)
                 if layout.pipeline is not None else None)
    return Lowering(net, asm, layout, tensors, errors, blocks, forward, backward, update, calibration,
                    reading_forward, pipelined, gdc, statistics)


def _strip_init(text: str) -> str:
    """The same symbol declarations without initial data (so reloading keeps the trained state)."""
    out = []
    for line in text.splitlines():
        if line.startswith(".sym"):
            for marker in (" uniform ", " = "):
                line = line.split(marker)[0]
        out.append(line)
    return "\n".join(out) + "\n"


def compile_training(graph: Graph, cfg: SocConfig, n_train: int, n_test: int,
                     microbatch: int | None = None, weight_scale: dict[str, float] | None = None,
                     inference: bool = False, compensation: bool = False, bn_images: int = 0) -> Compiled:
    """Compile ``graph`` for training with ``cfg.train`` on ``n_train`` / ``n_test`` examples (:func:`_compile`);
    a graph that does not fit is one CapacityError listing every field to raise and its least value
    (socsim.compiler.memory.shortfalls). ``inference``: only what inference needs (``init``, ``evaluate``,
    ``calibrate``; socsim.compiler.lower.network.Network.inference), so the capacity checks count only that;
    ``compensation`` adds global drift compensation to them (socsim.compiler.lower.compensate), ``bn_images`` the
    BatchNorm statistics re-estimated from that many training images (socsim.compiler.lower.bnstats)."""
    key = (id(graph), cfg, n_train, n_test, microbatch, inference, compensation, bn_images)
    known = _SHORTFALLS.get(key) if weight_scale is None else None
    if known is not None and known[0] is graph:  # the same graph object failed here just before
        again = CapacityError(str(known[1]), known[1].space)
        again.needs = dict(known[1].needs)
        raise again from None
    try:
        return _compile(graph, cfg, n_train, n_test, microbatch, weight_scale, inference, compensation, bn_images)
    except CapacityError as exc:
        # the least values are those of the smallest micro-batch (the last one tried): search with it alone
        found = every_shortfall(exc, cfg, lambda c: _compile(graph, c, n_train, n_test, microbatch or 1,
                                                             weight_scale, inference, compensation, bn_images,
                                                             probe=True))
        if weight_scale is None:
            if len(_SHORTFALLS) >= 16:
                _SHORTFALLS.clear()
            _SHORTFALLS[key] = (graph, found)
        raise found from None


_SHORTFALLS: dict[tuple, tuple[Graph, CapacityError]] = {}
"""The last capacity errors, by graph object and arguments (the mapping check and the compiler ask in turn)."""


def _compile(graph: Graph, cfg: SocConfig, n_train: int, n_test: int,
             microbatch: int | None = None, weight_scale: dict[str, float] | None = None,
             inference: bool = False, compensation: bool = False, bn_images: int = 0,
             probe: bool = False) -> Compiled | None:
    """Compile ``graph`` for training with ``cfg.train`` on ``n_train`` / ``n_test`` examples.

    The micro-batch is the largest divisor of the batch whose buffers fit the SRAMs (or ``microbatch``); a graph
    that fits no micro-batch, or whose programs do not fit the instruction memory, is a CapacityError naming the
    memory and the config field to raise (socsim.compiler.memory.plan). ``weight_scale`` gives each weight layer's
    alpha (digital weight units per crossbar weight unit) for weights brought from outside (socsim.host.parameters).
    ``probe``: only whether it fits (the programs' sizes counted from their texts, not assembled; None if it does).
    """
    t = cfg.train
    if n_train < t.batch:
        raise GraphError(f"{n_train} training examples are fewer than one batch of {t.batch}")
    candidates = [microbatch] if microbatch else [m for m in range(t.batch, 0, -1) if t.batch % m == 0]

    def plan(staged: bool):
        return fit(lambda m: lowering(graph, cfg, t, m, n_train, -(-n_test // m) * m, staged, weight_scale,
                                      inference, compensation, bn_images),
                   candidates, cfg, graph.name, STAGED_NOTE if staged else "")
    staging = cfg.compiler.staging
    if inference:  # staging is planned from the training micro-batch; the evaluation keeps its tensors in SRAM
        low, uses = plan(False)
    elif staging is Staging.AUTO:
        try:
            low, uses = plan(False)
        except CapacityError as exc:
            # staging shrinks the data SRAM's share only, and the pipelined layouts are not staged: the error stands
            if exc.space != "sram" or cfg.compiler.datapath is Datapath.PIPELINED:
                raise
            low, uses = plan(True)
    else:
        low, uses = plan(staging is Staging.ALWAYS)
    net = low.network
    texts = low.programs()
    if probe:
        programs = {}
        imem = imem_use({k: text_code_bytes(v) for k, v in texts.items()}, cfg)
    else:
        programs = assemble_programs(graph, texts)
        imem = imem_use({k: p.code_bytes() for k, p in programs.items()}, cfg)
    if not imem.ok:
        note = f" {STAGED_NOTE}" if net.staged else ""
        raise CapacityError(f"graph {graph.name!r} does not fit {cfg.name}{note}: "
                            f"{imem.problem(cfg, net.microbatch)}")
    if probe:
        return None
    logits = low.logits
    memory = MemoryPlan(net.microbatch, (*uses, imem), staged=low.tensors.staged_words)
    return Compiled(programs["init"], programs.get("train_epoch"), programs["evaluate"], programs.get("calibrate"),
                    net.microbatch, n_train // t.batch, n_test, net.placement, texts, memory,
                    (logits.name, logits.base, net.microbatch * net.classes), low.tensors.plan, net.n_test,
                    programs.get("compensate"), programs.get("bnstats"))


def memory_plan(graph: Graph, cfg: SocConfig, n_train: int, n_test: int,
                microbatch: int | None = None, inference: bool = False) -> MemoryPlan:
    """The memory plan :func:`compile_training` makes, or why it cannot make one (``MemoryPlan.problem``): the same
    code path, so the mapping check and the compiler agree."""
    try:
        return compile_training(graph, cfg, n_train, n_test, microbatch, inference=inference).memory
    except CapacityError as exc:
        return MemoryPlan(0, (), str(exc))
    except GraphError as exc:
        return MemoryPlan(0, (), str(exc), fits=True)
