"""The pipelined evaluation program (``compiler.datapath = pipelined``): streamed MVMs on concurrent tiles.

A mixin of :class:`socsim.compiler.lower.Lowering`. Each weight layer runs as one ``mvms`` per block and band (the
sequential lowering's bands: the same vectors in the same instructions, so the same numbers). A tile streams its
inputs from SRAM through its own input pattern (whole-kernel blocks read the bordered feature map directly; other
blocks read an im2col band the DMA gathered), the row blocks of a column block form a chain whose partial sums
are added in the next tile's output stage (double-buffered slots in the tile buffers), and the chain's last tile
applies the layer's epilogue and writes the result into its reader's layout. Fused into that epilogue, in this
order: the dequantisation, the bias, a following batch norm, a following residual add and a following ReLU
(:class:`Group`). Activations are CHW with a zero border as wide as the padding of the convolutions that read
them, so no padding copy is needed; pooling and unfused nodes run on the digital unit on border-free copies (DMA
gathers and scatters where a border is in the way). The plan declares these buffers beside the other programs'
(one memory layout for the three programs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from socsim.compiler.emit import OFFSET_RANGE, Buffer
from socsim.compiler.graph import (
    Add,
    AvgPool,
    BatchNorm,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    GraphError,
    Input,
    Linear,
    MaxPool,
    Node,
    ReLU,
)
from socsim.compiler.lower_blocks import f32
from socsim.compiler.placement import PlacedBlock
from socsim.compiler.registers import REG


@dataclass
class Group:
    """A weight layer and the single-consumer nodes fused into its tiles' epilogue, run at the last one's place."""

    weight: Node
    bn: Node | None = None
    add: Node | None = None
    res: str = ""
    """The residual add's other input."""
    relu: Node | None = None

    @property
    def tail(self) -> str:
        """The node whose output the group writes."""
        return (self.relu or self.add or self.bn or self.weight).name

    @property
    def members(self) -> list[str]:
        return [n.name for n in (self.weight, self.bn, self.add, self.relu) if n is not None]


@dataclass(frozen=True)
class Layout:
    """A materialised activation: its buffer, shape (C, H, W) or (F,) and zero border (rows, columns)."""

    buf: Buffer
    shape: tuple[int, ...]
    border: tuple[int, int] = (0, 0)

    @property
    def padded(self) -> tuple[int, int]:
        """(rows, columns) of a plane with its border."""
        _, h, w = self.shape
        return h + 2 * self.border[0], w + 2 * self.border[1]

    @property
    def interior(self) -> int:
        """Offset of the first interior word of the first plane."""
        return self.border[0] * self.padded[1] + self.border[1] if len(self.shape) == 3 else 0


def image_words(shape: tuple[int, ...], border: tuple[int, int]) -> int:
    """Words of one image's activation of ``shape`` with ``border``."""
    if len(shape) != 3:
        return shape[0]
    c, h, w = shape
    return c * (h + 2 * border[0]) * (w + 2 * border[1])


@dataclass
class PipelinePlan:
    """Groups, layouts and the partial-sum slots of the pipelined evaluation program."""

    groups: dict[str, Group] = field(default_factory=dict)
    """By tail node."""
    fused: dict[str, Group] = field(default_factory=dict)
    """By every member node."""
    layouts: dict[str, Layout] = field(default_factory=dict)
    """Of every materialised node: the input, group tails and unfused nodes (flatten is a view)."""
    unpadded: dict[str, Buffer] = field(default_factory=dict)
    """Border-free copies for readers that need them (pooling, linear layers, unfused nodes, residuals)."""
    res_copies: dict[str, Layout] = field(default_factory=dict)
    """Per group tail: its residual re-laid out like its output (when their borders differ)."""
    slots: dict[int, Buffer] = field(default_factory=dict)
    """Per tile: two partial-sum slots of its largest block that is not a chain's end."""
    slot_need: dict[int, int] = field(default_factory=dict)
    """Per tile: the words of its two slots."""
    slot_stride: dict[str, int] = field(default_factory=dict)
    """Per weight layer: words between a tile's two slots."""
    hoisted: set[int] = field(default_factory=set)
    """Tiles holding one block: configured once, before the loop."""
    borders: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Of every materialised node: the zero border (rows, columns) its layout keeps for the convolutions reading it."""
    sram: dict[str, int] = field(default_factory=dict)
    """The SRAM buffers the program needs (name -> words), placed as views of the shared scratch."""
    col: Buffer | None = None
    """The im2col band of blocks without whole kernels (None when every block has whole kernels)."""


class PipelinedEmitter:
    """Plans and emits the pipelined evaluation program (see the module docstring)."""

    # plan -----------------------------------------------------------------------------------------------------
    def _plan_pipelined(self) -> None:
        """Groups, borders and the SRAM buffers the program needs (:attr:`PipelinePlan.sram`, placed by
        :meth:`_place_pipelined` as views of the shared scratch: the training buffers are dead while it runs)."""
        pp = self.pipeline = PipelinePlan()
        consumers: dict[str, list[Node]] = {n.name: [] for n in self.order}
        for node in self.order:
            for i in node.inputs:
                consumers[i].append(node)

        def only(name: str, kind: type) -> Node | None:
            nxt = consumers[name]
            return nxt[0] if len(nxt) == 1 and isinstance(nxt[0].layer, kind) and nxt[0].name not in pp.fused else None
        for node in self.order:
            if self.graph.weight_shape(node.name) is None:
                continue
            group = Group(node)
            group.bn = only(group.tail, BatchNorm)
            add = only(group.tail, Add)
            if add is not None and add.inputs[0] != add.inputs[1]:
                group.add, group.res = add, next(i for i in add.inputs if i != group.tail)
            group.relu = only(group.tail, ReLU)
            pp.groups[group.tail] = group
            for name in group.members:
                pp.fused[name] = group
        self._plan_borders(consumers)
        self._plan_copies()
        self._plan_slots()
        if any(not self.whole_kernels(n, b) for n in self.graph.weight_nodes() for b in self.placement.blocks_of(n.name)):
            pp.sram["pcol"] = max(self.bands[n.name][0] * self.bands[n.name][1] * self.graph.weight_shape(n.name)[0]
                                  for n in self.graph.weight_nodes() if n.name in self.bands)

    def _materialised(self) -> list[str]:
        pp = self.pipeline
        return [n.name for n in self.order[:-1] if (n.name in pp.groups or n.name not in pp.fused)
                and not isinstance(n.layer, Flatten)]

    def _plan_borders(self, consumers: dict[str, list[Node]]) -> None:
        pp = self.pipeline
        res_of = {g.res: tail for tail, g in pp.groups.items() if g.res}
        for name in reversed(self._materialised()):
            pads = [c.layer.padding for c in consumers[name] if isinstance(c.layer, Conv2d)]
            b = (max((p[0] for p in pads), default=0), max((p[1] for p in pads), default=0))
            if not pads and name in res_of:  # a residual only: its reader's layout
                b = pp.borders[res_of[name]]
            pp.borders[name] = b if len(self.graph.shape(name)) == 3 else (0, 0)
        for tail, g in pp.groups.items():  # read by no conv: take its residual's border (readers gather anyway)
            if g.res and not any(isinstance(c.layer, Conv2d) for c in consumers[tail]):
                pp.borders[tail] = max(pp.borders[tail], pp.borders[g.res])
        for name in self._materialised():
            if pp.borders[name] != (0, 0) or not isinstance(self.graph.node(name).layer, Input):
                pp.sram[f"p_{name}"] = self.microbatch * image_words(tuple(self.graph.shape(name)), pp.borders[name])

    def _plan_copies(self) -> None:
        """Border-free copies for the readers that need them, and residuals in their reader's layout."""
        pp = self.pipeline
        for node in self.order[1:-1]:
            if node.name in pp.groups:
                g = pp.groups[node.name]
                if isinstance(g.weight.layer, Linear):
                    self._unpadded(self.materialised(g.weight.inputs[0]))
                if g.res and pp.borders[g.res] != pp.borders[g.tail]:
                    self._unpadded(g.res)
                    pp.sram[f"r_{g.tail}"] = self.microbatch * image_words(tuple(self.graph.shape(g.tail)), pp.borders[g.tail])
            elif node.name not in pp.fused and not isinstance(node.layer, Flatten):
                for i in node.inputs:
                    self._unpadded(self.materialised(i))
                self._unpadded(node.name)

    def _unpadded(self, name: str) -> None:
        if self.pipeline.borders[name] != (0, 0):
            self.pipeline.sram[f"u_{name}"] = self.microbatch * self.size(name)

    def _place_pipelined(self, views: dict[str, Buffer]) -> None:
        """The planned buffers, as ``views`` gives them; then the partial-sum slots in the tile buffers."""
        pp = self.pipeline
        for name in self._materialised():
            buf = views.get(f"p_{name}", self.activation[name])
            pp.layouts[name] = Layout(buf, tuple(self.graph.shape(name)), pp.borders[name])
        for key, buf in views.items():
            if key.startswith("u_"):
                pp.unpadded[key[2:]] = buf
            elif key.startswith("r_"):
                tail = key[2:]
                pp.res_copies[tail] = Layout(buf, tuple(self.graph.shape(tail)), pp.borders[tail])
        pp.col = views.get("pcol")

    def materialised(self, name: str) -> str:
        """The materialised node behind ``name`` (through flatten views)."""
        while isinstance(self.graph.node(name).layer, Flatten):
            name = self.graph.node(name).inputs[0]
        return name

    def _plan_slots(self) -> None:
        """Slot strides per layer, words per tile (declared with the tile buffers) and the tiles to configure once."""
        pp = self.pipeline
        for node in self.graph.weight_nodes():
            blocks = self.placement.blocks_of(node.name)
            stride = pp.slot_stride[node.name] = self._vectors(node.name) * max(b.cols for b in blocks)
            last = self.chain_ends(node.name)
            for b in blocks:
                if b not in last:
                    pp.slot_need[b.tile] = max(pp.slot_need.get(b.tile, 0), 2 * stride)
        counts: dict[int, int] = {}
        for b in self.placement.blocks:
            counts[b.tile] = counts.get(b.tile, 0) + 1
        pp.hoisted = {t for t, c in counts.items() if c == 1}

    def slot_words(self, tile: int) -> int:
        """Words of a tile's two partial-sum slots (0: no block of the tile passes partial sums on)."""
        return self.pipeline.slot_need.get(tile, 0)

    def chain_ends(self, layer: str) -> list[PlacedBlock]:
        """The last row block of each column block of ``layer`` (where its chain of partial sums ends)."""
        last: dict[int, PlacedBlock] = {}
        for b in self.placement.blocks_of(layer):
            last[b.col_start] = b
        return list(last.values())

    def pipelined_indexed(self) -> list[Buffer]:
        """The pipelined program's buffers addressed through an index register."""
        pp = getattr(self, "pipeline", None)
        if pp is None:
            return []
        return [lay.buf for lay in (*pp.layouts.values(), *pp.res_copies.values())] + list(pp.unpadded.values())

    # emission ---------------------------------------------------------------------------------------------------
    def pipelined_prologue(self) -> None:
        """Before the loop: zero every bordered buffer (its border stays zero) and configure single-block tiles."""
        a, pp = self.asm, self.pipeline
        for lay in (*pp.layouts.values(), *pp.res_copies.values()):
            if lay.border != (0, 0):
                a.op("vfill", lay.buf.at(), lay.buf.words, 0.0, note=f"{lay.buf.name}: zero border")
        a.op("li", REG.one, 1)
        for node in self.graph.weight_nodes():
            for b in self.placement.blocks_of(node.name):
                if b.tile in pp.hoisted:
                    self.configure_block(node, b)

    def pipelined_forward(self) -> None:
        """The forward pass of one micro-batch: load its images, then every group and unfused node in order."""
        pp, a = self.pipeline, self.asm
        self.written: set[str] = set()
        """Nodes whose border-free copy this micro-batch has made."""
        self.load_input()
        for node in self.order[1:-1]:
            if (node.name in pp.fused and node.name not in pp.groups) or isinstance(node.layer, Flatten):
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
        name = self.order[0].name
        lay = self.pipeline.layouts[name]
        self.load_micro("test_x", "test_y")
        if lay.buf is not self.activation[name]:
            self.relayout(self.activation[name], lay, into=True)

    def relayout(self, flat: Buffer, lay: Layout, into: bool) -> None:
        """DMA between a border-free CHW buffer and ``lay``'s bordered one: scatter into it, or gather out of it."""
        c, h, w = lay.shape
        hp, wp = lay.padded
        self.pattern([(w, 1), (h, wp), (self.microbatch * c, hp * wp)])
        if into:
            self.asm.op("scatter", lay.buf.at(lay.interior), flat.at(), note="into the bordered layout")
        else:
            self.asm.op("gather", flat.at(), lay.buf.at(lay.interior), note="out of the bordered layout")

    def source(self, name: str) -> Layout:
        """A node's activation as its readers see it."""
        return self.pipeline.layouts[self.materialised(name)]

    def flat_source(self, name: str) -> Buffer:
        """A node's activation without a border: a DMA gather out of its layout, once per micro-batch."""
        name = self.materialised(name)
        lay = self.pipeline.layouts[name]
        if lay.border == (0, 0):
            return lay.buf
        buf = self.pipeline.unpadded[name]
        if name not in self.written:
            self.relayout(buf, lay, into=False)
            self.written.add(name)
        return buf

    def emit_digital(self, node: Node) -> None:
        """An unfused node on the digital unit, on border-free buffers."""
        a, m, layer = self.asm, self.microbatch, node.layer
        out = self.pipeline.layouts[node.name]
        dst = out.buf if out.border == (0, 0) else self.pipeline.unpadded[node.name]
        ins = [self.flat_source(i) for i in node.inputs]
        n = m * self.size(node.name)
        if isinstance(layer, ReLU):
            a.op("vrelu", dst.at(), ins[0].at(), n)
        elif isinstance(layer, (MaxPool, AvgPool, GlobalAvgPool)):
            c, h, w = self.graph.in_shapes(node.name)[0]
            k, s = self.pool_ks(node, h, w)
            a.op("maxpool" if isinstance(layer, MaxPool) else "avgpool", dst.at(), ins[0].at(), m * c, h, w, k, s)
        elif isinstance(layer, Add):
            a.op("vadd", dst.at(), ins[0].at(), ins[1].at(), n)
        elif isinstance(layer, BatchNorm):
            c, hw = self.bn_dims(node)
            a.op("bneval", dst.at(), ins[0].at(), f"run_{node.name}", f"gb_{node.name}", m, c, hw, f32(layer.eps))
        else:  # pragma: no cover - SUPPORTED lists what the lowering handles
            raise GraphError(f"node {node.name!r} ({layer.kind}): not supported by the pipelined lowering")
        if dst is not out.buf:
            self.relayout(dst, out, into=True)

    # weight layers -------------------------------------------------------------------------------------------------
    def whole_kernels(self, node: Node, block: PlacedBlock) -> bool:
        """True for a linear block, or a conv block of whole kernels (its im2col rows: a pattern over channels)."""
        if not isinstance(node.layer, Conv2d):
            return True
        kh, kw = node.layer.kernel
        return block.row_start % (kh * kw) == 0 and block.rows % (kh * kw) == 0

    def in_pattern(self, node: Node, block: PlacedBlock) -> tuple[list[tuple[int, int]], int]:
        """The block's input stream pattern and its first word, from the band's input (or the im2col band)."""
        if isinstance(node.layer, Linear):
            rows = self.graph.weight_shape(node.name)[0]
            return [(block.rows, 1), (self.microbatch, rows)], block.row_start
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        ny, nx = self.bands[node.name]
        if not self.whole_kernels(node, block):  # rows of the im2col band, one position after another
            return [(block.rows, 1), (ny * nx, cin * kh * kw)], block.row_start
        src = self.source(node.inputs[0])
        (bh, bw), (php, pwp) = src.border, src.padded
        levels = [(kw, 1), (kh, pwp), (block.rows // (kh * kw), php * pwp), (nx, sw), (ny, sh * pwp)]
        return levels, block.row_start // (kh * kw) * php * pwp + (bh - ph) * pwp + (bw - pw)

    def out_pattern(self, node: Node, block: PlacedBlock, out: Layout) -> tuple[list[tuple[int, int]], int]:
        """A chain end's output pattern into ``out`` and its first word, from the band's output offset."""
        if isinstance(node.layer, Linear):
            cols = self.graph.weight_shape(node.name)[1]
            return [(block.cols, 1), (self.microbatch, cols)], block.col_start
        ny, nx = self.bands[node.name]
        ohp, owp = out.padded
        return [(block.cols, ohp * owp), (nx, 1), (ny, owp)], block.col_start * ohp * owp + out.interior

    def configure_block(self, node: Node, block: PlacedBlock) -> None:
        """tcfg, the stream patterns and, at a chain's end, the epilogue of one block's tile."""
        a, pp = self.asm, self.pipeline
        group = pp.fused[node.name]
        a.op("tcfg", block.tile, block.tile_row, block.tile_col, block.rows, block.cols, self.in_bits)
        self.pattern(self.in_pattern(node, block)[0])
        a.op("tpat", block.tile, "in")
        if block in self.chain_ends(node.name):
            self.pattern(self.out_pattern(node, block, pp.layouts[group.tail])[0])
            a.op("tpat", block.tile, "out")
            self.configure_epilogue(group, block)
        else:
            self.pattern([(self._vectors(node.name) * block.cols, 1)])
            a.op("tpat", block.tile, "out")

    def configure_epilogue(self, group: Group, block: PlacedBlock) -> None:
        node = group.weight
        f = f32(self.alpha[node.name])  # times the layer's input scale in memory (inscale_NAME), as vsclm
        bias = f"b_{node.name}+{block.col_start}" if node.layer.bias else "sram:0"
        channels, run, gb, eps = 0, "sram:0", "sram:0", "0.0"
        if group.bn is not None:
            bn = group.bn
            channels, _ = self.bn_dims(bn)
            run, gb, eps = f"run_{bn.name}+{block.col_start}", f"gb_{bn.name}+{block.col_start}", f32(bn.layer.eps)
        scale = self.in_scale[node.name].at()
        self.asm.op("tepi", block.tile, bias, run, gb, scale, channels, f, eps, int(node.layer.bias),
                  int(group.bn is not None), int(group.relu is not None))

    def shared_tiles(self, layer: str) -> set[int]:
        """Tiles holding several blocks of ``layer``: reconfigured before each of its mvms."""
        seen: set[int] = set()
        twice: set[int] = set()
        for b in self.placement.blocks_of(layer):
            (twice if b.tile in seen else seen).add(b.tile)
        return twice

    def emit_group(self, group: Group) -> None:
        node, pp = group.weight, self.pipeline
        shared = self.shared_tiles(node.name)
        for b in self.placement.blocks_of(node.name):
            if b.tile not in pp.hoisted and b.tile not in shared:
                self.configure_block(node, b)
        res = None
        if group.res:
            res = self.source(group.res)
            if group.tail in pp.res_copies:  # the residual in the output's layout
                res = pp.res_copies[group.tail]
                self.relayout(self.flat_source(group.res), res, into=True)
        if isinstance(node.layer, Linear):
            flat = self.flat_source(node.inputs[0])
            self.asm.op("li", REG.slot_offset, 0)
            self.slot_windows(node)
            self.group_band(group, res, "", "", flat)
        else:
            self.conv_group(group, res)

    def slot_windows(self, node: Node) -> None:
        """``REG.slots[k] = REG.slot_offset + k x 2^24`` for each window k > 0 of this layer's slots."""
        windows = {self.pipeline.slots[b.tile].addr // OFFSET_RANGE for b in self.placement.blocks_of(node.name)
                   if b.tile in self.pipeline.slots}
        for k in sorted(windows - {0}):
            self.asm.op("add", REG.slots[k], REG.slot_offset, REG.bases[k - 1], note="slot offset in a tile-buffer window")

    def slot(self, tile: int) -> str:
        """A tile's partial-sum slot of this band: ``ps{tile}`` through its window's slot register."""
        buf = self.pipeline.slots[tile]
        k = buf.addr // OFFSET_RANGE
        return f"{buf.name}{-k * OFFSET_RANGE:+d}({REG.slots[k]})" if k else f"{buf.name}({REG.slots[k]})"

    def conv_group(self, group: Group, res: Layout | None) -> None:
        a, node = self.asm, group.weight
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        ny, nx = self.bands[node.name]
        src, out = self.source(node.inputs[0]), self.pipeline.layouts[group.tail]
        (php, pwp), (ohp, owp) = src.padded, out.padded
        stride = self.pipeline.slot_stride[node.name]
        cut = not all(self.whole_kernels(node, b) for b in self.placement.blocks_of(node.name))
        a.op("li", REG.slot, 0, note="partial-sum slot of the band: 0, 1, 0, ...")

        def band() -> None:
            self.offset(REG.band_in, [(REG.image, cin * php * pwp), (REG.band_row, ny * sh * pwp), (REG.band_col, nx * sw)])
            self.offset(REG.band_out, [(REG.image, cout * ohp * owp), (REG.band_row, ny * owp), (REG.band_col, nx)])
            a.op("muli", REG.slot_offset, REG.slot, stride)
            self.slot_windows(node)
            a.op("sub", REG.slot, REG.one, REG.slot)
            if cut:
                self.pattern([(kw, 1), (kh, pwp), (cin, php * pwp), (nx, sw), (ny, sh * pwp)])
                a.op("gather", self.pipeline.col.at(), src.buf.at((src.border[0] - ph) * pwp + src.border[1] - pw, REG.band_in),
                     note="im2col band (blocks without whole kernels)")
            self.group_band(group, res, REG.band_in, REG.band_out, None)

        a.loop(REG.image, self.microbatch, lambda: a.loop(REG.band_row, oh // ny, lambda: a.loop(REG.band_col, ow // nx, band,
                                                                                note="band columns"),
                                             note="band rows"), note="images")

    def group_band(self, group: Group, res: Layout | None, in_reg: str, out_reg: str, flat: Buffer | None) -> None:
        """One mvms per block of the band, row blocks in order: each adds the partial sums of the one before."""
        a, node, pp = self.asm, group.weight, self.pipeline
        out = pp.layouts[group.tail]
        ends = self.chain_ends(node.name)
        before: dict[int, PlacedBlock] = {}
        n, scale = self._vectors(node.name), self.in_scale[node.name].at()
        src = None if flat is not None else self.source(node.inputs[0])
        shared = self.shared_tiles(node.name)
        for b in self.placement.blocks_of(node.name):
            if b.tile in shared:
                self.configure_block(node, b)
            first = self.in_pattern(node, b)[1]
            if flat is not None:
                x = flat.at(first)
            elif self.whole_kernels(node, b):
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
