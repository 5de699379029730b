"""What the crossbar weight layers share: a weight matrix on the tiles with its FP32 master copy, its optimizer state
and an optional bias added in the digital unit, updated by the training recipe's transfer."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from socsim.compiler.emit import f32
from socsim.compiler.layer import ParamLayer, Shape


class CrossbarLayer(ParamLayer):
    """Base of a layer whose weight is a crossbar matrix (rows x cols: :meth:`weight_shape`); its subclass sets the
    ``bias`` field (a per-column bias kept digitally)."""

    bias: bool
    windowed: ClassVar[bool] = False
    """Its MVMs read im2col windows of a (C, H, W) input band by band (a convolution: ``geometry``, ``padding``);
    else one flat vector per image. The pipelined datapath streams these two forms."""

    def kernel_rows(self) -> int:
        """Crossbar rows of one kernel (kh x kw of a convolution, 1 otherwise): a block of whole kernels streams its
        im2col rows as an address pattern over channels."""
        return 1

    def crossbar_matrix(self, weight: np.ndarray) -> np.ndarray:
        """A weight in ONNX / PyTorch layout as the crossbar (rows, cols) matrix."""
        raise NotImplementedError

    def weight_layout(self, in_shape: Shape) -> Shape:
        """The weight's shape in ONNX / PyTorch layout."""
        raise NotImplementedError

    def parameter_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        cols = self.weight_shape(in_shape)[1]
        return {"weight": self.weight_layout(in_shape), **({"bias": (cols,)} if self.bias else {})}

    def import_parameters(self, name: str, values: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
        return {"w": self.crossbar_matrix(values["weight"]), **({"b": values["bias"]} if self.bias else {})}

    def numpy_setup(self, base: Any, name: str, in_shape: Shape) -> None:
        """A zero bias (``base.biases``) unless one is given."""
        if self.bias:
            base.biases.setdefault(name, np.zeros(self.weight_shape(in_shape)[1], np.float32))

    # the lowering ----------------------------------------------------------------------------------------------------
    def plan_parameters(self, p: Any, name: str) -> None:
        """The master copy ``w_`` (drawn ``uniform(-1/sqrt(rows), 1/sqrt(rows))`` with ``init_seed + k`` for the k-th
        crossbar layer), the optimizer state ``m_ v_ acc_ dw_``, the bias ``b_ mb_ vb_ db_``, then :meth:`plan_own`."""
        a, net = p.asm, p.net
        rows, cols = net.graph.weight_shape(name)
        bound = float(1.0 / np.sqrt(rows))
        p.weight_copy[name] = a.buffer(f"w_{name}", "dram" if net.inference else "acc", rows * cols,
                                       f"uniform {-bound!r} {bound!r} {net.train.init_seed + p.crossbars}")
        p.crossbars += 1
        for stem in () if net.inference else ("m", "v", "acc", "dw"):  # dw: weight-gradient accumulation
            a.buffer(f"{stem}_{name}", "acc", rows * cols)
        if self.bias:
            for stem in ("b",) if net.inference else ("b", "mb", "vb"):
                a.buffer(f"{stem}_{name}", "acc", cols)
            if not net.inference:
                a.buffer(f"db_{name}", "sram", cols)
        self.plan_own(p, name)

    def plan_own(self, p: Any, name: str) -> None:
        """Buffers of the layer type itself (a convolution's band and padded copies)."""

    def lower_update(self, u: Any, name: str) -> None:
        """The optimizer step into ``dw_``, the bias's digital step, the accumulation into ``acc_`` (rounded by an
        ``acc_bits`` accumulator) and the recipe's transfer onto the devices."""
        a, t = u.asm, u.net.train
        rows, cols = u.net.graph.weight_shape(name)
        n = rows * cols
        a.comment(f"{name} update")
        a.op("mark", a.layer_id(name), "update")
        u.optimizer_step(f"dw_{name}", f"m_{name}", f"v_{name}", f"w_{name}", n)
        if self.bias:
            u.update_digital(f"db_{name}", f"mb_{name}", f"vb_{name}", f"b_{name}", cols, "bias")
        a.op("vadd", f"acc_{name}", f"acc_{name}", f"dw_{name}", n, note="accumulate the update")
        if t.acc_bits:
            lsb = f32(t.acc_lsb * u.transfer_quantum(name))
            a.op("quant", f"acc_{name}", f"acc_{name}", n, lsb, t.acc_bits,
                 note=f"{t.acc_bits}-bit accumulator: round, saturate")
            a.op("vscl", f"acc_{name}", f"acc_{name}", n, lsb)
        u.transfer(name, cols)
        a.op("vfill", f"dw_{name}", n, 0.0)
