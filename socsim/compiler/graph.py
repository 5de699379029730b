"""The network graph IR: layer types (frozen dataclasses), one registry of them, and the Graph.

Shapes exclude the batch: ``(C, H, W)`` for feature maps, ``(F,)`` for feature vectors, ``()``
for a per-image loss. A weight layer's matrix is given in the *crossbar view*, rows x cols:
rows are the inputs driven on word lines, cols the outputs read on (pairs of) bit lines.

- Conv2d: rows = in_channels * kh * kw (im2col, index ``c*kh*kw + i*kw + j``), cols = out_channels;
  one matrix-vector multiply (MVM) per output position.
- Linear: rows = in_features, cols = out_features; one MVM per image.

Biases are not crossbar rows: they are added in the digital unit (as ``programs/mlp_infer.s`` does).
Both front ends build layers through :data:`LAYERS` (socsim.compiler.layer: the base of a layer type and its
registry); a layer checks its own fields in ``__post_init__``. The digital layers here bring their own code and numpy
twin; the layers with parameters (socsim.compiler.layers: Conv2d, Linear, BatchNorm) their parameters' buffers, code
and import; the input and the loss are compiled by the lowering's parts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Mapping, Sequence

import numpy as np

from socsim.base.geometry import window_out
from socsim.compiler.layer import (
    LAYERS,
    MAX_SIZE,
    MAX_TENSOR_WORDS,
    BackwardEmission,
    ForwardEmission,
    GraphError,
    Layer,
    Pair,
    ParamLayer,
    Shape,
    _fmt,
    _need_chw,
    _window,
    knob,
    make_layer,
    type_text,
)
from socsim.compiler.layers.input import Input

# isort: split
# the order of registration (LAYERS, the docs' layer table): the input, the crossbar layers, the digital layers
from socsim.compiler.layers.conv2d import Conv2d
from socsim.compiler.layers.linear import Linear

# isort: split
from socsim.compiler.layers.batchnorm import BatchNorm
from socsim.compiler.layers.crossbar import CrossbarLayer

__all__ = ["LAYERS", "MAX_SIZE", "Add", "AvgPool", "BatchNorm", "Conv2d", "CrossbarLayer", "Flatten",
           "GlobalAvgPool", "Graph", "GraphError", "Input", "Layer", "Linear", "MaxPool", "Node", "ParamLayer", "ReLU",
           "Shape", "SoftmaxCrossEntropy", "crossbar_matrix", "make_layer", "type_text"]

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _words(e: ForwardEmission, shape: Shape) -> int:
    """Words of a micro-batch of ``shape``."""
    return e.microbatch * int(np.prod(shape))


@dataclass(frozen=True)
class ReLU(Layer):
    kind: ClassVar[str] = "relu"
    doc: ClassVar[str] = "max(x, 0), digital"
    in_place: ClassVar[bool] = True

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        return ins[0]

    def emit_forward(self, e: ForwardEmission) -> None:
        e.op("vrelu", e.output().at(), e.input().at(), _words(e, e.out_shape()))

    def emit_backward(self, e: BackwardEmission) -> None:
        n, gout, y = _words(e, e.in_shape()), e.gradient(), e.output()
        if e.shares_gradient():
            e.op("vdrelu", gout.at(), gout.at(), y.at(), n, note="in place")
        else:
            e.into(0, lambda d: e.op("vdrelu", d.at(), gout.at(), y.at(), n))

    def numpy_forward(self, ins: Sequence[np.ndarray]) -> np.ndarray:
        return np.maximum(ins[0], np.float32(0))

    def numpy_backward(self, ins: Sequence[np.ndarray], out: np.ndarray,
                       grad: np.ndarray) -> Sequence[np.ndarray | None]:
        return [np.where(out > 0, grad, np.float32(0))]


def pool_windows(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C, OH, OW, k*k): every k x k window at stride s, row-major within the window."""
    n, c, h, w = x.shape
    oh, ow = window_out(h, k, s), window_out(w, k, s)
    return np.stack([x[:, :, i:i + s * (oh - 1) + 1:s, j:j + s * (ow - 1) + 1:s]
                     for i in range(k) for j in range(k)], axis=-1)


def unpool(wins: np.ndarray, shape: tuple[int, ...], k: int, s: int) -> np.ndarray:
    """Adjoint of :func:`pool_windows`: (N, C, OH, OW, k*k) -> ``shape`` (N, C, H, W), overlaps summed (float32)."""
    out = np.zeros(shape, np.float32)
    oh, ow = wins.shape[2], wins.shape[3]
    for t in range(k * k):
        i, j = divmod(t, k)
        out[:, :, i:i + s * (oh - 1) + 1:s, j:j + s * (ow - 1) + 1:s] += wins[..., t]
    return out


class _Pooling:
    """Code shared by the pooling layers: square windows on the digital unit (``maxpool``/``avgpool`` and their
    backward instructions) and their numpy twins."""

    kernel: Pair
    stride: Pair
    takes_max: ClassVar[bool] = False
    """Max pooling (else average)."""

    def numpy_window(self, h: int) -> tuple[int, int]:
        """(kernel, stride) of the numpy twin over an input of height ``h``."""
        return self.kernel[0], self.stride[0]

    def window(self, node: str, h: int, w: int) -> tuple[int, int]:
        """(kernel, stride) of a square pooling window over an ``h`` x ``w`` input; GraphError otherwise."""
        if self.kernel[0] != self.kernel[1] or self.stride[0] != self.stride[1] or getattr(self, "padding", 0) \
                not in (0, (0, 0)):
            raise GraphError(f"node {node!r}: only square, unpadded pooling windows and strides are supported")
        return self.kernel[0], self.stride[0]

    def emit_forward(self, e: ForwardEmission) -> None:
        c, h, w = e.in_shape()
        k, s = self.window(e.node, h, w)
        e.op("maxpool" if self.takes_max else "avgpool", e.output().at(), e.input().at(), e.microbatch * c, h, w, k, s)

    def emit_backward(self, e: BackwardEmission) -> None:
        c, h, w = e.in_shape()
        k, s = self.window(e.node, h, w)
        gout, x, m = e.gradient(), e.input(), e.microbatch
        if self.takes_max:
            e.into(0, lambda d: e.op("maxpoolb", d.at(), gout.at(), x.at(), m * c, h, w, k, s))
        else:
            e.into(0, lambda d: e.op("avgpoolb", d.at(), gout.at(), m * c, h, w, k, s))

    def numpy_forward(self, ins: Sequence[np.ndarray]) -> np.ndarray:
        k, s = self.numpy_window(ins[0].shape[2])
        wins = pool_windows(ins[0], k, s)
        return wins.max(axis=-1) if self.takes_max else wins.mean(axis=-1)

    def numpy_backward(self, ins: Sequence[np.ndarray], out: np.ndarray,
                       grad: np.ndarray) -> Sequence[np.ndarray | None]:
        a_in = ins[0]
        k, s = self.numpy_window(a_in.shape[2])
        if not self.takes_max:
            return [unpool(np.repeat((grad / np.float32(k * k))[..., None], k * k, axis=-1), a_in.shape, k, s)]
        wins = pool_windows(a_in, k, s)
        first = np.argmax(wins, axis=-1)
        onehot = np.zeros(wins.shape, np.float32)
        np.put_along_axis(onehot, first[..., None], grad[..., None], axis=-1)
        return [unpool(onehot, a_in.shape, k, s)]


@dataclass(frozen=True)
class MaxPool(_Pooling, Layer):
    kind: ClassVar[str] = "maxpool"
    doc: ClassVar[str] = "max pooling, digital"
    takes_max: ClassVar[bool] = True
    kernel: Pair = knob(doc="window kh x kw", lo=1)
    stride: Pair | None = knob(None, doc="stride (default: the kernel)", lo=1)
    padding: Pair = knob(0, doc="padding on each side (with -inf)", lo=0)

    def validate(self) -> None:
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel)

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        shape = _need_chw(ins, self.kind)
        return (shape[0], *_window(shape, self.kernel, self.stride, self.padding))


@dataclass(frozen=True)
class AvgPool(_Pooling, Layer):
    kind: ClassVar[str] = "avgpool"
    doc: ClassVar[str] = "average pooling without padding, digital"
    kernel: Pair = knob(doc="window kh x kw", lo=1)
    stride: Pair | None = knob(None, doc="stride (default: the kernel)", lo=1)

    def validate(self) -> None:
        if self.stride is None:
            object.__setattr__(self, "stride", self.kernel)

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        shape = _need_chw(ins, self.kind)
        return (shape[0], *_window(shape, self.kernel, self.stride, (0, 0)))


@dataclass(frozen=True)
class GlobalAvgPool(_Pooling, Layer):
    kind: ClassVar[str] = "global_avgpool"
    doc: ClassVar[str] = "average over all of H x W (the global avgpool variant): (C, H, W) -> (C, 1, 1)"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        return (_need_chw(ins, self.kind)[0], 1, 1)

    def numpy_window(self, h: int) -> tuple[int, int]:
        return h, h

    def window(self, node: str, h: int, w: int) -> tuple[int, int]:
        if h != w:
            raise GraphError(f"node {node!r}: global pooling of a non-square {h}x{w} input")
        return h, h


@dataclass(frozen=True)
class Flatten(Layer):
    kind: ClassVar[str] = "flatten"
    view: ClassVar[bool] = True
    doc: ClassVar[str] = "(C, H, W) -> (C*H*W,) in C, H, W order; a flat input passes unchanged"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        return (int(np.prod(ins[0])),)

    def emit_forward(self, e: ForwardEmission) -> None:
        """A view of its input (one buffer): nothing to do."""

    def emit_backward(self, e: BackwardEmission) -> None:
        e.pass_through(0)

    def numpy_forward(self, ins: Sequence[np.ndarray]) -> np.ndarray:
        return ins[0].reshape(len(ins[0]), -1)

    def numpy_backward(self, ins: Sequence[np.ndarray], out: np.ndarray,
                       grad: np.ndarray) -> Sequence[np.ndarray | None]:
        return [grad.reshape(ins[0].shape)]


@dataclass(frozen=True)
class Add(Layer):
    kind: ClassVar[str] = "add"
    arity: ClassVar[int] = 2
    doc: ClassVar[str] = "elementwise sum of two inputs of the same shape (residual), digital"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        if ins[0] != ins[1]:
            raise GraphError(f"add of mismatched shapes {_fmt(ins[0])} and {_fmt(ins[1])}")
        return ins[0]

    def emit_forward(self, e: ForwardEmission) -> None:
        e.op("vadd", e.output().at(), e.input(0).at(), e.input(1).at(), _words(e, e.out_shape()))

    def emit_backward(self, e: BackwardEmission) -> None:
        e.pass_through(0)
        e.pass_through(1)

    def numpy_forward(self, ins: Sequence[np.ndarray]) -> np.ndarray:
        return ins[0] + ins[1]

    def numpy_backward(self, ins: Sequence[np.ndarray], out: np.ndarray,
                       grad: np.ndarray) -> Sequence[np.ndarray | None]:
        return [grad, grad]


@dataclass(frozen=True)
class SoftmaxCrossEntropy(Layer):
    kind: ClassVar[str] = "softmax_xent"
    doc: ClassVar[str] = "softmax + cross-entropy loss on the logits (labels come with the data); a sink"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        if len(ins[0]) != 1:
            raise GraphError(f"softmax_xent needs flat (classes,) logits, got {_fmt(ins[0])}")
        return ()


@dataclass(frozen=True)
class Node:
    """One named layer application; ``inputs`` name earlier nodes (empty for the input node)."""

    name: str
    layer: Layer
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Graph:
    """Named nodes in topological order, exactly one Input (the first); validated and shaped on creation.

    ``meta`` holds the front end's pass-through data (the TOML ``[train]`` table), ``source`` the file.
    """

    nodes: tuple[Node, ...]
    name: str = "graph"
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)
    source: str = field(default="", compare=False)
    _shapes: dict[str, Shape] = field(init=False, repr=False, compare=False, default_factory=dict)
    _by_name: dict[str, Node] = field(init=False, repr=False, compare=False, default_factory=dict)
    """Node by name (a lookup in constant time: compile time stays linear in the number of layers)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not self.nodes or not isinstance(self.nodes[0].layer, Input):
            raise GraphError(f"graph {self.name!r}: the first node must be an input")
        shapes: dict[str, Shape] = {}
        for node in self.nodes:
            where = f"node {node.name!r} ({node.layer.kind})"
            if not isinstance(node.name, str) or not NAME_RE.fullmatch(node.name):
                raise GraphError(f"{where}: name must match {NAME_RE.pattern}")
            if node.name in shapes:
                raise GraphError(f"{where}: duplicate node name")
            if isinstance(node.layer, Input) and shapes:
                raise GraphError(f"{where}: only one input node is supported")
            if len(node.inputs) != node.layer.arity:
                raise GraphError(f"{where}: takes {node.layer.arity} input(s), got {list(node.inputs)}")
            for src in node.inputs:
                if src not in shapes:
                    raise GraphError(f"{where}: input {src!r} is not an earlier node")
                if shapes[src] == ():
                    raise GraphError(f"{where}: input {src!r} is a loss, which feeds nothing")
            try:
                shapes[node.name] = node.layer.infer(tuple(shapes[s] for s in node.inputs))
            except GraphError as exc:
                raise GraphError(f"{where}: {exc}") from None
            words = math.prod(shapes[node.name])
            matrix = node.layer.weight_shape(shapes[node.inputs[0]]) if node.inputs else None
            if words > MAX_TENSOR_WORDS or (matrix and matrix[0] * matrix[1] > MAX_TENSOR_WORDS):
                what = f"output {_fmt(shapes[node.name])}" if words > MAX_TENSOR_WORDS else \
                    f"weight matrix {matrix[0]} x {matrix[1]}"
                raise GraphError(f"{where}: its {what} exceeds {MAX_TENSOR_WORDS} words per image, more than any "
                                 "configurable memory holds")
        object.__setattr__(self, "_shapes", shapes)
        object.__setattr__(self, "_by_name", {node.name: node for node in self.nodes})

    @classmethod
    def sequential(cls, layers: Sequence[tuple[str, Layer]], name: str = "graph",
                   meta: Mapping[str, Any] | None = None) -> Graph:
        """A chain: each named layer takes the previous node's output (the first must be an Input)."""
        nodes = [Node(n, layer, (layers[i - 1][0],) if i else ()) for i, (n, layer) in enumerate(layers)]
        return cls(tuple(nodes), name, dict(meta or {}))

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, name: str) -> Node:
        node = self._by_name.get(name)
        if node is None:
            raise KeyError(f"graph {self.name!r} has no node {name!r}")
        return node

    @property
    def input(self) -> Node:
        return self.nodes[0]

    def shapes(self) -> dict[str, Shape]:
        """Output shape of every node, batch excluded, in node order."""
        return dict(self._shapes)

    def shape(self, name: str) -> Shape:
        return self._shapes[name]

    def in_shapes(self, name: str) -> tuple[Shape, ...]:
        """Shapes of a node's inputs."""
        return tuple(self._shapes[s] for s in self.node(name).inputs)

    def consumers(self, name: str) -> list[str]:
        """Nodes that read ``name``'s output."""
        return [n.name for n in self.nodes if name in n.inputs]

    def weight_nodes(self) -> list[Node]:
        """Nodes whose layer has a crossbar matrix, in order."""
        return [n for n in self.nodes if self.weight_shape(n.name) is not None]

    def weight_shape(self, name: str) -> Pair | None:
        """Crossbar matrix (rows, cols) of a node, None if it has none."""
        node = self.node(name)
        return node.layer.weight_shape(self.in_shapes(name)[0]) if node.inputs else None

    def mvms(self, name: str) -> int:
        """Matrix-vector multiplies per image of a node."""
        node = self.node(name)
        return node.layer.mvms(self.in_shapes(name)[0], self.shape(name)) if node.inputs else 0

    def param_count(self, name: str | None = None) -> int:
        """Trainable parameters of one node, or of the graph."""
        names = [name] if name else [n.name for n in self.nodes]
        return sum(self.node(n).layer.param_count(self.in_shapes(n)[0]) for n in names if self.node(n).inputs)

    def state_count(self, name: str | None = None) -> int:
        """Non-trainable digital state words (BatchNorm running statistics) of one node, or of the graph."""
        names = [name] if name else [n.name for n in self.nodes]
        return sum(self.node(n).layer.state_count(self.in_shapes(n)[0]) for n in names if self.node(n).inputs)

    def activation_words(self, name: str | None = None) -> int:
        """Words of one node's output for one image (a loss is 1, a view 0), or the sum over the graph
        (what training keeps for the backward pass)."""
        if name is None:
            return sum(self.activation_words(n.name) for n in self.nodes)
        return 0 if self.node(name).layer.view else max(1, int(np.prod(self._shapes[name])))

    def summary(self) -> str:
        """A fixed-width listing: node, type, inputs, output shape, crossbar matrix, parameters."""
        lines = [f"{'node':<14} {'type':<15} {'inputs':<20} {'output':<16} {'matrix':<10} {'params':>9}"]
        for n in self.nodes:
            ws = self.weight_shape(n.name)
            lines.append(f"{n.name:<14} {n.layer.kind:<15} {','.join(n.inputs):<20} {_fmt(self.shape(n.name)):<16} "
                         f"{f'{ws[0]}x{ws[1]}' if ws else '':<10} {self.param_count(n.name) if n.inputs else 0:>9}")
        lines.append(f"{'total':<14} {'':<15} {'':<20} {'':<16} {'':<10} {self.param_count():>9}")
        return "\n".join(lines)


def crossbar_matrix(layer: Layer, weight: np.ndarray) -> np.ndarray:
    """A weight in ONNX/PyTorch layout as the crossbar (rows, cols) matrix (the weight layer's own
    ``crossbar_matrix``): Conv2d (out, in, kh, kw) -> (in*kh*kw, out), rows in im2col order ``c*kh*kw + i*kw + j``;
    Linear (out, in) -> (in, out).
    """
    if not isinstance(layer, CrossbarLayer):
        raise GraphError(f"{layer.kind} has no crossbar matrix")
    return layer.crossbar_matrix(weight)
