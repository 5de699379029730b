"""The network graph IR: layer types (frozen dataclasses), one registry of them, and the Graph.

Shapes exclude the batch: ``(C, H, W)`` for feature maps, ``(F,)`` for feature vectors, ``()``
for a per-image loss. A weight layer's matrix is given in the *crossbar view*, rows x cols:
rows are the inputs driven on word lines, cols the outputs read on (pairs of) bit lines.

- Conv2d: rows = in_channels * kh * kw (im2col, index ``c*kh*kw + i*kw + j``), cols = out_channels;
  one matrix-vector multiply (MVM) per output position.
- Linear: rows = in_features, cols = out_features; one MVM per image.

Biases are not crossbar rows: they are added in the digital unit (as ``programs/mlp_infer.s`` does).
Both front ends build layers through :data:`LAYERS`; a layer checks its own fields in ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Iterator, Mapping, Sequence

import numpy as np

from socsim.errors import InputError
from socsim.geometry import window_out

Shape = tuple[int, ...]
Pair = tuple[int, int]
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class GraphError(InputError):
    """A layer field or a shape is wrong; the message names the node, its layer type and the problem."""


MAX_SIZE = 1 << 24
"""Largest integer a layer field may hold (features, channels, kernel, stride, padding, a shape's size)."""
MAX_TENSOR_WORDS = 1 << 32
"""Largest tensor of one image (words) and largest weight matrix (rows x cols) a graph may have."""


def knob(default: Any = dataclasses.MISSING, *, doc: str, lo: int | float | None = None,
         hi: int | float | None = None) -> Any:
    """A layer field with its meaning (for docs and errors) and inclusive bounds."""
    return field(default=default, metadata={"doc": doc, "lo": lo, "hi": hi})


_TYPE_TEXT = {int: "an integer", bool: "true or false", float: "a number", str: "a string",
              Pair: "an integer or a pair [h, w] of integers", Pair | None: "an integer or a pair [h, w]",
              Shape: "a list of 1 or 3 positive integers ([features] or [C, H, W])"}


def type_text(tp: Any) -> str:
    """How a field type is written in the error messages and the docs."""
    return _TYPE_TEXT.get(tp, str(tp))


def _coerce(tp: Any, value: Any) -> Any:
    """``value`` converted to field type ``tp`` (int -> pair, list -> tuple), or raise TypeError."""
    if tp == Pair | None and value is None:
        return None
    if tp is bool and isinstance(value, bool):
        return value
    if tp is str and isinstance(value, str):
        return value
    if tp is int and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if tp is float and isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    if tp == Pair or tp == Pair | None:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return (int(value), int(value))
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return (int(value[0]), int(value[1]))
    if tp == Shape and isinstance(value, (list, tuple)) and len(value) in (1, 3) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in value):
        return tuple(int(v) for v in value)
    raise TypeError


@dataclass(frozen=True)
class Layer:
    """Base of every layer type. Subclasses set ``kind`` (the registry name), ``arity`` and ``doc``."""

    kind: ClassVar[str] = ""
    arity: ClassVar[int] = 1
    doc: ClassVar[str] = ""
    view: ClassVar[bool] = False
    """The output is its input reinterpreted (no storage of its own)."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            try:
                value = _coerce(hints[f.name], value)
            except TypeError:
                raise GraphError(f"{self.kind}.{f.name}: expected {type_text(hints[f.name])}, "
                                 f"got {value!r}") from None
            lo = f.metadata.get("lo")
            items = value if isinstance(value, tuple) else (value,)
            if lo is not None and any(v is not None and v < lo for v in items):
                raise GraphError(f"{self.kind}.{f.name} = {value!r} is out of range; allowed >= {lo}")
            hi = f.metadata.get("hi")
            if hi is not None and any(v is not None and v > hi for v in items):
                raise GraphError(f"{self.kind}.{f.name} = {value!r} is out of range; allowed <= {hi}")
            if any(isinstance(v, int) and not isinstance(v, bool) and v > MAX_SIZE for v in items):
                raise GraphError(f"{self.kind}.{f.name} = {value!r} is out of range; allowed <= {MAX_SIZE}")
            if any(isinstance(v, float) and not math.isfinite(v) for v in items):
                raise GraphError(f"{self.kind}.{f.name} = {value!r}: expected a finite number")
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; raise GraphError naming the field."""

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        """Output shape from the input shapes (batch excluded); raise GraphError on a bad input."""
        raise NotImplementedError

    def weight_shape(self, in_shape: Shape) -> Pair | None:
        """Crossbar matrix (rows, cols) of a weight layer, None for others."""
        return None

    def mvms(self, in_shape: Shape, out_shape: Shape) -> int:
        """Matrix-vector multiplies per image on this layer's matrix (0 for non-weight layers)."""
        return 0

    def param_count(self, in_shape: Shape) -> int:
        """Trainable parameters (weights, biases, BatchNorm scale/shift)."""
        return 0

    def state_count(self, in_shape: Shape) -> int:
        """Non-trainable state words kept digitally (BatchNorm running mean/variance)."""
        return 0

    def fields(self) -> dict[str, Any]:
        """The layer's fields as a plain dict (what a TOML ``[[layer]]`` table holds besides type/name)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _need_chw(ins: tuple[Shape, ...], what: str) -> Shape:
    (shape,) = ins
    if len(shape) != 3:
        raise GraphError(f"{what} needs a (C, H, W) input, got {_fmt(shape)}")
    return shape


def _window(shape: Shape, kernel: Pair, stride: Pair, padding: Pair) -> tuple[int, int]:
    """Output (H, W) of a sliding window; errors when the kernel is larger than the padded input."""
    _, h, w = shape
    ph, pw = h + 2 * padding[0], w + 2 * padding[1]
    if kernel[0] > ph or kernel[1] > pw:
        raise GraphError(f"kernel {kernel[0]}x{kernel[1]} is larger than its padded input {ph}x{pw} "
                         f"(input {_fmt(shape)}, padding {padding[0]}x{padding[1]})")
    return window_out(ph, kernel[0], stride[0]), window_out(pw, kernel[1], stride[1])


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")" if shape else "() (scalar)"


@dataclass(frozen=True)
class Input(Layer):
    kind: ClassVar[str] = "input"
    arity: ClassVar[int] = 0
    doc: ClassVar[str] = "the network input of one image, batch excluded"
    shape: Shape = knob(doc="[C, H, W] for images or [features] for vectors")
    dataset: str = knob("", doc="the data it is meant for (a name from socsim.host.data.DATASETS), a marker only")

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        return self.shape


@dataclass(frozen=True)
class Conv2d(Layer):
    kind: ClassVar[str] = "conv2d"
    doc: ClassVar[str] = "2-D convolution on the crossbars (im2col rows x out_channels)"
    out_channels: int = knob(doc="output channels = crossbar columns", lo=1)
    kernel: Pair = knob(doc="kernel size kh x kw (an integer for square)", lo=1)
    stride: Pair = knob(1, doc="stride", lo=1)
    padding: Pair = knob(0, doc="zero padding on each side", lo=0)
    groups: int = knob(1, doc="only 1 (dense) is supported")
    bias: bool = knob(True, doc="per-channel bias, added in the digital unit")

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


@dataclass(frozen=True)
class Linear(Layer):
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


@dataclass(frozen=True)
class ReLU(Layer):
    kind: ClassVar[str] = "relu"
    doc: ClassVar[str] = "max(x, 0), digital"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        return ins[0]


@dataclass(frozen=True)
class MaxPool(Layer):
    kind: ClassVar[str] = "maxpool"
    doc: ClassVar[str] = "max pooling, digital"
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
class AvgPool(Layer):
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
class GlobalAvgPool(Layer):
    kind: ClassVar[str] = "global_avgpool"
    doc: ClassVar[str] = "average over all of H x W (the global avgpool variant): (C, H, W) -> (C, 1, 1)"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        return (_need_chw(ins, self.kind)[0], 1, 1)


@dataclass(frozen=True)
class Flatten(Layer):
    kind: ClassVar[str] = "flatten"
    view: ClassVar[bool] = True
    doc: ClassVar[str] = "(C, H, W) -> (C*H*W,) in C, H, W order; a flat input passes unchanged"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        return (int(np.prod(ins[0])),)


@dataclass(frozen=True)
class Add(Layer):
    kind: ClassVar[str] = "add"
    arity: ClassVar[int] = 2
    doc: ClassVar[str] = "elementwise sum of two inputs of the same shape (residual), digital"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        if ins[0] != ins[1]:
            raise GraphError(f"add of mismatched shapes {_fmt(ins[0])} and {_fmt(ins[1])}")
        return ins[0]


@dataclass(frozen=True)
class BatchNorm(Layer):
    kind: ClassVar[str] = "batchnorm"
    doc: ClassVar[str] = "batch normalization over channels (or features), digital"
    eps: float = knob(1e-5, doc="added to the variance (at most 1: a larger one swamps the variance of the "
                      "activations it normalises)", lo=0.0, hi=1.0)
    momentum: float = knob(0.1, doc="running-statistics update: r = (1 - m) r + m batch_stat", lo=0.0, hi=1.0)

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        if len(ins[0]) not in (1, 3):
            raise GraphError(f"batchnorm needs (C, H, W) or (features,), got {_fmt(ins[0])}")
        return ins[0]

    def param_count(self, in_shape: Shape) -> int:
        return 2 * in_shape[0]

    def state_count(self, in_shape: Shape) -> int:
        return 2 * in_shape[0]


@dataclass(frozen=True)
class SoftmaxCrossEntropy(Layer):
    kind: ClassVar[str] = "softmax_xent"
    doc: ClassVar[str] = "softmax + cross-entropy loss on the logits (labels come with the data); a sink"

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        if len(ins[0]) != 1:
            raise GraphError(f"softmax_xent needs flat (classes,) logits, got {_fmt(ins[0])}")
        return ()


LAYERS: dict[str, type[Layer]] = {cls.kind: cls for cls in (
    Input, Conv2d, Linear, ReLU, MaxPool, AvgPool, GlobalAvgPool, Flatten, Add, BatchNorm, SoftmaxCrossEntropy)}
"""The one table of layer types: TOML ``type`` name -> class. Both front ends construct through it."""


def make_layer(kind: str, **values: Any) -> Layer:
    """Build a layer by registry name; errors list the valid names or the layer's fields."""
    cls = LAYERS.get(kind)
    if cls is None:
        raise GraphError(f"unknown layer type {kind!r}; valid: {', '.join(LAYERS)}")
    known = [f.name for f in fields(cls)]
    for key in values:
        if key not in known:
            raise GraphError(f"{kind}: unknown field {key!r}; {kind} has: {', '.join(known) or 'no fields'}")
    missing = [f.name for f in fields(cls) if f.default is dataclasses.MISSING and f.name not in values]
    if missing:
        doc = cls.__dataclass_fields__[missing[0]].metadata["doc"]
        raise GraphError(f"{kind}: missing field {missing[0]!r} ({doc})")
    return cls(**values)


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
    """A weight in ONNX/PyTorch layout as the crossbar (rows, cols) matrix.

    Conv2d: (out, in, kh, kw) -> (in*kh*kw, out), rows in im2col order ``c*kh*kw + i*kw + j``.
    Linear: (out, in) -> (in, out).
    """
    if isinstance(layer, Conv2d):
        return np.ascontiguousarray(weight.reshape(weight.shape[0], -1).T)
    if isinstance(layer, Linear):
        return np.ascontiguousarray(weight.T)
    raise GraphError(f"{layer.kind} has no crossbar matrix")
