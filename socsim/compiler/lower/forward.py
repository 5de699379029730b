"""Forward pass emission (training, evaluation and calibration): each node's layer emits its own code.

Activations live in SRAM, (micro-batch, C, H, W) or (micro-batch, features); weight layers run on the tiles through
:class:`~socsim.compiler.lower.blocks.Blocks`. :class:`Forward` is given the activations, the parameters' bands and
pads, the im2col scratch and the blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.compiler.emit import Asm, Buffer
from socsim.compiler.graph import Node, ParamLayer, Shape
from socsim.compiler.lower.blocks import Blocks
from socsim.compiler.lower.network import Network
from socsim.compiler.lower.plan import ActivationBuffers, ParameterBuffers, ScratchBuffers, StatisticsBuffers
from socsim.compiler.lower.tensors import FORWARD, LOAD, Tensors
from socsim.compiler.registers import REG


def load_micro(asm: Asm, net: Network, images: Buffer, labels: Buffer, x: str, y: str) -> None:
    """DMA one micro-batch into ``images`` and ``labels``: images from DRAM ``x`` at ``REG.image_offset``, labels
    from ``y`` at ``REG.label_offset``."""
    asm.op("copy", images.at(), f"{x}({REG.image_offset})", net.microbatch * net.features)
    asm.op("copy", labels.at(), f"{y}({REG.label_offset})", net.microbatch)


def load_step(asm: Asm, net: Network, activations: ActivationBuffers, tensors: Tensors, x: str, y: str) -> None:
    """The load step of a sequential micro-batch: :func:`load_micro` into the input's tensor."""
    tensors.enter(LOAD)
    load_micro(asm, net, tensors.output(net.order[0].name), activations.labels, x, y)


def load_training_images(asm: Asm, net: Network, tensors: Tensors, phase: str) -> None:
    """The load step of a micro-batch of the first training images, micro-batch ``REG.micro`` (the programs that
    read training images without their labels: ``calibrate``, ``bnstats``), ledgered as ``phase``."""
    asm.op("muli", REG.image_offset, REG.micro, net.microbatch * net.features)
    asm.op("mark", 0, phase)
    tensors.enter(LOAD)
    asm.op("copy", tensors.output(net.order[0].name).at(), f"train_x({REG.image_offset})",
           net.microbatch * net.features)


@dataclass(frozen=True)
class NodeView:
    """What every emission of one node shares (``socsim.compiler.layer``: ``ForwardEmission`` without its buffers):
    the assembler, the micro-batch and the node's shapes."""

    asm: Asm
    net: Network
    node: str

    @property
    def microbatch(self) -> int:
        return self.net.microbatch

    def op(self, mnemonic: str, *operands: object, note: str = "") -> None:
        self.asm.op(mnemonic, *operands, note=note)

    def in_shape(self, i: int = 0) -> Shape:
        return self.net.graph.in_shapes(self.node)[i]

    def out_shape(self) -> Shape:
        return self.net.graph.shape(self.node)


@dataclass(frozen=True)
class NodeEmission(NodeView):
    """One node of the sequential programs as its layer's own code sees it (``ForwardEmission``): the tensors where
    the step being emitted finds them."""

    tensors: Tensors
    phase: str

    def output(self) -> Buffer:
        return self.tensors.output(self.node)

    def input(self, i: int = 0) -> Buffer:
        return self.tensors.output(self.net.graph.node(self.node).inputs[i])


@dataclass(frozen=True)
class Forward:
    """Emits every node's forward computation in graph order."""

    asm: Asm
    net: Network
    tensors: Tensors
    """Where the activations, padded inputs and normalised activations are at each step."""
    parameters: ParameterBuffers
    scratch: ScratchBuffers
    blocks: Blocks
    statistics: StatisticsBuffers | None = None
    """Set while emitting the ``bnstats`` program's forward pass (socsim.compiler.lower.bnstats): its BatchNorm steps
    normalise by the micro-batch and write the micro-batch's statistics there."""

    def forward(self, phase: str, until: str | None = None) -> None:
        """The whole forward pass of one micro-batch (``phase`` is forward, eval or calibrate: BatchNorm trains
        only in forward), or up to and including node ``until``."""
        for node in self.net.order[1:-1]:
            self.asm.comment(f"{node.name} ({node.layer.kind}) {phase}")
            self.asm.op("mark", self.asm.layer_id(node.name), phase)
            self.tensors.enter(FORWARD, node.name)
            self.forward_node(node, phase)
            if node.name == until:
                return

    def forward_node(self, node: Node, phase: str) -> None:
        """A layer with parameters emits through this pass (``ParamLayer.lower_forward``), any other its own digital
        code (:meth:`emit_digital`)."""
        if isinstance(node.layer, ParamLayer):
            node.layer.lower_forward(self, node.name, phase)
        else:
            self.emit_digital(node.name, phase)

    def emit_digital(self, name: str, phase: str) -> None:
        """Node ``name``'s own digital code (``Layer.emit_forward``) on the tensors of this step."""
        self.net.graph.node(name).layer.emit_forward(NodeEmission(self.asm, self.net, name, self.tensors, phase))
