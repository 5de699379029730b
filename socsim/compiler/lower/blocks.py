"""Crossbar-level emission shared by the lowering: block MVMs, block programming, convolution band loops.

:class:`Blocks` is given the network (placement, weight scales), the tile buffers, the layers' input scales and
weight copies, the block scratch, the error quantiser its transposed MVMs call and, while it emits the ``calibrate``
program's forward pass, the calibration whose readings precede each block's ``mvm``.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.compiler.emit import Asm, Buffer, f32, pattern
from socsim.compiler.lower.calibrate import Calibration
from socsim.compiler.lower.errors import ErrorQuantiser
from socsim.compiler.lower.network import Network
from socsim.compiler.lower.plan import TileBuffers
from socsim.compiler.mapping.placement import PlacedBlock


@dataclass(frozen=True)
class Blocks:
    """Emits the instructions that touch the crossbar blocks of a layer."""

    asm: Asm
    net: Network
    tiles: TileBuffers
    input_scale: dict[str, Buffer]
    """Each weight layer's DAC input scale word (``inscale_LAYER``)."""
    weight_copy: dict[str, Buffer]
    """Each weight layer's digital copy (``w_LAYER``), for the digital input gradient and read-backs."""
    block_target: Buffer
    block_mask: Buffer
    errors: ErrorQuantiser
    readings: Calibration | None = None
    """Set while emitting the calibration's forward pass: each block's mvm is preceded by its readings."""
    drift_scale: dict[str, Buffer] | None = None
    """Global drift compensation: each layer's ``gdc_scale_`` word, multiplied into its MVM outputs (None: off)."""

    def mac_blocks(self, name: str, src: Buffer, dst: Buffer, vectors: int, rows: int, cols: int) -> None:
        """dst[vectors, cols] = dequant(quant(src[vectors, rows]) @ W) over every block of layer ``name``, with the
        layer's input scale held in memory (``inscale_NAME``: set at compile time, recalibrated on the chip)."""
        a, net = self.asm, self.net
        scale = self.input_scale[name]
        for p in net.placement.blocks_of(name):
            tin, tout = self.tiles.tile_in[p.tile], self.tiles.tile_out[p.tile]
            pattern(a, [(p.rows, 1), (vectors, rows)])
            a.op("gather", tin.at(), src.at(p.row_start),
                 note=f"block r{p.row_start}+{p.rows} c{p.col_start}+{p.cols}")
            if self.readings is not None:
                self.readings.input_reads(name, tin, vectors * p.rows)
            a.op("quantm", tin.at(), tin.at(), scale.at(), vectors * p.rows, net.in_bits)
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, net.in_bits)
            if self.readings is not None:
                self.readings.block_reads(net.placement.blocks.index(p), p.tile, tout, tin, vectors, p.cols)
            a.op("mvm", p.tile, tout.at(), tin.at(), vectors)
            pattern(a, [(p.cols, 1), (vectors, cols)])
            a.op("scatter" if p.row_start == 0 else "scadd", dst.at(p.col_start), tout.at())
        a.op("vsclm", dst.at(), dst.at(), scale.at(), vectors * cols, f32(net.alpha[name]),
             note="dequantise: input scale x layer weight scale")
        if self.drift_scale is not None:
            a.op("vsclm", dst.at(), dst.at(), self.drift_scale[name].at(), vectors * cols, 1.0,
                 note="global drift compensation")

    def mac_blocks_t(self, name: str, src: Buffer, dst: Buffer, vectors: int, rows: int, cols: int) -> None:
        """dst[vectors, rows] = dequant(quant(src[vectors, cols]) @ W.T): transposed reads of every block."""
        a = self.asm
        for p in self.net.placement.blocks_of(name):
            tin, tout = self.tiles.tile_in[p.tile], self.tiles.tile_out[p.tile]
            pattern(a, [(p.cols, 1), (vectors, cols)])
            a.op("gather", tin.at(), src.at(p.col_start), note=f"errors of block c{p.col_start}+{p.cols}")
            self.errors.quantize_errors(tin, vectors * p.cols)
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.errors.error_bits)
            a.op("mvmt", p.tile, tout.at(), tin.at(), vectors)
            pattern(a, [(p.rows, 1), (vectors, rows)])
            a.op("scatter" if p.col_start == 0 else "scadd", dst.at(p.row_start), tout.at())
        self.errors.dequantize_errors(dst, vectors * rows, name)

    def input_gradient(self, name: str, gout: Buffer, gin: Buffer, vectors: int, rows: int, cols: int) -> None:
        """gin[vectors, rows] = gout[vectors, cols] @ W.T: on the arrays (mp_onarray) or from the digital copy
        (digital backward schemes, and a layer whose errors stay FP32: ``wide_errors``)."""
        if self.net.on_arrays and not self.errors.wide_errors(name):
            self.mac_blocks_t(name, gout, gin, vectors, rows, cols)
        else:
            self.asm.op("mm", gin.at(), gout.at(), self.weight_copy[name].at(), vectors, cols, rows, 0, 1, 0)

    def program_blocks(self, name: str, target: Buffer, mask: Buffer | None, cols: int,
                       blocks: list[PlacedBlock] | None = None, row0: int = 0) -> None:
        """Write-verify every block of layer ``name`` (or ``blocks`` of it) to ``target`` (R, C) where ``mask`` (or
        everywhere); ``target`` and ``mask`` start at weight row ``row0``."""
        a, alpha, bt, bm = self.asm, self.net.alpha[name], self.block_target, self.block_mask
        for p in self.net.placement.blocks_of(name) if blocks is None else blocks:
            at = (p.row_start - row0) * cols + p.col_start
            pattern(a, [(p.cols, 1), (p.rows, cols)])
            a.op("gather", bt.at(), target.at(at))
            if alpha != 1.0:
                a.op("vscl", bt.at(), bt.at(), p.rows * p.cols, f32(1.0 / alpha), note="to crossbar weight units")
            if mask is None:
                a.op("vfill", bm.at(), p.rows * p.cols, 1.0)
            else:
                a.op("gather", bm.at(), mask.at(at))
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.net.in_bits)
            a.op("wv", p.tile, bt.at(), bm.at())

    def read_back_blocks(self, name: str, weights: Buffer, cols: int) -> None:
        """``weights`` (R, C) <- what the devices of every block of layer ``name`` hold (read through the array)."""
        a, alpha, bt = self.asm, self.net.alpha[name], self.block_target
        for p in self.net.placement.blocks_of(name):
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.net.in_bits)
            a.op("rdw", p.tile, bt.at())
            if alpha != 1.0:
                a.op("vscl", bt.at(), bt.at(), p.rows * p.cols, f32(alpha), note="to digital weight units")
            pattern(a, [(p.cols, 1), (p.rows, cols)])
            a.op("scatter", weights.at(p.row_start * cols + p.col_start), bt.at())

    def pulse_blocks(self, name: str, pulses: Buffer, cols: int, blocks: list[PlacedBlock] | None = None,
                     row0: int = 0) -> None:
        """Apply the (R, C) pulse counts in ``pulses`` (from weight row ``row0``) to every block of layer ``name``
        (or ``blocks`` of it)."""
        a, bt = self.asm, self.block_target
        for p in self.net.placement.blocks_of(name) if blocks is None else blocks:
            pattern(a, [(p.cols, 1), (p.rows, cols)])
            a.op("gather", bt.at(), pulses.at((p.row_start - row0) * cols + p.col_start))
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.net.in_bits)
            a.op("pulse", p.tile, bt.at())
