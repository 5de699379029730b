"""The 2-D convolution on the crossbars: im2col rows (in_channels x kh x kw) by out_channels, one MVM per output
position, computed band by band (a band: ``ny`` output rows of ``nx`` positions, one MVM instruction each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, NamedTuple

import numpy as np

from socsim.compiler.emit import Asm, Buffer, offset, pattern
from socsim.compiler.layer import GraphError, Pair, Shape, _need_chw, _window, knob
from socsim.compiler.layers.crossbar import CrossbarLayer
from socsim.compiler.registers import REG


class ConvGeometry(NamedTuple):
    """Shapes of a convolution: input (cin, h, w), output (cout, oh, ow), kernel, stride, padding, padded input."""

    cin: int
    h: int
    w: int
    cout: int
    oh: int
    ow: int
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    hp: int
    wp: int


def im2col_levels(geo: ConvGeometry, band: tuple[int, int]) -> list[tuple[int, int]]:
    """Address pattern of one band (``ny`` rows of ``nx`` positions) of im2col rows: (kx, ky, c) innermost, then
    (ox, oy)."""
    ny, nx = band
    return [(geo.kw, 1), (geo.kh, geo.wp), (geo.cin, geo.hp * geo.wp), (nx, geo.sw), (ny, geo.sh * geo.wp)]


def conv_bands(asm: Asm, microbatch: int, geo: ConvGeometry, band: tuple[int, int], body: Callable[[], None],
               in_plane: tuple[int, int] | None = None, out_plane: tuple[int, int] | None = None) -> None:
    """Loop over images, band rows and band columns of a convolution's output (``band``: ``ny`` output rows of
    ``nx`` positions).

    Before ``body()`` runs, ``REG.band_in`` holds the band's offset in the input and ``REG.band_out`` its offset in
    the CHW output, whose planes are ``in_plane`` and ``out_plane`` (rows, columns): by default the padded input
    and the output without a border.
    """
    g, (ny, nx) = geo, band
    (hp, wp), (ohp, owp) = in_plane or (g.hp, g.wp), out_plane or (g.oh, g.ow)

    def one_band() -> None:
        offset(asm, REG.band_in, [(REG.image, g.cin * hp * wp), (REG.band_row, ny * g.sh * wp),
                                  (REG.band_col, nx * g.sw)])
        offset(asm, REG.band_out, [(REG.image, g.cout * ohp * owp), (REG.band_row, ny * owp), (REG.band_col, nx)])
        body()

    asm.loop(REG.image, microbatch, lambda: asm.loop(REG.band_row, g.oh // ny, lambda: asm.loop(
        REG.band_col, g.ow // nx, one_band, note="band columns"), note="band rows"), note="images")


def im2col(x: np.ndarray, layer: Conv2d) -> tuple[np.ndarray, int, int]:
    """(N, C, H, W) -> (N, OH*OW, C*kh*kw) patches, rows ordered (c, i, j): the numpy twin's im2col."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = np.empty((n, oh, ow, c, kh, kw), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
            cols[:, :, :, :, i, j] = patch.transpose(0, 2, 3, 1)
    return cols.reshape(n, oh * ow, c * kh * kw), oh, ow


def col2im(cols: np.ndarray, layer: Conv2d, shape: tuple[int, ...]) -> np.ndarray:
    """Adjoint of :func:`im2col`: (N, OH*OW, C*kh*kw) -> (N, C, H, W), overlapping patches summed."""
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    n, c, h, w = shape
    hp, wp = h + 2 * ph, w + 2 * pw
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    cols = cols.reshape(n, oh, ow, c, kh, kw)
    out = np.zeros((n, c, hp, wp), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
            out[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += patch
    return out[:, :, ph:ph + h, pw:pw + w]


@dataclass(frozen=True)
class Conv2d(CrossbarLayer):
    kind: ClassVar[str] = "conv2d"
    doc: ClassVar[str] = "2-D convolution on the crossbars (im2col rows x out_channels)"
    out_channels: int = knob(doc="output channels = crossbar columns", lo=1)
    kernel: Pair = knob(doc="kernel size kh x kw (an integer for square)", lo=1)
    stride: Pair = knob(1, doc="stride", lo=1)
    padding: Pair = knob(0, doc="zero padding on each side", lo=0)
    groups: int = knob(1, doc="only 1 (dense) is supported")
    bias: bool = knob(True, doc="per-channel bias, added in the digital unit")
    windowed: ClassVar[bool] = True

    def validate(self) -> None:
        if self.groups != 1:
            raise GraphError(f"conv2d.groups = {self.groups} is not supported; only groups = 1 (dense)")

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        shape = _need_chw(ins, "conv2d")
        return (self.out_channels, *_window(shape, self.kernel, self.stride, self.padding))

    def weight_shape(self, in_shape: Shape) -> Pair:
        return in_shape[0] * self.kernel[0] * self.kernel[1], self.out_channels

    def mvms(self, in_shape: Shape, out_shape: Shape) -> int:
        return out_shape[1] * out_shape[2]

    def param_count(self, in_shape: Shape) -> int:
        rows, cols = self.weight_shape(in_shape)
        return rows * cols + (cols if self.bias else 0)

    def kernel_rows(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def crossbar_matrix(self, weight: np.ndarray) -> np.ndarray:
        """(out, in, kh, kw) -> (in*kh*kw, out), rows in im2col order ``c*kh*kw + i*kw + j``."""
        return np.ascontiguousarray(weight.reshape(weight.shape[0], -1).T)

    def weight_layout(self, in_shape: Shape) -> Shape:
        return (self.out_channels, in_shape[0], *self.kernel)

    def geometry(self, in_shape: Shape, out_shape: Shape) -> ConvGeometry:
        """cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp."""
        cin, h, w = in_shape
        cout, oh, ow = out_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        return ConvGeometry(cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, h + 2 * ph, w + 2 * pw)

    def numpy_run(self, base: Any, node: Any, a: np.ndarray, train: bool) -> np.ndarray:
        cols, oh, ow = im2col(a, self)
        y = base.layer_input(node, cols) @ base.forward_weight(node.name)
        if self.bias:
            y = y + base.biases[node.name]
        return y.transpose(0, 2, 1).reshape(len(a), -1, oh, ow)

    def numpy_gradients(self, base: Any, node: Any, a_in: np.ndarray, grad: np.ndarray,
                        grads: dict[str, np.ndarray]) -> np.ndarray:
        n = len(a_in)
        cols, oh, ow = im2col(a_in, self)
        g_w, g_x = base.layer_errors(node, grad)
        gcol = g_w.reshape(n, grad.shape[1], -1).transpose(0, 2, 1)  # (N, P, C)
        grads[node.name] = np.einsum("npr,npc->rc", cols, gcol).astype(np.float32)
        if self.bias:
            grads[f"b:{node.name}"] = gcol.sum(axis=(0, 1))
        gcol_x = g_x.reshape(n, grad.shape[1], -1).transpose(0, 2, 1)
        return col2im(gcol_x @ base.backward_weight(node.name).T, self, a_in.shape)

    # the lowering ----------------------------------------------------------------------------------------------------
    def plan_own(self, p: Any, name: str) -> None:
        """Its band (``p.im2col_band``), its zero-padded input ``pad_`` and its padded input gradient ``gpad_``."""
        net = p.net
        g = self.geometry(net.graph.in_shapes(name)[0], net.graph.shape(name))
        p.bands[name] = p.im2col_band(name, g)
        padded_words = net.microbatch * g.cin * g.hp * g.wp
        if g.ph or g.pw:
            p.pad[name] = p.tensor(f"pad_{name}", padded_words)
        inp = net.graph.node(name).inputs[0]
        if net.weighted[inp] and (g.ph or g.pw or net.fanout[inp] > 1) and not net.inference:
            p.gradient_pad[name] = p.tensor(f"gpad_{name}", padded_words)

    def padded_input(self, f: Any, name: str, g: ConvGeometry) -> Buffer:
        """The input, copied into a zero-padded buffer when the layer pads."""
        a, m = f.asm, f.net.microbatch
        src = f.tensors.output(f.net.graph.node(name).inputs[0])
        if not (g.ph or g.pw):
            return src
        pad = f.tensors.pad(name)
        a.op("vfill", pad.at(), m * g.cin * g.hp * g.wp, 0.0, note="zero padding")
        pattern(a, [(g.w, 1), (g.h, g.wp), (m * g.cin, g.hp * g.wp)])
        a.op("scatter", pad.at(g.ph * g.wp + g.pw), src.at())
        return pad

    def lower_forward(self, f: Any, name: str, phase: str) -> None:
        """Per band: gather the im2col rows, the MVMs on the blocks, the bias, scatter (position, channel) -> CHW."""
        a, graph = f.asm, f.net.graph
        g = self.geometry(graph.in_shapes(name)[0], graph.shape(name))
        src = self.padded_input(f, name, g)
        band = f.parameters.bands[name]
        ny, nx = band
        p, rows = ny * nx, g.cin * g.kh * g.kw
        col, ycol, out = f.scratch.im2col, f.scratch.band_outputs, f.tensors.output(name)

        def one_band() -> None:
            pattern(a, im2col_levels(g, band))
            a.op("gather", col.at(), src.at(0, REG.band_in), note="im2col band")
            f.blocks.mac_blocks(name, col, ycol, p, rows, g.cout)
            if self.bias:
                a.op("vaddr", ycol.at(), ycol.at(), f"b_{name}", p, g.cout)
            pattern(a, [(g.cout, g.oh * g.ow), (nx, 1), (ny, g.ow)])
            a.op("scatter", out.at(0, REG.band_out), ycol.at(), note="(pos, c) -> CHW")

        conv_bands(a, f.net.microbatch, g, band, one_band)

    def lower_backward(self, b: Any, name: str) -> None:
        """Per band: the output errors and the recomputed im2col rows, dW, the bias gradient and (when the input
        needs one) the input gradient by col2im, stripped of the padding at the end."""
        a, net, tensors = b.asm, b.net, b.tensors
        m = net.microbatch
        g = self.geometry(net.graph.in_shapes(name)[0], net.graph.shape(name))
        inp = net.graph.node(name).inputs[0]
        need_in = net.weighted[inp]
        padded = bool(g.ph or g.pw)
        src = tensors.pad(name) if padded else tensors.output(inp)
        private = tensors.has_gradient_pad(name)
        gsrc = (tensors.gradient_pad(name) if private
                else tensors.gradient(inp) if tensors.has_gradient(inp) else None)
        band = b.parameters.bands[name]
        ny, nx = band
        p, rows = ny * nx, g.cin * g.kh * g.kw
        col, dcol, gout = b.scratch.im2col, b.scratch.band_errors, tensors.gradient(name)
        rowsum = b.scratch.rowsum.name
        if need_in:
            a.op("vfill", gsrc.at(), m * g.cin * g.hp * g.wp, 0.0)
        b.errors.error_scale(name, gout, m * g.cout * g.oh * g.ow, need_in)

        def one_band() -> None:
            pattern(a, [(g.cout, g.oh * g.ow), (nx, 1), (ny, g.ow)])
            a.op("gather", dcol.at(), gout.at(0, REG.band_out), note="CHW -> (pos, c)")
            pattern(a, im2col_levels(g, band))
            a.op("gather", col.at(), src.at(0, REG.band_in), note="im2col band (recomputed)")
            e = b.errors.weight_gradient_errors(name, dcol, p * g.cout)
            a.op("mm", f"dw_{name}", col.at(), e.at(), rows, p, g.cout, 1, 0, 1)
            if self.bias:
                a.op("vsumr", rowsum, e.at(), p, g.cout)
                a.op("vadd", f"db_{name}", f"db_{name}", rowsum, g.cout)
            if need_in:
                b.blocks.input_gradient(name, dcol, col, p, rows, g.cout)
                pattern(a, im2col_levels(g, band))
                a.op("scadd", gsrc.at(0, REG.band_in), col.at(), note="col2im")

        conv_bands(a, m, g, band, one_band)
        if need_in and private:
            n_in = m * g.cin * g.h * g.w

            def strip(dest: Buffer) -> None:
                if padded:
                    pattern(a, [(g.w, 1), (g.h, g.wp), (m * g.cin, g.hp * g.wp)])
                    a.op("gather", dest.at(), gsrc.at(g.ph * g.wp + g.pw), note="strip padding")
                else:
                    a.op("vscl", dest.at(), gsrc.at(), n_in, 1.0)
            b.into(inp, n_in, strip)
