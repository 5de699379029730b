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

from socsim.compiler.emit import Asm, Buffer
from socsim.compiler.graph import Node, ParamLayer
from socsim.compiler.layer import Operand
from socsim.compiler.lower.blocks import Blocks
from socsim.compiler.lower.errors import ErrorQuantiser
from socsim.compiler.lower.forward import NodeEmission
from socsim.compiler.lower.network import Network
from socsim.compiler.lower.plan import ActivationBuffers, ParameterBuffers, ScratchBuffers
from socsim.compiler.lower.tensors import BACKWARD, LOSS, Tensors


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
        """A layer with parameters emits through this pass (``ParamLayer.lower_backward``), any other its own
        digital code (``Layer.emit_backward``)."""
        if isinstance(node.layer, ParamLayer):
            node.layer.lower_backward(self, node.name)
        else:
            node.layer.emit_backward(NodeBackward(self.asm, self.net, node.name, self.tensors, "backward", self))
