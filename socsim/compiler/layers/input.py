"""The network input: the shape of one image (batch excluded); its data comes from the host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from socsim.compiler.layer import Layer, Shape, knob


@dataclass(frozen=True)
class Input(Layer):
    kind: ClassVar[str] = "input"
    arity: ClassVar[int] = 0
    doc: ClassVar[str] = "the network input of one image, batch excluded"
    shape: Shape = knob(doc="[C, H, W] for images or [features] for vectors")
    dataset: str = knob("", doc="the data it is meant for (a name from socsim.host.data.DATASETS), a marker only")

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        return self.shape
