"""The compiler's front half: network graph IR, TOML and ONNX front ends, mapping onto crossbar tiles.

The back half (lowering a mapped graph to an ``isa.Program``) consumes :class:`Graph` and :class:`Mapping`.
See docs/compiler.md.
"""

from socsim.compiler.frontend.toml import dump_toml, load_toml, loads_toml
from socsim.compiler.graph import (
    LAYERS,
    Add,
    AvgPool,
    BatchNorm,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Graph,
    GraphError,
    Input,
    Layer,
    Linear,
    MaxPool,
    Node,
    ReLU,
    SoftmaxCrossEntropy,
    crossbar_matrix,
    make_layer,
)
from socsim.compiler.mapping.table import (
    Block,
    LayerMap,
    MapOptions,
    Mapping,
    map_graph,
    mapping_frame,
    mapping_table,
)
from socsim.compiler.memory.plan import CapacityError, MemoryPlan, SpaceUse


def load_graph(path: str) -> Graph:
    """A graph from a TOML layer list, or from an ONNX model when ``path`` ends in ``.onnx``."""
    if str(path).endswith(".onnx"):
        return load_onnx(path).graph
    return load_toml(path)


def load_onnx(*args, **kwargs):
    """Import an ONNX model (see :func:`socsim.compiler.frontend.onnx.load_onnx`); onnx is imported lazily."""
    from socsim.compiler.frontend.onnx import load_onnx as _load_onnx  # deferred: onnx is a heavy import
    return _load_onnx(*args, **kwargs)


__all__ = ["LAYERS", "Add", "AvgPool", "BatchNorm", "Block", "CapacityError", "Conv2d", "Flatten",
           "GlobalAvgPool", "Graph", "GraphError", "Input", "Layer", "LayerMap", "Linear", "MapOptions", "Mapping",
           "MaxPool", "Node", "ReLU", "SoftmaxCrossEntropy", "crossbar_matrix", "dump_toml", "load_graph",
           "load_onnx", "load_toml", "loads_toml", "make_layer", "map_graph", "mapping_frame", "mapping_table",
           "MemoryPlan", "SpaceUse"]
