"""The facts of a network the lowering's parts read, and the geometry of its layers (plain functions).

:func:`network` checks that the lowering supports the graph and the training scheme on the target, places the
blocks and computes what every planning step and emitter asks of the graph: the nodes in order, each node's
consumers and whether it needs a gradient, the logits, the input and class sizes and each weight layer's scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socsim.compiler.graph import LAYERS, Graph, GraphError, Input, Layer, Node, ParamLayer, SoftmaxCrossEntropy
from socsim.compiler.layers.batchnorm import bn_dims as _bn_dims
from socsim.compiler.layers.conv2d import ConvGeometry
from socsim.compiler.mapping.placement import PlacedBlock, Placement, place_blocks
from socsim.compiler.recipes import Backward, Errors, Recipe, Transfer, recipe
from socsim.config.soc import Datapath, SocConfig, TrainConfig
from socsim.physics.registry import is_exact

COMPILED_HERE = (Input, SoftmaxCrossEntropy)
"""The layer types the lowering's parts compile themselves (the input, the loss); a layer with parameters brings its
code as a ``ParamLayer``, every other layer type its own digital code (``Layer.emits``)."""


def supported(layer: type[Layer]) -> bool:
    """Whether the lowering compiles the layer type: one of :data:`COMPILED_HERE`, a layer with parameters or one
    with its own code."""
    return issubclass(layer, (*COMPILED_HERE, ParamLayer)) or layer.emits()


@dataclass(frozen=True)
class Network:
    """A graph as the lowering of one micro-batch size sees it (built by :func:`network`)."""

    graph: Graph
    cfg: SocConfig
    train: TrainConfig
    microbatch: int
    n_train: int
    """Training examples in DRAM."""
    n_test: int
    """Test examples evaluated (whole micro-batches)."""
    order: tuple[Node, ...]
    """Every node in graph order (the input first, the loss last)."""
    recipe: Recipe
    on_arrays: bool
    """Backward by transposed MVMs on the arrays (tile buffers then serve both directions)."""
    logits: str
    """The node the loss reads."""
    fanout: dict[str, int]
    """Per node: how many inputs of other nodes read it."""
    weighted: dict[str, bool]
    """Whether a node or any of its ancestors has weights: only then is its gradient needed."""
    pipelined: bool
    """The evaluation program streams its MVMs (socsim.compiler.lower.pipelined); training stays sequential."""
    placement: Placement
    features: int
    """Words of one input image."""
    classes: int
    """Words of one example's logits."""
    in_bits: int
    """DAC bits of the forward inputs (0: analog)."""
    alpha: dict[str, float]
    """Digital weight units per crossbar weight unit, per layer (the crossbar holds w / alpha)."""
    staged: bool = False
    """Activations and gradients share one SRAM pool and are staged through DRAM (socsim.compiler.memory.staging); the
    update transfer works on one block row band at a time (:func:`row_bands`)."""
    inference: bool = False
    """Only what inference needs: no training program, no gradients, no optimizer state or update scratch, and
    the weights' digital copy in DRAM (the host's, read once by ``init``) instead of the accumulator SRAM."""
    compensation: bool = False
    """Inference only: global drift compensation (socsim.compiler.lower.compensate): a ``compensate`` program
    and every MVM output multiplied by its layer's ``gdc_scale_``."""
    bn_images: int = 0
    """Inference only: training images the ``bnstats`` program re-estimates the BatchNorm statistics from
    (socsim.compiler.lower.bnstats; 0: not compiled)."""

    def size(self, name: str) -> int:
        """Words of one example's output of node ``name``."""
        return int(np.prod(self.graph.shape(name)))

    @property
    def fp4(self) -> bool:
        """Backward errors as radix-4 FP4 codes on the arrays (socsim.compiler.lower.errors)."""
        return self.on_arrays and self.recipe.errors is Errors.FP4


def _alpha(graph: Graph, cfg: SocConfig, train: TrainConfig, rec: Recipe, name: str) -> float:
    if not rec.scaled:
        return 1.0
    rows = graph.weight_shape(name)[0]
    return train.weight_range / float(np.sqrt(rows)) / cfg.tiles.physics.w_max


def network(graph: Graph, cfg: SocConfig, train: TrainConfig, microbatch: int, n_train: int,
            n_test: int, staged: bool = False, weight_scale: dict[str, float] | None = None,
            inference: bool = False, compensation: bool = False, bn_images: int = 0) -> Network:
    """The facts of ``graph`` for micro-batch ``microbatch`` (``staged``: through DRAM); a GraphError if the
    lowering cannot compile it. ``weight_scale``: each weight layer's alpha, given (weights brought from outside:
    socsim.host.parameters) instead of the training scheme's."""
    pipelined = cfg.compiler.datapath is Datapath.PIPELINED
    if compensation and (not inference or pipelined):
        raise GraphError(f"graph {graph.name!r} on {cfg.name}: global drift compensation is compiled into the "
                         "inference-only programs of the sequential datapath")
    if bn_images:
        if not inference or pipelined:
            raise GraphError(f"graph {graph.name!r} on {cfg.name}: the BatchNorm statistics program is compiled into "
                             "the inference-only programs of the sequential datapath")
        if not any(n.layer.kind == "batchnorm" for n in graph.nodes):
            raise GraphError(f"graph {graph.name!r}" + (f" ({graph.source})" if graph.source else "")
                             + " has no batchnorm layer: there are no BatchNorm statistics to re-estimate (use a "
                               "compensation without bn)")
        if bn_images > n_train:
            raise GraphError(f"bn_images = {bn_images} (--bn-images): the BatchNorm statistics are re-estimated "
                             f"from training images, and the training set has {n_train}")
    if staged and pipelined:
        raise GraphError(f"graph {graph.name!r} on {cfg.name}: compiler.staging stages the sequential programs' "
                         "tensors through DRAM; the pipelined datapath keeps its own layouts in SRAM (use "
                         "compiler.datapath = sequential, or compiler.staging = off)")
    order = tuple(graph.nodes)
    for node in order:
        if not supported(type(node.layer)):
            raise GraphError(f"node {node.name!r} ({node.layer.kind}): not supported by the lowering "
                             f"(supported: {', '.join(sorted(k for k, c in LAYERS.items() if supported(c)))})")
    losses = [n for n in order if isinstance(n.layer, SoftmaxCrossEntropy)]
    if len(losses) != 1 or losses[0] is not order[-1]:
        raise GraphError(f"graph {graph.name!r}: needs exactly one softmax_xent loss, as the last node")
    rec = recipe(train.scheme)
    on_arrays = rec.backward is Backward.ARRAYS
    if train.acc_bits and rec.transfer in (Transfer.EXACT, Transfer.EVERY_BATCH):
        raise GraphError(f"train.acc_bits = {train.acc_bits}: scheme {train.scheme.value} writes every update, "
                         "so it has no transfer quantum to size a low-precision accumulator by (use 0)")
    if on_arrays and not cfg.tiles.transposed_mvm:
        raise GraphError(f"scheme {train.scheme.value} reads the arrays transposed, but {cfg.name} has "
                         "tiles.transposed_mvm = false")
    logits = order[-1].inputs[0]
    fanout = dict.fromkeys((n.name for n in order), 0)  # readers of each node's output, in one pass
    for consumer in order:
        for name in consumer.inputs:
            if name in fanout:
                fanout[name] += 1
    weighted: dict[str, bool] = {}
    for node in order:
        weighted[node.name] = graph.weight_shape(node.name) is not None or any(weighted[i] for i in node.inputs)
    return Network(graph, cfg, train, microbatch, n_train, n_test, order, rec, on_arrays, logits, fanout, weighted,
                   pipelined, place_blocks(graph, cfg),
                   int(np.prod(graph.input.layer.shape)), int(np.prod(graph.shape(logits))), train.in_bits,
                   {n.name: (_alpha(graph, cfg, train, rec, n.name) if weight_scale is None
                             else float(weight_scale[n.name])) for n in graph.weight_nodes()}, staged, inference,
                   compensation, bn_images)


def row_bands(net: Network, name: str) -> list[tuple[int, int, list[PlacedBlock]]]:
    """The row bands layer ``name``'s update transfer works on, as (first row, end row, blocks): the whole layer
    unstaged; staged, each row band of its blocks (contiguous in the row-major weights, in placement order)."""
    blocks = net.placement.blocks_of(name)
    if not net.staged:
        return [(0, net.graph.weight_shape(name)[0], blocks)]
    bands: list[tuple[int, int, list[PlacedBlock]]] = []
    for p in blocks:  # row blocks outer, column blocks inner (Placement.blocks_of)
        if bands and p.row_start < bands[-1][1]:
            r0, r1, members = bands[-1]
            bands[-1] = (r0, max(r1, p.row_start + p.rows), members + [p])
        else:
            bands.append((p.row_start, p.row_start + p.rows, [p]))
    return bands


def quant_scale(bits: int, value_range: float, analog_full_scale: float | None) -> float:
    """DAC code scale: ``value_range`` maps to the largest signed code or, with analog inputs (``bits = 0``), to
    the DAC's analog full scale (``dac.analog_full_scale``, the input driven at v_read; larger inputs clip).
    ``analog_full_scale = None``: no DAC (the ideal array multiplies its inputs as they are), scale 1.0."""
    if bits:
        return value_range / (2 ** (bits - 1) - 1)
    return 1.0 if analog_full_scale is None else value_range / analog_full_scale


def analog_full_scale(cfg: SocConfig, transposed: bool) -> float | None:
    """The analog full scale of the word lines' DAC (or, ``transposed``, the bit lines'); None for an exact
    array model (``Crossbar.exact``: the ideal array), which has no DAC."""
    phys = cfg.tiles.physics
    if is_exact(phys):
        return None
    return (phys.dac_t if transposed else phys.dac).analog_full_scale


def initial_input_scale(net: Network, node: Node) -> float:
    """Quantisation scale of a weight node's input before any calibration (the initial ``inscale_`` word):
    network input range or hidden activation range."""
    first = not net.weighted[node.inputs[0]]
    return quant_scale(net.in_bits, net.train.input_range if first else net.train.act_range,
                       analog_full_scale(net.cfg, transposed=False))


def conv_geometry(graph: Graph, node: Node) -> ConvGeometry:
    """cin, h, w, cout, oh, ow, kh, kw, sh, sw, ph, pw, hp, wp of a convolution (``Conv2d.geometry``)."""
    return node.layer.geometry(graph.in_shapes(node.name)[0], graph.shape(node.name))


def bn_dims(graph: Graph, node: Node) -> tuple[int, int]:
    """(channels, elements per channel per image) of a BatchNorm input."""
    return _bn_dims(graph.in_shapes(node.name)[0])


def param_nodes(net: Network) -> list[Node]:
    """The nodes with parameters in the order their parameters are declared and updated: by ``plan_stage`` (the
    crossbars first), then in graph order."""
    return sorted((n for n in net.order if isinstance(n.layer, ParamLayer)), key=lambda n: n.layer.plan_stage)
