"""Calibration program emission: every forward block's converter full scale from its own readings, on the chip.

A mixin of :class:`socsim.compiler.lower.Lowering`. The ``calibrate`` program sets every block's full scale to
the widest setting, then runs ``train.calibration_passes`` passes over the first training images (at least
``train.calibration_images``, in whole micro-batches): each pass runs the forward pass, and before each block's
``mvm`` reads its converter (``mvmr``) and adds the readings' magnitudes to the block's histogram (``vhist``,
log-spaced bins over the settable range), and adds each layer's inputs to the layer's input histogram. After the
first pass every layer's DAC input scale (``inscale_NAME``, the value of one code) becomes the
``calibration_percentile`` of its inputs times ``calibration_headroom`` over the largest code; after each pass
every block's full scale becomes the percentile of its readings times the headroom (``vpctl``, ``tgain``). The
first pass reads at the widest full scale (coarse, rarely clipped), the next ones at the full scales and input
scales the first set.
The host runs it after ``init`` and after every training epoch (socsim.host.training): the programmed weights, and
with them the currents, change as the network trains.
"""

from __future__ import annotations

from socsim.compiler.lower_blocks import f32
from socsim.compiler.registers import REG
from socsim.config import SocConfig

HIST_BINS = 128
"""Bins of a block's histogram: log-spaced over [fs_min_ua, fs_max_ua] (256x in 128 bins: 4.4 % per bin)."""
INPUT_BINS = 256
"""Bins of a layer's input histogram: log-spaced over INPUT_RANGE (2^24 in 256 bins: 6.7 % per bin)."""
INPUT_RANGE = (2.0 ** -12, 2.0 ** 12)
"""Magnitudes of layer inputs the input histograms resolve (digital units; smaller ones count in the first bin)."""


def calibrates_adc(cfg: SocConfig) -> bool:
    """Whether the calibration sets the converters' full scales: the forward converter has a programmable full
    scale (``adc.fs_bits > 0``) and a range to set (not an ideal converter)."""
    adc = cfg.tiles.physics.adc
    return adc.fs_bits > 0 and adc.kind != "ideal"


def calibrates(cfg: SocConfig) -> bool:
    """Whether the compiled programs include ``calibrate``: ``train.calibration_images > 0`` on an array with a
    read path (not the ideal model), and something to set: the converters' full scales (:func:`calibrates_adc`)
    or the DAC input scales (``train.in_bits > 0``)."""
    return (cfg.train.calibration_images > 0 and cfg.tiles.physics.model != "ideal"
            and (calibrates_adc(cfg) or cfg.train.in_bits > 0))


class CalibrationEmitter:
    """Plans the histograms and emits the ``calibrate`` program."""

    calibrating: bool = False
    """True while the forward pass is emitted for calibration: each block's mvm is preceded by its readings."""

    def _plan_calibration(self) -> None:
        self.calibrated = calibrates(self.cfg)
        self.block_hist: dict[int, object] = {}
        if not self.calibrated:
            return
        self.full_scale_word = self.asm.buffer("cal", "sram", 1)
        if calibrates_adc(self.cfg):
            for k, _ in enumerate(self.placement.blocks):
                self.block_hist[k] = self.asm.buffer(f"hist_{k}", "sram", HIST_BINS)
        self.input_hist = {n.name: self.asm.buffer(f"hist_in_{n.name}", "sram", INPUT_BINS)
                           for n in self.graph.weight_nodes()} if self.in_bits else {}
        """Per weight layer, the histogram of its inputs (none for analog inputs, whose scale is fixed)."""

    def input_reads(self, name: str, tin, words: int) -> None:
        """Before a block's inputs are quantised: their magnitudes into the layer's input histogram."""
        if name in self.input_hist:
            lo, hi = (f32(v) for v in INPUT_RANGE)
            self.asm.op("vhist", self.input_hist[name].at(), tin.at(), words, INPUT_BINS, lo, hi,
                      note="layer inputs")

    def set_input_scales(self) -> None:
        """Every layer's input scale: the percentile of its inputs x headroom over the largest DAC code."""
        a, t = self.asm, self.train
        lo, hi = (f32(v) for v in INPUT_RANGE)
        top = 2 ** (self.in_bits - 1) - 1
        for name, hist in self.input_hist.items():
            scale = self.in_scale[name]
            a.op("vpctl", scale.at(), hist.at(), INPUT_BINS, f32(t.calibration_percentile / 100.0), lo, hi,
                 note=f"{name}: percentile of its inputs")
            a.op("vscl", scale.at(), scale.at(), 1, f32(t.calibration_headroom / top), note="per DAC code")
            a.op("vfill", hist.at(), INPUT_BINS, 0.0)

    def _hist_range(self) -> tuple[str, str]:
        adc = self.cfg.tiles.physics.adc
        return f32(adc.fs_min_ua), f32(adc.fs_max_ua)

    def calibration_reads(self, block_index: int, tile: int, tout, tin, vectors: int, cols: int) -> None:
        """Before a block's mvm (``tcfg`` done): its converter readings into its histogram."""
        if block_index not in self.block_hist:
            return
        lo, hi = self._hist_range()
        self.asm.op("mvmr", tile, tout.at(), tin.at(), vectors, note="converter readings (uA)")
        self.asm.op("vhist", self.block_hist[block_index].at(), tout.at(), vectors * cols, HIST_BINS, lo, hi)

    def set_full_scales(self, percentile: float | None) -> None:
        """Every block's full scale: the widest (``percentile`` None) or the percentile of its histogram x headroom."""
        a, t = self.asm, self.train
        lo, hi = self._hist_range()
        if not self.block_hist:
            return
        if percentile is None:
            a.op("vfill", self.full_scale_word.at(), 1, hi, note="the widest full scale")
        for k, p in enumerate(self.placement.blocks):
            if percentile is not None:
                a.op("vpctl", self.full_scale_word.at(), self.block_hist[k].at(), HIST_BINS, f32(percentile / 100.0), lo, hi,
                     note=f"block {k}: percentile of its readings")
                if t.calibration_headroom != 1.0:
                    a.op("vscl", self.full_scale_word.at(), self.full_scale_word.at(), 1, f32(t.calibration_headroom))
                a.op("vfill", self.block_hist[k].at(), HIST_BINS, 0.0)
            a.op("tcfg", p.tile, p.tile_row, p.tile_col, p.rows, p.cols, self.in_bits)
            a.op("tgain", p.tile, self.full_scale_word.at())

    def emit_calibrate(self) -> str:
        a, t = self.asm, self.train
        a.lines = []
        a.op("mark", 0, "calibrate")
        for k in self.block_hist:
            a.op("vfill", self.block_hist[k].at(), HIST_BINS, 0.0)
        for hist in self.input_hist.values():
            a.op("vfill", hist.at(), INPUT_BINS, 0.0)
        self.set_full_scales(None)
        count = max(1, min(-(-t.calibration_images // self.microbatch), self.n_train // self.microbatch))

        def micro() -> None:
            a.op("muli", REG.image_offset, REG.micro, self.microbatch * self.features)
            a.op("mark", 0, "calibrate")
            a.op("copy", self.activation[self.order[0].name].at(), "train_x(x4)", self.microbatch * self.features)
            self.calibrating = True
            self.forward("calibrate")
            self.calibrating = False

        def one_pass() -> None:
            a.loop(REG.micro, count, micro, note="calibration micro-batches", lanes=self.lanes(("hist_",)))
            if self.input_hist:
                later = a.label("later_pass")
                a.op("bne", REG.outer, REG.zero, later, note="input scales after the first pass only")
                self.set_input_scales()
                a.place(later)
            self.set_full_scales(t.calibration_percentile)

        a.loop(REG.outer, t.calibration_passes, one_pass, note="calibration passes")
        a.op("halt")
        return a.text()
