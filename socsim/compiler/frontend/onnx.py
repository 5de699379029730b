"""ONNX front end: an ONNX model (file or ModelProto) to the same :class:`Graph`, plus its initial weights.

Operators (one table, :data:`OPS`, op_type -> converter): Conv, Gemm, MatMul (+ Add of a constant bias),
Relu, MaxPool, AveragePool, GlobalAveragePool, ReduceMean over H and W (a global average pool), Flatten,
Reshape / Squeeze to (batch, features) or to the same shape, Add, BatchNormalization (inference form),
SoftmaxCrossEntropyLoss; Identity and Dropout (inference) pass through; a final Softmax/LogSoftmax becomes the
loss. A node whose inputs are all constants (``Identity`` of an initializer, ``Transpose`` of a weight, the
``Shape -> Gather -> Concat`` arithmetic of a ``view``) is folded to a constant first (:mod:`.onnx_fold`).
Anything else is an error naming the node and its op_type. Every layer is built through ``graph.LAYERS``.

Weights (ONNX layout) are returned beside the graph, keyed by node name:
conv2d ``{"weight": (out, in, kh, kw), "bias": (out,)}``, linear ``{"weight": (out, in), "bias": (out,)}``,
batchnorm ``{"scale", "bias", "mean", "var"}`` of shape (C,). ``graph.crossbar_matrix`` gives the rows x cols view.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import onnx
from onnx import helper, numpy_helper

from socsim.base.fileio import open_input
from socsim.compiler.frontend.onnx_fold import BATCH, FoldError, constant, fold, shape_value
from socsim.compiler.graph import Graph, GraphError, Node, Shape, make_layer


class OnnxImport(NamedTuple):
    """What :func:`load_onnx` returns: the graph and its initial weights (may be empty per layer)."""

    graph: Graph
    weights: dict[str, dict[str, np.ndarray]]


@dataclass
class _Ctx:
    """Import state: constants, which node produces each tensor, the nodes and shapes so far."""

    source: str
    consts: dict[str, np.ndarray]
    producer: dict[str, str] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    uses: dict[str, int] = field(default_factory=dict)
    outputs: set[str] = field(default_factory=set)
    batch: int | None = None
    """The data input's batch dimension when the model fixes it (an export with a static batch), else None."""

    def error(self, node: onnx.NodeProto, msg: str) -> GraphError:
        return GraphError(f"{self.source}: node {node.name or '(unnamed)'!r} ({node.op_type}): {msg}")

    def const(self, node: onnx.NodeProto, index: int, what: str) -> np.ndarray:
        if index >= len(node.input) or node.input[index] not in self.consts:
            raise self.error(node, f"{what} (input {index}) must be an initializer or Constant")
        return self.consts[node.input[index]]

    def int_const(self, node: onnx.NodeProto, index: int, what: str) -> list[Any]:
        """The integers of constant input ``index`` (a shape, axes): an array of another dtype (a float NaN, ...)
        is a GraphError naming the node, never converted."""
        value = self.const(node, index, what)
        if value.dtype.kind not in "iu" and not (value.dtype == object and all(
                v is BATCH or isinstance(v, (int, np.integer)) for v in value.ravel())):
            raise self.error(node, f"{what} (input {index}) must be integers (int64), got a {value.dtype} tensor "
                                   f"{np.array2string(value.ravel()[:8], threshold=8)}")
        return [v if v is BATCH else int(v) for v in value.ravel()]

    def data(self, node: onnx.NodeProto, index: int = 0) -> str:
        """The graph node producing a data input."""
        tensor = node.input[index]
        if tensor not in self.producer:
            raise self.error(node, f"input {tensor!r} is not produced by an imported node")
        return self.producer[tensor]

    def in_shape(self, node: onnx.NodeProto, index: int = 0) -> Shape:
        return self.shapes[self.data(node, index)]


Step = tuple[str, dict[str, Any], dict[str, np.ndarray], list[int]]
"""One layer of a conversion: (layer kind, layer fields, weights, data input indices)."""
Converted = Step | list[Step] | str
"""A converter's result: a step, a chain of steps (each after the first takes the previous one's output), or
the name of the existing graph node its output aliases (pass-through)."""


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _check_attrs(ctx: _Ctx, node: onnx.NodeProto, allowed: dict[str, Any]) -> dict[str, Any]:
    """Attributes with defaults; an attribute outside ``allowed`` or a value other than a fixed one is an error."""
    got = _attrs(node)
    for key, value in got.items():
        if key not in allowed:
            raise ctx.error(node, f"attribute {key!r} is not supported; supported: {', '.join(allowed)}")
        want = allowed[key]
        if isinstance(want, _Only) and value not in want.values:
            raise ctx.error(node, f"{key} = {value!r} is not supported; only {want.values}")
        expected = _attr_kind(want)
        if not _is_kind(value, expected):
            raise ctx.error(node, f"attribute {key} = {value!r}: expected {expected}")
    return {k: (v.values[0] if isinstance(v, _Only) else v) for k, v in allowed.items()} | got


def _attr_kind(default: Any) -> str:
    """What an attribute must hold, from its default (None: a list of integers such as kernel_shape or axes)."""
    sample = default.values[0] if isinstance(default, _Only) else default
    if sample is None or isinstance(sample, list):
        return "a list of integers"
    if isinstance(sample, bytes):
        return "a string"
    return "an integer" if isinstance(sample, int) else "a number"


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "a list of integers":
        return isinstance(value, list) and all(isinstance(v, int) for v in value)
    if kind == "a string":
        return isinstance(value, bytes)
    if kind == "an integer":
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


@dataclass(frozen=True)
class _Only:
    """An attribute accepted only with these values (the first is the default)."""

    values: tuple[Any, ...]


def _pads(ctx: _Ctx, node: onnx.NodeProto, pads: list[int]) -> tuple[int, int]:
    if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
        raise ctx.error(node, f"pads {list(pads)} must be symmetric [t, l, t, l]")
    return pads[0], pads[1]


def _window_attrs(ctx: _Ctx, node: onnx.NodeProto, extra: dict[str, Any]) -> dict[str, Any]:
    a = _check_attrs(ctx, node, {"kernel_shape": None, "strides": [1, 1], "pads": [0, 0, 0, 0],
                                 "dilations": _Only(([1, 1],)), "auto_pad": _Only((b"NOTSET", b"VALID")),
                                 "ceil_mode": _Only((0,))} | extra)
    if a["kernel_shape"] is not None and len(a["kernel_shape"]) != 2:
        raise ctx.error(node, f"only 2-D windows are supported, got kernel_shape {a['kernel_shape']}")
    a["pads"] = _pads(ctx, node, a["pads"])
    return a


def _conv(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    a = _window_attrs(ctx, node, {"group": 1})
    w = ctx.const(node, 1, "weight W")
    if w.ndim != 4:
        raise ctx.error(node, f"weight of shape {w.shape}: only 2-D convolutions (4-D weights) are supported")
    weights = {"weight": w}
    if len(node.input) > 2 and node.input[2]:
        weights["bias"] = ctx.const(node, 2, "bias B")
    cin = ctx.in_shape(node)[0] if len(ctx.in_shape(node)) == 3 else None
    if a["group"] == 1 and cin is not None and w.shape[1] != cin:
        raise ctx.error(node, f"weight of shape {w.shape} does not fit {cin} input channels")
    return ("conv2d", {"out_channels": w.shape[0], "kernel": tuple(a["kernel_shape"] or w.shape[2:]),
                       "stride": tuple(a["strides"]), "padding": a["pads"], "groups": a["group"],
                       "bias": "bias" in weights}, weights, [0])


def _gemm(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    a = _check_attrs(ctx, node, {"alpha": _Only((1.0,)), "beta": _Only((1.0,)), "transA": _Only((0,)), "transB": 0})
    b = ctx.const(node, 1, "weight B")
    weight = b if a["transB"] else b.T
    weights = {"weight": weight}
    if len(node.input) > 2 and node.input[2]:
        weights["bias"] = ctx.const(node, 2, "bias C").reshape(-1)
    return _linear(ctx, node, weights)


def _matmul(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    return _linear(ctx, node, {"weight": ctx.const(node, 1, "weight B").T})


def _linear(ctx: _Ctx, node: onnx.NodeProto, weights: dict[str, np.ndarray]) -> Converted:
    shape, w = ctx.in_shape(node), weights["weight"]
    if w.ndim != 2 or (len(shape) == 1 and w.shape[1] != shape[0]):
        raise ctx.error(node, f"weight of shape {w.T.shape} does not fit an input of shape {shape}")
    return ("linear", {"out_features": w.shape[0], "bias": "bias" in weights}, weights, [0])


def _add(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    const = [i for i, t in enumerate(node.input) if t in ctx.consts]
    if not const:
        return ("add", {}, {}, [0, 1])
    src = ctx.data(node, 1 - const[0])
    prev = ctx.nodes[-1] if ctx.nodes else None
    if (prev is None or prev.name != src or prev.layer.kind != "linear" or prev.layer.bias
            or ctx.uses.get(_output_of(ctx, src), 0) != 1):
        raise ctx.error(node, "adding a constant is supported only as the bias right after MatMul")
    bias = ctx.consts[node.input[const[0]]].reshape(-1)
    ctx.nodes[-1] = Node(prev.name, make_layer("linear", out_features=prev.layer.out_features, bias=True), prev.inputs)
    ctx.weights[prev.name]["bias"] = bias
    return src


def _output_of(ctx: _Ctx, node_name: str) -> str:
    return next(t for t, n in ctx.producer.items() if n == node_name)


def _used(ctx: _Ctx, tensor: str) -> bool:
    """Whether a node or the graph's outputs read ``tensor``."""
    return bool(tensor) and (ctx.uses.get(tensor, 0) > 0 or tensor in ctx.outputs)


def _maxpool(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    if len(node.output) > 1 and _used(ctx, node.output[1]):
        raise ctx.error(node, "the Indices output is used; it is not supported")
    a = _window_attrs(ctx, node, {"storage_order": _Only((0,))})
    return ("maxpool", {"kernel": tuple(a["kernel_shape"]), "stride": tuple(a["strides"]), "padding": a["pads"]},
            {}, [0])


def _avgpool(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    a = _window_attrs(ctx, node, {"count_include_pad": 0})
    if a["pads"] != (0, 0):
        raise ctx.error(node, f"pads {a['pads']} are not supported: avgpool has no padding")
    return ("avgpool", {"kernel": tuple(a["kernel_shape"]), "stride": tuple(a["strides"])}, {}, [0])


def _flatten(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    a = _check_attrs(ctx, node, {"axis": 1})
    if a["axis"] not in (1, 1 - (len(ctx.in_shape(node)) + 1)):
        raise ctx.error(node, f"axis = {a['axis']} is not supported; only 1 (keep the batch, flatten the rest)")
    return ("flatten", {}, {}, [0])


def _reshape(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    """A reshape that keeps the batch and flattens the rest (``x.view(N, -1)``, ``x.flatten(1)``) or changes
    nothing. allowzero = 1 (the dynamo exporter's) means the same as 0 when the target has no zero."""
    a = _check_attrs(ctx, node, {"allowzero": _Only((0, 1))})
    raw = ctx.int_const(node, 1, "shape")
    in_shape = ctx.in_shape(node)
    size = int(np.prod(in_shape))
    full = [BATCH, *in_shape]
    target = []
    for i, t in enumerate(raw):
        if t == 0 and t is not BATCH:
            if a["allowzero"]:
                raise ctx.error(node, f"shape {raw} has a zero dimension (allowzero = 1): an empty tensor")
            if i >= len(full):
                raise ctx.error(node, f"shape {raw}: a 0 at position {i} copies no input dimension")
            t = full[i]
        target.append(t)
    rest = target[1:]
    if not target or not (target[0] is BATCH or target[0] == -1 or (ctx.batch is not None and target[0] == ctx.batch)):
        raise ctx.error(node, f"shape {raw} does not keep the batch as its first dimension")
    if any(t is BATCH for t in rest) or (target[0] == -1 and -1 in rest):
        raise ctx.error(node, f"shape {raw} does not keep the batch as its first dimension")
    known = int(np.prod([t for t in rest if t != -1]))
    if rest.count(-1) > 1 or (known == 0 or size % known):
        raise ctx.error(node, f"shape {raw} does not fit an input of {size} values per image {in_shape}")
    rest = [size // known if t == -1 else t for t in rest]
    if int(np.prod(rest)) != size:
        raise ctx.error(node, f"shape {raw} does not fit an input of {size} values per image {in_shape}")
    if tuple(rest) == tuple(in_shape):
        return ctx.data(node, 0)
    if rest == [size]:
        return ("flatten", {}, {}, [0])
    raise ctx.error(node, f"only a reshape to (batch, {size}) or to the same shape is supported, got {raw}")


def _axes(ctx: _Ctx, node: onnx.NodeProto, attrs: dict[str, Any]) -> list[int] | None:
    """Axes from the ``axes`` input (opset 13 Squeeze, opset 18 ReduceMean) or the attribute (earlier opsets)."""
    if len(node.input) > 1 and node.input[1]:
        return ctx.int_const(node, 1, "axes")
    return None if attrs.get("axes") is None else [int(v) for v in attrs["axes"]]


def _spatial(axes: list[int] | None) -> bool:
    return axes is not None and sorted(a % 4 for a in axes) == [2, 3]


def _reduce_mean(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    """The mean over H and W of (N, C, H, W): ``AdaptiveAvgPool2d(1)`` and ``x.mean((2, 3))`` as exported."""
    a = _check_attrs(ctx, node, {"axes": None, "keepdims": 1, "noop_with_empty_axes": _Only((0,))})
    axes, shape = _axes(ctx, node, a), ctx.in_shape(node)
    if len(shape) != 3 or not _spatial(axes):
        raise ctx.error(node, f"only a mean over the spatial axes [2, 3] of an (N, C, H, W) input is supported "
                              f"(a global average pool); got axes {axes} of an input (N, {', '.join(map(str, shape))})")
    pool: Step = ("global_avgpool", {}, {}, [0])
    return [pool] if a["keepdims"] else [pool, ("flatten", {}, {}, [])]


def _squeeze(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    """Squeezing the unit H and W of a pooled (N, C, 1, 1) tensor: a flatten."""
    a = _check_attrs(ctx, node, {"axes": None})
    axes, shape = _axes(ctx, node, a), ctx.in_shape(node)
    if len(shape) != 3 or shape[1:] != (1, 1) or not _spatial(axes):
        raise ctx.error(node, f"only squeezing axes [2, 3] of an (N, C, 1, 1) input is supported; got axes {axes} "
                              f"of (N, {', '.join(map(str, shape))})")
    return ("flatten", {}, {}, [0])


def _dropout(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    """Dropout in inference form passes through; training mode or a used mask is an error."""
    if len(node.input) > 2 and node.input[2] and bool(np.asarray(ctx.const(node, 2, "training_mode")).any()):
        raise ctx.error(node, "training_mode is true; export the model in inference mode (model.eval())")
    if len(node.output) > 1 and _used(ctx, node.output[1]):
        raise ctx.error(node, "the mask output is used; it is not supported")
    return ctx.data(node, 0)


def _batchnorm(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    a = _check_attrs(ctx, node, {"epsilon": 1e-5, "momentum": 0.9, "training_mode": _Only((0,)), "spatial": 1})
    names = ("scale", "bias", "mean", "var")
    weights = {k: ctx.const(node, i + 1, k) for i, k in enumerate(names)}
    channels = ctx.in_shape(node)[0]
    if any(w.shape != (channels,) for w in weights.values()):
        raise ctx.error(node, f"parameters must have shape ({channels},)")
    # ONNX: running = momentum * running + (1 - momentum) * batch; ours weighs the batch by momentum.
    return ("batchnorm", {"eps": _f32(a["epsilon"]), "momentum": round(1.0 - _f32(a["momentum"]), 9)},
            weights, [0])


def _f32(value: float) -> float:
    """An ONNX float attribute (stored as float32) as the shortest decimal that reads back to it."""
    return float(str(np.float32(value)))


def _loss(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    final = node.output[0] in ctx.outputs and not ctx.uses.get(node.output[0])
    if node.op_type in ("Softmax", "LogSoftmax") and not final:
        raise ctx.error(node, "softmax is supported only as the final node (it becomes the loss)")
    return ("softmax_xent", {}, {}, [0])


def _passthrough(ctx: _Ctx, node: onnx.NodeProto) -> Converted:
    return ctx.data(node, 0)


OPS: dict[str, Callable[[_Ctx, onnx.NodeProto], Converted]] = {
    "Conv": _conv, "Gemm": _gemm, "MatMul": _matmul, "Add": _add, "Relu": lambda c, n: ("relu", {}, {}, [0]),
    "MaxPool": _maxpool, "AveragePool": _avgpool, "GlobalAveragePool": lambda c, n: ("global_avgpool", {}, {}, [0]),
    "ReduceMean": _reduce_mean, "Flatten": _flatten, "Reshape": _reshape, "Squeeze": _squeeze,
    "BatchNormalization": _batchnorm, "SoftmaxCrossEntropyLoss": _loss, "Softmax": _loss, "LogSoftmax": _loss,
    "Identity": _passthrough, "Dropout": _dropout,
}
"""The supported ONNX operators: op_type -> converter."""


def _name(raw: str, fallback: str, taken: set[str]) -> str:
    """A node name matching graph.NAME_RE, unique among ``taken``."""
    name = re.sub(r"[^A-Za-z0-9_.]", "_", raw).strip("_.") or fallback
    if not re.match(r"[A-Za-z_]", name):
        name = "n_" + name
    base, i = name, 1
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def load_onnx(model: str | Path | onnx.ModelProto, *, name: str | None = None, dataset: str = "",
              add_loss: bool = True) -> OnnxImport:
    """Import an ONNX model. ``add_loss`` appends a ``softmax_xent`` node named "loss" when the model ends
    in flat logits without one; ``dataset`` marks the input node."""
    if isinstance(model, onnx.ModelProto):
        source = model.graph.name or "<onnx model>"
    else:
        source = str(model)
        try:
            os.close(open_input(source, "ONNX model"))  # a regular file: a FIFO or a device is refused at once
            model = onnx.load(str(model))
        except Exception as exc:  # onnx.load raises OSError or protobuf's DecodeError
            raise GraphError(f"{source}: cannot read ONNX model: {exc}") from None
    g = model.graph
    ctx = _Ctx(source, {i.name: numpy_helper.to_array(i) for i in g.initializer})
    ctx.outputs = {o.name for o in g.output}
    for node in g.node:
        for t in node.input:
            ctx.uses[t] = ctx.uses.get(t, 0) + 1
    data_inputs = [i for i in g.input if i.name not in ctx.consts]
    if not data_inputs:
        raise GraphError(f"{source}: the model has no data input")
    inp = data_inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    if len(dims) not in (2, 4) or any(d is None or d < 1 for d in dims[1:]):
        raise GraphError(f"{source}: input {inp.name!r} has shape {dims}; expected (N, C, H, W) or (N, F) "
                         f"with known C, H, W or F")
    in_name = _name(inp.name, "input", set())
    ctx.batch = dims[0]
    _append(ctx, Node(in_name, make_layer("input", shape=dims[1:], dataset=dataset)), inp.name, {})
    for index, node in enumerate(g.node):
        _check_node(ctx, node)
        if _fold_node(ctx, node):
            continue
        convert = OPS.get(node.op_type)
        if convert is None:
            raise ctx.error(node, f"unsupported operator {node.op_type!r}; supported: {', '.join(sorted(OPS))}")
        result = convert(ctx, node)
        if isinstance(result, str):
            ctx.producer[node.output[0]] = result
            continue
        steps = [result] if isinstance(result, tuple) else result
        prev = ""
        for k, (kind, values, weights, data) in enumerate(steps):
            suffix = f"_{kind}" if k else ""
            node_name = _name(node.name + suffix if node.name else "", f"{node.op_type.lower()}{index}{suffix}",
                              {n.name for n in ctx.nodes})
            inputs = tuple(ctx.data(node, i) for i in data) if k == 0 else (prev,)
            try:
                layer = make_layer(kind, **values)
                _append(ctx, Node(node_name, layer, inputs), node.output[0] if k == len(steps) - 1 else "", weights)
            except GraphError as exc:
                raise ctx.error(node, str(exc)) from None
            prev = node_name
    last = ctx.nodes[-1]
    if add_loss and last.layer.kind != "softmax_xent" and len(ctx.shapes[last.name]) == 1:
        _append(ctx, Node(_name("loss", "loss", set(ctx.shapes)), make_layer("softmax_xent"), (last.name,)), "", {})
    try:
        graph = Graph(tuple(ctx.nodes), name or g.name or "onnx", {}, source)
    except GraphError as exc:
        raise GraphError(f"{source}: {exc}") from None
    return OnnxImport(graph, ctx.weights)


def _check_node(ctx: _Ctx, node: onnx.NodeProto) -> None:
    """A node names an output, and an input unless it is a Constant (GraphError naming the node otherwise)."""
    if not node.output or not node.output[0]:
        raise ctx.error(node, "the node has no output")
    if node.op_type != "Constant" and not any(node.input):
        raise ctx.error(node, "the node has no input")


def _fold_node(ctx: _Ctx, node: onnx.NodeProto) -> bool:
    """Record the outputs of a Constant, of a Shape of a data tensor, or of a node whose inputs are all
    constants, as constants; True when the node was folded (it adds no layer)."""
    try:
        if node.op_type == "Constant":
            ctx.consts[node.output[0]] = constant(_attrs(node))
            return True
        data = node.input[0] in ctx.producer if node.input else False
        if node.op_type == "Shape" and data:
            attrs = _attrs(node)
            ctx.consts[node.output[0]] = shape_value(ctx.in_shape(node), attrs.get("start", 0), attrs.get("end"))
            return True
        if node.op_type == "CastLike" and len(node.input) == 2 and node.input[1] in ctx.producer:
            if node.input[0] not in ctx.consts:  # a data tensor cast like another: not a constant
                return False
            ctx.consts[node.output[0]] = np.asarray(ctx.consts[node.input[0]], dtype=np.float32)  # data is float32
            return True
    except FoldError as exc:
        raise ctx.error(node, str(exc)) from None
    given = [t for t in node.input if t]
    if not given or any(t not in ctx.consts for t in given):
        return False
    try:
        ctx.consts[node.output[0]] = fold(node.op_type, _attrs(node),
                                          [ctx.consts[t] if t else None for t in node.input])
    except FoldError as exc:
        raise ctx.error(node, str(exc)) from None
    return True


def _append(ctx: _Ctx, node: Node, tensor: str, weights: dict[str, np.ndarray]) -> None:
    """Add a node, inferring its shape at once so later converters can check against it."""
    ctx.shapes[node.name] = node.layer.infer(tuple(ctx.shapes[i] for i in node.inputs))
    ctx.nodes.append(node)
    if tensor:
        ctx.producer[tensor] = node.name
    if weights:
        ctx.weights[node.name] = dict(weights)
