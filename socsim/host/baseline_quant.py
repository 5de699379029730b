"""The numpy baseline with the radix4 scheme's quantisers: INT weights and activations forward, radix-4 FP4 errors.

An analysis baseline, like :mod:`socsim.host.baseline` (which it extends): it shares the graph, the data order, the
initial weights and the optimizer with the chip and nothing else, and it re-implements each quantiser from its
definition (Sun et al., NeurIPS 2020), so a test can hold the chip's instructions to it:

- a weight layer's input is rounded to ``train.in_bits``-bit signed codes over ``train.input_range`` (the network
  input) or ``train.act_range`` (hidden activations), as the compiled ``quant`` does; when the config calibrates
  (``train.calibration_images > 0``), each layer's input scale is then set from its inputs' statistics as the
  compiled ``calibrate`` program sets ``inscale_NAME`` (:meth:`QuantisedBaseline.calibrate`), at the same points
  of training (before the first epoch and after every ``train.calibrate_every`` batches);
- its weights are the FP32 master copy rounded to the array's signed integer codes (step ``alpha x`` one level,
  clamped to ``+-alpha w_max``), the master copy clamped there after every update (the QUANTIZED transfer);
- its output gradient is rounded per micro-batch to radix-4 FP4: the scale is the power of two nearest to the
  tensor's largest magnitude whose exponent is even (the copy for dL/dW) or odd (the copy for dL/dX), the values
  the nearest of 0 and ``+-scale 4^-k``, ``k < train.error_exponents`` (ties away from zero).

With a scheme whose integer errors drive the arrays (``int_errors``: mp_onarray, pcm_hic, radix4_digits), the output
gradient's copy for dL/dX is instead rounded per micro-batch to ``train.in_bits``-bit codes over the scale the chip
measures (:func:`error_scale`: the ``train.error_percentile`` of the micro-batch's error magnitudes from the chip's
histogram, over the largest code; ``train.error_scaling = "fixed"``: ``train.error_range``), the copy for dL/dW
FP32, as the compiled ``vhist`` / ``vpctl`` / ``quantm`` do.

The weight gradient multiplies the FP32 activations, as the chip's digital unit does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from socsim.base.errors import InputError
from socsim.compiler.graph import Graph
from socsim.compiler.lower.calibrate import INPUT_BINS, INPUT_RANGE, calibrates
from socsim.compiler.lower.errors import ERROR_BINS, ERROR_RANGE
from socsim.compiler.recipes import Backward, Errors, recipe
from socsim.config.soc import SocConfig, TrainConfig
from socsim.host.baseline import F32, Baseline
from socsim.physics.registry import weight_level


def int_codes(x: np.ndarray, scale: np.float32, bits: int) -> np.ndarray:
    """``x`` rounded (half to even) to signed ``bits``-bit codes of ``scale``, clipped to +-(2^(bits-1) - 1), times
    ``scale``."""
    top = 2 ** (bits - 1) - 1
    return (np.clip(np.round(x / scale), -top, top) * scale).astype(F32)


def fp4_scale(amax: float, odd: bool) -> float:
    """The power of two nearest to ``amax`` whose exponent is odd (``odd``) or even (on a tie the larger); 2 or 1
    when amax = 0."""
    if amax == 0:
        return 2.0 if odd else 1.0
    e = int(np.floor(np.log2(amax)))
    powers = [2.0 ** k for k in range(e - 3, e + 4) if (k % 2 == 1) == odd]
    return min(powers, key=lambda p: (abs(p - amax), -p))


def fp4_values(x: np.ndarray, odd: bool, exponents: int) -> np.ndarray:
    """``x`` rounded to radix-4 FP4 with the scale of its own largest magnitude (:func:`fp4_scale`)."""
    scale = fp4_scale(float(np.abs(x).max(initial=0.0)), odd)
    grid = scale * 4.0 ** -np.arange(exponents)[::-1]                   # smallest first
    candidates = np.concatenate([[0.0], grid])
    r = np.abs(x.astype(np.float64))[..., None]
    dist = np.abs(r - candidates)
    nearest = candidates.size - 1 - np.argmin(dist[..., ::-1], axis=-1)  # on a tie, the larger magnitude
    return (np.sign(x) * candidates[nearest]).astype(F32)


def histogram_percentile(mags: list[np.ndarray], q: float, bins: int, lo: float, hi: float) -> float:
    """The ``q`` quantile (0..1) of the magnitudes, read from their log-spaced histogram as the chip's ``vpctl``
    does: the upper edge ``lo (hi / lo)^((b + 1) / bins)`` of the first bin ``b`` whose running count reaches ``q``
    of all. Bin ``b`` holds ``[lo r^b, lo r^(b + 1))``, ``r = (hi / lo)^(1 / bins)``; smaller magnitudes (zero too)
    count in bin 0, larger ones in the last."""
    counts = np.zeros(bins, np.float64)
    for m in mags:
        with np.errstate(divide="ignore"):
            b = np.floor(bins * np.log(m.astype(np.float64).ravel() / lo) / np.log(hi / lo))
        counts += np.bincount(np.clip(np.nan_to_num(b, neginf=0), 0, bins - 1).astype(np.int64), minlength=bins)
    first = int(np.argmax(np.cumsum(counts) >= q * counts.sum()))
    return lo * (hi / lo) ** ((first + 1.0) / bins)


def error_scale(g: np.ndarray, train) -> np.float32:
    """The value of one error code of a layer's micro-batch errors ``g``, as the chip sets ``escale``: the
    ``train.error_percentile`` of their magnitudes from the log-spaced histogram (:func:`histogram_percentile` over
    ERROR_BINS, ERROR_RANGE) over the largest ``train.in_bits``-bit code, or ``train.error_range`` over it when
    ``train.error_scaling = "fixed"``."""
    top = 2 ** (train.in_bits - 1) - 1
    if train.error_scaling == "fixed":
        return F32(train.error_range / top)
    edge = F32(histogram_percentile([np.abs(g)], train.error_percentile / 100.0, ERROR_BINS, *ERROR_RANGE))
    return F32(edge * F32(1.0 / top))


def calibrated_epoch(train: TrainConfig, x: np.ndarray, y: np.ndarray,
                     train_images: Callable[[np.ndarray, np.ndarray], float],
                     calibrate: Callable[[np.ndarray], None]) -> float:
    """One epoch trained by ``train_images`` in stretches of ``train.calibrate_every`` batches (the whole epoch when
    0), ``calibrate(x)`` after each, as the chip's training program calls its ``calibrate`` program; the mean loss."""
    b, n, every = train.batch, len(x) // train.batch, train.calibrate_every
    stretches = [(0, n)] if every == 0 or every >= n else [(s, min(s + every, n)) for s in range(0, n, every)]
    losses = []
    for first, end in stretches:
        losses.append(train_images(x[first * b:end * b], y[first * b:end * b]) * (end - first))
        calibrate(x)
    return float(sum(losses) / n)


@dataclass
class QuantisedBaseline(Baseline):
    """The numpy baseline with the radix4 scheme's INT forward and radix-4 FP4 backward quantisers."""

    cfg: SocConfig | None = None
    """The chip configuration whose quantisers to copy (``train``: in_bits, ranges, error_exponents)."""
    microbatch: int = 1
    """Images per GradScale statistic (the compiled program's micro-batch)."""
    fp4_errors: bool = True
    """False: the errors stay FP32 (INT forward only), to separate the two quantisers."""
    two_phase: bool = True
    """False: both copies are rounded to even powers of two (no two-phase rounding)."""
    fp32_last: bool | None = None
    """True: the last weight layer's errors stay FP32 and its input gradient uses the FP32 master weights (the
    last layer at higher precision); None: as ``train.error_last_fp32`` says."""
    int_errors: bool | None = None
    """True: the errors for dL/dX are integer codes over the chip's measured scale (:func:`error_scale`), not
    radix-4 FP4; None: when the config's scheme drives integer errors into the arrays."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cfg is None:
            raise InputError("QuantisedBaseline needs cfg, the SoC configuration whose quantisers it copies")
        if self.fp32_last is None:
            self.fp32_last = self.train.error_last_fp32
        if self.int_errors is None:
            rec = recipe(self.train.scheme)
            self.int_errors = rec.backward is Backward.ARRAYS and rec.errors is Errors.INT
        self.last = self.graph.weight_nodes()[-1].name
        phys, t = self.cfg.tiles.physics, self.train
        top = 2 ** (t.in_bits - 1) - 1
        graph: Graph = self.graph
        weighted: dict[str, bool] = {}
        for node in graph.nodes:
            weighted[node.name] = (graph.weight_shape(node.name) is not None
                                   or any(weighted[i] for i in node.inputs))
        self.in_scale = {n.name: F32((t.act_range if weighted[n.inputs[0]] else t.input_range) / top)
                         for n in graph.weight_nodes()}
        self.calibrates = calibrates(self.cfg) and t.in_bits > 0
        """Whether the input scales follow the calibration (the compiled programs include ``calibrate``)."""
        self.calibrations = 0
        """Calibrations so far (the first precedes the first epoch)."""
        self._seen: dict[str, list[np.ndarray]] | None = None   # layer inputs' magnitudes, while calibrating
        self.w_step, self.w_bound = {}, {}
        level = weight_level(phys)
        self.w_bits = int(round(phys.w_max / level)).bit_length() + 1
        for node in graph.weight_nodes():
            alpha = t.weight_range / float(np.sqrt(graph.weight_shape(node.name)[0])) / phys.w_max
            self.w_step[node.name] = F32(alpha * level)
            self.w_bound[node.name] = F32(alpha * phys.w_max)

    def layer_input(self, node, a: np.ndarray) -> np.ndarray:
        if self._seen is not None:
            self._seen[node.name].append(np.abs(a))
        return int_codes(a, self.in_scale[node.name], self.train.in_bits)

    def calibrate(self, x: np.ndarray) -> None:
        """Every layer's input scale from the first calibration images of ``x`` (the epoch's order), as the compiled
        ``calibrate`` program's first pass sets ``inscale_NAME``: a forward pass per micro-batch over
        ``train.calibration_images`` images rounded up to whole micro-batches (at most the whole micro-batches of
        ``x``), BatchNorm on each micro-batch's own statistics with the running statistics restored after, each
        layer's inputs before rounding, their ``train.calibration_percentile`` from the histogram
        (:func:`histogram_percentile`), times ``train.calibration_headroom`` over the largest code."""
        t, m = self.train, self.microbatch
        count = max(1, min(-(-t.calibration_images // m), len(x) // m))
        self._seen = {n.name: [] for n in self.graph.weight_nodes()}
        run = {k: v.copy() for k, v in self.bn_run.items()}
        try:
            if self.bn_run:
                for s in range(0, count * m, m):
                    self.forward(x[s:s + m], train=True)
            else:
                self.forward(x[:count * m])
            seen = self._seen
        finally:
            self._seen = None
            for k, v in run.items():
                self.bn_run[k][:] = v
        top = 2 ** (t.in_bits - 1) - 1
        for name, mags in seen.items():
            edge = F32(histogram_percentile(mags, t.calibration_percentile / 100.0, INPUT_BINS, *INPUT_RANGE))
            self.in_scale[name] = F32(edge * F32(t.calibration_headroom / top))
        self.calibrations += 1

    def train_epoch(self, x: np.ndarray, y: np.ndarray) -> float:
        """One epoch as the base class trains it; when the config calibrates, calibrated before the first epoch
        (on its first images) and after every ``train.calibrate_every`` batches and the epoch's last one, on the
        first images of ``x``, where socsim.host.training.ChipTrainer runs the ``calibrate`` program."""
        if not self.calibrates:
            return super().train_epoch(x, y)
        if self.calibrations == 0:
            self.calibrate(x)
        return calibrated_epoch(self.train, x, y, super().train_epoch, self.calibrate)

    def forward_weight(self, name: str) -> np.ndarray:
        return int_codes(self.weights[name], self.w_step[name], self.w_bits)

    def backward_weight(self, name: str) -> np.ndarray:
        if self.fp4_errors and self.fp32_last and name == self.last:
            return self.weights[name]                   # the digital unit's FP32 master copy
        return self.forward_weight(name)

    def layer_errors(self, node, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.int_errors:
            q = np.empty_like(g)
            for start in range(0, len(g), self.microbatch):  # one measured scale per layer and micro-batch
                part = g[start:start + self.microbatch]
                q[start:start + self.microbatch] = int_codes(part, error_scale(part, self.train), self.train.in_bits)
            return g, q
        if not self.fp4_errors or (self.fp32_last and node.name == self.last):
            return g, g
        out = []
        for odd in (False, self.two_phase):
            q = np.empty_like(g)
            for start in range(0, len(g), self.microbatch):  # one GradScale statistic per micro-batch
                q[start:start + self.microbatch] = fp4_values(g[start:start + self.microbatch], odd,
                                                              self.train.error_exponents)
            out.append(q)
        return out[0], out[1]

    def apply(self, grads: dict[str, np.ndarray]) -> None:
        super().apply(grads)
        for name, w in self.weights.items():
            np.clip(w, -self.w_bound[name], self.w_bound[name], out=w)
