"""BatchNorm statistics re-estimated on the chip as it is now: the ``bnstats`` program of the inference-only programs.

A drift compensation (socsim.compiler.compensations): after the devices have drifted, the activations each
BatchNorm layer sees are no longer those its running statistics were recorded from (global drift compensation
rescales a layer by one factor, but the drift exponent differs from device to device and channel to channel).
Joshi et al. 2020 ("Accurate deep neural network inference using computational phase-change memory", Nat. Commun.
11, 2473) re-estimate the BatchNorm statistics on the drifted hardware from a set of training images (adaptive
batch-normalization statistics, AdaBS). Here: forward passes over the first ``bn_images`` training images (whole
micro-batches), each BatchNorm step normalising by its micro-batch's statistics (``bnfwd``, as a training pass
does); each step's micro-batch mean and unbiased variance go to scratch words (``bnfwd`` with momentum 1), are
added up over the micro-batches, and the sums times 1 / micro-batches become the running statistics ``run_NAME``
that the evaluation (``bneval``) reads. An equal-weight average, not training's exponential moving average: with
momentum 0.1 that would keep mostly the last ~10 micro-batches, so more images would not mean better statistics.
The average estimates what training's running statistics estimate (the expected micro-batch mean and unbiased
variance), with the spread of an average of every image read.
"""

from __future__ import annotations

from socsim.compiler.emit import Asm, f32
from socsim.compiler.layers.batchnorm import BatchNorm, bn_dims
from socsim.compiler.lower.forward import Forward, load_training_images
from socsim.compiler.lower.network import Network
from socsim.compiler.lower.plan import StatisticsBuffers
from socsim.compiler.lower.programs import lanes
from socsim.compiler.lower.tensors import Tensors
from socsim.compiler.registers import REG


def bn_nodes(net: Network) -> list[str]:
    """The BatchNorm nodes of the network, in graph order."""
    return [n.name for n in net.order if isinstance(n.layer, BatchNorm)]


def micro_batches(net: Network) -> int:
    """Micro-batches the program reads: ``bn_images`` rounded up to whole micro-batches, at most the training set's."""
    return max(1, min(-(-net.bn_images // net.microbatch), net.n_train // net.microbatch))


def plan_statistics(net: Network, asm: Asm) -> StatisticsBuffers:
    """Declare the program's words."""
    channels = {name: bn_dims(net.graph.in_shapes(name)[0])[0] for name in bn_nodes(net)}
    return StatisticsBuffers({n: asm.buffer(f"bns_batch_{n}", "sram", 2 * c) for n, c in channels.items()},
                             {n: asm.buffer(f"bns_sum_{n}", "sram", 2 * c) for n, c in channels.items()},
                             asm.buffer("bns_xhat", "sram", net.microbatch * max(net.size(n) for n in channels)),
                             asm.buffer("bns_stats", "sram", 2 * max(channels.values())))


def bnstats_program(asm: Asm, net: Network, tensors: Tensors, forward: Forward, bns: StatisticsBuffers) -> str:
    """``bnstats``: the forward passes of :func:`micro_batches` micro-batches of training images up to the last
    BatchNorm layer (``forward``: its BatchNorm steps write ``bns``), each BatchNorm layer's statistics summed, then
    their average into ``run_``."""
    a, count = asm, micro_batches(net)
    a.lines = []
    a.op("mark", 0, "calibrate")  # a calibration of the statistics: ledgered with the calibration
    for name, total in bns.total.items():
        a.op("vfill", total.at(), total.words, 0.0, note=f"sum of {name}'s micro-batch statistics")

    def micro() -> None:
        for batch in bns.batch.values():
            a.op("vfill", batch.at(), batch.words, 0.0, note="bnfwd blends into it with momentum 1")
        load_training_images(a, net, tensors, "calibrate")
        forward.forward("calibrate", until=bn_nodes(net)[-1])  # the layers after the last BatchNorm change nothing
        a.op("mark", 0, "calibrate")
        for name, total in bns.total.items():
            a.op("vadd", total.at(), total.at(), bns.batch[name].at(), total.words)

    a.loop(REG.micro, count, micro, note=f"{count} micro-batches of training images",
           lanes=lanes(a, ("bns_sum_",)))
    for name, total in bns.total.items():
        a.op("vscl", f"run_{name}", total.at(), total.words, f32(1.0 / count), note="mean, variance: the average")
    a.op("halt")
    return a.text()
