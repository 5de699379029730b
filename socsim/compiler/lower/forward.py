"""Forward pass emission (training, evaluation and calibration): one method per layer type.

Activations live in SRAM, (micro-batch, C, H, W) or (micro-batch, features); weight layers run on the tiles through
:class:`~socsim.compiler.lower.blocks.Blocks`. :class:`Forward` is given the activations, the parameters' bands and
pads, the im2col scratch and the blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.compiler.emit import Asm, Buffer, f32, pattern
from socsim.compiler.graph import BatchNorm, Conv2d, Linear, Node, Shape
from socsim.compiler.lower.blocks import Blocks, conv_bands
from socsim.compiler.lower.network import Network, bn_dims, conv_geometry, im2col_levels
from socsim.compiler.lower.plan import ActivationBuffers, ParameterBuffers, ScratchBuffers
from socsim.compiler.lower.tensors import FORWARD, LOAD, Tensors
from socsim.compiler.registers import REG


def load_micro(asm: Asm, net: Network, images: Buffer, labels: Buffer, x: str, y: str) -> None:
    """DMA one micro-batch into ``images`` and ``labels``: images from DRAM ``x`` at ``REG.image_offset``, labels
    from ``y`` at ``REG.label_offset``."""
    asm.op("copy", images.at(), f"{x}({REG.image_offset})", net.microbatch * net.features)
    asm.op("copy", labels.at(), f"{y}({REG.label_offset})", net.microbatch)


def load_step(asm: Asm, net: Network, activations: ActivationBuffers, tensors: Tensors, x: str, y: str) -> None:
    """The load step of a sequential micro-batch: :func:`load_micro` into the input's tensor."""
    tensors.enter(LOAD)
    load_micro(asm, net, tensors.output(net.order[0].name), activations.labels, x, y)


@dataclass(frozen=True)
class NodeView:
    """What every emission of one node shares (``socsim.compiler.layer``: ``ForwardEmission`` without its buffers):
    the assembler, the micro-batch and the node's shapes."""

    asm: Asm
    net: Network
    node: str

    @property
    def microbatch(self) -> int:
        return self.net.microbatch

    def op(self, mnemonic: str, *operands: object, note: str = "") -> None:
        self.asm.op(mnemonic, *operands, note=note)

    def in_shape(self, i: int = 0) -> Shape:
        return self.net.graph.in_shapes(self.node)[i]

    def out_shape(self) -> Shape:
        return self.net.graph.shape(self.node)


@dataclass(frozen=True)
class NodeEmission(NodeView):
    """One node of the sequential programs as its layer's own code sees it (``ForwardEmission``): the tensors where
    the step being emitted finds them."""

    tensors: Tensors
    phase: str

    def output(self) -> Buffer:
        return self.tensors.output(self.node)

    def input(self, i: int = 0) -> Buffer:
        return self.tensors.output(self.net.graph.node(self.node).inputs[i])


@dataclass(frozen=True)
class Forward:
    """Emits every node's forward computation in graph order."""

    asm: Asm
    net: Network
    tensors: Tensors
    """Where the activations, padded inputs and normalised activations are at each step."""
    parameters: ParameterBuffers
    scratch: ScratchBuffers
    blocks: Blocks

    def forward(self, phase: str) -> None:
        """The whole forward pass of one micro-batch (``phase`` is forward, eval or calibrate: BatchNorm trains
        only in forward)."""
        for node in self.net.order[1:-1]:
            self.asm.comment(f"{node.name} ({node.layer.kind}) {phase}")
            self.asm.op("mark", self.asm.layer_id(node.name), phase)
            self.tensors.enter(FORWARD, node.name)
            self.forward_node(node, phase)

    def forward_node(self, node: Node, phase: str) -> None:
        a, layer, net = self.asm, node.layer, self.net
        m, graph, tensors = net.microbatch, net.graph, self.tensors
        dst = tensors.output(node.name)
        src = tensors.output(node.inputs[0])
        if isinstance(layer, Linear):
            rows, cols = graph.weight_shape(node.name)
            self.blocks.mac_blocks(node.name, src, dst, m, rows, cols)
            if layer.bias:
                a.op("vaddr", dst.at(), dst.at(), f"b_{node.name}", m, cols)
        elif isinstance(layer, Conv2d):
            self.conv_forward(node)
        elif isinstance(layer, BatchNorm):
            c, hw = bn_dims(graph, node)
            readings = self.blocks.readings
            scratch = readings.buffers.batch_stats.get(node.name) if readings and phase == "calibrate" else None
            if phase == "forward" or scratch is not None:  # batch statistics (calibration: into scratch averages)
                run = f"run_{node.name}" if scratch is None else scratch.at()
                a.op("bnfwd", dst.at(), src.at(), tensors.xhat(node.name).at(), f"stats_{node.name}",
                     f"gb_{node.name}", run, m, c, hw, f32(layer.eps), f32(layer.momentum))
            else:  # evaluation (and inference-only calibration) on the running statistics
                a.op("bneval", dst.at(), src.at(), f"run_{node.name}", f"gb_{node.name}", m, c, hw, f32(layer.eps))
        else:  # a layer of the digital unit: its own code
            layer.emit_forward(NodeEmission(a, net, node.name, tensors, phase))

    def padded_input(self, node: Node) -> Buffer:
        """The conv's input, copied into a zero-padded buffer when the layer pads."""
        a, m = self.asm, self.net.microbatch
        g = conv_geometry(self.net.graph, node)
        src = self.tensors.output(node.inputs[0])
        if not (g.ph or g.pw):
            return src
        pad = self.tensors.pad(node.name)
        a.op("vfill", pad.at(), m * g.cin * g.hp * g.wp, 0.0, note="zero padding")
        pattern(a, [(g.w, 1), (g.h, g.wp), (m * g.cin, g.hp * g.wp)])
        a.op("scatter", pad.at(g.ph * g.wp + g.pw), src.at())
        return pad

    def conv_forward(self, node: Node) -> None:
        a = self.asm
        g = conv_geometry(self.net.graph, node)
        src = self.padded_input(node)
        band = self.parameters.bands[node.name]
        ny, nx = band
        p, rows = ny * nx, g.cin * g.kh * g.kw
        col, ycol, out = self.scratch.im2col, self.scratch.band_outputs, self.tensors.output(node.name)

        def one_band() -> None:
            pattern(a, im2col_levels(g, band))
            a.op("gather", col.at(), src.at(0, REG.band_in), note="im2col band")
            self.blocks.mac_blocks(node.name, col, ycol, p, rows, g.cout)
            if node.layer.bias:
                a.op("vaddr", ycol.at(), ycol.at(), f"b_{node.name}", p, g.cout)
            pattern(a, [(g.cout, g.oh * g.ow), (nx, 1), (ny, g.ow)])
            a.op("scatter", out.at(0, REG.band_out), ycol.at(), note="(pos, c) -> CHW")

        conv_bands(a, self.net.microbatch, g, band, one_band)
