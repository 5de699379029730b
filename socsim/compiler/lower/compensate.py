"""Global drift compensation as instructions: the ``compensate`` program of the inference-only programs.

As on IBM's PCM inference chips (Joshi et al. 2020, "Accurate deep neural network inference using computational
phase-change memory", Nat. Commun. 11, 2473; Le Gallo et al. 2018, IEEE Trans. Electron Devices 65, 4304): each
layer's arrays are read with known inputs and the sum of the magnitudes of the readings is kept. The known inputs
are the one-hot set, as IBM's aihwkit implements the compensation (``GlobalDriftCompensation``: the read-out
vectors are the rows of the identity, the statistic the mean of |outputs|): every row of a block is driven alone
at the largest code, one ``mvm`` each, so the statistic sums |weight| over every device pair of the layer, each
read once with its own read noise, instead of one reading per column of the sum over its rows (a signed sum that
cancels: a single such reading carried the layer's read noise into its scale, 1 to 16 % on the small ResNet,
docs/results.md). Run once in reference mode (``gdc_mode = 0``, right after programming), it stores that
sum (``gdc_ref_LAYER``); run later in measuring mode (``gdc_mode = 1``), it reads the sum again and sets the layer's
scale ``gdc_scale_LAYER = reference / now``, which the evaluation multiplies every MVM output of the layer by, on
the digital unit. Conductance drift that shrinks a layer's weights by a common factor is undone; device-to-device
variation of the drift is not. The ratio is computed by ``quantm`` (round(2^16 x reference / now), 24-bit codes):
a resolution of 2^-16.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.compiler.emit import Asm, Buffer
from socsim.compiler.lower.network import Network
from socsim.compiler.lower.plan import TileBuffers
from socsim.compiler.registers import REG

RATIO_FRACTION_BITS = 16
"""Fraction bits of the reference / now ratio ``quantm`` computes (24-bit codes: ratios up to 128)."""


@dataclass(frozen=True)
class CompensationBuffers:
    """The compensation's words: per layer its reference sum and its scale; the mode the host writes; scratch."""

    reference: dict[str, Buffer]
    scale: dict[str, Buffer]
    """``gdc_scale_LAYER``: the factor the evaluation multiplies the layer's MVM outputs by (1 at first)."""
    mode: Buffer
    """``gdc_mode``: 0 stores the reference sums, 1 measures and sets the scales (the host writes it)."""
    total: Buffer
    part: Buffer
    readings: Buffer


def calibration_code(net: Network) -> float:
    """The known input each row is driven with alone: the largest DAC code (1.0 for analog inputs)."""
    return float(2 ** (net.in_bits - 1) - 1) if net.in_bits else 1.0


def plan_compensation(net: Network, asm: Asm) -> CompensationBuffers:
    """Declare the compensation's words (after every other buffer)."""
    names = [n.name for n in net.graph.weight_nodes()]
    widest = max(p.cols for p in net.placement.blocks)
    return CompensationBuffers({n: asm.buffer(f"gdc_ref_{n}", "sram", 1) for n in names},
                               {n: asm.buffer(f"gdc_scale_{n}", "sram", 1, "= 1.0") for n in names},
                               asm.buffer("gdc_mode", "sram", 1), asm.buffer("gdc_total", "sram", 1),
                               asm.buffer("gdc_part", "sram", 1), asm.buffer("gdc_read", "sram", widest))


def compensate_program(asm: Asm, net: Network, tiles: TileBuffers, gdc: CompensationBuffers) -> str:
    """``compensate``: per layer, the sum of |readings| of every block for the one-hot inputs (a loop over the
    block's rows), then the reference stored (mode 0) or the scale set (mode 1)."""
    a, code = asm, calibration_code(net)
    a.lines = []
    a.op("mark", 0, "calibrate")  # a calibration read: ledgered with the calibration
    a.op("lw", REG.outer, gdc.mode.at(), note="0: reference, 1: measure")
    for node in net.graph.weight_nodes():
        name = node.name
        a.op("vfill", gdc.total.at(), 1, 0.0, note=f"sum of |readings| of {name}")
        for p in net.placement.blocks_of(name):
            tin, tout = tiles.tile_in[p.tile], tiles.tile_out[p.tile]

            def one_row(tin=tin, tout=tout, p=p) -> None:
                a.op("vfill", tin.at(), p.rows, 0.0)
                a.op("vfill", tin.at(reg=REG.probe_row), 1, code, note="row probe_row alone: the known input")
                a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, net.in_bits)
                a.op("mvm", p.tile, tout.at(), tin.at(), 1)
                for sign in (1.0, -1.0):  # |x| = relu(x) + relu(-x)
                    a.op("vscl", gdc.readings.at(), tout.at(), p.cols, sign)
                    a.op("vrelu", gdc.readings.at(), gdc.readings.at(), p.cols)
                    a.op("vsum", gdc.part.at(), gdc.readings.at(), p.cols)
                    a.op("vadd", gdc.total.at(), gdc.total.at(), gdc.part.at(), 1)

            a.loop(REG.probe_row, p.rows, one_row, note=f"one-hot inputs of block r{p.row_start}+{p.rows}")
        measure, done = a.label(f"gdc_measure_{name}"), a.label(f"gdc_done_{name}")
        a.op("bne", REG.outer, REG.zero, measure)
        a.op("vscl", gdc.reference[name].at(), gdc.total.at(), 1, 1.0, note="reference sum")
        a.op("vfill", gdc.scale[name].at(), 1, 1.0)
        a.op("beq", REG.zero, REG.zero, done)
        a.place(measure)
        a.op("vscl", gdc.part.at(), gdc.reference[name].at(), 1, float(2 ** RATIO_FRACTION_BITS))
        a.op("quantm", gdc.scale[name].at(), gdc.part.at(), gdc.total.at(), 1, 24, note="reference / now")
        a.op("vscl", gdc.scale[name].at(), gdc.scale[name].at(), 1, float(2.0 ** -RATIO_FRACTION_BITS))
        a.place(done)
    a.op("halt")
    return a.text()
