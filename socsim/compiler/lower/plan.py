"""The memory plan of the lowering: every buffer the programs use, declared in a fixed order, as frozen records.

:func:`plan_memory` runs the planning steps in the order that fixes the addresses (each declares its symbols into
the :class:`~socsim.compiler.emit.Asm`, which lays them out in declaration order):

1. :func:`plan_activations` - activations, gradients, labels, counters, input scales, the batch range;
2. :func:`plan_parameters` - each layer with parameters declares its own (weight copies and optimizer state,
   biases, im2col bands and pads, batch-norm state: ``ParamLayer.plan_parameters``);
3. (pipelined datapath) :func:`~socsim.compiler.lower.pipeline_plan.plan_pipeline` - what the pipelined
   evaluation needs (no symbols yet);
4. :func:`plan_scratch` - the row sum, the gradient sum and one shared scratch symbol (im2col bands, transfer and
   block scratch, the pipelined activations: never live together);
5. :func:`~socsim.compiler.lower.errors.plan_errors` - FP4's scale words and even copy;
6. :func:`plan_tiles` - each tile's input and output buffers (and partial-sum slots);
7. :func:`~socsim.compiler.lower.calibrate.plan_calibration` - the calibration's histograms;
8. (pipelined) :func:`~socsim.compiler.lower.pipeline_plan.place_pipeline` - the pipelined plan's buffers;

then :func:`check_indexed`. The result, :class:`MemoryLayout`, is what the emitters are given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from socsim.compiler.emit import OFFSET_RANGE, Asm, Buffer, f32
from socsim.compiler.graph import Input
from socsim.compiler.layers.conv2d import ConvGeometry
from socsim.compiler.lower.calibrate import CalibrationBuffers, plan_calibration
from socsim.compiler.lower.errors import ErrorBuffers, plan_errors
from socsim.compiler.lower.network import Network, initial_input_scale, param_nodes, row_bands
from socsim.compiler.lower.pipeline_plan import PipelineNeeds, PipelinePlan, place_pipeline, plan_pipeline
from socsim.compiler.lower.tensors import TensorNames
from socsim.compiler.memory.plan import CapacityError

COL_BUDGET_WORDS = 4096
"""Largest im2col band kept in SRAM at once (words), or :data:`COL_BUDGET_SHARE` of a larger SRAM; at least
one output position's column always fits."""
COL_BUDGET_SHARE = 64
"""The im2col band may take 1/64 of the data SRAM when that exceeds COL_BUDGET_WORDS (SRAMs over 8 Mbit)."""


@dataclass(frozen=True)
class ActivationBuffers:
    """Step 1: what one micro-batch's forward and backward pass read and write, and the counters."""

    output: dict[str, Buffer]
    """``a_NODE``: per node but the loss, its output for the micro-batch (flatten, and a relu that is its input's
    only reader, share their input's buffer)."""
    gradient: dict[str, Buffer]
    """``g_NODE``: per node with weights upstream, d(loss)/d(its output) (shared along an aliased chain)."""
    labels: Buffer
    predictions: Buffer
    step: Buffer
    """Optimizer steps so far."""
    correct: Buffer
    """Correct test predictions."""
    hits: Buffer
    """Correct ones of one micro-batch."""
    input_scale: dict[str, Buffer]
    """``inscale_LAYER``: each weight layer's DAC input scale (value per code); the calibrate program may reset it."""
    batch_range: Buffer
    """[first, end) of the batches one run of train_epoch trains (the host writes it; socsim.host.training)."""
    shared_gradients: tuple[str, ...]
    """Nodes whose gradient sums several consumers' contributions (zeroed before the backward pass)."""


@dataclass(frozen=True)
class ParameterBuffers:
    """Step 2: the weights' digital copies, the convolutions' bands and padded copies.

    The optimizer state is declared here too and named by layer: ``m_``, ``v_``, ``acc_``, ``dw_`` (per weight),
    ``b_``, ``mb_``, ``vb_``, ``db_`` (per bias), ``gb_``, ``run_``, ``mgb_``, ``vgb_``, ``dgb_``, ``xhat_``,
    ``stats_`` (per batch norm)."""

    weight_copy: dict[str, Buffer]
    """``w_LAYER``: the FP32 master copy of each weight layer (R, C), in digital weight units."""
    bands: dict[str, tuple[int, int]]
    """Per convolution: its band, (output rows, output positions per row) one MVM instruction covers."""
    vectors: dict[str, int]
    """Per weight layer: vectors per MVM instruction (the band's positions, or the micro-batch)."""
    band_words: dict[str, int]
    """Words of the largest band of any convolution: ``col`` (im2col rows), ``ycol`` (outputs), ``dcol`` (errors)."""
    pad: dict[str, Buffer]
    """``pad_CONV``: a padding convolution's zero-padded input."""
    gradient_pad: dict[str, Buffer]
    """``gpad_CONV``: the (padded) input gradient a convolution builds before adding it to its input's."""
    xhat: dict[str, Buffer]
    """``xhat_BN``: a batch norm's normalised activations (written forward, read backward)."""


@dataclass(frozen=True)
class ScratchBuffers:
    """Step 4: buffers of one instruction sequence, and the views of the shared ``scratch`` symbol."""

    rowsum: Buffer
    """A bias gradient's column sums."""
    gradient_sum: Buffer | None
    """``gtmp``: one consumer's contribution to a shared gradient (None: no node has several consumers)."""
    im2col: Buffer | None
    """``col``: one band's im2col rows (None: no convolution)."""
    band_outputs: Buffer | None
    """``ycol``: one band's outputs, (position, channel)."""
    band_errors: Buffer | None
    """``dcol``: one band's output errors, (position, channel)."""
    xfer_target: Buffer
    """A layer's transfer: the weights (or pulses) to write."""
    xfer_mask: Buffer
    """A layer's transfer: where to write them."""
    block_target: Buffer
    """One block's weights on their way to the tile."""
    block_mask: Buffer
    """One block's write mask."""
    pipelined: dict[str, Buffer]
    """The pipelined evaluation's SRAM buffers by :attr:`PipelineNeeds.sram` name (empty when sequential)."""


@dataclass(frozen=True)
class TileBuffers:
    """Step 6: per tile, the words of its buffer the programs use."""

    tile_in: dict[int, Buffer]
    """The MVM inputs (``tinT``)."""
    tile_out: dict[int, Buffer]
    """The MVM outputs (``toutT``)."""
    slots: dict[int, Buffer]
    """The pipelined program's partial-sum slots (``psT``, sharing ``tbufT`` with the two above)."""


@dataclass(frozen=True)
class MemoryLayout:
    """Every buffer of the programs, by the step that declares it."""

    activations: ActivationBuffers
    parameters: ParameterBuffers
    scratch: ScratchBuffers
    errors: ErrorBuffers
    tiles: TileBuffers
    calibration: CalibrationBuffers
    pipeline: PipelinePlan | None
    """The pipelined evaluation's plan (None: sequential datapath)."""

    def tensor_names(self) -> TensorNames:
        """Which tensor (by symbol name) holds each activation, gradient, padded copy and normalised activation."""
        acts, params = self.activations, self.parameters
        every = {b.name: b.words for group in (acts.output, acts.gradient, params.pad, params.gradient_pad,
                                               params.xhat) for b in group.values()}
        return TensorNames({n: b.name for n, b in acts.output.items()}, {n: b.name for n, b in acts.gradient.items()},
                           {n: b.name for n, b in params.pad.items()},
                           {n: b.name for n, b in params.gradient_pad.items()},
                           {n: b.name for n, b in params.xhat.items()}, every)

    def tensor_buffers(self) -> dict[str, Buffer]:
        """Every tensor's buffer by its name: its own symbol (unstaged) or an undeclared placeholder (staged)."""
        acts, params = self.activations, self.parameters
        return {b.name: b for group in (acts.output, acts.gradient, params.pad, params.gradient_pad, params.xhat)
                for b in group.values()}


@dataclass(frozen=True)
class StatisticsBuffers:
    """The ``bnstats`` program's words (socsim.compiler.lower.bnstats; declared after every other buffer, so the other
    programs' layout stays)."""

    batch: dict[str, Buffer]
    """``bns_batch_NAME``: one micro-batch's [mean, unbiased variance] per channel (``bnfwd``'s running statistics,
    momentum 1; private to the micro-batch)."""
    total: dict[str, Buffer]
    """``bns_sum_NAME``: their sum over the micro-batches (reduced in micro-batch order)."""
    xhat: Buffer
    """``bns_xhat``: the normalised activations ``bnfwd`` writes (scratch: nothing reads them)."""
    stats: Buffer
    """``bns_stats``: [mean, 1 / std] ``bnfwd`` writes (scratch)."""


def tensor(net: Network, asm: Asm, name: str, words: int) -> Buffer:
    """A per-micro-batch tensor: its own SRAM symbol, or (staged) a placeholder the staging plan places in the pool
    (socsim.compiler.lower.tensors)."""
    return Buffer(name, "sram", max(1, words)) if net.staged else asm.buffer(name, "sram", words)


def plan_memory(net: Network, asm: Asm) -> MemoryLayout:
    """Declare every buffer of the programs into ``asm`` (the order fixes the addresses), then check the indexed
    ones lie in the operand offset range."""
    activations = plan_activations(net, asm)
    parameters = plan_parameters(net, asm)
    needs = plan_pipeline(net, parameters.bands, parameters.vectors.__getitem__) if net.pipelined else None
    scratch = plan_scratch(net, asm, activations, parameters, needs)
    linear = [net.microbatch * net.graph.weight_shape(n.name)[1] for n in net.graph.weight_nodes()
              if n.name not in parameters.bands]  # the layers whose errors are not banded
    errors = (ErrorBuffers(None, None) if net.inference else
              plan_errors(net, asm, max(linear + [parameters.band_words.get("dcol", 0)])))
    tiles = plan_tiles(net, asm, parameters, needs)
    calibration = plan_calibration(net, asm)
    pipeline = (place_pipeline(net, needs, scratch.pipelined, activations.output, tiles.slots)
                if needs is not None else None)
    layout = MemoryLayout(activations, parameters, scratch, errors, tiles, calibration, pipeline)
    check_indexed(net, asm, layout)
    return layout


def plan_activations(net: Network, asm: Asm) -> ActivationBuffers:
    a, m = asm, net.microbatch
    output: dict[str, Buffer] = {}
    gradient: dict[str, Buffer] = {}
    for node in net.order[:-1]:
        words = m * net.size(node.name)
        inp = node.inputs[0] if node.inputs else None
        alias = inp is not None and (node.layer.view or (
            node.layer.in_place and net.fanout[inp] == 1
            and not isinstance(net.graph.node(inp).layer, Input)))
        output[node.name] = output[inp] if alias else tensor(net, a, f"a_{node.name}", words)
        if net.weighted[node.name] and not net.inference:
            shared = alias and net.fanout[inp] == 1 and net.weighted[inp]
            gradient[node.name] = gradient[inp] if shared else tensor(net, a, f"g_{node.name}", words)
    labels = a.buffer("labels", "sram", m)
    predictions = a.buffer("pred", "sram", m)
    step = a.buffer("step", "sram", 1)
    correct = a.buffer("correct", "sram", 1)
    hits = a.buffer("hits", "sram", 1)
    input_scale = {n.name: a.buffer(f"inscale_{n.name}", "sram", 1, f"= {f32(initial_input_scale(net, n))}")
                   for n in net.graph.weight_nodes()}
    batch_range = a.buffer("batches", "sram", 2, f"= 0, {net.n_train // net.train.batch}")
    return ActivationBuffers(output, gradient, labels, predictions, step, correct, hits, input_scale, batch_range,
                             tuple(n for n in gradient if net.fanout[n] > 1))


@dataclass
class ParameterPlanning:
    """What the layers with parameters declare their buffers into (``ParamLayer.plan_parameters``): the assembler,
    the network and the tables of :class:`ParameterBuffers` being filled."""

    net: Network
    asm: Asm
    weight_copy: dict[str, Buffer] = field(default_factory=dict)
    bands: dict[str, tuple[int, int]] = field(default_factory=dict)
    band_words: dict[str, int] = field(default_factory=dict)
    pad: dict[str, Buffer] = field(default_factory=dict)
    gradient_pad: dict[str, Buffer] = field(default_factory=dict)
    xhat: dict[str, Buffer] = field(default_factory=dict)
    crossbars: int = 0
    """Crossbar layers declared so far (the k-th draws its initial weights with ``init_seed + k``)."""

    def tensor(self, name: str, words: int) -> Buffer:
        """A per-micro-batch tensor (:func:`tensor`)."""
        return tensor(self.net, self.asm, name, words)

    def im2col_band(self, name: str, g: ConvGeometry) -> tuple[int, int]:
        """A convolution's band (output rows, positions per row): the largest that fits the im2col budget and half
        a tile buffer; the largest band's words are kept in ``band_words``."""
        net, cfg = self.net, self.net.cfg
        rows = g.cin * g.kh * g.kw
        max_nr = max(p.rows for p in net.placement.blocks_of(name))
        max_nc = max(p.cols for p in net.placement.blocks_of(name))
        if net.on_arrays:  # transposed reads swap the two halves' roles
            max_nr = max_nc = max(max_nr, max_nc)
        half = cfg.tiles.buffer_words // 2  # input and output halves of a tile buffer
        budget = max(COL_BUDGET_WORDS, cfg.space_words()["sram"] // COL_BUDGET_SHARE)

        def fits(positions: int) -> bool:
            return (positions * rows <= max(budget, rows) and positions * max_nr <= half
                    and positions * max_nc <= half)
        whole_rows = [(ny, g.ow) for ny in range(1, g.oh + 1) if g.oh % ny == 0 and fits(ny * g.ow)]
        part_rows = [(1, nx) for nx in range(1, g.ow + 1) if g.ow % nx == 0 and fits(nx)]
        bands = whole_rows or part_rows
        if not bands:
            least = 2 * max(max_nr, max_nc)
            raise CapacityError(f"the tile buffer (tbuf) of node {name!r}: one output position ({max_nr} input "
                                f"and {max_nc} output words of a block) does not fit half of tiles.buffer_words = "
                                f"{cfg.tiles.buffer_words}; raise tiles.buffer_words to at least {least}")
        ny, nx = max(bands, key=lambda b: b[0] * b[1])
        for key, words in (("col", ny * nx * rows), ("ycol", ny * nx * g.cout), ("dcol", ny * nx * g.cout)):
            self.band_words[key] = max(self.band_words.get(key, 0), words)
        return ny, nx


def plan_parameters(net: Network, asm: Asm) -> ParameterBuffers:
    """Every layer with parameters declares its own (``ParamLayer.plan_parameters``), in :func:`param_nodes` order."""
    p = ParameterPlanning(net, asm)
    for node in param_nodes(net):
        node.layer.plan_parameters(p, node.name)
    vectors = {n.name: p.bands[n.name][0] * p.bands[n.name][1] if n.name in p.bands else net.microbatch
               for n in net.graph.weight_nodes()}
    return ParameterBuffers(p.weight_copy, p.bands, vectors, p.band_words, p.pad, p.gradient_pad, p.xhat)


def plan_scratch(net: Network, asm: Asm, activations: ActivationBuffers, parameters: ParameterBuffers,
                 pipeline: PipelineNeeds | None) -> ScratchBuffers:
    a, graph = asm, net.graph
    weights = [graph.weight_shape(n.name) for n in graph.weight_nodes()]
    blk = max(p.rows * p.cols for p in net.placement.blocks)
    wmax = max((r1 - r0) * graph.weight_shape(n.name)[1] for n in graph.weight_nodes()
               for r0, r1, _ in row_bands(net, n.name))  # the whole layer, or (staged) its largest row band
    rowsum = None if net.inference else a.buffer("rowsum", "sram", max(c for _, c in weights))
    gradient_sum = None
    if activations.shared_gradients:
        gradient_sum = a.buffer("gtmp", "sram", net.microbatch * max(net.size(n.name) for n in net.order[:-1]))
    # forward/backward scratch and update scratch are never live together: one symbol holds both
    update = [] if net.inference else [("xfer_target", wmax), ("xfer_mask", wmax)]  # inference: no update transfer
    groups = [[(k, w) for k, w in parameters.band_words.items() if not (net.inference and k == "dcol")],
              update + [("blk_target", blk), ("blk_mask", blk)]]
    if pipeline is not None:  # the pipelined evaluation program's activations: dead during training, and vice versa
        groups.append(list(pipeline.sram.items()))
    views = a.views("scratch", "sram", groups)
    return ScratchBuffers(rowsum, gradient_sum, views.get("col"), views.get("ycol"), views.get("dcol"),
                          views.get("xfer_target"), views.get("xfer_mask"), views["blk_target"], views["blk_mask"],
                          {k: views[k] for k in (pipeline.sram if pipeline is not None else ())})


def plan_tiles(net: Network, asm: Asm, parameters: ParameterBuffers, pipeline: PipelineNeeds | None) -> TileBuffers:
    cfg = net.cfg
    tile_in: dict[int, Buffer] = {}
    tile_out: dict[int, Buffer] = {}
    slots: dict[int, Buffer] = {}
    for tile in sorted({p.tile for p in net.placement.blocks}):
        need_in, need_out = net.placement.tile_words(tile, parameters.vectors.__getitem__)
        if net.on_arrays:  # transposed reads swap the roles of the two buffers
            need_in = need_out = max(need_in, need_out)
        if need_in + need_out > cfg.tiles.buffer_words:
            raise CapacityError(f"the tile buffer (tbuf) of tile {tile} needs {need_in + need_out} words with a "
                                f"micro-batch of {net.microbatch} but tiles.buffer_words = "
                                f"{cfg.tiles.buffer_words}; raise tiles.buffer_words to at least "
                                f"{need_in + need_out}")
        slot_words = pipeline.slot_need.get(tile, 0) if pipeline is not None else 0
        if slot_words:  # the pipelined program's partial-sum slots share the buffer with the sequential vectors
            views = asm.views(f"tbuf{tile}", f"tb{tile}", [[("tin", need_in), ("tout", need_out)],
                                                          [("ps", slot_words)]])
            tile_in[tile], tile_out[tile], slots[tile] = views["tin"], views["tout"], views["ps"]
            continue
        tile_in[tile] = asm.buffer(f"tin{tile}", f"tb{tile}", need_in)
        tile_out[tile] = asm.buffer(f"tout{tile}", f"tb{tile}", need_out)
    return TileBuffers(tile_in, tile_out, slots)


def check_indexed(net: Network, asm: Asm, layout: MemoryLayout) -> None:
    """Buffers addressed through an index register (activations, gradients, padding) must lie in the
    operand offset range; buffers past it are reached through base registers (registers.REG.bases). Staged, the
    tensors are views of the pool (:func:`check_in_offset_range` of the pool, once it is placed)."""
    acts = layout.activations
    if net.staged:
        return
    indexed = [*acts.output.values(), *acts.gradient.values(),
               *(layout.pipeline.indexed() if layout.pipeline is not None else ()),
               *(b for k, b in asm.buffers.items() if k.startswith(("pad_", "gpad_")))]
    check_in_offset_range(net, indexed)


def check_in_offset_range(net: Network, indexed: list[Buffer]) -> None:
    """A CapacityError if a register-indexed buffer ends past the operand offset range."""
    for buf in indexed:
        if buf.end > OFFSET_RANGE:
            raise CapacityError(f"with a micro-batch of {net.microbatch}, {buf.name} ends at word {buf.end} of "
                                f"{buf.space}, past the {OFFSET_RANGE}-word operand offset that "
                                "register-indexed buffers must stay within (a smaller micro-batch: --microbatch)",
                                buf.space)
