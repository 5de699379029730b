"""Constant folding for the ONNX front end: nodes whose inputs are all constants become constants.

Exporters compute shapes and shared weights in the graph: ``Identity`` of an initializer (weights shared after
BatchNorm folding), ``Transpose`` of a weight before ``MatMul``, and ``Shape -> Gather/Slice -> Unsqueeze ->
Concat -> Reshape`` for ``x.view(x.size(0), -1)``. :data:`FOLD` (op_type -> function) evaluates those on numpy
arrays. ``Shape`` of a data tensor folds too: its batch entry is the symbol :data:`BATCH`, which survives
indexing, slicing and concatenation, so a folded Reshape target can say "keep the batch" without a number.
Arithmetic on :data:`BATCH` raises :class:`FoldError`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from onnx import helper

from socsim.base.errors import InputError


class FoldError(InputError):
    """A node cannot be folded (the message says why); the importer adds the node's name and op_type."""


class _Batch:
    """The batch dimension of a folded shape: any number of images."""

    def __repr__(self) -> str:
        return "batch"

    def _refuse(self, *_: Any) -> Any:
        raise FoldError("arithmetic on the batch dimension of a shape is not supported")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __floordiv__ = __rfloordiv__ = _refuse
    __truediv__ = __rtruediv__ = __mod__ = __neg__ = _refuse


BATCH = _Batch()
"""The symbolic batch entry of ``Shape(x)``."""


def shape_value(shape: Sequence[int], start: int = 0, end: int | None = None) -> np.ndarray:
    """``Shape(x)`` of a data tensor whose per-image shape is ``shape``: ``[BATCH, *shape][start:end]``."""
    full = np.array([BATCH, *shape], dtype=object)
    return full[slice(start, end)]


def has_batch(value: np.ndarray) -> bool:
    return value.dtype == object and any(v is BATCH for v in value.ravel())


def _ints(value: np.ndarray) -> list[int]:
    """The integers of a constant (starts, axes, a shape); a float one (NaN, 2.5) is a ValueError saying so."""
    value = np.asarray(value)
    if value.dtype.kind not in "iu" and not all(isinstance(v, (int, np.integer)) for v in value.ravel()):
        raise ValueError(f"expected integers (int64), got a {value.dtype} tensor "
                         f"{np.array2string(value.ravel()[:8], threshold=8)}")
    return [int(v) for v in value.ravel()]


def _axes(attrs: dict[str, Any], inputs: list[np.ndarray | None], index: int) -> list[int] | None:
    """Axes from an input (opset 13+) or the ``axes`` attribute (earlier opsets)."""
    if len(inputs) > index and inputs[index] is not None:
        return _ints(inputs[index])
    return list(attrs["axes"]) if "axes" in attrs else None


def _unsqueeze(x: np.ndarray, attrs: dict[str, Any], inputs: list) -> np.ndarray:
    axes = _axes(attrs, inputs, 1) or []
    rank = x.ndim + len(axes)
    for axis in sorted(a % rank for a in axes):
        x = np.expand_dims(x, axis)
    return x


def _squeeze(x: np.ndarray, attrs: dict[str, Any], inputs: list) -> np.ndarray:
    axes = _axes(attrs, inputs, 1)
    return np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(a % x.ndim for a in axes))


def _slice(x: np.ndarray, attrs: dict[str, Any], inputs: list) -> np.ndarray:
    starts, ends = _ints(inputs[1]), _ints(inputs[2])
    axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
    steps = _ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[a % x.ndim] = slice(s, e, st)
    return x[tuple(index)]


def _gather(x: np.ndarray, attrs: dict[str, Any], inputs: list) -> np.ndarray:
    return np.take(x, np.asarray(inputs[1]).astype(np.int64), axis=attrs.get("axis", 0))


def _concat(attrs: dict[str, Any], inputs: list) -> np.ndarray:
    parts = [np.asarray(v) for v in inputs if v is not None]
    if any(has_batch(p) for p in parts):
        parts = [p.astype(object) for p in parts]
    return np.concatenate(parts, axis=attrs["axis"])


def _cast(x: np.ndarray, attrs: dict[str, Any], inputs: list) -> np.ndarray:
    if has_batch(x):  # a shape stays a shape; its numbers are already integers
        return x
    return x.astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))


MAX_FOLD_ELEMENTS = 1 << 24
"""A folded constant holds at most this many elements (16 Mi: 64 MiB of float32), checked before it is made
(an Expand or a broadcast of tiny inputs could otherwise ask for gigabytes)."""


def _bounded(shape: tuple[int, ...]) -> tuple[int, ...]:
    size = int(np.prod(shape, dtype=object)) if shape else 1
    if size > MAX_FOLD_ELEMENTS:
        raise FoldError(f"its output of shape {list(shape)} would hold {size} elements; at most {MAX_FOLD_ELEMENTS} "
                        "are folded")
    return shape


def _expand(x: np.ndarray, attrs: dict[str, Any], inputs: list) -> np.ndarray:
    shape = _bounded(np.broadcast_shapes(x.shape, tuple(_ints(inputs[1]))))
    return np.broadcast_to(x, shape).copy()


def _shape(x: np.ndarray, attrs: dict[str, Any], inputs: list) -> np.ndarray:
    return np.array(x.shape, dtype=np.int64)[slice(attrs.get("start", 0), attrs.get("end"))]


def _reshape(x: np.ndarray, attrs: dict[str, Any], inputs: list) -> np.ndarray:
    target = _ints(inputs[1])
    if not attrs.get("allowzero", 0):
        target = [x.shape[i] if t == 0 else t for i, t in enumerate(target)]
    return x.reshape(target)


def _arith(fn: Callable[[Any, Any], Any]) -> Callable[[dict[str, Any], list], np.ndarray]:
    def apply(attrs: dict[str, Any], inputs: list) -> np.ndarray:
        a, b = (np.asarray(v) for v in inputs[:2])
        _bounded(np.broadcast_shapes(a.shape, b.shape))
        out = fn(a, b)
        return out if out.dtype == object else out.astype(np.result_type(a, b))
    return apply


def _unary(fn: Callable[..., np.ndarray]) -> Callable[[dict[str, Any], list], np.ndarray]:
    return lambda attrs, inputs: fn(np.asarray(inputs[0]), attrs, inputs)


FOLD: dict[str, Callable[[dict[str, Any], list], np.ndarray]] = {
    "Identity": _unary(lambda x, a, i: x),
    "Dropout": _unary(lambda x, a, i: x),
    "Transpose": _unary(lambda x, a, i: np.transpose(x, a.get("perm"))),
    "Cast": _unary(_cast),
    "Reshape": _unary(_reshape),
    "Expand": _unary(_expand),
    "Shape": _unary(_shape),
    "Flatten": _unary(lambda x, a, i: x.reshape(int(np.prod(x.shape[:a.get("axis", 1)])), -1)),
    "Unsqueeze": _unary(_unsqueeze),
    "Squeeze": _unary(_squeeze),
    "Slice": _unary(_slice),
    "Gather": _unary(_gather),
    "Concat": _concat,
    "Add": _arith(np.add), "Sub": _arith(np.subtract), "Mul": _arith(np.multiply),
    "Div": _arith(lambda a, b: a // b if a.dtype.kind in "iu" and b.dtype.kind in "iu" else a / b),
}
"""Foldable operators: op_type -> f(attributes, constant inputs (None where omitted)) -> the output constant."""


CONSTANT_ATTRS = ("value", "value_float", "value_floats", "value_int", "value_ints")
"""The forms of a Constant node's value that fold (tensor, float(s), int(s)); strings and sparse tensors do not."""


def constant(attrs: dict[str, Any]) -> np.ndarray:
    """The value of a Constant node from its attributes."""
    from onnx import numpy_helper  # deferred: onnx is a heavy import
    for key in CONSTANT_ATTRS:
        if key in attrs:
            value = attrs[key]
            if key == "value":
                return numpy_helper.to_array(value)
            return np.asarray(value, dtype=np.float32 if "float" in key else np.int64)
    raise FoldError(f"a Constant with {', '.join(attrs) or 'no value'} is not supported; "
                    f"supported: {', '.join(CONSTANT_ATTRS)}")


def fold(op_type: str, attrs: dict[str, Any], inputs: list[np.ndarray | None]) -> np.ndarray:
    """The constant output of ``op_type`` applied to constant ``inputs``; FoldError when it cannot be folded."""
    fn = FOLD.get(op_type)
    if fn is None:
        raise FoldError(f"every input is a constant, and folding {op_type} is not supported; "
                        f"foldable: {', '.join(sorted(FOLD))}")
    try:
        return fn(attrs, inputs)
    except FoldError:
        raise
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise FoldError(f"cannot fold its constant inputs: {exc}") from None
