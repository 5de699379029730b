"""The pipelined evaluation program's plan: fused groups, bordered activation layouts, partial-sum slots.

Planned in two steps around the rest of the memory plan (socsim.compiler.lower.plan): :func:`plan_pipeline`
decides the groups, the borders and the words every buffer needs (:class:`PipelineNeeds`: the SRAM buffers become
views of the shared scratch, the slots share the tile buffers), and :func:`place_pipeline` takes the placed
buffers into the :class:`PipelinePlan` the emitter (socsim.compiler.lower.pipelined) reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from socsim.compiler.emit import Buffer
from socsim.compiler.graph import Add, BatchNorm, CrossbarLayer, Graph, Input, Node, ReLU
from socsim.compiler.lower.network import Network
from socsim.compiler.mapping.placement import PlacedBlock, Placement


@dataclass(frozen=True)
class Group:
    """A weight layer and the single-consumer nodes fused into its tiles' epilogue, run at the last one's place."""

    weight: Node
    bn: Node | None = None
    add: Node | None = None
    res: str = ""
    """The residual add's other input."""
    relu: Node | None = None

    @property
    def tail(self) -> str:
        """The node whose output the group writes."""
        return (self.relu or self.add or self.bn or self.weight).name

    @property
    def members(self) -> list[str]:
        return [n.name for n in (self.weight, self.bn, self.add, self.relu) if n is not None]


@dataclass(frozen=True)
class Layout:
    """A materialised activation: its buffer, shape (C, H, W) or (F,) and zero border (rows, columns)."""

    buf: Buffer
    shape: tuple[int, ...]
    border: tuple[int, int] = (0, 0)

    @property
    def padded(self) -> tuple[int, int]:
        """(rows, columns) of a plane with its border."""
        _, h, w = self.shape
        return h + 2 * self.border[0], w + 2 * self.border[1]

    @property
    def interior(self) -> int:
        """Offset of the first interior word of the first plane."""
        return self.border[0] * self.padded[1] + self.border[1] if len(self.shape) == 3 else 0


def image_words(shape: tuple[int, ...], border: tuple[int, int]) -> int:
    """Words of one image's activation of ``shape`` with ``border``."""
    if len(shape) != 3:
        return shape[0]
    c, h, w = shape
    return c * (h + 2 * border[0]) * (w + 2 * border[1])


def materialised(graph: Graph, name: str) -> str:
    """The materialised node behind ``name`` (through flatten views)."""
    while graph.node(name).layer.view:
        name = graph.node(name).inputs[0]
    return name


def whole_kernels(node: Node, block: PlacedBlock) -> bool:
    """True for a block of whole kernels (its im2col rows: a pattern over channels; any block of a layer without
    windows)."""
    k = node.layer.kernel_rows()
    return block.row_start % k == 0 and block.rows % k == 0


def windowed(node: Node) -> bool:
    """Whether the node is a crossbar layer that reads im2col windows of its input (``CrossbarLayer.windowed``)."""
    return isinstance(node.layer, CrossbarLayer) and node.layer.windowed


def chain_ends(placement: Placement, layer: str) -> list[PlacedBlock]:
    """The last row block of each column block of ``layer`` (where its chain of partial sums ends)."""
    last: dict[int, PlacedBlock] = {}
    for b in placement.blocks_of(layer):
        last[b.col_start] = b
    return list(last.values())


@dataclass(frozen=True)
class PipelineNeeds:
    """What the pipelined program needs before its buffers are placed."""

    groups: dict[str, Group]
    """By tail node."""
    fused: dict[str, Group]
    """By every member node."""
    borders: dict[str, tuple[int, int]]
    """Of every materialised node: the zero border (rows, columns) its layout keeps for the convolutions reading it."""
    sram: dict[str, int]
    """The SRAM buffers the program needs (name -> words), placed as views of the shared scratch: ``p_NODE``
    bordered layouts, ``u_NODE`` border-free copies, ``r_TAIL`` residual copies, ``pcol`` the im2col band."""
    slot_need: dict[int, int]
    """Per tile: the words of its two partial-sum slots (tiles whose blocks all end a chain have none)."""
    slot_stride: dict[str, int]
    """Per weight layer: words between a tile's two slots."""
    hoisted: frozenset[int]
    """Tiles holding one block: configured once, before the loop."""


@dataclass(frozen=True)
class PipelinePlan:
    """Groups, layouts and the partial-sum slots of the pipelined evaluation program."""

    groups: dict[str, Group]
    """By tail node."""
    fused: dict[str, Group]
    """By every member node."""
    layouts: dict[str, Layout]
    """Of every materialised node: the input, group tails and unfused nodes (flatten is a view)."""
    unpadded: dict[str, Buffer]
    """Border-free copies for readers that need them (pooling, linear layers, unfused nodes, residuals)."""
    res_copies: dict[str, Layout]
    """Per group tail: its residual re-laid out like its output (when their borders differ)."""
    slots: dict[int, Buffer]
    """Per tile: two partial-sum slots of its largest block that is not a chain's end."""
    slot_stride: dict[str, int]
    """Per weight layer: words between a tile's two slots."""
    hoisted: frozenset[int]
    """Tiles holding one block: configured once, before the loop."""
    col: Buffer | None
    """The im2col band of blocks without whole kernels (None when every block has whole kernels)."""

    def indexed(self) -> list[Buffer]:
        """The buffers addressed through an index register."""
        return [lay.buf for lay in (*self.layouts.values(), *self.res_copies.values())] + list(self.unpadded.values())


def _groups(net: Network, consumers: dict[str, list[Node]]) -> tuple[dict[str, Group], dict[str, Group]]:
    groups: dict[str, Group] = {}
    fused: dict[str, Group] = {}

    def only(name: str, kind: type) -> Node | None:
        nxt = consumers[name]
        return nxt[0] if len(nxt) == 1 and isinstance(nxt[0].layer, kind) and nxt[0].name not in fused else None
    for node in net.order:
        if net.graph.weight_shape(node.name) is None:
            continue
        group = Group(node, bn=only(node.name, BatchNorm))
        add = only(group.tail, Add)
        if add is not None and add.inputs[0] != add.inputs[1]:
            group = Group(node, group.bn, add, next(i for i in add.inputs if i != group.tail))
        group = Group(node, group.bn, group.add, group.res, only(group.tail, ReLU))
        groups[group.tail] = group
        for name in group.members:
            fused[name] = group
    return groups, fused


def plan_pipeline(net: Network, bands: dict[str, tuple[int, int]], vectors: Callable[[str], int]) -> PipelineNeeds:
    """Groups, borders, the SRAM buffers and the partial-sum slots the program needs (placed by
    :func:`place_pipeline` as views of the shared scratch: the training buffers are dead while it runs)."""
    graph, m = net.graph, net.microbatch
    consumers: dict[str, list[Node]] = {n.name: [] for n in net.order}
    for node in net.order:
        for i in node.inputs:
            consumers[i].append(node)
    groups, fused = _groups(net, consumers)
    shown = [n.name for n in net.order[:-1] if (n.name in groups or n.name not in fused)
             and not n.layer.view]
    borders: dict[str, tuple[int, int]] = {}
    sram: dict[str, int] = {}
    # borders
    res_of = {g.res: tail for tail, g in groups.items() if g.res}
    for name in reversed(shown):
        pads = [c.layer.padding for c in consumers[name] if windowed(c)]
        b = (max((p[0] for p in pads), default=0), max((p[1] for p in pads), default=0))
        if not pads and name in res_of:  # a residual only: its reader's layout
            b = borders[res_of[name]]
        borders[name] = b if len(graph.shape(name)) == 3 else (0, 0)
    for tail, g in groups.items():  # read by no conv: take its residual's border (readers gather anyway)
        if g.res and not any(windowed(c) for c in consumers[tail]):
            borders[tail] = max(borders[tail], borders[g.res])
    for name in shown:
        if borders[name] != (0, 0) or not isinstance(graph.node(name).layer, Input):
            sram[f"p_{name}"] = m * image_words(tuple(graph.shape(name)), borders[name])

    # border-free copies for the readers that need them, and residuals in their reader's layout
    def unpadded(name: str) -> None:
        if borders[name] != (0, 0):
            sram[f"u_{name}"] = m * net.size(name)
    for node in net.order[1:-1]:
        if node.name in groups:
            g = groups[node.name]
            if not windowed(g.weight):
                unpadded(materialised(graph, g.weight.inputs[0]))
            if g.res and borders[g.res] != borders[g.tail]:
                unpadded(g.res)
                sram[f"r_{g.tail}"] = m * image_words(tuple(graph.shape(g.tail)), borders[g.tail])
        elif node.name not in fused and not node.layer.view:
            for i in node.inputs:
                unpadded(materialised(graph, i))
            unpadded(node.name)
    # slot strides per layer, words per tile (declared with the tile buffers) and the tiles to configure once
    slot_need: dict[int, int] = {}
    slot_stride: dict[str, int] = {}
    for node in graph.weight_nodes():
        blocks = net.placement.blocks_of(node.name)
        stride = slot_stride[node.name] = vectors(node.name) * max(b.cols for b in blocks)
        last = chain_ends(net.placement, node.name)
        for b in blocks:
            if b not in last:
                slot_need[b.tile] = max(slot_need.get(b.tile, 0), 2 * stride)
    counts: dict[int, int] = {}
    for b in net.placement.blocks:
        counts[b.tile] = counts.get(b.tile, 0) + 1
    if any(not whole_kernels(n, b) for n in graph.weight_nodes() for b in net.placement.blocks_of(n.name)):
        sram["pcol"] = max(bands[n.name][0] * bands[n.name][1] * graph.weight_shape(n.name)[0]
                           for n in graph.weight_nodes() if n.name in bands)
    return PipelineNeeds(groups, fused, borders, sram, slot_need, slot_stride,
                         frozenset(t for t, c in counts.items() if c == 1))


def place_pipeline(net: Network, needs: PipelineNeeds, views: dict[str, Buffer], activation: dict[str, Buffer],
                   slots: dict[int, Buffer]) -> PipelinePlan:
    """The plan with its buffers: ``views`` of the scratch by :attr:`PipelineNeeds.sram` name, the training
    ``activation`` buffers (the input's, when it needs no border), the partial-sum ``slots`` by tile."""
    graph = net.graph
    shown = [n.name for n in net.order[:-1] if (n.name in needs.groups or n.name not in needs.fused)
             and not n.layer.view]
    layouts = {name: Layout(views.get(f"p_{name}", activation[name]), tuple(graph.shape(name)), needs.borders[name])
               for name in shown}
    unpadded: dict[str, Buffer] = {}
    res_copies: dict[str, Layout] = {}
    for key, buf in views.items():
        if key.startswith("u_"):
            unpadded[key[2:]] = buf
        elif key.startswith("r_"):
            tail = key[2:]
            res_copies[tail] = Layout(buf, tuple(graph.shape(tail)), needs.borders[tail])
    return PipelinePlan(needs.groups, needs.fused, layouts, unpadded, res_copies, dict(slots), needs.slot_stride,
                        needs.hoisted, views.get("pcol"))
