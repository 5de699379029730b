"""Calibration: every forward block's converter full scale and every layer's input scale from its own readings.

The ``calibrate`` program (socsim.compiler.lower.programs) sets every block's full scale to the widest setting,
then runs ``train.calibration_passes`` passes over the first training images (at least
``train.calibration_images``, in whole micro-batches): each pass runs the forward pass, and before each block's
``mvm`` reads its converter (``mvmr``) and adds the readings' magnitudes to the block's histogram (``vhist``,
log-spaced bins over the settable range), and adds each layer's inputs to the layer's input histogram
(:class:`Calibration`, which the blocks call while they emit for it). After the first pass every layer's DAC input
scale (``inscale_NAME``, the value of one code) becomes the ``calibration_percentile`` of its inputs times
``calibration_headroom`` over the largest code; after each pass every block's full scale becomes the percentile of
its readings times the headroom (``vpctl``, ``tgain``). The first pass reads at the widest full scale (coarse,
rarely clipped), the next ones at the full scales and input scales the first set.
Its BatchNorm steps normalise each calibration micro-batch by its own statistics, as a training pass does
(``bnfwd``, its running averages into scratch words ``calrun_NAME`` that nothing reads, so the running statistics
stay as training left them): the scales are set from the activations training normalises, not from those of the
running statistics (mean 0, variance 1 before the first epoch). Inference-only programs, which have no batch
statistics to train, calibrate on the running statistics (``bneval``).
The host runs it after ``init`` and after every training epoch (socsim.host.training): the programmed weights, and
with them the currents, change as the network trains.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.compiler.emit import Asm, Buffer, f32
from socsim.compiler.graph import ParamLayer
from socsim.compiler.lower.network import Network
from socsim.config.soc import SocConfig
from socsim.physics.adc import adc_class
from socsim.physics.registry import is_exact

HIST_BINS = 128
"""Bins of a block's histogram: log-spaced over [fs_min_ua, fs_max_ua] (256x in 128 bins: 4.4 % per bin)."""
INPUT_BINS = 256
"""Bins of a layer's input histogram: log-spaced over INPUT_RANGE (2^24 in 256 bins: 6.7 % per bin)."""
INPUT_RANGE = (2.0 ** -12, 2.0 ** 12)
"""Magnitudes of layer inputs the input histograms resolve (digital units; smaller ones count in the first bin)."""


def calibrates_adc(cfg: SocConfig) -> bool:
    """Whether the calibration sets the converters' full scales: the forward converter has a programmable full
    scale (``adc.fs_bits > 0``) and a range to set (``Adc.calibrated_range``: not the ideal converter)."""
    adc = cfg.tiles.physics.adc
    return adc.fs_bits > 0 and adc_class(adc.kind).calibrated_range


def calibrates(cfg: SocConfig) -> bool:
    """Whether the compiled programs include ``calibrate``: ``train.calibration_images > 0`` on an array with a
    read path (not an exact model, ``Crossbar.exact``: the ideal array), and something to set: the converters'
    full scales (:func:`calibrates_adc`) or the DAC input scales (``train.in_bits > 0``)."""
    return (cfg.train.calibration_images > 0 and not is_exact(cfg.tiles.physics)
            and (calibrates_adc(cfg) or cfg.train.in_bits > 0))


@dataclass(frozen=True)
class CalibrationBuffers:
    """The calibration's words: the full-scale word and the histograms (all empty when it does not run)."""

    enabled: bool
    """The programs include ``calibrate`` (:func:`calibrates`)."""
    full_scale: Buffer | None
    """``cal``: one block's full scale (uA) on its way to ``tgain``."""
    block_hist: dict[int, Buffer]
    """``hist_K``: per placed block (index into the placement), its readings' histogram."""
    input_hist: dict[str, Buffer]
    """``hist_in_NAME``: per weight layer, the histogram of its inputs (none for analog inputs, whose scale is
    fixed)."""
    batch_stats: dict[str, Buffer]
    """``calrun_NAME``: per BatchNorm node, the scratch running statistics its calibration ``bnfwd`` blends into
    (discarded; none in inference-only programs, which calibrate on the running statistics)."""


def plan_calibration(net: Network, asm: Asm) -> CalibrationBuffers:
    """Declare the full-scale word and the histograms (nothing when the programs do not calibrate)."""
    if not calibrates(net.cfg):
        return CalibrationBuffers(False, None, {}, {}, {})
    full_scale = asm.buffer("cal", "sram", 1)
    block_hist = {}
    if calibrates_adc(net.cfg):
        for k, _ in enumerate(net.placement.blocks):
            block_hist[k] = asm.buffer(f"hist_{k}", "sram", HIST_BINS)
    input_hist = {n.name: asm.buffer(f"hist_in_{n.name}", "sram", INPUT_BINS)
                  for n in net.graph.weight_nodes()} if net.in_bits else {}
    batch_stats = {}  # the layers' own scratch (ParamLayer.plan_calibration: BatchNorm's statistics)
    for n in net.order:
        scratch = n.layer.plan_calibration(asm, net, n.name) if isinstance(n.layer, ParamLayer) else None
        if scratch is not None:
            batch_stats[n.name] = scratch
    return CalibrationBuffers(True, full_scale, block_hist, input_hist, batch_stats)


@dataclass(frozen=True)
class Calibration:
    """Emits the calibration's readings (called by the blocks before their mvms) and the scales set from them."""

    asm: Asm
    net: Network
    buffers: CalibrationBuffers
    input_scale: dict[str, Buffer]
    """The layers' DAC input scales the calibration sets."""

    def input_reads(self, name: str, tin: Buffer, words: int) -> None:
        """Before a block's inputs are quantised: their magnitudes into the layer's input histogram."""
        if name in self.buffers.input_hist:
            lo, hi = (f32(v) for v in INPUT_RANGE)
            self.asm.op("vhist", self.buffers.input_hist[name].at(), tin.at(), words, INPUT_BINS, lo, hi,
                        note="layer inputs")

    def block_reads(self, block_index: int, tile: int, tout: Buffer, tin: Buffer, vectors: int, cols: int) -> None:
        """Before a block's mvm (``tcfg`` done): its converter readings into its histogram."""
        if block_index not in self.buffers.block_hist:
            return
        lo, hi = self._hist_range()
        self.asm.op("mvmr", tile, tout.at(), tin.at(), vectors, note="converter readings (uA)")
        self.asm.op("vhist", self.buffers.block_hist[block_index].at(), tout.at(), vectors * cols, HIST_BINS, lo, hi)

    def clear_histograms(self) -> None:
        for hist in self.buffers.block_hist.values():
            self.asm.op("vfill", hist.at(), HIST_BINS, 0.0)
        for hist in self.buffers.input_hist.values():
            self.asm.op("vfill", hist.at(), INPUT_BINS, 0.0)

    def set_input_scales(self) -> None:
        """Every layer's input scale: the percentile of its inputs x headroom over the largest DAC code."""
        a, t = self.asm, self.net.train
        lo, hi = (f32(v) for v in INPUT_RANGE)
        top = 2 ** (self.net.in_bits - 1) - 1
        for name, hist in self.buffers.input_hist.items():
            scale = self.input_scale[name]
            a.op("vpctl", scale.at(), hist.at(), INPUT_BINS, f32(t.calibration_percentile / 100.0), lo, hi,
                 note=f"{name}: percentile of its inputs")
            a.op("vscl", scale.at(), scale.at(), 1, f32(t.calibration_headroom / top), note="per DAC code")
            a.op("vfill", hist.at(), INPUT_BINS, 0.0)

    def _hist_range(self) -> tuple[str, str]:
        adc = self.net.cfg.tiles.physics.adc
        return f32(adc.fs_min_ua), f32(adc.fs_max_ua)

    def set_full_scales(self, percentile: float | None) -> None:
        """Every block's full scale: the widest (``percentile`` None) or the percentile of its histogram x headroom."""
        a, t, hists, word = self.asm, self.net.train, self.buffers.block_hist, self.buffers.full_scale
        lo, hi = self._hist_range()
        if not hists:
            return
        if percentile is None:
            a.op("vfill", word.at(), 1, hi, note="the widest full scale")
        for k, p in enumerate(self.net.placement.blocks):
            if percentile is not None:
                a.op("vpctl", word.at(), hists[k].at(), HIST_BINS, f32(percentile / 100.0), lo, hi,
                     note=f"block {k}: percentile of its readings")
                if t.calibration_headroom != 1.0:
                    a.op("vscl", word.at(), word.at(), 1, f32(t.calibration_headroom))
                a.op("vfill", hists[k].at(), HIST_BINS, 0.0)
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.net.in_bits)
            a.op("tgain", p.tile, word.at())
