"""The pipelined evaluation program (``compiler.datapath = pipelined``): streamed MVMs on concurrent tiles.

Each weight layer runs as one ``mvms`` per block and band (the sequential lowering's bands: the same vectors in the
same instructions, so the same numbers). A tile streams its inputs from SRAM through its own input pattern
(whole-kernel blocks read the bordered feature map directly; other blocks read an im2col band the DMA gathered),
the row blocks of a column block form a chain whose partial sums are added in the next tile's output stage
(double-buffered slots in the tile buffers), and the chain's last tile applies the layer's epilogue and writes the
result into its reader's layout. Fused into that epilogue, in this order: the dequantisation, the bias, a following
batch norm, a following residual add and a following ReLU (:class:`~socsim.compiler.lower.pipeline_plan.Group`).
Activations are CHW with a zero border as wide as the padding of the convolutions that read them, so no padding
copy is needed; pooling and unfused nodes run on the digital unit on border-free copies (DMA gathers and scatters
where a border is in the way). The plan (socsim.compiler.lower.pipeline_plan) declares these buffers beside the
other programs' (one memory layout for the three programs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from socsim.compiler.emit import OFFSET_RANGE, Asm, Buffer, f32, pattern
from socsim.compiler.graph import Node
from socsim.compiler.layers.conv2d import conv_bands
from socsim.compiler.lower.forward import NodeView, load_micro
from socsim.compiler.lower.network import Network, bn_dims, conv_geometry
from socsim.compiler.lower.pipeline_plan import (
    Group,
    Layout,
    PipelinePlan,
    chain_ends,
    materialised,
    whole_kernels,
    windowed,
)
from socsim.compiler.lower.plan import ActivationBuffers, ParameterBuffers
from socsim.compiler.mapping.placement import PlacedBlock
from socsim.compiler.registers import REG


@dataclass(frozen=True)
class DigitalNode(NodeView):
    """An unfused node of the pipelined evaluation as its layer's own code sees it (``socsim.compiler.layer``:
    ``ForwardEmission``): border-free copies of its inputs and its output."""

    out: Buffer
    ins: tuple[Buffer, ...]
    phase: str = "eval"

    def output(self) -> Buffer:
        return self.out

    def input(self, i: int = 0) -> Buffer:
        return self.ins[i]


@dataclass(frozen=True)
class PipelinedEvaluation:
    """Emits the pipelined evaluation's prologue and forward pass (see the module docstring)."""

    asm: Asm
    net: Network
    activations: ActivationBuffers
    """The sequential activations (the input's buffer the images arrive in), the labels and the input scales."""
    parameters: ParameterBuffers
    """The bands and vectors per MVM of each weight layer."""
    plan: PipelinePlan
    written: set[str] = field(default_factory=set)
    """Nodes whose border-free copy the current micro-batch has made."""

    def prologue(self) -> None:
        """Before the loop: zero every bordered buffer (its border stays zero) and configure single-block tiles."""
        a, pp = self.asm, self.plan
        for lay in (*pp.layouts.values(), *pp.res_copies.values()):
            if lay.border != (0, 0):
                a.op("vfill", lay.buf.at(), lay.buf.words, 0.0, note=f"{lay.buf.name}: zero border")
        a.op("li", REG.one, 1)
        for node in self.net.graph.weight_nodes():
            for b in self.net.placement.blocks_of(node.name):
                if b.tile in pp.hoisted:
                    self.configure_block(node, b)

    def forward(self) -> None:
        """The forward pass of one micro-batch: load its images, then every group and unfused node in order."""
        pp, a = self.plan, self.asm
        self.written.clear()
        self.load_input()
        for node in self.net.order[1:-1]:
            if (node.name in pp.fused and node.name not in pp.groups) or node.layer.view:
                continue
            group = pp.groups.get(node.name)
            what = f"{group.weight.name} ({' + '.join(group.members)})" if group else f"{node.name} ({node.layer.kind})"
            a.comment(f"{what} eval, pipelined")
            a.op("mark", a.layer_id(group.weight.name if group else node.name), "eval")
            if group:
                self.emit_group(group)
            else:
                self.emit_digital(node)

    def load_input(self) -> None:
        """The micro-batch's images from DRAM into the input node's layout."""
        name = self.net.order[0].name
        lay = self.plan.layouts[name]
        load_micro(self.asm, self.net, self.activations.output[self.net.order[0].name], self.activations.labels,
                   "test_x", "test_y")
        if lay.buf is not self.activations.output[name]:
            self.relayout(self.activations.output[name], lay, into=True)

    def relayout(self, flat: Buffer, lay: Layout, into: bool) -> None:
        """DMA between a border-free CHW buffer and ``lay``'s bordered one: scatter into it, or gather out of it."""
        c, h, w = lay.shape
        hp, wp = lay.padded
        pattern(self.asm, [(w, 1), (h, wp), (self.net.microbatch * c, hp * wp)])
        if into:
            self.asm.op("scatter", lay.buf.at(lay.interior), flat.at(), note="into the bordered layout")
        else:
            self.asm.op("gather", flat.at(), lay.buf.at(lay.interior), note="out of the bordered layout")

    def source(self, name: str) -> Layout:
        """A node's activation as its readers see it."""
        return self.plan.layouts[materialised(self.net.graph, name)]

    def flat_source(self, name: str) -> Buffer:
        """A node's activation without a border: a DMA gather out of its layout, once per micro-batch."""
        name = materialised(self.net.graph, name)
        lay = self.plan.layouts[name]
        if lay.border == (0, 0):
            return lay.buf
        buf = self.plan.unpadded[name]
        if name not in self.written:
            self.relayout(buf, lay, into=False)
            self.written.add(name)
        return buf

    def emit_digital(self, node: Node) -> None:
        """An unfused node on the digital unit, on border-free buffers."""
        a, layer = self.asm, node.layer
        out = self.plan.layouts[node.name]
        dst = out.buf if out.border == (0, 0) else self.plan.unpadded[node.name]
        ins = [self.flat_source(i) for i in node.inputs]
        layer.emit_forward(DigitalNode(a, self.net, node.name, dst, tuple(ins)))  # its own code (BatchNorm: bneval)
        if dst is not out.buf:
            self.relayout(dst, out, into=True)

    # weight layers -------------------------------------------------------------------------------------------------
    def in_pattern(self, node: Node, block: PlacedBlock) -> tuple[list[tuple[int, int]], int]:
        """The block's input stream pattern and its first word, from the band's input (or the im2col band)."""
        if not windowed(node):
            rows = self.net.graph.weight_shape(node.name)[0]
            return [(block.rows, 1), (self.net.microbatch, rows)], block.row_start
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = conv_geometry(self.net.graph, node)
        ny, nx = self.parameters.bands[node.name]
        if not whole_kernels(node, block):  # rows of the im2col band, one position after another
            return [(block.rows, 1), (ny * nx, cin * kh * kw)], block.row_start
        src = self.source(node.inputs[0])
        (bh, bw), (php, pwp) = src.border, src.padded
        levels = [(kw, 1), (kh, pwp), (block.rows // (kh * kw), php * pwp), (nx, sw), (ny, sh * pwp)]
        return levels, block.row_start // (kh * kw) * php * pwp + (bh - ph) * pwp + (bw - pw)

    def out_pattern(self, node: Node, block: PlacedBlock, out: Layout) -> tuple[list[tuple[int, int]], int]:
        """A chain end's output pattern into ``out`` and its first word, from the band's output offset."""
        if not windowed(node):
            cols = self.net.graph.weight_shape(node.name)[1]
            return [(block.cols, 1), (self.net.microbatch, cols)], block.col_start
        ny, nx = self.parameters.bands[node.name]
        ohp, owp = out.padded
        return [(block.cols, ohp * owp), (nx, 1), (ny, owp)], block.col_start * ohp * owp + out.interior

    def configure_block(self, node: Node, block: PlacedBlock) -> None:
        """tcfg, the stream patterns and, at a chain's end, the epilogue of one block's tile."""
        a, pp = self.asm, self.plan
        group = pp.fused[node.name]
        a.op("tcfg", block.tile, block.tile_row, block.tile_col, block.rows, block.cols, self.net.in_bits)
        pattern(self.asm, self.in_pattern(node, block)[0])
        a.op("tpat", block.tile, "in")
        if block in chain_ends(self.net.placement, node.name):
            pattern(self.asm, self.out_pattern(node, block, pp.layouts[group.tail])[0])
            a.op("tpat", block.tile, "out")
            self.configure_epilogue(group, block)
        else:
            pattern(self.asm, [(self.parameters.vectors[node.name] * block.cols, 1)])
            a.op("tpat", block.tile, "out")

    def configure_epilogue(self, group: Group, block: PlacedBlock) -> None:
        node = group.weight
        f = f32(self.net.alpha[node.name])  # times the layer's input scale in memory (inscale_NAME), as vsclm
        bias = f"b_{node.name}+{block.col_start}" if node.layer.bias else "sram:0"
        channels, run, gb, eps = 0, "sram:0", "sram:0", "0.0"
        if group.bn is not None:
            bn = group.bn
            channels, _ = bn_dims(self.net.graph, bn)
            run, gb, eps = f"run_{bn.name}+{block.col_start}", f"gb_{bn.name}+{block.col_start}", f32(bn.layer.eps)
        scale = self.activations.input_scale[node.name].at()
        self.asm.op("tepi", block.tile, bias, run, gb, scale, channels, f, eps, int(node.layer.bias),
                  int(group.bn is not None), int(group.relu is not None))

    def shared_tiles(self, layer: str) -> set[int]:
        """Tiles holding several blocks of ``layer``: reconfigured before each of its mvms."""
        seen: set[int] = set()
        twice: set[int] = set()
        for b in self.net.placement.blocks_of(layer):
            (twice if b.tile in seen else seen).add(b.tile)
        return twice

    def emit_group(self, group: Group) -> None:
        node, pp = group.weight, self.plan
        shared = self.shared_tiles(node.name)
        for b in self.net.placement.blocks_of(node.name):
            if b.tile not in pp.hoisted and b.tile not in shared:
                self.configure_block(node, b)
        res = None
        if group.res:
            res = self.source(group.res)
            if group.tail in pp.res_copies:  # the residual in the output's layout
                res = pp.res_copies[group.tail]
                self.relayout(self.flat_source(group.res), res, into=True)
        if not windowed(node):
            flat = self.flat_source(node.inputs[0])
            self.asm.op("li", REG.slot_offset, 0)
            self.slot_windows(node)
            self.group_band(group, res, "", "", flat)
        else:
            self.conv_group(group, res)

    def slot_windows(self, node: Node) -> None:
        """``REG.slots[k] = REG.slot_offset + k x 2^24`` for each window k > 0 of this layer's slots."""
        windows = {self.plan.slots[b.tile].addr // OFFSET_RANGE for b in self.net.placement.blocks_of(node.name)
                   if b.tile in self.plan.slots}
        for k in sorted(windows - {0}):
            self.asm.op("add", REG.slots[k], REG.slot_offset, REG.bases[k - 1],
                        note="slot offset in a tile-buffer window")

    def slot(self, tile: int) -> str:
        """A tile's partial-sum slot of this band: ``ps{tile}`` through its window's slot register."""
        buf = self.plan.slots[tile]
        k = buf.addr // OFFSET_RANGE
        return f"{buf.name}{-k * OFFSET_RANGE:+d}({REG.slots[k]})" if k else f"{buf.name}({REG.slots[k]})"

    def conv_group(self, group: Group, res: Layout | None) -> None:
        a, node = self.asm, group.weight
        g = conv_geometry(self.net.graph, node)
        band = self.parameters.bands[node.name]
        ny, nx = band
        src, out = self.source(node.inputs[0]), self.plan.layouts[group.tail]
        php, pwp = src.padded
        stride = self.plan.slot_stride[node.name]
        cut = not all(whole_kernels(node, b) for b in self.net.placement.blocks_of(node.name))
        a.op("li", REG.slot, 0, note="partial-sum slot of the band: 0, 1, 0, ...")

        def one_band() -> None:
            a.op("muli", REG.slot_offset, REG.slot, stride)
            self.slot_windows(node)
            a.op("sub", REG.slot, REG.one, REG.slot)
            if cut:
                pattern(a, [(g.kw, 1), (g.kh, pwp), (g.cin, php * pwp), (nx, g.sw), (ny, g.sh * pwp)])
                first = (src.border[0] - g.ph) * pwp + src.border[1] - g.pw
                a.op("gather", self.plan.col.at(), src.buf.at(first, REG.band_in),
                     note="im2col band (blocks without whole kernels)")
            self.group_band(group, res, REG.band_in, REG.band_out, None)

        conv_bands(a, self.net.microbatch, g, band, one_band, in_plane=src.padded, out_plane=out.padded)

    def group_band(self, group: Group, res: Layout | None, in_reg: str, out_reg: str, flat: Buffer | None) -> None:
        """One mvms per block of the band, row blocks in order: each adds the partial sums of the one before."""
        a, node, pp = self.asm, group.weight, self.plan
        out = pp.layouts[group.tail]
        ends = chain_ends(self.net.placement, node.name)
        before: dict[int, PlacedBlock] = {}
        n, scale = self.parameters.vectors[node.name], self.activations.input_scale[node.name].at()
        src = None if flat is not None else self.source(node.inputs[0])
        shared = self.shared_tiles(node.name)
        for b in self.net.placement.blocks_of(node.name):
            if b.tile in shared:
                self.configure_block(node, b)
            first = self.in_pattern(node, b)[1]
            if flat is not None:
                x = flat.at(first)
            elif whole_kernels(node, b):
                x = src.buf.at(first, in_reg)
            else:
                x = pp.col.at(first)
            prev = before.get(b.col_start)
            psum, acc = (self.slot(prev.tile), 1) if prev is not None else ("sram:0", 0)
            where = f"block r{b.row_start}+{b.rows} c{b.col_start}+{b.cols}"
            if b in ends:
                first_out = self.out_pattern(node, b, out)[1]
                r = res.buf.at(first_out, out_reg or None) if res is not None else "sram:0"
                a.op("mvms", b.tile, out.buf.at(first_out, out_reg or None), x, psum, r, scale, n, acc, 1,
                     int(res is not None), note=f"{where}: chain end")
            else:
                a.op("mvms", b.tile, self.slot(b.tile), x, psum, "sram:0", scale, n, acc, 0, 0, note=where)
            before[b.col_start] = b
