"""Forward pass emission (training and evaluation): one method per layer type.

A mixin of :class:`socsim.compiler.lower.Lowering`. Activations live in SRAM, (micro-batch, C, H, W)
or (micro-batch, features); weight layers run on the tiles through :class:`BlockEmitter`.
"""

from __future__ import annotations

from socsim.compiler.emit import Buffer
from socsim.compiler.graph import (
    Add,
    AvgPool,
    BatchNorm,
    Conv2d,
    GlobalAvgPool,
    GraphError,
    Linear,
    MaxPool,
    Node,
    ReLU,
)
from socsim.compiler.lower_blocks import f32, quant_scale
from socsim.compiler.registers import REG


class ForwardEmitter:
    """Emits every node's forward computation in graph order."""

    def forward(self, phase: str) -> None:
        """The whole forward pass of one micro-batch (``phase`` is forward, eval or calibrate: BatchNorm trains
        only in forward)."""
        for node in self.order[1:-1]:
            self.asm.comment(f"{node.name} ({node.layer.kind}) {phase}")
            self.asm.op("mark", self.asm.layer_id(node.name), phase)
            self.forward_node(node, phase)

    def forward_node(self, node: Node, phase: str) -> None:
        a, layer, m = self.asm, node.layer, self.microbatch
        dst = self.activation[node.name]
        src = self.activation[node.inputs[0]]
        n = m * self.size(node.name)
        if isinstance(layer, Linear):
            rows, cols = self.graph.weight_shape(node.name)
            self.mac_blocks(node.name, src, dst, m, rows, cols)
            if layer.bias:
                a.op("vaddr", dst.at(), dst.at(), f"b_{node.name}", m, cols)
        elif isinstance(layer, Conv2d):
            self.conv_forward(node)
        elif isinstance(layer, ReLU):
            a.op("vrelu", dst.at(), src.at(), n)
        elif isinstance(layer, (MaxPool, AvgPool, GlobalAvgPool)):
            c, h, w = self.graph.in_shapes(node.name)[0]
            k, s = self.pool_ks(node, h, w)
            a.op("maxpool" if isinstance(layer, MaxPool) else "avgpool", dst.at(), src.at(), m * c, h, w, k, s)
        elif isinstance(layer, Add):
            a.op("vadd", dst.at(), src.at(), self.activation[node.inputs[1]].at(), n)
        elif isinstance(layer, BatchNorm):
            c, hw = self.bn_dims(node)
            if phase != "forward":  # evaluation and calibration use the running statistics
                a.op("bneval", dst.at(), src.at(), f"run_{node.name}", f"gb_{node.name}", m, c, hw, f32(layer.eps))
            else:
                a.op("bnfwd", dst.at(), src.at(), f"xhat_{node.name}", f"stats_{node.name}", f"gb_{node.name}",
                     f"run_{node.name}", m, c, hw, f32(layer.eps), f32(layer.momentum))
        # Flatten: a view of its input, nothing to do

    def bn_dims(self, node: Node) -> tuple[int, int]:
        """(channels, elements per channel per image) of a BatchNorm input."""
        shape = self.graph.in_shapes(node.name)[0]
        return shape[0], (shape[1] * shape[2] if len(shape) == 3 else 1)

    def scale_of(self, node: Node) -> float:
        """Quantisation scale of a weight node's input before any calibration (the initial ``inscale_`` word):
        network input range or hidden activation range."""
        first = not self.weighted[node.inputs[0]]
        return quant_scale(self.in_bits, self.train.input_range if first else self.train.act_range)

    def pool_ks(self, node: Node, h: int, w: int) -> tuple[int, int]:
        layer = node.layer
        if isinstance(layer, GlobalAvgPool):
            if h != w:
                raise GraphError(f"node {node.name!r}: global pooling of a non-square {h}x{w} input")
            return h, h
        if layer.kernel[0] != layer.kernel[1] or layer.stride[0] != layer.stride[1] or getattr(layer, "padding", 0) \
                not in (0, (0, 0)):
            raise GraphError(f"node {node.name!r}: only square, unpadded pooling windows and strides are supported")
        return layer.kernel[0], layer.stride[0]

    def conv_geometry(self, node: Node) -> tuple[int, ...]:
        """cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp of a convolution."""
        layer: Conv2d = node.layer
        cin, h, w = self.graph.in_shapes(node.name)[0]
        cout, oh, ow = self.graph.shape(node.name)
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
        return cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, h + 2 * ph, w + 2 * pw

    def im2col_levels(self, node: Node) -> list[tuple[int, int]]:
        """Address pattern of one band of im2col rows: (kx, ky, c) innermost, then (ox, oy)."""
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        ny, nx = self.bands[node.name]
        return [(kw, 1), (kh, wp), (cin, hp * wp), (nx, sw), (ny, sh * wp)]

    def conv_bands(self, node: Node, body) -> None:
        """Loop over images (x10), band rows (x11) and band columns (x14) of a convolution's output.

        Before ``body()`` runs, x12 holds the band's offset in the (padded) input and x13 its offset in
        the CHW output; a band is ``ny`` output rows of ``nx`` positions.
        """
        a = self.asm
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        ny, nx = self.bands[node.name]

        def band() -> None:
            self.offset(REG.band_in, [(REG.image, cin * hp * wp), (REG.band_row, ny * sh * wp), (REG.band_col, nx * sw)])
            self.offset(REG.band_out, [(REG.image, cout * oh * ow), (REG.band_row, ny * ow), (REG.band_col, nx)])
            body()

        a.loop(REG.image, self.microbatch, lambda: a.loop(REG.band_row, oh // ny, lambda: a.loop(REG.band_col, ow // nx, band,
                                                                                note="band columns"),
                                             note="band rows"), note="images")

    def padded_input(self, node: Node) -> Buffer:
        """The conv's input, copied into a zero-padded buffer when the layer pads."""
        a = self.asm
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        src = self.activation[node.inputs[0]]
        if not (ph or pw):
            return src
        pad = a.buffers[f"pad_{node.name}"]
        a.op("vfill", pad.at(), self.microbatch * cin * hp * wp, 0.0, note="zero padding")
        self.pattern([(w, 1), (h, wp), (self.microbatch * cin, hp * wp)])
        a.op("scatter", pad.at(ph * wp + pw), src.at())
        return pad

    def conv_forward(self, node: Node) -> None:
        a = self.asm
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        src = self.padded_input(node)
        ny, nx = self.bands[node.name]
        p, rows = ny * nx, cin * kh * kw
        col, ycol, out = a.buffers["col"], a.buffers["ycol"], self.activation[node.name]

        def band() -> None:
            self.pattern(self.im2col_levels(node))
            a.op("gather", col.at(), src.at(0, REG.band_in), note="im2col band")
            self.mac_blocks(node.name, col, ycol, p, rows, cout)
            if node.layer.bias:
                a.op("vaddr", ycol.at(), ycol.at(), f"b_{node.name}", p, cout)
            self.pattern([(cout, oh * ow), (nx, 1), (ny, ow)])
            a.op("scatter", out.at(0, REG.band_out), ycol.at(), note="(pos, c) -> CHW")

        self.conv_bands(node, band)
