"""A layer type: the :class:`Layer` base, the registry of types (:data:`LAYERS`) and what a layer's own code sees.

A layer type is one frozen dataclass: its fields (:func:`knob`), its checks, its shape inference and, for a layer of
the digital unit, its forward and backward code (:meth:`Layer.emit_forward`, :meth:`Layer.emit_backward`, written
against the small emission interfaces :class:`ForwardEmission` and :class:`BackwardEmission` that the lowering's
parts implement) and its numpy twin (:meth:`Layer.numpy_forward`, :meth:`Layer.numpy_backward`, what the FP32
baseline computes). A layer with trainable parameters is a :class:`ParamLayer`: it also owns its parameters'
buffers, its forward, backward and update code, its calibration scratch, its parameters' import and its numpy twin on
the baseline's tables. Defining a subclass that sets ``kind`` registers it in :data:`LAYERS`: the front ends build
layers through it, the lowering and the baseline run its code.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar, Protocol, Sequence

import numpy as np

from socsim.base.errors import InputError
from socsim.base.geometry import window_out
from socsim.base.registry import register

Shape = tuple[int, ...]
Pair = tuple[int, int]


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


class Operand(Protocol):
    """A buffer as an instruction operand: ``at()`` is its address text (``name``, ``name+offset``, ``name(reg)``)."""

    def at(self, offset: int = 0, reg: str | None = None) -> str: ...


class ForwardEmission(Protocol):
    """What a layer's forward code sees: one node of one micro-batch, its buffers and the assembler."""

    node: str
    """The node's name (for error messages)."""
    microbatch: int
    """Images of the micro-batch (every buffer holds ``microbatch`` examples)."""
    phase: str
    """``forward`` (training), ``eval`` or ``calibrate``."""

    def op(self, mnemonic: str, *operands: object, note: str = "") -> None:
        """Emit one instruction (operands as ``socsim.compiler.emit.Asm.op`` takes them)."""

    def output(self) -> Operand:
        """The node's output buffer."""

    def input(self, i: int = 0) -> Operand:
        """The output buffer of the node's ``i``-th input."""

    def in_shape(self, i: int = 0) -> Shape:
        """Shape of one example of input ``i`` (batch excluded)."""

    def out_shape(self) -> Shape:
        """Shape of one example of the output (batch excluded)."""


class BackwardEmission(ForwardEmission, Protocol):
    """What a layer's backward code sees besides :class:`ForwardEmission` (``output`` and ``input`` are the forward
    pass's): the gradient of its output and the ways to hand each input its gradient contribution."""

    def gradient(self) -> Operand:
        """d(loss)/d(output) of the micro-batch."""

    def into(self, i: int, emit: Callable[[Operand], None]) -> None:
        """Call ``emit(dest)`` to write this node's contribution to input ``i``'s gradient into ``dest``; summed with
        the other consumers' when the input has several; nothing when no weight is upstream of it."""

    def pass_through(self, i: int) -> None:
        """Input ``i``'s contribution is this node's output gradient unchanged (added or copied)."""

    def shares_gradient(self, i: int = 0) -> bool:
        """Whether input ``i``'s gradient is this node's gradient buffer (an in-place layer, :attr:`Layer.in_place`):
        the contribution is then written in place instead of through :meth:`into`."""


LAYERS: dict[str, type["Layer"]] = {}
"""The one table of layer types: TOML ``type`` name -> class, filled by :class:`Layer` itself when a subclass that
sets ``kind`` is defined. Both front ends construct through it (:func:`make_layer`)."""


@dataclass(frozen=True)
class Layer:
    """Base of every layer type. Subclasses set ``kind`` (the registry name), ``arity`` and ``doc``."""

    kind: ClassVar[str] = ""
    arity: ClassVar[int] = 1
    doc: ClassVar[str] = ""
    view: ClassVar[bool] = False
    """The output is its input reinterpreted (no storage of its own)."""
    in_place: ClassVar[bool] = False
    """The output may overwrite the input when this node is the input's only reader (and the input is not the
    network input): the lowering then gives both one buffer, and one gradient buffer when the input needs one."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register(LAYERS, cls, "kind", "layer type")

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

    # a layer of the digital unit: its code and its numpy twin ------------------------------------------------------
    @classmethod
    def emits(cls) -> bool:
        """Whether the layer type brings its own digital code (overrides :meth:`emit_forward`): the lowering then
        compiles it with no code of its own for the type."""
        return cls.emit_forward is not Layer.emit_forward

    def emit_forward(self, e: ForwardEmission) -> None:
        """Emit the node's forward computation of one micro-batch (digital-unit and DMA instructions)."""
        raise GraphError(f"node {e.node!r} ({self.kind}): the layer type has no code for the digital unit")

    def emit_backward(self, e: BackwardEmission) -> None:
        """Emit each input's gradient contribution for one micro-batch (:meth:`BackwardEmission.into`)."""
        raise GraphError(f"node {e.node!r} ({self.kind}): the layer type has no backward code")

    def numpy_forward(self, ins: Sequence[np.ndarray]) -> np.ndarray:
        """The baseline's FP32 output for a batch of inputs, each (N, *in_shape)."""
        raise GraphError(f"{self.kind}: the layer type has no numpy forward")

    def numpy_backward(self, ins: Sequence[np.ndarray], out: np.ndarray,
                       grad: np.ndarray) -> Sequence[np.ndarray | None]:
        """The baseline's FP32 gradient of each input (None: none) from the output gradient ``grad``."""
        raise GraphError(f"{self.kind}: the layer type has no numpy backward")


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
class ParamLayer(Layer):
    """A layer type with trainable parameters (the crossbar weight layers, BatchNorm): one class owns its parameter
    buffers, its code and its parameters' import. The lowering's parts call these methods with the pass objects
    they implement (typed ``Any`` here so the layer modules import nothing of the lowering):

    - ``p``: ``socsim.compiler.lower.plan.ParameterPlanning`` (the assembler, the network, the plan's tables);
    - ``f``: ``socsim.compiler.lower.forward.Forward``; ``b``: ``socsim.compiler.lower.backward.Backward``;
    - ``u``: ``socsim.compiler.lower.update.Update``.
    """

    plan_stage: ClassVar[int] = 0
    """When its parameters are declared and updated: every stage-0 layer (the crossbars) in graph order, then every
    stage-1 layer (digital parameters). The order fixes the addresses of the compiled programs."""

    def plan_parameters(self, p: Any, name: str) -> None:
        """Declare node ``name``'s parameters, optimizer state and per-node scratch into ``p.asm``."""
        raise NotImplementedError

    def plan_calibration(self, asm: Any, net: Any, name: str) -> Any:
        """The scratch buffer node ``name`` needs while the calibrate program runs (None: none)."""
        return None

    def lower_forward(self, f: Any, name: str, phase: str) -> None:
        """Emit node ``name``'s forward computation of one micro-batch (``phase``: forward, eval or calibrate)."""
        raise NotImplementedError

    def lower_backward(self, b: Any, name: str) -> None:
        """Emit node ``name``'s parameter gradients and its input's gradient contribution (``b.into``)."""
        raise NotImplementedError

    def lower_update(self, u: Any, name: str) -> None:
        """Emit node ``name``'s optimizer step of one batch (``u.update_digital`` for digital parameters)."""
        raise NotImplementedError

    def parameter_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        """The parameters a model file gives for this layer: key suffix (``weight``, ``bias``, ...) -> shape in the
        PyTorch / ONNX layout."""
        raise NotImplementedError

    def import_parameters(self, name: str, values: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
        """The program symbols' values (by stem: ``w``, ``b``, ``gb``, ``run``) from the checked arrays of
        :meth:`parameter_shapes` (``values`` by key suffix); an InputError naming ``source`` when a value is
        impossible."""
        raise NotImplementedError

    # the host's numpy twin (socsim.host.baseline: ``base`` is the Baseline, its parameter tables and its quantiser
    # hooks ``layer_input``, ``forward_weight``, ``backward_weight``, ``layer_errors``) -------------------------------
    def numpy_setup(self, base: Any, name: str, in_shape: Shape) -> None:
        """Enter node ``name``'s initial digital parameters and state into ``base``'s tables (a crossbar layer's
        weight the baseline draws itself, as the lowering declares it)."""

    def numpy_run(self, base: Any, node: Any, a: np.ndarray, train: bool) -> np.ndarray:
        """The baseline's FP32 output of ``node`` for a batch of inputs ``a`` (N, *in_shape); ``train``: BatchNorm
        on the batch statistics."""
        raise NotImplementedError

    def numpy_gradients(self, base: Any, node: Any, a_in: np.ndarray, grad: np.ndarray,
                        grads: dict[str, np.ndarray]) -> np.ndarray:
        """Enter the gradients of ``node``'s parameters into ``grads`` (keys as ``Baseline.apply`` reads them:
        ``NAME``, ``b:NAME``, ``bn:NAME``) and return the gradient of its input from its output's ``grad``."""
        raise NotImplementedError
