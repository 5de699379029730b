"""The fully connected layer: one MVM per image on its crossbar matrix (in_features x out_features)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from socsim.compiler.layer import GraphError, Pair, Shape, _fmt, knob
from socsim.compiler.layers.crossbar import CrossbarLayer


@dataclass(frozen=True)
class Linear(CrossbarLayer):
    kind: ClassVar[str] = "linear"
    doc: ClassVar[str] = "fully connected layer on the crossbars (in_features x out_features)"
    out_features: int = knob(doc="outputs = crossbar columns", lo=1)
    bias: bool = knob(True, doc="bias, added in the digital unit")

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        (shape,) = ins
        if len(shape) != 1:
            raise GraphError(f"linear needs a flat (features,) input, got {_fmt(shape)}; add a flatten layer")
        return (self.out_features,)

    def weight_shape(self, in_shape: Shape) -> Pair:
        return in_shape[0], self.out_features

    def mvms(self, in_shape: Shape, out_shape: Shape) -> int:
        return 1

    def param_count(self, in_shape: Shape) -> int:
        return in_shape[0] * self.out_features + (self.out_features if self.bias else 0)

    def crossbar_matrix(self, weight: np.ndarray) -> np.ndarray:
        """(out, in) -> (in, out)."""
        return np.ascontiguousarray(weight.T)

    def weight_layout(self, in_shape: Shape) -> Shape:
        return (self.out_features, in_shape[0])

    def numpy_run(self, base: Any, node: Any, a: np.ndarray, train: bool) -> np.ndarray:
        y = base.layer_input(node, a.reshape(len(a), -1)) @ base.forward_weight(node.name)
        return y + base.biases[node.name] if self.bias else y

    def numpy_gradients(self, base: Any, node: Any, a_in: np.ndarray, grad: np.ndarray,
                        grads: dict[str, np.ndarray]) -> np.ndarray:
        g_w, g_x = base.layer_errors(node, grad)
        grads[node.name] = a_in.reshape(len(a_in), -1).T @ g_w
        if self.bias:
            grads[f"b:{node.name}"] = g_w.sum(axis=0)
        return (g_x @ base.backward_weight(node.name).T).reshape(a_in.shape)

    def lower_forward(self, f: Any, name: str, phase: str) -> None:
        """The micro-batch's MVMs on the blocks, then the bias."""
        m, graph, tensors = f.net.microbatch, f.net.graph, f.tensors
        dst, src = tensors.output(name), tensors.output(graph.node(name).inputs[0])
        rows, cols = graph.weight_shape(name)
        f.blocks.mac_blocks(name, src, dst, m, rows, cols)
        if self.bias:
            f.asm.op("vaddr", dst.at(), dst.at(), f"b_{name}", m, cols)

    def lower_backward(self, b: Any, name: str) -> None:
        """dW (outer product into ``dw_``), the bias gradient, and the input gradient through the blocks."""
        a, net, errors = b.asm, b.net, b.errors
        m, graph = net.microbatch, net.graph
        inp = graph.node(name).inputs[0]
        gout, x = b.tensors.gradient(name), b.tensors.output(inp)
        n_in = m * net.size(inp)
        rows, cols = graph.weight_shape(name)
        errors.error_scale(name, gout, m * cols, net.weighted[inp])
        e = errors.weight_gradient_errors(name, gout, m * cols)
        a.op("mm", f"dw_{name}", x.at(), e.at(), rows, m, cols, 1, 0, 1)
        if self.bias:
            a.op("vsumr", b.scratch.rowsum.name, e.at(), m, cols)
            a.op("vadd", f"db_{name}", f"db_{name}", b.scratch.rowsum.name, cols)
        b.into(inp, n_in, lambda d: b.blocks.input_gradient(name, gout, d, m, rows, cols))
