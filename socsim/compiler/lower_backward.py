"""Backward pass emission: loss gradient, then every node in reverse order.

A mixin of :class:`socsim.compiler.lower.Lowering`. ``g_NODE`` holds d(loss)/d(output of NODE) for
the micro-batch. A node read by several consumers gets the sum of their contributions: its buffer
is zeroed first and each contribution is added (through the ``gtmp`` scratch when an instruction
cannot accumulate by itself). Weight gradients accumulate over the micro-batches of a batch in the
accumulator SRAM (``dw_LAYER``); biases and BatchNorm parameters in ``db_`` / ``dgb_``.
"""

from __future__ import annotations

from typing import Callable

from socsim.compiler.emit import Buffer
from socsim.compiler.graph import Add, AvgPool, BatchNorm, Conv2d, Flatten, GlobalAvgPool, Linear, MaxPool, Node, ReLU
from socsim.compiler.registers import REG


class BackwardEmitter:
    """Emits the loss gradient and each node's backward computation."""

    def into(self, inp: str, words: int, emit: Callable[[Buffer], None]) -> None:
        """Emit ``emit(dest)`` writing this consumer's gradient contribution for node ``inp``.

        Skipped when no weight is upstream of ``inp``; routed through ``gtmp`` and added when ``inp`` has
        several consumers.
        """
        if not self.weighted[inp]:
            return
        if self.fanout[inp] > 1:
            emit(self.gradient_sum)
            self.asm.op("vadd", self.gradient[inp].at(), self.gradient[inp].at(), self.gradient_sum.at(), words)
        else:
            emit(self.gradient[inp])

    def pass_through(self, inp: str, words: int, src: Buffer) -> None:
        """Contribution equal to ``src`` (Add, Flatten): added directly, or copied when it is the only one."""
        if not self.weighted[inp] or self.gradient[inp] is src:
            return
        if self.fanout[inp] > 1:
            self.asm.op("vadd", self.gradient[inp].at(), self.gradient[inp].at(), src.at(), words)
        else:
            self.asm.op("vscl", self.gradient[inp].at(), src.at(), words, 1.0)

    def loss_gradient(self) -> None:
        a, logits = self.asm, self.logits
        a.comment("loss gradient")
        a.op("mark", a.layer_id(self.order[-1].name), "backward")
        for name in self.shared_grads:
            a.op("vfill", self.gradient[name].at(), self.microbatch * self.size(name), 0.0, note="sum of several consumers")
        words = self.microbatch * self.classes

        def emit(dest: Buffer) -> None:
            a.op("sxent", dest.at(), self.activation[logits].at(), self.labels.at(), self.microbatch, self.classes)
            a.op("vscl", dest.at(), dest.at(), words, repr(self.microbatch / self.train.batch),
                 note="mean over the batch, not the micro-batch")
        self.into(logits, words, emit)

    def backward(self) -> None:
        for node in reversed(self.order[1:-1]):
            if not self.weighted[node.name]:
                continue
            self.asm.comment(f"{node.name} ({node.layer.kind}) backward")
            self.asm.op("mark", self.asm.layer_id(node.name), "backward")
            self.backward_node(node)

    def backward_node(self, node: Node) -> None:
        a, layer, m = self.asm, node.layer, self.microbatch
        inp = node.inputs[0]
        gout, x, y = self.gradient[node.name], self.activation[inp], self.activation[node.name]
        n_in = m * self.size(inp)
        if isinstance(layer, Linear):
            rows, cols = self.graph.weight_shape(node.name)
            self.error_scale(node.name, gout, m * cols)
            e = self.weight_gradient_errors(node.name, gout, m * cols)
            a.op("mm", f"dw_{node.name}", x.at(), e.at(), rows, m, cols, 1, 0, 1)
            if layer.bias:
                a.op("vsumr", "rowsum", e.at(), m, cols)
                a.op("vadd", f"db_{node.name}", f"db_{node.name}", "rowsum", cols)
            self.into(inp, n_in, lambda d: self.input_gradient(node.name, gout, d, m, rows, cols))
        elif isinstance(layer, Conv2d):
            self.conv_backward(node)
        elif isinstance(layer, ReLU):
            if self.gradient[inp] is gout:
                a.op("vdrelu", gout.at(), gout.at(), y.at(), n_in, note="in place")
            else:
                self.into(inp, n_in, lambda d: a.op("vdrelu", d.at(), gout.at(), y.at(), n_in))
        elif isinstance(layer, (MaxPool, AvgPool, GlobalAvgPool)):
            c, h, w = self.graph.in_shapes(node.name)[0]
            k, s = self.pool_ks(node, h, w)
            if isinstance(layer, MaxPool):
                self.into(inp, n_in, lambda d: a.op("maxpoolb", d.at(), gout.at(), x.at(), m * c, h, w, k, s))
            else:
                self.into(inp, n_in, lambda d: a.op("avgpoolb", d.at(), gout.at(), m * c, h, w, k, s))
        elif isinstance(layer, Add):
            for i in node.inputs:
                self.pass_through(i, n_in, gout)
        elif isinstance(layer, BatchNorm):
            c, hw = self.bn_dims(node)
            self.into(inp, n_in, lambda d: a.op("bnbwd", d.at(), f"dgb_{node.name}", gout.at(), f"xhat_{node.name}",
                                               f"stats_{node.name}", f"gb_{node.name}", m, c, hw))
        elif isinstance(layer, Flatten):
            self.pass_through(inp, n_in, gout)

    def conv_backward(self, node: Node) -> None:
        a = self.asm
        cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp = self.conv_geometry(node)
        inp = node.inputs[0]
        need_in = self.weighted[inp]
        padded = bool(ph or pw)
        src = a.buffers[f"pad_{node.name}"] if padded else self.activation[inp]
        private = f"gpad_{node.name}" in a.buffers
        gsrc = a.buffers[f"gpad_{node.name}"] if private else self.gradient.get(inp)
        ny, nx = self.bands[node.name]
        p, rows = ny * nx, cin * kh * kw
        col, dcol, gout = a.buffers["col"], a.buffers["dcol"], self.gradient[node.name]
        if need_in:
            a.op("vfill", gsrc.at(), self.microbatch * cin * hp * wp, 0.0)
        self.error_scale(node.name, gout, self.microbatch * cout * oh * ow)

        def band() -> None:
            self.pattern([(cout, oh * ow), (nx, 1), (ny, ow)])
            a.op("gather", dcol.at(), gout.at(0, REG.band_out), note="CHW -> (pos, c)")
            self.pattern(self.im2col_levels(node))
            a.op("gather", col.at(), src.at(0, REG.band_in), note="im2col band (recomputed)")
            e = self.weight_gradient_errors(node.name, dcol, p * cout)
            a.op("mm", f"dw_{node.name}", col.at(), e.at(), rows, p, cout, 1, 0, 1)
            if node.layer.bias:
                a.op("vsumr", "rowsum", e.at(), p, cout)
                a.op("vadd", f"db_{node.name}", f"db_{node.name}", "rowsum", cout)
            if need_in:
                self.input_gradient(node.name, dcol, col, p, rows, cout)
                self.pattern(self.im2col_levels(node))
                a.op("scadd", gsrc.at(0, REG.band_in), col.at(), note="col2im")

        self.conv_bands(node, band)
        if need_in and private:
            n_in = self.microbatch * cin * h * w

            def strip(dest: Buffer) -> None:
                if padded:
                    self.pattern([(w, 1), (h, wp), (self.microbatch * cin, hp * wp)])
                    a.op("gather", dest.at(), gsrc.at(ph * wp + pw), note="strip padding")
                else:
                    a.op("vscl", dest.at(), gsrc.at(), n_in, 1.0)
            self.into(inp, n_in, strip)
