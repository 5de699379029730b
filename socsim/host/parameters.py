"""A trained model's parameters, brought from outside the simulator: an ONNX graph's initializers or a ``.npz``
file for a TOML graph, checked against the graph and mapped onto the crossbars.

Names (``.npz`` keys; the ONNX importer gives the same for an ONNX graph), in PyTorch / ONNX layout:

- conv2d ``NAME``: ``NAME.weight`` (out_channels, in_channels, kh, kw), ``NAME.bias`` (out_channels,) if the layer
  has a bias;
- linear ``NAME``: ``NAME.weight`` (out_features, in_features), ``NAME.bias`` (out_features,) if it has a bias;
- batchnorm ``NAME``: ``NAME.scale`` (gamma), ``NAME.bias`` (beta), ``NAME.mean``, ``NAME.var`` (running
  statistics), each (channels,).

Every key the graph has must be given, and no other (a ValueError names the key and the shape expected).

Weight-to-conductance mapping (:meth:`ModelParameters.weight_scales`): each weight layer's largest magnitude (or
the ``percentile`` of its magnitudes) is mapped onto the device's largest weight ``tiles.physics.w_max`` (the
largest conductance difference): the crossbar holds ``w / alpha`` with ``alpha = max|w| / w_max``, clipped to
``+-w_max``, and every MVM's output is multiplied by ``alpha`` digitally. This is the per-layer scaling aihwkit
applies with ``weight_scaling_omega = 1`` (Rasch et al. 2023, "Using the IBM analog in-memory hardware acceleration
kit for neural network training and inference", APL Mach. Learn. 1, 041102).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from socsim.base.errors import InputError
from socsim.compiler import load_graph, load_onnx
from socsim.compiler.graph import Graph, ParamLayer
from socsim.host.baseline import Baseline

F32 = np.float32
SYMBOL_FIELDS = {"w": "weights", "b": "biases", "gb": "bn", "run": "bn_run"}
"""The :class:`ModelParameters` field of each program symbol stem a layer's ``import_parameters`` returns."""


def expected_shapes(graph: Graph) -> dict[str, tuple[int, ...]]:
    """Every parameter key of ``graph`` and its shape (PyTorch / ONNX layout), in graph order: each layer with
    parameters names its own (``ParamLayer.parameter_shapes``)."""
    return {f"{node.name}.{key}": shape for node in graph.nodes if isinstance(node.layer, ParamLayer)
            for key, shape in node.layer.parameter_shapes(graph.in_shapes(node.name)[0]).items()}


@dataclass(frozen=True)
class ModelParameters:
    """A model's parameters in the layout the programs hold them: crossbar matrices (rows, cols), bias vectors,
    batch-norm (gamma, beta) and (running mean, running var) pairs. Digital weight units throughout."""

    weights: dict[str, np.ndarray]
    """Per weight layer, its (rows, cols) crossbar matrix (graph.crossbar_matrix)."""
    biases: dict[str, np.ndarray]
    bn: dict[str, np.ndarray]
    """Per batch norm, (2, C): gamma, beta."""
    bn_run: dict[str, np.ndarray]
    """Per batch norm, (2, C): running mean, running variance."""
    source: str
    """Where they came from (a file name), for messages."""
    percentile: float = 100.0
    """The percentile of a layer's |w| mapped onto w_max (100: the largest)."""
    other: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """The parameters of other layer types, by program symbol stem, then node (``import_parameters``)."""

    @classmethod
    def from_arrays(cls, graph: Graph, arrays: dict[str, np.ndarray], source: str,
                    percentile: float = 100.0) -> ModelParameters:
        """Check ``arrays`` (keys and shapes of :func:`expected_shapes`) and convert them; ValueError naming the key
        and the expected shape otherwise."""
        if not 0.0 < percentile <= 100.0:
            raise InputError(f"weight percentile {percentile}: expected a percentage in (0, 100]")
        want = expected_shapes(graph)
        missing = [k for k in want if k not in arrays]
        if missing:
            k = missing[0]
            raise InputError(f"no parameter {k!r} (expected shape {want[k]}); graph {graph.name!r} needs "
                             f"{len(want)} keys: {', '.join(want)}", file=source)
        extra = sorted(set(arrays) - set(want))
        if extra:
            raise InputError(f"parameter {extra[0]!r} is not in graph {graph.name!r} (its keys: "
                             f"{', '.join(want)})", file=source)
        values: dict[str, np.ndarray] = {}
        for key, shape in want.items():
            a = np.asarray(arrays[key])
            if a.shape != shape:
                raise InputError(f"parameter {key!r} has shape {a.shape}; graph {graph.name!r} expects "
                                 f"{shape}", file=source)
            if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)):
                raise InputError(f"parameter {key!r} is not all finite numbers", file=source)
            values[key] = a.astype(F32)
        tables: dict[str, dict[str, np.ndarray]] = {name: {} for name in SYMBOL_FIELDS.values()}
        other: dict[str, dict[str, np.ndarray]] = {}
        for node in graph.nodes:
            n, layer = node.name, node.layer
            if isinstance(layer, ParamLayer):
                own = {k[len(n) + 1:]: v for k, v in values.items() if k.rpartition(".")[0] == n}
                for stem, value in layer.import_parameters(n, own, source).items():
                    (tables[SYMBOL_FIELDS[stem]] if stem in SYMBOL_FIELDS else other.setdefault(stem, {}))[n] = value
        return cls(**tables, source=source, percentile=percentile, other=other)

    @classmethod
    def from_onnx(cls, graph: Graph, weights: dict[str, dict[str, np.ndarray]], source: str,
                  percentile: float = 100.0) -> ModelParameters:
        """The initializers the ONNX importer returned beside ``graph`` (socsim.compiler.frontend.onnx.load_onnx)."""
        return cls.from_arrays(graph, {f"{n}.{k}": v for n, fields in weights.items() for k, v in fields.items()},
                               source, percentile)

    def scale(self, name: str, w_max: float) -> float:
        """alpha of weight layer ``name``: digital weight units per crossbar weight unit (the ``percentile`` of its
        |w|, or its largest, over ``w_max``); 1.0 for an all-zero layer."""
        magnitudes = np.abs(self.weights[name])
        top = float(magnitudes.max() if self.percentile >= 100.0 else np.percentile(magnitudes, self.percentile))
        return top / w_max if top > 0.0 else 1.0

    def weight_scales(self, w_max: float) -> dict[str, float]:
        """alpha of every weight layer (the compiler's ``weight_scale``)."""
        return {name: self.scale(name, w_max) for name in self.weights}

    def symbols(self) -> dict[str, np.ndarray]:
        """The program symbols the host writes before ``init`` runs, with their values: ``w_`` (the digital copy the
        init program programs the arrays from), ``b_``, ``gb_`` (gamma, beta), ``run_`` (mean, var)."""
        tables = {**{stem: getattr(self, name) for stem, name in SYMBOL_FIELDS.items()}, **self.other}
        return {f"{stem}_{n}": v for stem, table in tables.items() for n, v in table.items()}


def load_npz(path: str | Path, graph: Graph, percentile: float = 100.0) -> ModelParameters:
    """The parameters of ``graph`` from a ``.npz`` file (keys of :func:`expected_shapes`); ValueError naming the
    file and the key otherwise."""
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the weights (.npz of named arrays expected): {exc}", file=path) from None
    return ModelParameters.from_arrays(graph, arrays, str(path), percentile)


def onnx_parameters(path: str | Path, percentile: float = 100.0) -> tuple[Graph, ModelParameters]:
    """An ONNX model's graph and its initializers as parameters."""
    imported = load_onnx(str(path))
    return imported.graph, ModelParameters.from_onnx(imported.graph, imported.weights, str(path), percentile)


def is_npz(weights: str | Path) -> bool:
    """Whether ``--weights`` names a ``.npz`` of parameters (else: a run folder)."""
    return str(weights).lower().endswith(".npz")


def graph_and_parameters(graph_path: str | Path, weights: str | Path | None,
                         percentile: float = 100.0) -> tuple[Graph, ModelParameters | None]:
    """(graph, its parameters or None): an ONNX graph with its initializers, or a TOML graph with the ``.npz`` file
    ``weights`` (None: no parameters)."""
    if str(graph_path).endswith(".onnx"):
        if weights is not None:
            raise InputError(f"--weights {weights} with {graph_path}: an ONNX model brings its own weights (its "
                             "initializers); leave --weights out")
        return onnx_parameters(graph_path, percentile)
    graph = load_graph(str(graph_path))
    return graph, None if weights is None else load_npz(weights, graph, percentile)


def baseline_with(graph: Graph, params: ModelParameters, train) -> Baseline:
    """The numpy FP32 baseline (socsim.host.baseline) holding copies of ``params``."""
    base = Baseline(graph, train, weights={k: v.copy() for k, v in params.weights.items()},
                    biases={k: v.copy() for k, v in params.biases.items()})
    for name in params.bn:
        base.bn[name][:] = params.bn[name]
        base.bn_run[name][:] = params.bn_run[name]
    for stem, table in params.other.items():  # a layer type's own table, named as its symbol stem
        for name, value in table.items():
            base.other[stem][name][:] = value
    return base


def baseline_accuracy(graph: Graph, params: ModelParameters, train, x: np.ndarray, y: np.ndarray) -> float:
    """Test accuracy of the numpy FP32 baseline with the same parameters on ``x``, ``y``."""
    return baseline_with(graph, params, train).accuracy(x, y)
