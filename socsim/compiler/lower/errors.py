"""How a weight layer's backward errors are quantised: integer codes over a fixed range, or radix-4 FP4.

:class:`ErrorQuantiser` is given the network and its two buffers (:class:`ErrorBuffers`, planned by
:func:`plan_errors`). With :attr:`socsim.compiler.recipes.Errors.FP4` (Sun et al. 2020, as Grimm, Lee, Verma 2024
train on IMC):

- ``vamax`` takes the largest error magnitude of the layer's output gradient of the micro-batch (GradScale's
  statistic, one per layer and micro-batch) into ``r4s[0]``;
- ``r4q`` with phase 0 rounds a copy to even powers of two (``r4s[1]`` = its unit) and ``vsclm`` turns the codes back
  into values: this copy feeds the weight and bias gradients on the digital unit;
- ``r4q`` with phase 1 rounds each block's errors in the tile buffer to odd powers of two (``r4s[2]`` = the unit):
  these codes drive the transposed MVM, and ``vsclm`` dequantises its output with the unit times the layer's weight
  scale.

With ``train.error_last_fp32`` the last weight layer's errors (the loss gradient) are not rounded: its weight
gradient takes the FP32 errors and its input gradient is an ``mm`` on the digital unit with the FP32 master
copy (``wide_errors``), the last layer kept at higher precision.

With :attr:`~socsim.compiler.recipes.Errors.INT` the errors are rounded to ``train.in_bits``-bit codes (the weight
gradient uses the FP32 errors). With ``train.error_scaling = "percentile"`` (the default) the chip measures each
layer's scale itself, once per layer and micro-batch, with the forward calibration's instructions: ``vhist`` adds the
magnitudes of the layer's output gradient to the histogram ``ehist`` (log-spaced over ``ERROR_RANGE``), ``vpctl``
reads its ``train.error_percentile`` into ``escale`` and ``vscl`` divides it by the largest code; ``quantm`` rounds
each block's errors by ``escale`` and ``vsclm`` dequantises the transposed MVM's output by it. With ``"fixed"``
every layer's errors are ``quant``-ised over ``train.error_range`` (older results).
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.compiler.emit import Asm, Buffer, f32
from socsim.compiler.lower.network import Network, analog_full_scale, quant_scale

EVEN, ODD = 0, 1
"""r4q phases: rounding to even (4^k) or odd (2 4^k) powers of two."""
ERROR_BINS = 256
"""Bins of the error histogram ``ehist``: log-spaced over ERROR_RANGE (2^36 in 256 bins: 10.2 % per bin)."""
ERROR_RANGE = (2.0 ** -32, 2.0 ** 4)
"""Magnitudes of backward errors the histogram resolves (digital units; smaller ones, zero too, count in bin 0)."""


def measures_error_scale(net: Network) -> bool:
    """Whether the chip measures each layer's error scale (integer errors on the arrays, ``error_scaling =
    "percentile"``; analog inputs, ``in_bits = 0``, have no codes to scale)."""
    return net.on_arrays and not net.fp4 and net.in_bits > 0 and net.train.error_scaling == "percentile"


@dataclass(frozen=True)
class ErrorBuffers:
    """FP4's words, or the measured integer error scale's (None where the scheme has none)."""

    fp4_scales: Buffer | None
    """``r4s``: the layer's largest error magnitude, the even unit, the odd unit."""
    even_errors: Buffer | None
    """``ecopy``: the even-phase copy of the errors the weight gradient takes."""
    error_scale: Buffer | None = None
    """``escale``: the value of one error code of the layer whose backward pass runs (:func:`measures_error_scale`)."""
    error_hist: Buffer | None = None
    """``ehist``: the histogram of that layer's error magnitudes (ERROR_BINS words)."""


def plan_errors(net: Network, asm: Asm, dw_words: int) -> ErrorBuffers:
    """FP4: the scale words ``r4s`` (amax, even unit, odd unit) and the even copy ``ecopy`` of ``dw_words``;
    measured integer scales: ``escale`` and ``ehist``."""
    if measures_error_scale(net):
        return ErrorBuffers(None, None, asm.buffer("escale", "sram", 1), asm.buffer("ehist", "sram", ERROR_BINS))
    if not net.fp4:
        return ErrorBuffers(None, None)
    return ErrorBuffers(asm.buffer("r4s", "sram", 3), asm.buffer("ecopy", "sram", dw_words))


@dataclass(frozen=True)
class ErrorQuantiser:
    """Emits the quantisation of backward errors around the transposed MVMs and the weight gradients."""

    asm: Asm
    net: Network
    buffers: ErrorBuffers

    def wide_errors(self, name: str) -> bool:
        """True if layer ``name``'s errors stay FP32 (FP4 scheme, ``train.error_last_fp32``, the last weight layer)."""
        net = self.net
        return net.fp4 and net.train.error_last_fp32 and name == net.graph.weight_nodes()[-1].name

    @property
    def error_bits(self) -> int:
        """DAC bits of the transposed MVM's codes: ``2 x train.error_exponents`` for FP4 (codes up to 4^(E-1))."""
        return 2 * self.net.train.error_exponents if self.net.fp4 else self.net.in_bits

    def error_scale(self, name: str, gout: Buffer, words: int, drives_arrays: bool) -> None:
        """The scale statistic of layer ``name``'s output gradient (``words`` of ``gout``), once per micro-batch:
        GradScale's largest magnitude (FP4), or, when the errors drive a transposed read (``drives_arrays``: an input
        gradient is computed), the percentile of their magnitudes over the largest code (measured integer
        scales)."""
        a, b = self.asm, self.buffers
        if self.net.fp4 and not self.wide_errors(name):
            a.op("vamax", b.fp4_scales.at(), gout.at(), words, note="GradScale: the layer's largest error")
        elif b.error_scale is not None and drives_arrays:
            lo, hi = (f32(v) for v in ERROR_RANGE)
            t, top = self.net.train, 2 ** (self.net.in_bits - 1) - 1
            a.op("vfill", b.error_hist.at(), ERROR_BINS, 0.0)
            a.op("vhist", b.error_hist.at(), gout.at(), words, ERROR_BINS, lo, hi, note=f"{name}: its errors")
            a.op("vpctl", b.error_scale.at(), b.error_hist.at(), ERROR_BINS, f32(t.error_percentile / 100.0), lo, hi,
                 note="percentile of the layer's errors")
            a.op("vscl", b.error_scale.at(), b.error_scale.at(), 1, f32(1.0 / top), note="per DAC code")

    def weight_gradient_errors(self, name: str, src: Buffer, words: int) -> Buffer:
        """The errors layer ``name``'s weight (and bias) gradient uses: ``src`` itself, or its even-phase radix-4
        copy."""
        if not self.net.fp4 or self.wide_errors(name):
            return src
        a, scales, even = self.asm, self.buffers.fp4_scales, self.buffers.even_errors
        a.op("r4q", even.at(), scales.at(1), src.at(), scales.at(), words, EVEN, self.net.train.error_exponents,
             note="radix-4, even powers of two: for dL/dW")
        a.op("vsclm", even.at(), even.at(), scales.at(1), words, 1.0)
        return even

    def code_scale(self) -> float:
        """The digital value of one error code over ``train.error_range`` (analog errors: of the bit lines' DAC
        full scale)."""
        net = self.net
        return quant_scale(net.in_bits, net.train.error_range, analog_full_scale(net.cfg, transposed=True))

    def quantize_errors(self, tin: Buffer, words: int) -> None:
        """DAC codes of a block's errors in the tile buffer (in place)."""
        net = self.net
        if net.fp4:
            scales = self.buffers.fp4_scales
            self.asm.op("r4q", tin.at(), scales.at(2), tin.at(), scales.at(), words, ODD, net.train.error_exponents,
                        note="radix-4, odd powers of two: for dL/dX")
        elif self.buffers.error_scale is not None:
            self.asm.op("quantm", tin.at(), tin.at(), self.buffers.error_scale.at(), words, net.in_bits)
        else:
            self.asm.op("quant", tin.at(), tin.at(), words, f32(self.code_scale()), net.in_bits)

    def dequantize_errors(self, dst: Buffer, words: int, name: str) -> None:
        """The transposed MVM's output back to digital units (input unit x the layer's weight scale)."""
        net = self.net
        if net.fp4:
            self.asm.op("vsclm", dst.at(), dst.at(), self.buffers.fp4_scales.at(2), words, f32(net.alpha[name]),
                        note="dequantise")
        elif self.buffers.error_scale is not None:
            self.asm.op("vsclm", dst.at(), dst.at(), self.buffers.error_scale.at(), words, f32(net.alpha[name]),
                        note="dequantise")
        else:
            self.asm.op("vscl", dst.at(), dst.at(), words, f32(self.code_scale() * net.alpha[name]), note="dequantise")
