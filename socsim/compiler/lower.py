"""Lowering: a graph -> the ISA programs that initialise, train and evaluate it on the SoC.

The programs share one memory layout (the same symbol declarations in the same order):
``init`` (weights' digital copy -> write-verified onto the tiles), ``train_epoch`` (loops over
batches and micro-batches: DMA in, forward on the tiles, loss gradient, backward, optimizer,
accumulate, transfer to the devices), ``evaluate`` (forward, argmax, count correct) and, when the
converters have a programmable full scale, ``calibrate`` (lower_calibrate). The host
loads the dataset into the DRAM symbols ``train_x``, ``train_y``, ``test_x``, ``test_y`` before
running them (socsim.host.training does). Emission per layer type lives in ``lower_forward``,
``lower_backward`` and ``lower_blocks``; this module plans memory and assembles the programs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import isa
from isa.program import Program
from socsim.compiler.emit import OFFSET_RANGE, Asm, Buffer, LaneSymbols
from socsim.compiler.graph import (
    Add,
    AvgPool,
    BatchNorm,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Graph,
    GraphError,
    Input,
    Linear,
    MaxPool,
    ReLU,
    SoftmaxCrossEntropy,
)
from socsim.compiler.lower_backward import BackwardEmitter
from socsim.compiler.lower_blocks import BlockEmitter, f32
from socsim.compiler.lower_calibrate import CalibrationEmitter
from socsim.compiler.lower_errors import ErrorEmitter
from socsim.compiler.lower_forward import ForwardEmitter
from socsim.compiler.lower_pipelined import PipelinedEmitter
from socsim.compiler.memplan import CapacityError, MemoryPlan, fit, imem_use
from socsim.compiler.placement import Placement, place_blocks
from socsim.compiler.recipes import Backward, Transfer, recipe
from socsim.compiler.registers import REG
from socsim.config import Datapath, SocConfig, TrainConfig
from socsim.physics.registry import pulse_step, weight_level

TRAIN_REDUCED = ("dw_", "db_", "dgb_", "run_")
"""Symbols a training micro-batch accumulates into: weight, bias and batch-norm gradients, running statistics."""
NOT_PRIVATE = ("step", "correct", "db_", "batches", "inscale_")
"""SRAM symbols (names or prefixes) the micro-batches do not own: the step count, the correct count, bias gradients,
the batch range of a training run, the layers' input scales."""
COL_BUDGET_WORDS = 4096
"""Largest im2col band kept in SRAM at once (words), or :data:`COL_BUDGET_SHARE` of a larger SRAM; at least
one output position's column always fits."""
COL_BUDGET_SHARE = 64
"""The im2col band may take 1/64 of the data SRAM when that exceeds COL_BUDGET_WORDS (SRAMs over 8 Mbit)."""
SUPPORTED = (Input, Conv2d, Linear, ReLU, MaxPool, AvgPool, GlobalAvgPool, Flatten, Add, BatchNorm,
             SoftmaxCrossEntropy)


@dataclass(frozen=True)
class Compiled:
    """The three programs of a network and the facts the host needs to drive them."""

    init: Program
    train_epoch: Program
    evaluate: Program
    calibrate: Program | None
    """Sets every forward block's converter full scale from its readings (None: the converters are not
    calibrated, socsim.compiler.lower_calibrate.calibrates)."""
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


class Lowering(BlockEmitter, ErrorEmitter, ForwardEmitter, BackwardEmitter, CalibrationEmitter, PipelinedEmitter):
    """Plans buffers for micro-batch ``m`` and emits the programs (one instance per micro-batch size)."""

    def __init__(self, graph: Graph, cfg: SocConfig, train: TrainConfig, m: int, n_train: int, n_test: int):
        self.graph, self.cfg, self.train, self.microbatch = graph, cfg, train, m
        self.order = list(graph.nodes)
        for node in self.order:
            if not isinstance(node.layer, SUPPORTED):
                raise GraphError(f"node {node.name!r} ({node.layer.kind}): not supported by the lowering "
                                 f"(supported: {', '.join(sorted(c.kind for c in SUPPORTED))})")
        losses = [n for n in self.order if isinstance(n.layer, SoftmaxCrossEntropy)]
        if len(losses) != 1 or losses[0] is not self.order[-1]:
            raise GraphError(f"graph {graph.name!r}: needs exactly one softmax_xent loss, as the last node")
        self.recipe = recipe(train.scheme)
        self.on_arrays = self.recipe.backward is Backward.ARRAYS
        """Backward by transposed MVMs on the arrays (tile buffers then serve both directions)."""
        if train.acc_bits and self.recipe.transfer in (Transfer.EXACT, Transfer.EVERY_BATCH):
            raise GraphError(f"train.acc_bits = {train.acc_bits}: scheme {train.scheme.value} writes every update, "
                             "so it has no transfer quantum to size a low-precision accumulator by (use 0)")
        if self.on_arrays and not cfg.tiles.transposed_mvm:
            raise GraphError(f"scheme {train.scheme.value} reads the arrays transposed, but {cfg.name} has "
                             "tiles.transposed_mvm = false")
        self.logits = self.order[-1].inputs[0]
        self.fanout = {n.name: sum(c.inputs.count(n.name) for c in self.order) for n in self.order}
        self.weighted: dict[str, bool] = {}
        """Whether a node or any of its ancestors has weights: only then is its gradient needed."""
        for node in self.order:
            self.weighted[node.name] = (graph.weight_shape(node.name) is not None
                                        or any(self.weighted[i] for i in node.inputs))
        self.n_train, self.n_test = n_train, n_test
        self.pipelined = cfg.compiler.datapath is Datapath.PIPELINED
        """The evaluation program streams its MVMs (socsim.compiler.lower_pipelined); training stays sequential."""
        self.placement = place_blocks(graph, cfg)
        self.asm = Asm(graph.name)
        self.features = int(np.prod(graph.input.layer.shape))
        self.classes = int(np.prod(graph.shape(self.logits)))
        self.in_bits = train.in_bits
        self.alpha = {n.name: self._alpha(n.name) for n in graph.weight_nodes()}
        """Digital weight units per crossbar weight unit, per layer (the crossbar holds w / alpha)."""
        self._plan()

    def _alpha(self, name: str) -> float:
        if not self.recipe.scaled:
            return 1.0
        rows = self.graph.weight_shape(name)[0]
        return self.train.weight_range / float(np.sqrt(rows)) / self.cfg.tiles.physics.w_max

    def transfer_level(self, name: str) -> float:
        """Threshold of the accumulated update (digital weight units) before a weight is written."""
        if self.recipe.transfer is not Transfer.THRESHOLD:
            return 0.0
        return self.train.transfer_levels * self.alpha[name] * weight_level(self.cfg.tiles.physics)

    # memory plan ------------------------------------------------------------------------------------------
    def size(self, name: str) -> int:
        return int(np.prod(self.graph.shape(name)))

    def _plan(self) -> None:
        self._plan_activations()
        self._plan_parameters()
        if self.pipelined:
            self._plan_pipelined()
        self._plan_scratch()
        linear = [self.microbatch * self.graph.weight_shape(n.name)[1] for n in self.graph.weight_nodes() if isinstance(n.layer, Linear)]
        self.plan_errors(max(linear + [self.scratch.get("dcol", 0)]))
        self._plan_tiles()
        self._plan_calibration()
        if self.pipelined:
            self._place_pipelined(self.pipelined_views)
        self._check_indexed()

    def _check_indexed(self) -> None:
        """Buffers addressed through an index register (activations, gradients, padding) must lie in the
        operand offset range; buffers past it are reached through base registers (registers.REG.bases)."""
        indexed = [*self.activation.values(), *self.gradient.values(), *self.pipelined_indexed(),
                   *(b for k, b in self.asm.buffers.items() if k.startswith(("pad_", "gpad_")))]
        for buf in indexed:
            if buf.end > OFFSET_RANGE:
                raise CapacityError(f"with a micro-batch of {self.microbatch}, {buf.name} ends at word {buf.end} of "
                                    f"{buf.space}, past the {OFFSET_RANGE}-word operand offset that "
                                    "register-indexed buffers must stay within (a smaller micro-batch: --microbatch)")

    def _plan_activations(self) -> None:
        a, m = self.asm, self.microbatch
        self.activation: dict[str, Buffer] = {}
        self.gradient: dict[str, Buffer] = {}
        for node in self.order[:-1]:
            words = m * self.size(node.name)
            inp = node.inputs[0] if node.inputs else None
            alias = inp is not None and (isinstance(node.layer, Flatten) or (
                isinstance(node.layer, ReLU) and self.fanout[inp] == 1 and not isinstance(self.graph.node(inp).layer,
                                                                                         Input)))
            self.activation[node.name] = self.activation[inp] if alias else a.buffer(f"a_{node.name}", "sram", words)
            if self.weighted[node.name]:
                shared = alias and self.fanout[inp] == 1 and self.weighted[inp]
                self.gradient[node.name] = self.gradient[inp] if shared else a.buffer(f"g_{node.name}", "sram", words)
        self.labels = a.buffer("labels", "sram", m)
        self.pred = a.buffer("pred", "sram", m)
        self.step = a.buffer("step", "sram", 1)
        self.correct = a.buffer("correct", "sram", 1)
        self.hits = a.buffer("hits", "sram", 1)
        """Optimizer steps so far; correct test predictions; correct ones of one micro-batch."""
        self.in_scale = {n.name: a.buffer(f"inscale_{n.name}", "sram", 1, f"= {f32(self.scale_of(n))}")
                         for n in self.graph.weight_nodes()}
        """Each weight layer's DAC input scale (value per code); the calibrate program may reset it."""
        self.batch_range = a.buffer("batches", "sram", 2, f"= 0, {self.n_train // self.train.batch}")
        """[first, end) of the batches one run of train_epoch trains (the host writes it; socsim.host.training)."""
        self.shared_grads = [n for n in self.gradient if self.fanout[n] > 1]
        """Nodes whose gradient sums several consumers' contributions (zeroed before the backward pass)."""

    def _plan_parameters(self) -> None:
        a, t = self.asm, self.train
        self.weight_copy: dict[str, Buffer] = {}
        self.bands: dict[str, int] = {}
        self.scratch: dict[str, int] = {}
        for k, node in enumerate(self.graph.weight_nodes()):
            rows, cols = self.graph.weight_shape(node.name)
            bound = float(1.0 / np.sqrt(rows))
            self.weight_copy[node.name] = a.buffer(f"w_{node.name}", "acc", rows * cols,
                                           f"uniform {-bound!r} {bound!r} {t.init_seed + k}")
            for stem in ("m", "v", "acc", "dw"):  # dw: weight-gradient accumulation
                a.buffer(f"{stem}_{node.name}", "acc", rows * cols)
            if node.layer.bias:
                for stem in ("b", "mb", "vb"):
                    a.buffer(f"{stem}_{node.name}", "acc", cols)
                a.buffer(f"db_{node.name}", "sram", cols)
            if isinstance(node.layer, Conv2d):
                self._plan_conv(node)
        for node in self.order:
            if isinstance(node.layer, BatchNorm):
                c, _ = self.bn_dims(node)
                ones, zeros = ", ".join(["1.0"] * c), ", ".join(["0.0"] * c)
                a.buffer(f"gb_{node.name}", "acc", 2 * c, f"= {ones}, {zeros}")      # gamma = 1, beta = 0
                a.buffer(f"run_{node.name}", "acc", 2 * c, f"= {zeros}, {ones}")     # running mean 0, var 1
                for stem in ("mgb", "vgb", "dgb"):
                    a.buffer(f"{stem}_{node.name}", "acc", 2 * c)
                a.buffer(f"xhat_{node.name}", "sram", self.microbatch * self.size(node.name))
                a.buffer(f"stats_{node.name}", "sram", 2 * c)

    def _plan_conv(self, node) -> None:
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        rows = cin * kh * kw
        max_nr = max(p.rows for p in self.placement.blocks_of(node.name))
        max_nc = max(p.cols for p in self.placement.blocks_of(node.name))
        if self.on_arrays:  # transposed reads swap the two halves' roles
            max_nr = max_nc = max(max_nr, max_nc)
        half = self.cfg.tiles.buffer_words // 2  # input and output halves of a tile buffer
        budget = max(COL_BUDGET_WORDS, self.cfg.space_words()["sram"] // COL_BUDGET_SHARE)

        def fits(positions: int) -> bool:
            return (positions * rows <= max(budget, rows) and positions * max_nr <= half
                    and positions * max_nc <= half)
        whole_rows = [(ny, ow) for ny in range(1, oh + 1) if oh % ny == 0 and fits(ny * ow)]
        part_rows = [(1, nx) for nx in range(1, ow + 1) if ow % nx == 0 and fits(nx)]
        bands = whole_rows or part_rows
        if not bands:
            least = 2 * max(max_nr, max_nc)
            raise CapacityError(f"the tile buffer (tbuf) of node {node.name!r}: one output position ({max_nr} input "
                                f"and {max_nc} output words of a block) does not fit half of tiles.buffer_words = "
                                f"{self.cfg.tiles.buffer_words}; raise tiles.buffer_words to at least {least}")
        ny, nx = self.bands[node.name] = max(bands, key=lambda b: b[0] * b[1])
        for name, words in (("col", ny * nx * rows), ("ycol", ny * nx * cout), ("dcol", ny * nx * cout)):
            self.scratch[name] = max(self.scratch.get(name, 0), words)
        padded_words = self.microbatch * cin * hp * wp
        if ph or pw:
            self.asm.buffer(f"pad_{node.name}", "sram", padded_words)
        inp = node.inputs[0]
        if self.weighted[inp] and (ph or pw or self.fanout[inp] > 1):
            self.asm.buffer(f"gpad_{node.name}", "sram", padded_words)

    def _plan_scratch(self) -> None:
        a = self.asm
        weights = [self.graph.weight_shape(n.name) for n in self.graph.weight_nodes()]
        blk = max(p.rows * p.cols for p in self.placement.blocks)
        wmax = max(r * c for r, c in weights)
        a.buffer("rowsum", "sram", max(c for _, c in weights))
        if self.shared_grads:
            self.gradient_sum = a.buffer("gtmp", "sram", self.microbatch * max(self.size(n.name) for n in self.order[:-1]))
        # forward/backward scratch and update scratch are never live together: one symbol holds both
        groups = [list(self.scratch.items()),
                  [("xfer_target", wmax), ("xfer_mask", wmax), ("blk_target", blk), ("blk_mask", blk)]]
        if self.pipelined:  # the pipelined evaluation program's activations: dead during training, and vice versa
            groups.append(list(self.pipeline.sram.items()))
        views = a.views("scratch", "sram", groups)
        self.pipelined_views = {k: views[k] for k in (self.pipeline.sram if self.pipelined else ())}
        self.xfer_target, self.xfer_mask = views["xfer_target"], views["xfer_mask"]
        self.block_target, self.block_mask = views["blk_target"], views["blk_mask"]

    def _plan_tiles(self) -> None:
        self.tile_in, self.tile_out = {}, {}
        for tile in sorted({p.tile for p in self.placement.blocks}):
            need_in, need_out = self.placement.tile_words(tile, self._vectors)
            if self.on_arrays:  # transposed reads swap the roles of the two buffers
                need_in = need_out = max(need_in, need_out)
            if need_in + need_out > self.cfg.tiles.buffer_words:
                raise CapacityError(f"the tile buffer (tbuf) of tile {tile} needs {need_in + need_out} words with a "
                                    f"micro-batch of {self.microbatch} but tiles.buffer_words = "
                                    f"{self.cfg.tiles.buffer_words}; raise tiles.buffer_words to at least "
                                    f"{need_in + need_out}")
            slots = self.slot_words(tile) if self.pipelined else 0
            if slots:  # the pipelined program's partial-sum slots share the buffer with the sequential vectors
                views = self.asm.views(f"tbuf{tile}", f"tb{tile}", [[("tin", need_in), ("tout", need_out)],
                                                                  [("ps", slots)]])
                self.tile_in[tile], self.tile_out[tile], self.pipeline.slots[tile] = views["tin"], views["tout"], views["ps"]
                continue
            self.tile_in[tile] = self.asm.buffer(f"tin{tile}", f"tb{tile}", need_in)
            self.tile_out[tile] = self.asm.buffer(f"tout{tile}", f"tb{tile}", need_out)

    def _vectors(self, layer: str) -> int:
        """Vectors per MVM instruction of a layer: the band's positions (conv) or the micro-batch (linear)."""
        return self.bands[layer][0] * self.bands[layer][1] if layer in self.bands else self.microbatch

    def words(self, space: str) -> int:
        """Words of the symbols this plan declares in ``space``."""
        return sum(b.words for k, b in self.asm.buffers.items() if b.space == space and k == b.name)

    # update ---------------------------------------------------------------------------------------------------
    def hyperparameters(self) -> None:
        t = self.train
        for name, value in (("lr", t.lr), ("beta1", t.beta1), ("beta2", t.beta2), ("eps", t.eps),
                            ("wd", t.weight_decay), ("momentum", t.momentum)):
            self.asm.op("hp", name, f32(value))

    def optimizer_step(self, grad: str, m: str, v: str, param: str, n: int) -> None:
        """``grad`` <- the update of ``param`` (AdamW or SGD with momentum; ``v`` unused by SGD)."""
        if self.train.optimizer == "adamw":
            self.asm.op("adamw", grad, grad, m, v, param, n, REG.step)
        else:
            self.asm.op("sgd", grad, grad, m, param, n)

    def update_digital(self, grad: str, m: str, v: str, param: str, n: int, what: str) -> None:
        """Digital parameters (biases, BatchNorm scale/shift): optimizer step, add, clear the gradient."""
        self.optimizer_step(grad, m, v, param, n)
        self.asm.op("vadd", param, param, grad, n, note=f"{what} is digital")
        self.asm.op("vfill", grad, n, 0.0)

    def update(self) -> None:
        a, t = self.asm, self.train
        a.op("addi", REG.step, REG.step, 1, note="optimizer step")
        for node in self.graph.weight_nodes():
            name = node.name
            rows, cols = self.graph.weight_shape(name)
            n = rows * cols
            a.comment(f"{name} update")
            a.op("mark", a.layer_id(name), "update")
            self.optimizer_step(f"dw_{name}", f"m_{name}", f"v_{name}", f"w_{name}", n)
            if node.layer.bias:
                self.update_digital(f"db_{name}", f"mb_{name}", f"vb_{name}", f"b_{name}", cols, "bias")
            a.op("vadd", f"acc_{name}", f"acc_{name}", f"dw_{name}", n, note="accumulate the update")
            if t.acc_bits:
                lsb = f32(t.acc_lsb * self.transfer_quantum(name))
                a.op("quant", f"acc_{name}", f"acc_{name}", n, lsb, t.acc_bits,
                     note=f"{t.acc_bits}-bit accumulator: round, saturate")
                a.op("vscl", f"acc_{name}", f"acc_{name}", n, lsb)
            self.transfer(name, n, cols)
            a.op("vfill", f"dw_{name}", n, 0.0)
        for node in self.order:
            if isinstance(node.layer, BatchNorm):
                a.op("mark", a.layer_id(node.name), "update")
                c, _ = self.bn_dims(node)
                name = node.name
                self.update_digital(f"dgb_{name}", f"mgb_{name}", f"vgb_{name}", f"gb_{name}", 2 * c,
                                    "batch-norm scale and shift")

    def transfer_quantum(self, name: str) -> float:
        """Smallest update the transfer moves a weight by (digital weight units): a pulse step, the threshold, or
        one code step of the quantised weights."""
        if self.recipe.transfer is Transfer.PULSES:
            return self.alpha[name] * pulse_step(self.cfg.tiles.physics)
        if self.recipe.transfer is Transfer.QUANTIZED:
            return self.alpha[name] * weight_level(self.cfg.tiles.physics)
        return self.transfer_level(name)

    def weight_code_bits(self) -> int:
        """Bits of the signed codes the devices hold (``quant`` clips to +-(2^(b-1) - 1)): QUANTIZED transfers."""
        phys = self.cfg.tiles.physics
        level = weight_level(phys)
        top = round(phys.w_max / level) if level else 0
        if top < 1 or (top + 1) & top or abs(top * level - phys.w_max) > 1e-6 * phys.w_max:
            raise GraphError(f"scheme {self.train.scheme.value} rounds weights to signed integer codes, but "
                             f"{phys.model} holds {phys.w_max / level if level else 'continuous'} levels per sign; "
                             "it needs 2^(b-1) - 1 (e.g. sram_cd, or rram_wv with 2^k levels)")
        return top.bit_length() + 1

    def transfer_quantized(self, name: str, n: int, cols: int) -> None:
        """The master copy takes the update; the devices whose code changed are written with the new codes."""
        a = self.asm
        step = f32(self.transfer_quantum(name))
        bits = self.weight_code_bits()
        a.op("quant", self.xfer_mask.at(), f"w_{name}", n, step, bits, note="codes the devices hold")
        a.op("vadd", f"w_{name}", f"w_{name}", f"acc_{name}", n, note="the FP32 master copy takes the update")
        a.op("vfill", f"acc_{name}", n, 0.0)
        a.op("vclamp", f"w_{name}", f"w_{name}", n, f32(self.alpha[name] * self.cfg.tiles.physics.w_max),
             note="weight range of the devices")
        a.op("quant", self.xfer_target.at(), f"w_{name}", n, step, bits, note=f"INT{bits} codes of the new weights")
        a.op("vsub", self.xfer_mask.at(), self.xfer_target.at(), self.xfer_mask.at(), n, note="nonzero where a code changed")
        a.op("vscl", self.xfer_target.at(), self.xfer_target.at(), n, step)
        self.program_blocks(name, self.xfer_target, self.xfer_mask, cols)

    def transfer(self, name: str, n: int, cols: int) -> None:
        """Move layer ``name``'s accumulated update onto its devices, as the recipe says."""
        a, how = self.asm, self.recipe.transfer
        if how is Transfer.QUANTIZED:
            self.transfer_quantized(name, n, cols)
            return
        if how is Transfer.PULSES:
            eps = f32(self.transfer_quantum(name))
            a.op("xferp", self.xfer_target.at(), f"acc_{name}", n, eps, note="pulses = trunc(acc / eps)")
            a.op("vaxpy", f"w_{name}", self.xfer_target.at(), f"w_{name}", n, eps, note="track the intended weight")
            self.pulse_blocks(name, self.xfer_target, cols)
            return
        a.op("xferwv", self.xfer_target.at(), self.xfer_mask.at(), f"acc_{name}", f"w_{name}", n, f32(self.transfer_level(name)))
        if self.recipe.scaled:  # keep the digital copy inside what the devices can hold
            limit = f32(self.alpha[name] * self.cfg.tiles.physics.w_max)
            a.op("vclamp", f"w_{name}", f"w_{name}", n, limit, note="weight range of the devices")
            a.op("vclamp", self.xfer_target.at(), self.xfer_target.at(), n, limit)
        self.program_blocks(name, self.xfer_target, self.xfer_mask, cols)
        if how is Transfer.EVERY_BATCH:  # no high-precision copy: the weight is what the devices hold
            self.read_back_blocks(name, self.weight_copy[name], cols)

    # programs -------------------------------------------------------------------------------------------------
    def load_micro(self, x: str, y: str) -> None:
        """DMA one micro-batch: images from DRAM ``x`` at row x4, labels from ``y`` at x5."""
        self.asm.op("copy", self.activation[self.order[0].name].at(), f"{x}(x4)", self.microbatch * self.features)
        self.asm.op("copy", self.labels.at(), f"{y}(x5)", self.microbatch)

    def emit_init(self) -> str:
        self.asm.lines = []
        self.asm.comment("program every weight block from the digital copy")
        self.asm.op("mark", 0, "other")
        for node in self.graph.weight_nodes():
            self.program_blocks(node.name, self.weight_copy[node.name], None, self.graph.weight_shape(node.name)[1])
        self.asm.op("halt")
        return self.asm.text()

    def emit_train(self) -> str:
        a, t = self.asm, self.train
        a.lines = []
        a.op("lw", REG.step, self.step.at(), note="optimizer step so far")
        self.hyperparameters()

        def micro() -> None:
            self.offset(REG.image_offset, [(REG.outer, t.batch * self.features), (REG.micro, self.microbatch * self.features)])
            self.offset(REG.label_offset, [(REG.outer, t.batch), (REG.micro, self.microbatch)])
            a.op("mark", 0, "forward")
            self.load_micro("train_x", "train_y")
            self.forward("forward")
            self.loss_gradient()
            self.backward()

        a.op("lw", REG.outer, self.batch_range.at(), note="first batch of this run")
        a.op("lw", REG.batch_end, self.batch_range.at(1), note="one past its last")
        top = a.label("batches")
        a.place(top)
        a.loop(REG.micro, t.batch // self.microbatch, micro, note="micro-batches", lanes=self.lanes(TRAIN_REDUCED))
        self.update()
        a.op("addi", REG.outer, REG.outer, 1)
        a.op("blt", REG.outer, REG.batch_end, top)
        a.op("sw", REG.step, self.step.at())
        a.op("halt")
        return a.text()

    def emit_eval(self) -> str:
        a = self.asm
        a.lines = []
        a.op("vfill", self.correct.at(), 1, 0.0, note="correct = 0")
        if self.pipelined:
            self.pipelined_prologue()
        logits = self.pipeline.layouts[self.logits].buf if self.pipelined else self.activation[self.logits]

        def micro() -> None:
            a.op("muli", REG.image_offset, REG.micro, self.microbatch * self.features)
            a.op("muli", REG.label_offset, REG.micro, self.microbatch)
            a.op("mark", 0, "eval")
            if self.pipelined:
                self.pipelined_forward()
            else:
                self.load_micro("test_x", "test_y")
                self.forward("eval")
            a.op("mark", 0, "eval")
            a.op("argmax", self.pred.at(), logits.at(), self.microbatch, self.classes)
            a.op("vcmpeq", self.pred.at(), self.pred.at(), self.labels.at(), self.microbatch)
            a.op("vsum", self.hits.at(), self.pred.at(), self.microbatch)
            a.op("vadd", self.correct.at(), self.correct.at(), self.hits.at(), 1)

        a.loop(REG.micro, self.n_test // self.microbatch, micro, note="test micro-batches", lanes=self.lanes(("correct",)))
        a.op("halt")
        return a.text()

    def lanes(self, reduced: tuple[str, ...]) -> LaneSymbols:
        """A micro-batch loop's lane symbols: every per-micro-batch buffer (SRAM, tile buffers) is private, the
        symbols named or prefixed in ``reduced`` are reduced into; the rest (weights, optimizer state, data) is
        only read."""
        symbols = dict.fromkeys(b.name for b in self.asm.buffers.values())
        spaces = {b.name: b.space for b in self.asm.buffers.values()}
        reduce = tuple(n for n in symbols if n in reduced or n.startswith(tuple(r for r in reduced if r.endswith("_"))))
        private = tuple(n for n in symbols if n not in reduce and not n.startswith(NOT_PRIVATE)
                        and (spaces[n] == "sram" or spaces[n].startswith("tb")))
        return LaneSymbols(private, reduce)

    def declare_data(self) -> None:
        a = self.asm
        a.buffer("train_x", "dram", self.n_train * self.features)
        a.buffer("train_y", "dram", self.n_train)
        a.buffer("test_x", "dram", self.n_test * self.features)
        a.buffer("test_y", "dram", self.n_test)


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
                     microbatch: int | None = None) -> Compiled:
    """Compile ``graph`` for training with ``cfg.train`` on ``n_train`` / ``n_test`` examples.

    The micro-batch is the largest divisor of the batch whose buffers fit the SRAMs (or ``microbatch``); a graph
    that fits no micro-batch, or whose programs do not fit the instruction memory, is a CapacityError naming the
    memory and the config field to raise (socsim.compiler.memplan).
    """
    t = cfg.train
    if n_train < t.batch:
        raise GraphError(f"{n_train} training examples are fewer than one batch of {t.batch}")
    candidates = [microbatch] if microbatch else [m for m in range(t.batch, 0, -1) if t.batch % m == 0]
    low, uses = fit(lambda m: Lowering(graph, cfg, t, m, n_train, n_test - n_test % m), candidates, cfg, graph.name)
    low.declare_data()
    texts = {"init": low.emit_init(), "train_epoch": _strip_init(low.emit_train()),
             "evaluate": _strip_init(low.emit_eval())}
    if low.calibrated:
        texts["calibrate"] = _strip_init(low.emit_calibrate())
    programs = {k: isa.assemble(v, f"<{graph.name}.{k}>") for k, v in texts.items()}
    imem = imem_use({k: p.code_bytes() for k, p in programs.items()}, cfg)
    if not imem.ok:
        raise CapacityError(f"graph {graph.name!r} does not fit {cfg.name}: {imem.problem(cfg, low.microbatch)}")
    logits = low.pipeline.layouts[low.logits].buf if low.pipelined else low.activation[low.logits]
    return Compiled(programs["init"], programs["train_epoch"], programs["evaluate"], programs.get("calibrate"), low.microbatch,
                    n_train // t.batch, low.n_test, low.placement, texts, MemoryPlan(low.microbatch, (*uses, imem)),
                    (logits.name, logits.base, low.microbatch * low.classes))


def memory_plan(graph: Graph, cfg: SocConfig, n_train: int, n_test: int,
                microbatch: int | None = None) -> MemoryPlan:
    """The memory plan :func:`compile_training` makes, or why it cannot make one (``MemoryPlan.problem``): the same
    code path, so the mapping check and the compiler agree."""
    try:
        return compile_training(graph, cfg, n_train, n_test, microbatch).memory
    except CapacityError as exc:
        return MemoryPlan(0, (), str(exc))
    except GraphError as exc:
        return MemoryPlan(0, (), str(exc), fits=True)
