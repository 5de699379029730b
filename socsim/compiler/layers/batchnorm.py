"""Batch normalization over channels (or features) on the digital unit, with a trainable scale and shift (gamma,
beta: ``gb_``) and running statistics (mean, variance: ``run_``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from socsim.base.errors import InputError
from socsim.compiler.emit import f32
from socsim.compiler.layer import ForwardEmission, GraphError, ParamLayer, Shape, _fmt, knob

F32 = np.float32
FIELDS = ("scale", "bias", "mean", "var")
"""A batch norm's parameters, in the order of ONNX BatchNormalization's inputs."""


def bn_dims(in_shape: Shape) -> tuple[int, int]:
    """(channels, elements per channel per image) of a BatchNorm input of ``in_shape``."""
    return in_shape[0], (in_shape[1] * in_shape[2] if len(in_shape) == 3 else 1)


@dataclass(frozen=True)
class BatchNorm(ParamLayer):
    kind: ClassVar[str] = "batchnorm"
    doc: ClassVar[str] = "batch normalization over channels (or features), digital"
    plan_stage: ClassVar[int] = 1
    eps: float = knob(1e-5, doc="added to the variance (at most 1: a larger one swamps the variance of the "
                      "activations it normalises)", lo=0.0, hi=1.0)
    momentum: float = knob(0.1, doc="running-statistics update: r = (1 - m) r + m batch_stat", lo=0.0, hi=1.0)

    def infer(self, ins: tuple[Shape, ...]) -> Shape:
        if len(ins[0]) not in (1, 3):
            raise GraphError(f"batchnorm needs (C, H, W) or (features,), got {_fmt(ins[0])}")
        return ins[0]

    def param_count(self, in_shape: Shape) -> int:
        return 2 * in_shape[0]

    def state_count(self, in_shape: Shape) -> int:
        return 2 * in_shape[0]

    def parameter_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        return {k: (in_shape[0],) for k in FIELDS}

    def import_parameters(self, name: str, values: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
        if np.any(values["var"] < 0):
            raise InputError(f"parameter {name + '.var'!r} has negative variances", file=source)
        return {"gb": np.stack([values["scale"], values["bias"]]), "run": np.stack([values["mean"], values["var"]])}

    def numpy_setup(self, base: Any, name: str, in_shape: Shape) -> None:
        """gamma 1, beta 0 (``base.bn``); running mean 0, variance 1 (``base.bn_run``)."""
        c = in_shape[0]
        base.bn[name] = np.stack([np.ones(c, F32), np.zeros(c, F32)])
        base.bn_run[name] = np.stack([np.zeros(c, F32), np.ones(c, F32)])

    def numpy_run(self, base: Any, node: Any, a: np.ndarray, train: bool) -> np.ndarray:
        """``train``: on the batch statistics, blended into the running ones (unbiased variance), the normalised
        activations kept in ``base.bn_cache``; else on the running statistics."""
        x = a.reshape(len(a), a.shape[1], -1)
        gamma, beta = (v[:, None] for v in base.bn[node.name])
        run_mean, run_var = base.bn_run[node.name]
        if train:
            mean = x.mean(axis=(0, 2), dtype=F32)
            var = ((x - mean[:, None]) ** 2).mean(axis=(0, 2), dtype=F32)
            inv = F32(1) / np.sqrt(var + F32(self.eps))
            xhat = (x - mean[:, None]) * inv[:, None]
            count = x.shape[0] * x.shape[2]
            mom = F32(self.momentum)
            run_mean[:] = (F32(1) - mom) * run_mean + mom * mean
            run_var[:] = (F32(1) - mom) * run_var + mom * var * F32(count / max(count - 1, 1))
            base.bn_cache[node.name] = (xhat, inv)
            y = gamma * xhat + beta
        else:
            y = gamma / np.sqrt(run_var[:, None] + F32(self.eps)) * (x - run_mean[:, None]) + beta
        return y.reshape(a.shape)

    def numpy_gradients(self, base: Any, node: Any, a_in: np.ndarray, grad: np.ndarray,
                        grads: dict[str, np.ndarray]) -> np.ndarray:
        xhat, inv = base.bn_cache[node.name]
        dy = grad.reshape(xhat.shape)
        gamma = base.bn[node.name][0]
        s_dy, s_dyx = dy.sum(axis=(0, 2)), (dy * xhat).sum(axis=(0, 2))
        grads[f"bn:{node.name}"] = np.stack([s_dyx, s_dy]).astype(F32)
        count = F32(xhat.shape[0] * xhat.shape[2])
        dx = (gamma * inv / count)[:, None] * (count * dy - s_dy[:, None] - xhat * s_dyx[:, None])
        return dx.reshape(a_in.shape).astype(F32)

    # the lowering ----------------------------------------------------------------------------------------------------
    def plan_parameters(self, p: Any, name: str) -> None:
        """``gb_`` (gamma 1, beta 0), ``run_`` (mean 0, variance 1); training: their optimizer state ``mgb_ vgb_
        dgb_``, the normalised activations ``xhat_`` and the batch statistics ``stats_``."""
        a, net = p.asm, p.net
        c, _ = bn_dims(net.graph.in_shapes(name)[0])
        ones, zeros = ", ".join(["1.0"] * c), ", ".join(["0.0"] * c)
        a.buffer(f"gb_{name}", "acc", 2 * c, f"= {ones}, {zeros}")      # gamma = 1, beta = 0
        a.buffer(f"run_{name}", "acc", 2 * c, f"= {zeros}, {ones}")     # running mean 0, var 1
        if net.inference:
            return
        for stem in ("mgb", "vgb", "dgb"):
            a.buffer(f"{stem}_{name}", "acc", 2 * c)
        p.xhat[name] = p.tensor(f"xhat_{name}", net.microbatch * net.size(name))
        a.buffer(f"stats_{name}", "sram", 2 * c)

    def plan_calibration(self, asm: Any, net: Any, name: str) -> Any:
        """``calrun_``: the scratch running statistics the calibration's ``bnfwd`` blends into (discarded; none in
        inference-only programs, which calibrate on the running statistics)."""
        if net.inference:
            return None
        return asm.buffer(f"calrun_{name}", "sram", 2 * bn_dims(net.graph.in_shapes(name)[0])[0])

    def emit_forward(self, e: ForwardEmission) -> None:
        """Evaluation on the running statistics (``bneval``): the sequential and the pipelined programs."""
        c, hw = bn_dims(e.in_shape())
        e.op("bneval", e.output().at(), e.input().at(), f"run_{e.node}", f"gb_{e.node}", e.microbatch, c, hw,
             f32(self.eps))

    def lower_forward(self, f: Any, name: str, phase: str) -> None:
        """Training (and calibration, into its scratch statistics): normalise by the batch statistics
        (``bnfwd``); the ``bnstats`` program's pass (``f.statistics``): likewise, the micro-batch's statistics into
        its words (momentum 1: replaced, socsim.compiler.lower.bnstats); otherwise :meth:`emit_forward`."""
        graph, tensors, m = f.net.graph, f.tensors, f.net.microbatch
        if f.statistics is not None:
            c, hw = bn_dims(graph.in_shapes(name)[0])
            s = f.statistics
            f.asm.op("bnfwd", tensors.output(name).at(), tensors.output(graph.node(name).inputs[0]).at(), s.xhat.at(),
                     s.stats.at(), f"gb_{name}", s.batch[name].at(), m, c, hw, f32(self.eps), f32(1.0))
            return
        readings = f.blocks.readings
        scratch = readings.buffers.batch_stats.get(name) if readings and phase == "calibrate" else None
        if phase != "forward" and scratch is None:
            f.emit_digital(name, phase)
            return
        c, hw = bn_dims(graph.in_shapes(name)[0])
        dst, src = tensors.output(name), tensors.output(graph.node(name).inputs[0])
        run = f"run_{name}" if scratch is None else scratch.at()
        f.asm.op("bnfwd", dst.at(), src.at(), tensors.xhat(name).at(), f"stats_{name}", f"gb_{name}", run, m, c, hw,
                 f32(self.eps), f32(self.momentum))

    def lower_backward(self, b: Any, name: str) -> None:
        """dgamma, dbeta into ``dgb_`` and the input's gradient (``bnbwd``)."""
        net = b.net
        m, inp = net.microbatch, net.graph.node(name).inputs[0]
        c, hw = bn_dims(net.graph.in_shapes(name)[0])
        gout = b.tensors.gradient(name)
        b.into(inp, m * net.size(inp), lambda d: b.asm.op("bnbwd", d.at(), f"dgb_{name}", gout.at(),
                                                          b.tensors.xhat(name).at(), f"stats_{name}", f"gb_{name}",
                                                          m, c, hw))

    def lower_update(self, u: Any, name: str) -> None:
        """The digital optimizer step of gamma and beta."""
        u.asm.op("mark", u.asm.layer_id(name), "update")
        c, _ = bn_dims(u.net.graph.in_shapes(name)[0])
        u.update_digital(f"dgb_{name}", f"mgb_{name}", f"vgb_{name}", f"gb_{name}", 2 * c,
                         "batch-norm scale and shift")
