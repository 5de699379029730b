"""The programs: ``init``, ``train_epoch``, ``evaluate`` and ``calibrate``, each assembled from the parts it uses.

They share one memory layout (socsim.compiler.lower.plan) and one :class:`~socsim.compiler.emit.Asm`: each
function clears the instruction lines, emits its program and returns its text (the symbol declarations and the
layer tags accumulated so far, then its instructions), so they must be emitted in the order above.
"""

from __future__ import annotations

from socsim.compiler.emit import Asm, Buffer, LaneSymbols, offset
from socsim.compiler.lower.backward import Backward
from socsim.compiler.lower.blocks import Blocks
from socsim.compiler.lower.calibrate import Calibration
from socsim.compiler.lower.forward import Forward, load_step, load_training_images
from socsim.compiler.lower.network import Network
from socsim.compiler.lower.pipelined import PipelinedEvaluation
from socsim.compiler.lower.plan import ActivationBuffers
from socsim.compiler.lower.tensors import Tensors
from socsim.compiler.lower.update import Update
from socsim.compiler.registers import REG

TRAIN_REDUCED = ("dw_", "db_", "dgb_", "run_")
"""Symbols a training micro-batch accumulates into: weight, bias and batch-norm gradients, running statistics."""
NOT_PRIVATE = ("step", "correct", "db_", "batches", "inscale_")
"""SRAM symbols (names or prefixes) the micro-batches do not own: the step count, the correct count, bias gradients,
the batch range of a training run, the layers' input scales."""


def lanes(asm: Asm, reduced: tuple[str, ...], private_dram: tuple[str, ...] = ()) -> LaneSymbols:
    """A micro-batch loop's lane symbols: every per-micro-batch buffer (SRAM, tile buffers, the DRAM symbols named
    in ``private_dram``: staged tensors' homes) is private, the symbols named or prefixed in ``reduced`` are reduced
    into; the rest (weights, optimizer state, data) is only read."""
    symbols = dict.fromkeys(b.name for b in asm.buffers.values())
    homes = set(private_dram)
    spaces = {b.name: b.space for b in asm.buffers.values()}
    reduce = tuple(n for n in symbols if n in reduced or n.startswith(tuple(r for r in reduced if r.endswith("_"))))
    private = tuple(n for n in symbols if n not in reduce and not n.startswith(NOT_PRIVATE)
                    and (spaces[n] == "sram" or spaces[n].startswith("tb") or n in homes))
    return LaneSymbols(private, reduce)


def declare_data(asm: Asm, net: Network, tensors: Tensors | None) -> None:
    """The DRAM symbols the host loads the dataset into (socsim.host.training), then the staged tensors' homes
    (none: ``tensors`` None, the inference-only programs, which declare the data first so that the weights' copy
    after it in DRAM leaves the register-indexed data inside the operand offset range)."""
    asm.buffer("train_x", "dram", net.n_train * net.features)
    asm.buffer("train_y", "dram", net.n_train)
    asm.buffer("test_x", "dram", net.n_test * net.features)
    asm.buffer("test_y", "dram", net.n_test)
    if tensors is not None:
        tensors.declare_homes()


def init_program(asm: Asm, net: Network, weight_copy: dict[str, Buffer], blocks: Blocks) -> str:
    """``init``: every weight block write-verified from the digital copy."""
    asm.lines = []
    asm.comment("program every weight block from the digital copy")
    asm.op("mark", 0, "other")
    for node in net.graph.weight_nodes():
        blocks.program_blocks(node.name, weight_copy[node.name], None, net.graph.weight_shape(node.name)[1])
    asm.op("halt")
    return asm.text()


def train_program(asm: Asm, net: Network, activations: ActivationBuffers, tensors: Tensors, forward: Forward,
                  backward: Backward, update: Update) -> str:
    """``train_epoch``: the batches of ``activations.batch_range``, each its micro-batches' forward and backward
    passes (staged: with the copies to and from DRAM), then the update."""
    a, t, m, features = asm, net.train, net.microbatch, net.features
    a.lines = []
    a.op("lw", REG.step, activations.step.at(), note="optimizer step so far")
    update.hyperparameters()

    def micro() -> None:
        offset(a, REG.image_offset, [(REG.outer, t.batch * features), (REG.micro, m * features)])
        offset(a, REG.label_offset, [(REG.outer, t.batch), (REG.micro, m)])
        with tensors.copying():
            train_micro(a, net, activations, tensors, forward, backward)

    a.op("lw", REG.outer, activations.batch_range.at(), note="first batch of this run")
    a.op("lw", REG.batch_end, activations.batch_range.at(1), note="one past its last")
    top = a.label("batches")
    a.place(top)
    a.loop(REG.micro, t.batch // m, micro, note="micro-batches",
           lanes=lanes(a, TRAIN_REDUCED, tuple(h.name for h in tensors.homes.values())))
    update.update()
    a.op("addi", REG.outer, REG.outer, 1)
    a.op("blt", REG.outer, REG.batch_end, top)
    a.op("sw", REG.step, activations.step.at())
    a.op("halt")
    return a.text()


def train_micro(asm: Asm, net: Network, activations: ActivationBuffers, tensors: Tensors, forward: Forward,
                backward: Backward) -> None:
    """One training micro-batch after its offsets: load, forward, loss gradient, backward (the micro-batch the
    staging plan is recorded from)."""
    asm.op("mark", 0, "forward")
    load_step(asm, net, activations, tensors, "train_x", "train_y")
    forward.forward("forward")
    backward.loss_gradient()
    backward.backward()


def eval_program(asm: Asm, net: Network, activations: ActivationBuffers, tensors: Tensors, logits: Buffer,
                 forward: Forward, pipelined: PipelinedEvaluation | None) -> str:
    """``evaluate``: every test micro-batch's forward pass (sequential, or ``pipelined``), argmax of ``logits``,
    the count of correct predictions."""
    a, m, acts = asm, net.microbatch, activations
    a.lines = []
    a.op("vfill", acts.correct.at(), 1, 0.0, note="correct = 0")
    if pipelined is not None:
        pipelined.prologue()

    def micro() -> None:
        a.op("muli", REG.image_offset, REG.micro, m * net.features)
        a.op("muli", REG.label_offset, REG.micro, m)
        a.op("mark", 0, "eval")
        if pipelined is not None:
            pipelined.forward()
        else:
            load_step(a, net, acts, tensors, "test_x", "test_y")
            forward.forward("eval")
        a.op("mark", 0, "eval")
        a.op("argmax", acts.predictions.at(), logits.at(), m, net.classes)
        a.op("vcmpeq", acts.predictions.at(), acts.predictions.at(), acts.labels.at(), m)
        a.op("vsum", acts.hits.at(), acts.predictions.at(), m)
        a.op("vadd", acts.correct.at(), acts.correct.at(), acts.hits.at(), 1)

    a.loop(REG.micro, net.n_test // m, micro, note="test micro-batches", lanes=lanes(a, ("correct",)))
    a.op("halt")
    return a.text()


def calibrate_program(asm: Asm, net: Network, tensors: Tensors, reading_forward: Forward,
                      calibration: Calibration) -> str:
    """``calibrate`` (socsim.compiler.lower.calibrate): passes over the first training images through
    ``reading_forward`` (a forward pass whose blocks record their readings), setting the scales after each."""
    a, t, m = asm, net.train, net.microbatch
    a.lines = []
    a.op("mark", 0, "calibrate")
    calibration.clear_histograms()
    calibration.set_full_scales(None)
    count = max(1, min(-(-t.calibration_images // m), net.n_train // m))

    def micro() -> None:
        load_training_images(a, net, tensors, "calibrate")
        reading_forward.forward("calibrate")

    def one_pass() -> None:
        a.loop(REG.micro, count, micro, note="calibration micro-batches", lanes=lanes(a, ("hist_", "calrun_")))
        if calibration.buffers.input_hist:
            later = a.label("later_pass")
            a.op("bne", REG.outer, REG.zero, later, note="input scales after the first pass only")
            calibration.set_input_scales()
            a.place(later)
        calibration.set_full_scales(t.calibration_percentile)

    a.loop(REG.outer, t.calibration_passes, one_pass, note="calibration passes")
    a.op("halt")
    return a.text()
