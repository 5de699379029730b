"""Backward pass emission: loss gradient, then every node in reverse order.

``g_NODE`` holds d(loss)/d(output of NODE) for the micro-batch. A node read by several consumers gets the sum of
their contributions: its buffer is zeroed first and each contribution is added (through the ``gtmp`` scratch when
an instruction cannot accumulate by itself). Weight gradients accumulate over the micro-batches of a batch in the
accumulator SRAM (``dw_LAYER``); biases and BatchNorm parameters in ``db_`` / ``dgb_``. :class:`Backward` is given
the activations and gradients, the bands and pads, the scratch, the blocks (input gradients) and the error
quantiser (weight gradients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from socsim.compiler.emit import Asm, Buffer, pattern
from socsim.compiler.graph import BatchNorm, Conv2d, Linear, Node
from socsim.compiler.layer import Operand
from socsim.compiler.lower.blocks import Blocks, conv_bands
from socsim.compiler.lower.errors import ErrorQuantiser
from socsim.compiler.lower.forward import NodeEmission
from socsim.compiler.lower.network import Network, bn_dims, conv_geometry, im2col_levels
from socsim.compiler.lower.plan import ActivationBuffers, ParameterBuffers, ScratchBuffers
from socsim.compiler.lower.tensors import BACKWARD, LOSS, Tensors
from socsim.compiler.registers import REG


@dataclass(frozen=True)
class NodeBackward(NodeEmission):
    """One node's backward step as its layer's own code sees it (``socsim.compiler.layer``: ``BackwardEmission``)."""

    backward: "Backward"
    """The pass that routes the contributions (fan-out sums, ``gtmp``)."""

    def gradient(self) -> Buffer:
        return self.tensors.gradient(self.node)

    def _input(self, i: int) -> str:
        return self.net.graph.node(self.node).inputs[i]

    def _input_words(self, i: int) -> int:
        return self.net.microbatch * self.net.size(self._input(i))

    def into(self, i: int, emit: Callable[[Operand], None]) -> None:
        self.backward.into(self._input(i), self._input_words(i), emit)

    def pass_through(self, i: int) -> None:
        self.backward.pass_through(self._input(i), self._input_words(i), self.gradient())

    def shares_gradient(self, i: int = 0) -> bool:
        inp = self._input(i)
        return self.tensors.has_gradient(inp) and self.tensors.gradient(inp) is self.gradient()


@dataclass(frozen=True)
class Backward:
    """Emits the loss gradient and each node's backward computation."""

    asm: Asm
    net: Network
    activations: ActivationBuffers
    """The labels and the nodes whose gradient sums several consumers'."""
    tensors: Tensors
    """Where the activations, gradients, padded copies and normalised activations are at each step."""
    parameters: ParameterBuffers
    scratch: ScratchBuffers
    blocks: Blocks
    errors: ErrorQuantiser

    def into(self, inp: str, words: int, emit: Callable[[Buffer], None]) -> None:
        """Emit ``emit(dest)`` writing this consumer's gradient contribution for node ``inp``.

        Skipped when no weight is upstream of ``inp``; routed through ``gtmp`` and added when ``inp`` has
        several consumers.
        """
        if not self.net.weighted[inp]:
            return
        grad = self.tensors.gradient(inp)
        if self.net.fanout[inp] > 1:
            emit(self.scratch.gradient_sum)
            self.asm.op("vadd", grad.at(), grad.at(), self.scratch.gradient_sum.at(), words)
        else:
            emit(grad)

    def pass_through(self, inp: str, words: int, src: Buffer) -> None:
        """Contribution equal to ``src`` (Add, Flatten): added directly, or copied when it is the only one."""
        if not self.net.weighted[inp] or self.tensors.gradient(inp) is src:
            return
        grad = self.tensors.gradient(inp)
        if self.net.fanout[inp] > 1:
            self.asm.op("vadd", grad.at(), grad.at(), src.at(), words)
        else:
            self.asm.op("vscl", grad.at(), src.at(), words, 1.0)

    def loss_gradient(self) -> None:
        a, net, acts, tensors = self.asm, self.net, self.activations, self.tensors
        m, logits = net.microbatch, net.logits
        a.comment("loss gradient")
        a.op("mark", a.layer_id(net.order[-1].name), "backward")
        tensors.enter(LOSS)
        for name in acts.shared_gradients:
            a.op("vfill", tensors.gradient(name).at(), m * net.size(name), 0.0, note="sum of several consumers")
        words = m * net.classes

        def emit(dest: Buffer) -> None:
            a.op("sxent", dest.at(), tensors.output(logits).at(), acts.labels.at(), m, net.classes)
            a.op("vscl", dest.at(), dest.at(), words, repr(m / net.train.batch),
                 note="mean over the batch, not the micro-batch")
        self.into(logits, words, emit)

    def backward(self) -> None:
        for node in reversed(self.net.order[1:-1]):
            if not self.net.weighted[node.name]:
                continue
            self.asm.comment(f"{node.name} ({node.layer.kind}) backward")
            self.asm.op("mark", self.asm.layer_id(node.name), "backward")
            self.tensors.enter(BACKWARD, node.name)
            self.backward_node(node)

    def backward_node(self, node: Node) -> None:
        a, layer, net = self.asm, node.layer, self.net
        m, graph, errors = net.microbatch, net.graph, self.errors
        inp = node.inputs[0]
        gout = self.tensors.gradient(node.name)
        x = self.tensors.output(inp)
        n_in = m * net.size(inp)
        if isinstance(layer, Linear):
            rows, cols = graph.weight_shape(node.name)
            errors.error_scale(node.name, gout, m * cols, net.weighted[inp])
            e = errors.weight_gradient_errors(node.name, gout, m * cols)
            a.op("mm", f"dw_{node.name}", x.at(), e.at(), rows, m, cols, 1, 0, 1)
            if layer.bias:
                a.op("vsumr", self.scratch.rowsum.name, e.at(), m, cols)
                a.op("vadd", f"db_{node.name}", f"db_{node.name}", self.scratch.rowsum.name, cols)
            self.into(inp, n_in, lambda d: self.blocks.input_gradient(node.name, gout, d, m, rows, cols))
        elif isinstance(layer, Conv2d):
            self.conv_backward(node)
        elif isinstance(layer, BatchNorm):
            c, hw = bn_dims(graph, node)
            self.into(inp, n_in, lambda d: a.op("bnbwd", d.at(), f"dgb_{node.name}", gout.at(),
                                               self.tensors.xhat(node.name).at(), f"stats_{node.name}",
                                               f"gb_{node.name}", m, c, hw))
        else:  # a layer of the digital unit: its own code
            layer.emit_backward(NodeBackward(a, net, node.name, self.tensors, "backward", self))

    def conv_backward(self, node: Node) -> None:
        a, net = self.asm, self.net
        m = net.microbatch
        g = conv_geometry(net.graph, node)
        inp = node.inputs[0]
        need_in = net.weighted[inp]
        padded = bool(g.ph or g.pw)
        tensors = self.tensors
        src = tensors.pad(node.name) if padded else tensors.output(inp)
        private = tensors.has_gradient_pad(node.name)
        gsrc = (tensors.gradient_pad(node.name) if private
                else tensors.gradient(inp) if tensors.has_gradient(inp) else None)
        band = self.parameters.bands[node.name]
        ny, nx = band
        p, rows = ny * nx, g.cin * g.kh * g.kw
        col, dcol, gout = self.scratch.im2col, self.scratch.band_errors, tensors.gradient(node.name)
        rowsum = self.scratch.rowsum.name
        if need_in:
            a.op("vfill", gsrc.at(), m * g.cin * g.hp * g.wp, 0.0)
        self.errors.error_scale(node.name, gout, m * g.cout * g.oh * g.ow, need_in)

        def one_band() -> None:
            pattern(a, [(g.cout, g.oh * g.ow), (nx, 1), (ny, g.ow)])
            a.op("gather", dcol.at(), gout.at(0, REG.band_out), note="CHW -> (pos, c)")
            pattern(a, im2col_levels(g, band))
            a.op("gather", col.at(), src.at(0, REG.band_in), note="im2col band (recomputed)")
            e = self.errors.weight_gradient_errors(node.name, dcol, p * g.cout)
            a.op("mm", f"dw_{node.name}", col.at(), e.at(), rows, p, g.cout, 1, 0, 1)
            if node.layer.bias:
                a.op("vsumr", rowsum, e.at(), p, g.cout)
                a.op("vadd", f"db_{node.name}", f"db_{node.name}", rowsum, g.cout)
            if need_in:
                self.blocks.input_gradient(node.name, dcol, col, p, rows, g.cout)
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
            self.into(inp, n_in, strip)
