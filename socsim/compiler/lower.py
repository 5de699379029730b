"""Lowering: a sequential graph -> the ISA programs that initialise, train and evaluate it on the SoC.

Three programs share one memory layout (the same symbol declarations in the same order):
``init`` (weights' digital copy -> write-verified onto the tiles), ``train_epoch`` (loops over
batches and micro-batches: DMA in, forward on the tiles, loss gradient, digital backward from
the weight copy, optimizer, accumulate, threshold transfer with write-verify) and ``evaluate``
(forward, argmax, count correct). The host loads the dataset into DRAM symbols ``train_x``,
``train_y``, ``test_x``, ``test_y`` before running them (socsim.train does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import isa
from isa.program import Program
from socsim.compiler.emit import Asm, Buffer
from socsim.compiler.graph import (
    AvgPool,
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
from socsim.compiler.placement import Placement, place_blocks
from socsim.config import Scheme, SocConfig, TrainConfig
from socsim.physics.registry import pulse_step, weight_level

COL_BUDGET_WORDS = 4096
"""Largest im2col band kept in SRAM at once (words)."""
SUPPORTED = (Input, Conv2d, Linear, ReLU, MaxPool, AvgPool, GlobalAvgPool, Flatten, SoftmaxCrossEntropy)


class CapacityError(GraphError):
    """The program does not fit the target's memories; the message names what and where."""


@dataclass(frozen=True)
class Compiled:
    """The three programs of a network and the facts the host needs to drive them."""

    init: Program
    train_epoch: Program
    evaluate: Program
    microbatch: int
    batches_per_epoch: int
    test_examples: int
    placement: Placement
    text: dict[str, str]
    """Readable assembly of each program, by name."""


def _scale(bits: int, value_range: float) -> float:
    return value_range / (2 ** (bits - 1) - 1) if bits else 1.0


class Lowering:
    """Plans buffers for micro-batch ``m`` and emits the programs (one instance per micro-batch size)."""

    def __init__(self, graph: Graph, cfg: SocConfig, train: TrainConfig, m: int, n_train: int, n_test: int):
        self.g, self.cfg, self.t, self.m = graph, cfg, train, m
        self.nodes = list(graph.nodes)
        for prev, node in zip(self.nodes, self.nodes[1:]):
            if not isinstance(node.layer, SUPPORTED):
                raise GraphError(f"node {node.name!r} ({node.layer.kind}): not supported by the lowering yet "
                                 f"(supported: {', '.join(sorted(c.kind for c in SUPPORTED))})")
            if node.inputs != (prev.name,):
                raise GraphError(f"node {node.name!r}: the lowering supports sequential graphs only")
        if train.scheme is Scheme.MP_ONARRAY and not cfg.tiles.transposed_mvm:
            raise GraphError(f"scheme mp_onarray reads the arrays transposed, but {cfg.name} has "
                             "tiles.transposed_mvm = false")
        if not isinstance(self.nodes[-1].layer, SoftmaxCrossEntropy):
            raise GraphError(f"graph {graph.name!r}: the last node must be a softmax_xent loss")
        self.n_train, self.n_test = n_train, n_test
        self.placement = place_blocks(graph, cfg)
        self.a = Asm(graph.name)
        self.feat = int(np.prod(graph.input.layer.shape))
        self.classes = int(np.prod(graph.shape(self.nodes[-2].name)))
        self.bits = train.in_bits
        self.alpha = {n.name: self._alpha(n.name) for n in graph.weight_nodes()}
        """Digital weight units per crossbar weight unit, per layer (the crossbar holds w / alpha)."""
        self._plan()

    def _alpha(self, name: str) -> float:
        if self.t.scheme is Scheme.IDEAL:
            return 1.0
        rows = self.g.weight_shape(name)[0]
        return self.t.weight_range / float(np.sqrt(rows)) / self.cfg.tiles.physics.w_max

    def transfer_level(self, name: str) -> float:
        """Threshold of the accumulated update (digital weight units) before a weight is written."""
        if self.t.scheme is not Scheme.WU2023:
            return 0.0
        return self.t.transfer_levels * self.alpha[name] * weight_level(self.cfg.tiles.physics)

    # buffers -------------------------------------------------------------------------------------------
    def size(self, name: str) -> int:
        return int(np.prod(self.g.shape(name)))

    def _plan(self) -> None:
        a, m, t = self.a, self.m, self.t
        self.act: dict[str, Buffer] = {}
        self.grad: dict[str, Buffer] = {}
        for i, node in enumerate(self.nodes[:-1]):
            inplace = isinstance(node.layer, (ReLU, Flatten)) and i > 0
            if i == 0:
                self.act[node.name] = a.buffer(f"a_{node.name}", "sram", m * self.size(node.name))
                self.grad[node.name] = self.act[node.name]  # never written: no gradient of the input
            elif inplace:
                prev = self.nodes[i - 1].name
                self.act[node.name], self.grad[node.name] = self.act[prev], self.grad[prev]
            else:
                self.act[node.name] = a.buffer(f"a_{node.name}", "sram", m * self.size(node.name))
                self.grad[node.name] = a.buffer(f"g_{node.name}", "sram", m * self.size(node.name))
        self.labels = a.buffer("labels", "sram", m)
        self.pred = a.buffer("pred", "sram", m)
        self.scalar = a.buffer("scalars", "sram", 4)  # step, correct, sum, spare
        self.wfp: dict[str, Buffer] = {}
        self.bands: dict[str, int] = {}
        rng_seed = t.init_seed
        self.scratch: dict[str, int] = {}
        for node in self.g.weight_nodes():
            rows, cols = self.g.weight_shape(node.name)
            bound = 1.0 / np.sqrt(rows)
            self.wfp[node.name] = a.buffer(f"w_{node.name}", "acc", rows * cols,
                                           f"uniform {-float(bound)!r} {float(bound)!r} {rng_seed}")
            rng_seed += 1
            for stem in ("m", "v", "acc"):
                a.buffer(f"{stem}_{node.name}", "acc", rows * cols)
            a.buffer(f"dw_{node.name}", "acc", rows * cols)  # weight-gradient accumulation
            if node.layer.bias:
                a.buffer(f"b_{node.name}", "acc", cols)
                for stem in ("mb", "vb"):
                    a.buffer(f"{stem}_{node.name}", "acc", cols)
                a.buffer(f"db_{node.name}", "sram", cols)
            if isinstance(node.layer, Conv2d):
                self._plan_conv(node)
        blk = max(p.rows * p.cols for p in self.placement.blocks)
        wmax = max(r * c for r, c in (self.g.weight_shape(n.name) for n in self.g.weight_nodes()))
        a.buffer("rowsum", "sram", max(self.g.weight_shape(n.name)[1] for n in self.g.weight_nodes()))
        # forward/backward scratch and update scratch are never live together: one symbol holds both
        views = a.views("scratch", "sram", [list(self.scratch.items()),
                                           [("xfer_target", wmax), ("xfer_mask", wmax), ("blk_target", blk),
                                            ("blk_mask", blk)]])
        self.tgt, self.msk = views["xfer_target"], views["xfer_mask"]
        self.blk_t, self.blk_m = views["blk_target"], views["blk_mask"]
        self.tin, self.tout = {}, {}
        for tile in sorted({p.tile for p in self.placement.blocks}):
            need_in, need_out = self.placement.tile_words(tile, self._vectors)
            if t.scheme is Scheme.MP_ONARRAY:  # transposed reads swap the roles of the two buffers
                need_in = need_out = max(need_in, need_out)
            self.tin[tile] = a.buffer(f"tin{tile}", f"tb{tile}", need_in)
            self.tout[tile] = a.buffer(f"tout{tile}", f"tb{tile}", need_out)
            if need_in + need_out > self.cfg.tiles.buffer_words:
                raise CapacityError(f"tile {tile} buffer needs {need_in + need_out} words; tiles.buffer_words = "
                                 f"{self.cfg.tiles.buffer_words}")

    def _vectors(self, layer: str) -> int:
        """Vectors per MVM instruction of a layer: the band's positions (conv) or the micro-batch (linear)."""
        return self.bands[layer] * self.g.shape(layer)[2] if layer in self.bands else self.m

    def _plan_conv(self, node) -> None:
        layer: Conv2d = node.layer
        cin, h, w = self.g.in_shapes(node.name)[0]
        cout, oh, ow = self.g.shape(node.name)
        rows = cin * layer.kernel[0] * layer.kernel[1]
        max_nr = max(p.rows for p in self.placement.blocks_of(node.name))
        max_nc = max(p.cols for p in self.placement.blocks_of(node.name))
        ny = 0
        half = self.cfg.tiles.buffer_words // 2  # input and output halves of a tile buffer
        for cand in range(1, oh + 1):
            p = cand * ow
            per_side = max(max_nr, max_nc) if self.t.scheme is Scheme.MP_ONARRAY else None
            fits_in = p * (per_side or max_nr) <= half
            fits_out = p * (per_side or max_nc) <= half
            if oh % cand == 0 and p * rows <= COL_BUDGET_WORDS and fits_in and fits_out:
                ny = cand
        if ny == 0:
            raise GraphError(f"node {node.name!r}: one output row ({ow} positions x {rows} im2col rows) does not "
                             f"fit the im2col budget of {COL_BUDGET_WORDS} words or a tile buffer of "
                             f"{self.cfg.tiles.buffer_words} words")
        self.bands[node.name] = ny
        p = ny * ow
        for name, words in (("col", p * rows), ("ycol", p * cout), ("dcol", p * cout)):
            self.scratch[name] = max(self.scratch.get(name, 0), words)
        ph, pw = layer.padding
        if ph or pw:
            self.a.buffer(f"pad_{node.name}", "sram", self.m * cin * (h + 2 * ph) * (w + 2 * pw))
            self.a.buffer(f"gpad_{node.name}", "sram", self.m * cin * (h + 2 * ph) * (w + 2 * pw))

    def words(self, space: str) -> int:
        """Words of the symbols this plan declares in ``space``."""
        return sum(b.words for k, b in self.a.buffers.items() if b.space == space and k == b.name)

    # shared emit helpers --------------------------------------------------------------------------------------
    def pattern(self, levels: list[tuple[int, int]]) -> None:
        """Set the address generator: ``levels`` innermost first, as (extent, stride)."""
        self.a.op("agclr")
        for i, (extent, stride) in enumerate(levels):
            if extent != 1:
                self.a.op("agen", i, extent, stride)

    def scale_of(self, node_index: int) -> float:
        """Quantisation scale of the input of weight node ``node_index``."""
        first = all(not self.g.weight_shape(n.name) for n in self.nodes[1:node_index])
        return _scale(self.bits, self.t.input_range if first else self.t.act_range)

    def mac_blocks(self, node, src: Buffer, dst: Buffer, vectors: int, rows: int, cols: int, scale: float,
                   src_reg: str | None = None) -> None:
        """dst[vectors, cols] = dequant(quant(src[vectors, rows]) @ W) over every block of the layer."""
        a = self.a
        for p in self.placement.blocks_of(node.name):
            tin, tout = self.tin[p.tile], self.tout[p.tile]
            self.pattern([(p.rows, 1), (vectors, rows)])
            a.op("gather", tin.at(), src.at(p.row_start, src_reg),
                 note=f"block r{p.row_start}+{p.rows} c{p.col_start}+{p.cols}")
            a.op("quant", tin.at(), tin.at(), vectors * p.rows, repr(float(np.float32(scale))), self.bits)
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.bits)
            a.op("mvm", p.tile, tout.at(), tin.at(), vectors)
            self.pattern([(p.cols, 1), (vectors, cols)])
            a.op("scatter" if p.row_start == 0 else "scadd", dst.at(p.col_start), tout.at())
        a.op("vscl", dst.at(), dst.at(), vectors * cols, repr(float(np.float32(scale * self.alpha[node.name]))),
             note="dequantise: input scale x layer weight scale")

    def mac_blocks_t(self, node, src: Buffer, dst: Buffer, vectors: int, rows: int, cols: int) -> None:
        """dst[vectors, rows] = dequant(quant(src[vectors, cols]) @ W.T): transposed reads of every block."""
        a = self.a
        scale = _scale(self.bits, self.t.error_range)
        for p in self.placement.blocks_of(node.name):
            tin, tout = self.tin[p.tile], self.tout[p.tile]
            self.pattern([(p.cols, 1), (vectors, cols)])
            a.op("gather", tin.at(), src.at(p.col_start), note=f"errors of block c{p.col_start}+{p.cols}")
            a.op("quant", tin.at(), tin.at(), vectors * p.cols, repr(float(np.float32(scale))), self.bits)
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.bits)
            a.op("mvmt", p.tile, tout.at(), tin.at(), vectors)
            self.pattern([(p.rows, 1), (vectors, rows)])
            a.op("scatter" if p.col_start == 0 else "scadd", dst.at(p.row_start), tout.at())
        a.op("vscl", dst.at(), dst.at(), vectors * rows, repr(float(np.float32(scale * self.alpha[node.name]))),
             note="dequantise")

    def input_gradient(self, node, gout: Buffer, gin: Buffer, vectors: int, rows: int, cols: int) -> None:
        """gin[vectors, rows] = gout[vectors, cols] @ W.T: on the arrays (mp_onarray) or from the digital copy."""
        if self.t.scheme is Scheme.MP_ONARRAY:
            self.mac_blocks_t(node, gout, gin, vectors, rows, cols)
        else:
            self.a.op("mm", gin.at(), gout.at(), self.wfp[node.name].at(), vectors, cols, rows, 0, 1, 0)

    def offset(self, reg: str, terms: list[tuple[str, int]]) -> None:
        """reg = sum(register * constant)."""
        a = self.a
        a.op("li", reg, 0)
        for r, k in terms:
            a.op("muli", "x30", r, k)
            a.op("add", reg, reg, "x30")

    # forward --------------------------------------------------------------------------------------------------
    def forward(self, phase: str) -> None:
        for i, node in enumerate(self.nodes[1:-1], start=1):
            a = self.a
            a.comment(f"{node.name} ({node.layer.kind}) {phase}")
            a.op("mark", a.layer_id(node.name), phase)
            prev = self.nodes[i - 1].name
            src, dst = self.act[prev], self.act[node.name]
            layer = node.layer
            n_in = self.m * self.size(prev)
            if isinstance(layer, Linear):
                rows, cols = self.g.weight_shape(node.name)
                self.mac_blocks(node, src, dst, self.m, rows, cols, self.scale_of(i))
                if layer.bias:
                    a.op("vaddr", dst.at(), dst.at(), f"b_{node.name}", self.m, cols)
            elif isinstance(layer, Conv2d):
                self.conv_forward(i, node)
            elif isinstance(layer, ReLU):
                a.op("vrelu", dst.at(), src.at(), n_in)
            elif isinstance(layer, (MaxPool, AvgPool, GlobalAvgPool)):
                c, h, w = self.g.in_shapes(node.name)[0]
                k, s = self.pool_ks(node, h, w)
                op = "maxpool" if isinstance(layer, MaxPool) else "avgpool"
                a.op(op, dst.at(), src.at(), self.m * c, h, w, k, s)

    def pool_ks(self, node, h: int, w: int) -> tuple[int, int]:
        layer = node.layer
        if isinstance(layer, GlobalAvgPool):
            if h != w:
                raise GraphError(f"node {node.name!r}: global pooling of a non-square {h}x{w} input")
            return h, h
        if layer.kernel[0] != layer.kernel[1] or layer.stride[0] != layer.stride[1]:
            raise GraphError(f"node {node.name!r}: only square pooling windows and strides are supported")
        return layer.kernel[0], layer.stride[0]

    def conv_geometry(self, node):
        layer: Conv2d = node.layer
        cin, h, w = self.g.in_shapes(node.name)[0]
        cout, oh, ow = self.g.shape(node.name)
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
        hp, wp = h + 2 * ph, w + 2 * pw
        return cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp

    def conv_forward(self, i: int, node) -> None:
        a = self.a
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        prev = self.nodes[i - 1].name
        src = self.act[prev]
        if ph or pw:
            pad = self.a.buffers[f"pad_{node.name}"]
            a.op("vfill", pad.at(), self.m * cin * hp * wp, 0.0, note="zero padding")
            self.pattern([(w, 1), (h, wp), (self.m * cin, hp * wp)])
            a.op("scatter", pad.at(ph * wp + pw), src.at())
            src = pad
        ny = self.bands[node.name]
        p = ny * ow
        rows = cin * kh * kw
        col, ycol, out = a.buffers["col"], a.buffers["ycol"], self.act[node.name]
        scale = self.scale_of(i)

        def band() -> None:
            self.offset("x12", [("x10", cin * hp * wp), ("x11", ny * sh * wp)])
            self.pattern(self.im2col_levels(node))
            a.op("gather", col.at(), src.at(0, "x12"), note="im2col band")
            self.mac_blocks(node, col, ycol, p, rows, cout, scale)
            if node.layer.bias:
                a.op("vaddr", ycol.at(), ycol.at(), f"b_{node.name}", p, cout)
            self.offset("x13", [("x10", cout * oh * ow), ("x11", p)])
            self.pattern([(cout, oh * ow), (p, 1)])
            a.op("scatter", out.at(0, "x13"), ycol.at(), note="(pos, c) -> CHW")

        a.loop("x10", self.m, lambda: a.loop("x11", oh // ny, band, note="bands"), note="images")

    def im2col_levels(self, node) -> list[tuple[int, int]]:
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        return [(kw, 1), (kh, wp), (cin, hp * wp), (ow, sw), (self.bands[node.name], sh * wp)]

    # backward -------------------------------------------------------------------------------------------------
    def loss_gradient(self) -> None:
        a = self.a
        logits = self.nodes[-2].name
        a.comment("loss gradient")
        a.op("mark", a.layer_id(self.nodes[-1].name), "backward")
        a.op("sxent", self.grad[logits].at(), self.act[logits].at(), self.labels.at(), self.m, self.classes)
        a.op("vscl", self.grad[logits].at(), self.grad[logits].at(), self.m * self.classes,
             repr(self.m / self.t.batch), note="mean over the batch, not the micro-batch")

    def backward(self) -> None:
        for i in range(len(self.nodes) - 2, 0, -1):
            node = self.nodes[i]
            a = self.a
            layer = node.layer
            prev = self.nodes[i - 1].name
            need_in = self._has_weights_before(i)
            if isinstance(layer, (ReLU, Flatten)) and not need_in:
                continue
            a.comment(f"{node.name} ({layer.kind}) backward")
            a.op("mark", a.layer_id(node.name), "backward")
            gout, gin = self.grad[node.name], self.grad[prev]
            if isinstance(layer, Linear):
                rows, cols = self.g.weight_shape(node.name)
                a.op("mm", f"dw_{node.name}", self.act[prev].at(), gout.at(), rows, self.m, cols, 1, 0, 1)
                if layer.bias:
                    a.op("vsumr", "rowsum", gout.at(), self.m, cols)
                    a.op("vadd", f"db_{node.name}", f"db_{node.name}", "rowsum", cols)
                if need_in:
                    self.input_gradient(node, gout, gin, self.m, rows, cols)
            elif isinstance(layer, Conv2d):
                self.conv_backward(i, node, need_in)
            elif isinstance(layer, ReLU):
                a.op("vdrelu", gin.at(), gout.at(), self.act[node.name].at(), self.m * self.size(node.name))
            elif isinstance(layer, (MaxPool, AvgPool, GlobalAvgPool)):
                c, h, w = self.g.in_shapes(node.name)[0]
                k, s = self.pool_ks(node, h, w)
                if isinstance(layer, MaxPool):
                    a.op("maxpoolb", gin.at(), gout.at(), self.act[prev].at(), self.m * c, h, w, k, s)
                else:
                    a.op("avgpoolb", gin.at(), gout.at(), self.m * c, h, w, k, s)

    def _has_weights_before(self, i: int) -> bool:
        return any(self.g.weight_shape(n.name) for n in self.nodes[1:i])

    def conv_backward(self, i: int, node, need_in: bool) -> None:
        a = self.a
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        prev = self.nodes[i - 1].name
        src = a.buffers[f"pad_{node.name}"] if (ph or pw) else self.act[prev]
        gsrc = a.buffers[f"gpad_{node.name}"] if (ph or pw) else self.grad[prev]
        ny = self.bands[node.name]
        p, rows = ny * ow, cin * kh * kw
        col, dcol, gout = a.buffers["col"], a.buffers["dcol"], self.grad[node.name]
        if need_in:
            a.op("vfill", gsrc.at(), self.m * cin * hp * wp, 0.0)

        def band() -> None:
            self.offset("x13", [("x10", cout * oh * ow), ("x11", p)])
            self.pattern([(cout, oh * ow), (p, 1)])
            a.op("gather", dcol.at(), gout.at(0, "x13"), note="CHW -> (pos, c)")
            self.offset("x12", [("x10", cin * hp * wp), ("x11", ny * sh * wp)])
            self.pattern(self.im2col_levels(node))
            a.op("gather", col.at(), src.at(0, "x12"), note="im2col band (recomputed)")
            a.op("mm", f"dw_{node.name}", col.at(), dcol.at(), rows, p, cout, 1, 0, 1)
            if node.layer.bias:
                a.op("vsumr", "rowsum", dcol.at(), p, cout)
                a.op("vadd", f"db_{node.name}", f"db_{node.name}", "rowsum", cout)
            if need_in:
                self.input_gradient(node, dcol, col, p, rows, cout)
                self.pattern(self.im2col_levels(node))
                a.op("scadd", gsrc.at(0, "x12"), col.at(), note="col2im")

        a.loop("x10", self.m, lambda: a.loop("x11", oh // ny, band, note="bands"), note="images")
        if need_in and (ph or pw):
            self.pattern([(w, 1), (h, wp), (self.m * cin, hp * wp)])
            a.op("gather", self.grad[prev].at(), gsrc.at(ph * wp + pw), note="strip padding")

    # update ---------------------------------------------------------------------------------------------------
    def hyperparameters(self) -> None:
        t = self.t
        for name, value in (("lr", t.lr), ("beta1", t.beta1), ("beta2", t.beta2), ("eps", t.eps),
                            ("wd", t.weight_decay), ("momentum", t.momentum)):
            self.a.op("hp", name, repr(float(np.float32(value))))

    def update(self) -> None:
        a, t = self.a, self.t
        a.op("addi", "x20", "x20", 1, note="optimizer step")
        for node in self.g.weight_nodes():
            name = node.name
            rows, cols = self.g.weight_shape(name)
            n = rows * cols
            a.comment(f"{name} update")
            a.op("mark", a.layer_id(name), "update")
            if t.optimizer == "adamw":
                a.op("adamw", f"dw_{name}", f"dw_{name}", f"m_{name}", f"v_{name}", f"w_{name}", n, "x20")
            else:
                a.op("sgd", f"dw_{name}", f"dw_{name}", f"m_{name}", f"w_{name}", n)
            if node.layer.bias:
                if t.optimizer == "adamw":
                    a.op("adamw", f"db_{name}", f"db_{name}", f"mb_{name}", f"vb_{name}", f"b_{name}", cols, "x20")
                else:
                    a.op("sgd", f"db_{name}", f"db_{name}", f"mb_{name}", f"b_{name}", cols)
                a.op("vadd", f"b_{name}", f"b_{name}", f"db_{name}", cols, note="bias is digital")
                a.op("vfill", f"db_{name}", cols, 0.0)
            a.op("vadd", f"acc_{name}", f"acc_{name}", f"dw_{name}", n, note="accumulate the update")
            if t.scheme is Scheme.MP_ONARRAY:
                eps = repr(float(np.float32(self.alpha[name] * pulse_step(self.cfg.tiles.physics))))
                a.op("xferp", self.tgt.at(), f"acc_{name}", n, eps, note="pulses = trunc(acc / eps)")
                a.op("vaxpy", f"w_{name}", self.tgt.at(), f"w_{name}", n, eps, note="track the intended weight")
                self.pulse_blocks(node, self.tgt, cols)
            else:
                a.op("xferwv", self.tgt.at(), self.msk.at(), f"acc_{name}", f"w_{name}", n,
                     repr(float(np.float32(self.transfer_level(name)))))
                self.program_blocks(node, self.tgt, self.msk, cols)
            a.op("vfill", f"dw_{name}", n, 0.0)

    def program_blocks(self, node, target: Buffer, mask: Buffer | None, cols: int) -> None:
        a = self.a
        for p in self.placement.blocks_of(node.name):
            self.pattern([(p.cols, 1), (p.rows, cols)])
            a.op("gather", self.blk_t.at(), target.at(p.row_start * cols + p.col_start))
            if self.alpha[node.name] != 1.0:
                a.op("vscl", self.blk_t.at(), self.blk_t.at(), p.rows * p.cols,
                     repr(float(np.float32(1.0 / self.alpha[node.name]))), note="to crossbar weight units")
            if mask is None:
                a.op("vfill", self.blk_m.at(), p.rows * p.cols, 1.0)
            else:
                a.op("gather", self.blk_m.at(), mask.at(p.row_start * cols + p.col_start))
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.bits)
            a.op("wv", p.tile, self.blk_t.at(), self.blk_m.at())

    def pulse_blocks(self, node, pulses: Buffer, cols: int) -> None:
        a = self.a
        for p in self.placement.blocks_of(node.name):
            self.pattern([(p.cols, 1), (p.rows, cols)])
            a.op("gather", self.blk_t.at(), pulses.at(p.row_start * cols + p.col_start))
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.bits)
            a.op("pulse", p.tile, self.blk_t.at())

    # programs -------------------------------------------------------------------------------------------------
    def load_micro(self, x: str, y: str) -> None:
        """DMA one micro-batch: images from DRAM ``x`` at row x4, labels from ``y`` at x5."""
        a = self.a
        a.op("copy", self.act[self.nodes[0].name].at(), f"{x}(x4)", self.m * self.feat)
        a.op("copy", self.labels.at(), f"{y}(x5)", self.m)

    def emit_init(self) -> str:
        self.a.lines = []
        self.a.comment("program every weight block from the digital copy")
        self.a.op("mark", 0, "other")
        for node in self.g.weight_nodes():
            self.program_blocks(node, self.wfp[node.name], None, self.g.weight_shape(node.name)[1])
        self.a.op("halt")
        return self.a.text()

    def emit_train(self) -> str:
        a, t = self.a, self.t
        a.lines = []
        a.op("lw", "x20", self.scalar.at(0), note="optimizer step so far")
        self.hyperparameters()

        def micro() -> None:
            self.offset("x4", [("x2", t.batch * self.feat), ("x3", self.m * self.feat)])
            self.offset("x5", [("x2", t.batch), ("x3", self.m)])
            a.op("mark", 0, "forward")
            self.load_micro("train_x", "train_y")
            self.forward("forward")
            self.loss_gradient()
            self.backward()

        def batch() -> None:
            a.loop("x3", t.batch // self.m, micro, note="micro-batches")
            self.update()

        a.loop("x2", self.n_train // t.batch, batch, note="batches")
        a.op("sw", "x20", self.scalar.at(0))
        a.op("halt")
        return a.text()

    def emit_eval(self) -> str:
        a = self.a
        a.lines = []
        a.op("vfill", self.scalar.at(1), 1, 0.0, note="correct = 0")

        def micro() -> None:
            a.op("muli", "x4", "x3", self.m * self.feat)
            a.op("muli", "x5", "x3", self.m)
            a.op("mark", 0, "eval")
            self.load_micro("test_x", "test_y")
            self.forward("eval")
            a.op("mark", 0, "eval")
            logits = self.act[self.nodes[-2].name]
            a.op("argmax", self.pred.at(), logits.at(), self.m, self.classes)
            a.op("vcmpeq", self.pred.at(), self.pred.at(), self.labels.at(), self.m)
            a.op("vsum", self.scalar.at(2), self.pred.at(), self.m)
            a.op("vadd", self.scalar.at(1), self.scalar.at(1), self.scalar.at(2), 1)

        a.loop("x3", self.n_test // self.m, micro, note="test micro-batches")
        a.op("halt")
        return a.text()

    def declare_data(self) -> None:
        a = self.a
        a.buffer("train_x", "dram", self.n_train * self.feat)
        a.buffer("train_y", "dram", self.n_train)
        a.buffer("test_x", "dram", self.n_test * self.feat)
        a.buffer("test_y", "dram", self.n_test)


def _strip_init(text: str) -> str:
    """The same symbol declarations without initial data (so reloading keeps trained state)."""
    out = []
    for line in text.splitlines():
        if line.startswith(".sym") and " uniform " in line:
            line = line.split(" uniform ")[0]
        out.append(line)
    return "\n".join(out) + "\n"


def compile_training(graph: Graph, cfg: SocConfig, n_train: int, n_test: int,
                     microbatch: int | None = None) -> Compiled:
    """Compile ``graph`` for training with ``cfg.train`` on ``n_train`` / ``n_test`` examples."""
    t = cfg.train
    if n_train < t.batch:
        raise GraphError(f"{n_train} training examples are fewer than one batch of {t.batch}")
    sram, acc = cfg.space_words()["sram"], cfg.space_words()["acc"]
    candidates = [microbatch] if microbatch else [m for m in range(t.batch, 0, -1) if t.batch % m == 0]
    low, problem = None, ""
    for m in candidates:
        try:
            low = Lowering(graph, cfg, t, m, n_train, n_test - n_test % m)
        except CapacityError as exc:
            low, problem = None, str(exc)
            continue
        if low.words("sram") <= sram and low.words("acc") <= acc:
            break
        biggest = sorted((b for k, b in low.a.buffers.items() if b.space == "sram" and k == b.name),
                         key=lambda b: -b.words)[:3]
        problem = (f"with a micro-batch of {m} it needs {low.words('sram')} SRAM words (controller.dmem_kbit gives "
                   f"{sram}; largest: " + ", ".join(f"{b.name} {b.words}" for b in biggest)
                   + f") and {low.words('acc')} accumulator words (sram.acc_kbit gives {acc})")
        low = None
    if low is None:
        raise CapacityError(f"graph {graph.name!r} does not fit {cfg.name}: {problem}")
    low.declare_data()
    texts = {"init": low.emit_init(), "train_epoch": _strip_init(low.emit_train()),
             "evaluate": _strip_init(low.emit_eval())}
    programs = {k: isa.assemble(v, f"<{graph.name}.{k}>") for k, v in texts.items()}
    return Compiled(programs["init"], programs["train_epoch"], programs["evaluate"], low.m,
                    n_train // t.batch, low.n_test, low.placement, texts)
