"""How the compiled program trains and how the compiler maps and lowers a graph: the training scheme, optimizer
and quantisation (:class:`TrainConfig`), row blocking, placement, datapath and staging (:class:`CompilerConfig`).

:class:`~socsim.config.soc.SocConfig` composes them; import them from :mod:`socsim.config.soc` as before.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from socsim.base.configtools import ConfigError, Params, param
from socsim.config.parts import WU


class Scheme(enum.Enum):
    """Training scheme (config + compiler recipe), see docs/training.md."""

    WU2023 = "wu2023"
    """Forward on the arrays, digital backward from the weight copy, accumulate, threshold write-verify."""
    NAIVE = "naive"
    """No accumulation: every batch, each weight is written to (what its devices hold + the update),
    and the digital copy is then read back from the devices, so updates below a level are lost."""
    IDEAL = "ideal"
    """As wu2023 on ideal devices and converters; must match the numpy baseline."""
    MP_ONARRAY = "mp_onarray"
    """Nandakumar-style: backward by transposed MVM on the arrays, pulses = trunc(acc / eps) open loop."""
    PCM_HIC = "pcm_hic"
    """Hybrid binary + multi-level PCM: backward on the arrays, low-precision accumulator, open-loop pulses
    on the multi-level slice with refresh into the binary slices (Joshi et al. 2021)."""
    RADIX4 = "radix4"
    """Grimm, Lee, Verma 2024 on Sun et al. 2020's number formats: INT weights and activations forward, radix-4 FP4
    backward errors (GradScale, two-phase rounding) driven through the transposed arrays, FP32 master weights
    re-quantised every batch."""
    RADIX4_DIGITS = "radix4_digits"
    """The earlier reading of radix-4: integer activations and errors driven as radix-4 digit pulses (4 levels);
    backward on the arrays, wu2023 transfer."""


ERROR_SCALINGS = ("percentile", "fixed")
"""train.error_scaling values: the chip's per-layer statistic, or the fixed train.error_range."""


@dataclass(frozen=True)
class TrainConfig(Params):
    """How the compiled program trains: scheme, optimizer, batch, quantisation of the tile inputs."""

    scheme: Scheme = param(Scheme.WU2023, doc="wu2023, naive, ideal, mp_onarray, pcm_hic, radix4 or radix4_digits "
                                              "(socsim/compiler/recipes.py)")
    epochs: int = param(2, unit="epochs", lo=1, hi=100000)
    batch: int = param(64, unit="images", lo=1, hi=65535, source=WU)
    optimizer: str = param("adamw", doc="adamw or sgd")
    lr: float = param(0.004, lo=0.0, hi=10.0, source=WU)
    beta1: float = param(0.9, lo=0.0, hi=1.0)
    beta2: float = param(0.999, lo=0.0, hi=1.0)
    eps: float = param(1e-8, lo=0.0, hi=1.0)
    weight_decay: float = param(0.0, lo=0.0, hi=1.0)
    momentum: float = param(0.0, lo=0.0, hi=1.0, doc="SGD momentum")
    transfer_levels: float = param(1.0, unit="device levels", lo=0.0,
                                   doc="wu2023: write a weight only when |accumulated update| reaches this many "
                                       "programming levels of one device (naive, ideal: every update is written)",
                                   source=WU)
    weight_range: float = param(1.5, unit="x init bound", lo=1e-3,
                                doc="a layer's crossbar weight range +-w_max stands for +-weight_range / "
                                    "sqrt(fan_in) digital weight units (ideal: unscaled)",
                                source="design choice: best of 0.8-3.0 for the digits MLP on wu2023 (docs/training.md)")
    in_bits: int = param(8, unit="bits", lo=0, hi=16, doc="DAC input bits (0: analog, unquantised)", source=WU)
    input_range: float = param(1.0, lo=1e-9, doc="largest network input (data in [0, 1])")
    act_range: float = param(4.0, lo=1e-9, doc="largest hidden activation before clipping at the DAC")
    error_scaling: str = param("percentile",
                               doc="integer backward errors driven into the arrays (transposed MVM): percentile = "
                                   "each layer's error scale measured by the chip, per layer and micro-batch, as "
                                   "train.error_percentile of |error| from a histogram (vhist, vpctl) over the "
                                   "largest code; fixed = every layer's errors over train.error_range (older "
                                   "results)",
                               source="per-layer error scaling: Nandakumar et al. 2020; Sun et al. 2020 (GradScale)")
    error_percentile: float = param(99.9, unit="%", lo=0.0, hi=100.0,
                                    doc="error_scaling = percentile: a layer's largest error code stands for this "
                                        "percentile of the magnitudes of its micro-batch's errors",
                                    source="design choice: the forward calibration's percentile (docs/training.md)")
    error_range: float = param(0.05, lo=1e-12,
                               doc="error_scaling = fixed: largest backward error before clipping at the DAC "
                                   "(transposed MVM), every layer alike")
    error_exponents: int = param(7, unit="exponents", lo=1, hi=7,
                                 doc="radix-4 FP4 errors (scheme radix4): nonzero magnitudes 4^-k of the format, "
                                     "k < this (3 exponent bits: 7 and one code for zero); the codes take 2 x this DAC "
                                     "bits",
                                 source="Sun et al., NeurIPS 2020 (radix-4 FP4, [1,3,0]); the zero code is our choice")
    error_last_fp32: bool = param(False, doc="radix-4 FP4 errors (scheme radix4): the last weight layer's errors (the "
                                             "loss gradient) stay FP32, its input gradient computed on the digital "
                                             "unit from the FP32 master copy (the last layer at higher precision)",
                                  source="our choice (docs/training.md): rounded to radix-4, the softmax gradient "
                                         "keeps a common mode that destabilises LeNet training (docs/results.md)")
    acc_bits: int = param(0, unit="bits", lo=0, hi=24,
                          doc="update accumulator width: signed fixed point, saturating (0: FP32 accumulator)")
    acc_lsb: float = param(0.0625, unit="transfer quanta", lo=1e-6, hi=1.0,
                           doc="with acc_bits > 0: the accumulator's LSB as a fraction of the scheme's transfer "
                               "quantum (one pulse step, or the write threshold)")
    init_seed: int = param(1, lo=0, hi=(1 << 31) - 1, doc="seed of the initial weights")
    calibration_images: int = param(16, unit="images", lo=0, hi=1 << 20,
                                    doc="training images (at least, in whole micro-batches) the calibrate program "
                                        "reads to set each block's converter full scale, after init and every "
                                        "epoch; 0 = no calibration (also none without tiles.physics.adc.fs_bits)",
                                    source="design choice (docs/training.md)")
    calibration_percentile: float = param(99.9, unit="%", lo=0.0, hi=100.0,
                                          doc="a block's full scale is this percentile of its converter readings",
                                          source="design choice (docs/training.md)")
    calibration_headroom: float = param(1.0, unit="x percentile", lo=0.01, hi=100.0,
                                        doc="multiplies the percentile: the full scale a block is set to",
                                        source="design choice (docs/training.md)")
    calibrate_every: int = param(8, unit="batches", lo=0, hi=1 << 20,
                                 doc="during an epoch, calibrate after every this many batches (the epoch's training "
                                     "runs in stretches); 0 = after every epoch only",
                                 source="design choice (docs/training.md)")
    calibration_passes: int = param(2, unit="passes", lo=1, hi=16,
                                    doc="passes of the calibrate program: the first reads at the widest full scale, "
                                        "each next one at the full scale the pass before set",
                                    source="design choice (docs/training.md)")

    def validate(self) -> None:
        if self.optimizer not in ("adamw", "sgd"):
            raise ConfigError(f"TrainConfig.optimizer = {self.optimizer!r}; expected adamw or sgd")
        if self.error_scaling not in ERROR_SCALINGS:
            raise ConfigError(f"TrainConfig.error_scaling = {self.error_scaling!r}; expected one of "
                              f"{', '.join(ERROR_SCALINGS)}")


class RowBlocking(enum.Enum):
    """Where a weight matrix's rows are cut into crossbar row blocks."""

    CUT = "cut"
    """Every ``tiles.rows`` rows (a 3 x 3 kernel of one channel may straddle two blocks)."""
    KERNEL = "kernel"
    """Whole kernels: a block of a convolution holds floor(tiles.rows / (kh x kw)) input channels (28 of a 3 x 3
    kernel on 256 rows: 252 rows), so a block's im2col rows are an address pattern over its channels."""


class PlacementPolicy(enum.Enum):
    """How the lowering places blocks on tiles (socsim/compiler/mapping/placement.py)."""

    PACK = "pack"
    """Column strips, first fit in layer order: small layers share a tile, as do a layer's own blocks."""
    SPREAD = "spread"
    """Column strips, first fit, but the blocks of one layer on distinct tiles, so they can run concurrently."""


class Datapath(enum.Enum):
    """How the evaluation program drives the tiles (docs/compiler.md)."""

    SEQUENTIAL = "sequential"
    """Per block: DMA gather into the tile buffer, quantise in the digital unit, mvm, DMA scatter-add the partial
    sums; one block after another."""
    PIPELINED = "pipelined"
    """mvms: each tile streams its inputs from SRAM with its own address generator (double-buffered), quantises
    them, adds the partial sums of the tile before it in its output stage (chained as the vectors come) and applies
    the layer's epilogue; the blocks of a layer run concurrently. Same numerics as sequential, other timing."""


class Staging(enum.Enum):
    """Whether the training program stages activations and gradients through DRAM (docs/compiler.md, "Staging
    through DRAM")."""

    OFF = "off"
    """Every activation, gradient and padded copy has its own data-SRAM symbol for the whole micro-batch."""
    AUTO = "auto"
    """As off when that plan fits the data SRAM at some micro-batch; otherwise as always."""
    ALWAYS = "always"
    """Tensors share one SRAM pool by liveness over the forward and backward steps; a forward tensor the backward
    pass reads again is copied out to DRAM after its last forward use and back before its first backward use, and
    the update transfer works on one block row band of a layer at a time."""


@dataclass(frozen=True)
class CompilerConfig(Params):
    """How the compiler maps a graph onto the tiles and lowers it (docs/compiler.md)."""

    row_blocking: RowBlocking = param(RowBlocking.CUT, doc="cut: every tiles.rows rows; kernel: whole kernels per "
                                                            "block", source=f"kernel: {WU}, Table 2 crossbar counts")
    placement: PlacementPolicy = param(PlacementPolicy.PACK,
                                       doc="pack: first-fit column strips; spread: a layer's blocks on distinct tiles")
    datapath: Datapath = param(Datapath.SEQUENTIAL, doc="sequential or pipelined evaluation program (socsim infer "
                                                        "--pipelined sets pipelined)")
    staging: Staging = param(Staging.AUTO, doc="off, auto (only when the data SRAM does not hold the unstaged plan) "
                                               "or always: activations and gradients staged through DRAM",
                             source="design choice (docs/compiler.md, 'Staging through DRAM')")
