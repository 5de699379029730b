"""Crossbar-level emission shared by the lowering: address patterns, block MVMs, block programming.

A mixin of :class:`socsim.compiler.lower.Lowering`; it uses the plan's ``a`` (Asm), ``placement``,
``tin``/``tout`` tile buffers, ``alpha`` (digital weight per crossbar weight) and ``bits``, and the error
quantisation of :class:`socsim.compiler.lower_errors.ErrorEmitter`.
"""

from __future__ import annotations

import numpy as np

from socsim.compiler.emit import Buffer
from socsim.compiler.registers import REG


def f32(value: float) -> str:
    """A float immediate, written as the float32 value the instruction will hold."""
    return repr(float(np.float32(value)))


def quant_scale(bits: int, value_range: float) -> float:
    """DAC code scale: ``value_range`` maps to the largest signed code (1.0 for analog inputs)."""
    return value_range / (2 ** (bits - 1) - 1) if bits else 1.0


class BlockEmitter:
    """Emits the instructions that touch the crossbar blocks of a layer."""

    def pattern(self, levels: list[tuple[int, int]]) -> None:
        """Set the address generator: ``levels`` innermost first, as (extent, stride)."""
        self.asm.op("agclr")
        for i, (extent, stride) in enumerate(levels):
            if extent != 1:
                self.asm.op("agen", i, extent, stride)

    def offset(self, reg: str, terms: list[tuple[str, int]]) -> None:
        """reg = sum(register * constant), using x30 as scratch."""
        self.asm.op("li", reg, 0)
        for r, k in terms:
            self.asm.op("muli", REG.temp, r, k)
            self.asm.op("add", reg, reg, REG.temp)

    def mac_blocks(self, name: str, src: Buffer, dst: Buffer, vectors: int, rows: int, cols: int) -> None:
        """dst[vectors, cols] = dequant(quant(src[vectors, rows]) @ W) over every block of layer ``name``, with the
        layer's input scale held in memory (``inscale_NAME``: set at compile time, recalibrated on the chip)."""
        a = self.asm
        scale = self.in_scale[name]
        for p in self.placement.blocks_of(name):
            tin, tout = self.tile_in[p.tile], self.tile_out[p.tile]
            self.pattern([(p.rows, 1), (vectors, rows)])
            a.op("gather", tin.at(), src.at(p.row_start),
                 note=f"block r{p.row_start}+{p.rows} c{p.col_start}+{p.cols}")
            if self.calibrating:
                self.input_reads(name, tin, vectors * p.rows)
            a.op("quantm", tin.at(), tin.at(), scale.at(), vectors * p.rows, self.in_bits)
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.in_bits)
            if self.calibrating:
                self.calibration_reads(self.placement.blocks.index(p), p.tile, tout, tin, vectors, p.cols)
            a.op("mvm", p.tile, tout.at(), tin.at(), vectors)
            self.pattern([(p.cols, 1), (vectors, cols)])
            a.op("scatter" if p.row_start == 0 else "scadd", dst.at(p.col_start), tout.at())
        a.op("vsclm", dst.at(), dst.at(), scale.at(), vectors * cols, f32(self.alpha[name]),
             note="dequantise: input scale x layer weight scale")

    def mac_blocks_t(self, name: str, src: Buffer, dst: Buffer, vectors: int, rows: int, cols: int) -> None:
        """dst[vectors, rows] = dequant(quant(src[vectors, cols]) @ W.T): transposed reads of every block."""
        a = self.asm
        for p in self.placement.blocks_of(name):
            tin, tout = self.tile_in[p.tile], self.tile_out[p.tile]
            self.pattern([(p.cols, 1), (vectors, cols)])
            a.op("gather", tin.at(), src.at(p.col_start), note=f"errors of block c{p.col_start}+{p.cols}")
            self.quantize_errors(tin, vectors * p.cols)
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.error_bits)
            a.op("mvmt", p.tile, tout.at(), tin.at(), vectors)
            self.pattern([(p.rows, 1), (vectors, rows)])
            a.op("scatter" if p.col_start == 0 else "scadd", dst.at(p.row_start), tout.at())
        self.dequantize_errors(dst, vectors * rows, name)

    def input_gradient(self, name: str, gout: Buffer, gin: Buffer, vectors: int, rows: int, cols: int) -> None:
        """gin[vectors, rows] = gout[vectors, cols] @ W.T: on the arrays (mp_onarray) or from the digital copy
        (digital backward schemes, and a layer whose errors stay FP32: ``wide_errors``)."""
        if self.on_arrays and not self.wide_errors(name):
            self.mac_blocks_t(name, gout, gin, vectors, rows, cols)
        else:
            self.asm.op("mm", gin.at(), gout.at(), self.weight_copy[name].at(), vectors, cols, rows, 0, 1, 0)

    def program_blocks(self, name: str, target: Buffer, mask: Buffer | None, cols: int) -> None:
        """Write-verify every block of layer ``name`` to ``target`` (R, C) where ``mask`` (or everywhere)."""
        a = self.asm
        for p in self.placement.blocks_of(name):
            self.pattern([(p.cols, 1), (p.rows, cols)])
            a.op("gather", self.block_target.at(), target.at(p.row_start * cols + p.col_start))
            if self.alpha[name] != 1.0:
                a.op("vscl", self.block_target.at(), self.block_target.at(), p.rows * p.cols, f32(1.0 / self.alpha[name]),
                     note="to crossbar weight units")
            if mask is None:
                a.op("vfill", self.block_mask.at(), p.rows * p.cols, 1.0)
            else:
                a.op("gather", self.block_mask.at(), mask.at(p.row_start * cols + p.col_start))
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.in_bits)
            a.op("wv", p.tile, self.block_target.at(), self.block_mask.at())

    def read_back_blocks(self, name: str, weights: Buffer, cols: int) -> None:
        """``weights`` (R, C) <- what the devices of every block of layer ``name`` hold (read through the array)."""
        a = self.asm
        for p in self.placement.blocks_of(name):
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.in_bits)
            a.op("rdw", p.tile, self.block_target.at())
            if self.alpha[name] != 1.0:
                a.op("vscl", self.block_target.at(), self.block_target.at(), p.rows * p.cols, f32(self.alpha[name]),
                     note="to digital weight units")
            self.pattern([(p.cols, 1), (p.rows, cols)])
            a.op("scatter", weights.at(p.row_start * cols + p.col_start), self.block_target.at())

    def pulse_blocks(self, name: str, pulses: Buffer, cols: int) -> None:
        """Apply the (R, C) pulse counts in ``pulses`` to every block of layer ``name``."""
        a = self.asm
        for p in self.placement.blocks_of(name):
            self.pattern([(p.cols, 1), (p.rows, cols)])
            a.op("gather", self.block_target.at(), pulses.at(p.row_start * cols + p.col_start))
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.in_bits)
            a.op("pulse", p.tile, self.block_target.at())
