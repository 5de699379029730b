"""Where the per-micro-batch tensors are while the lowering emits a step of the micro-batch.

The tensors are the activations (``a_NODE``), gradients (``g_NODE``), padded inputs (``pad_CONV``), padded input
gradients (``gpad_CONV``) and normalised activations (``xhat_BN``), named by the symbol they have unstaged.
Unstaged, each is its own SRAM symbol for the whole program. Staged (``compiler.staging``,
socsim.compiler.memory.staging), the micro-batch is a sequence of steps (:func:`micro_steps`) and a tensor is a view of
the ``pool`` symbol only while the staging plan keeps it resident: :meth:`Tensors.enter` moves emission to a step,
pointing every tensor at its view (and, in the training micro-batch, emitting the copies to and from DRAM first). The
plan itself comes from a recording: the training micro-batch emitted once into a throwaway list while :class:`Tensors`
notes which tensors each step looks up (:meth:`Tensors.recording`).

The emitters (socsim.compiler.lower.forward, lower.backward, lower.programs) look every tensor up here, never in
the memory layout, so one emission serves both.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from socsim.compiler.emit import Asm, Buffer
from socsim.compiler.lower.network import Network
from socsim.compiler.memory.staging import Segment, StagingPlan, plan_staging

LOAD, FORWARD, LOSS, BACKWARD = "load", "forward", "loss", "backward"
"""Kinds of micro-batch step: the input load, a node's forward computation, the loss gradient, a node's backward."""


def micro_steps(net: Network) -> dict[tuple[str, str], int]:
    """The steps of a micro-batch in emission order, numbered: (kind, node) -> step (node "" for load and loss)."""
    keys = [(LOAD, ""), *((FORWARD, n.name) for n in net.order[1:-1]), (LOSS, ""),
            *((BACKWARD, n.name) for n in reversed(net.order[1:-1]) if net.weighted[n.name])]
    return {k: i for i, k in enumerate(keys)}


@dataclass(frozen=True)
class TensorNames:
    """Which tensor holds what (by its unstaged symbol name) and each tensor's words."""

    output: dict[str, str]
    """Per node but the loss: the tensor of its output (a flatten, and a relu that is its input's only reader, share
    their input's)."""
    gradient: dict[str, str]
    """Per node with weights upstream: the tensor of d(loss)/d(its output) (shared along an aliased chain)."""
    pad: dict[str, str]
    """Per padding convolution: its zero-padded input."""
    gradient_pad: dict[str, str]
    """Per convolution that builds its input gradient apart: the (padded) input gradient."""
    xhat: dict[str, str]
    """Per batch norm: its normalised activations (written forward, read backward)."""
    words: dict[str, int]
    """Words of every tensor (for the micro-batch)."""


class DeadBuffer(Buffer):
    """A staged tensor at a step where it is not resident: addressing it is a lowering bug, never an overlap."""

    def at(self, offset: int = 0, reg: str | None = None) -> str:
        raise AssertionError(f"tensor {self.name!r} is addressed at a step where the staging plan has no segment "
                             "for it")


def _unrecorded(tensor: str) -> None:
    """A recorded tensor's use, noted nowhere (the default of :class:`_Recorded`)."""


@dataclass
class _Recorded(Buffer):
    """A tensor while the training micro-batch is recorded: each operand made of it notes its use at the step."""

    note: Callable[[str], None] = field(default=_unrecorded, repr=False)

    def at(self, offset: int = 0, reg: str | None = None) -> str:
        self.note(self.name)
        return super().at(offset, reg)


class Tensors:
    """The tensors as the step being emitted finds them (see the module docstring).

    Built unstaged (``fixed``: every tensor's own symbol) or staged (``fixed`` holds undeclared placeholders until
    :meth:`stage` places the tensors in the pool). The one mutable part of the lowering: the step being emitted.
    """

    def __init__(self, asm: Asm, net: Network, names: TensorNames, fixed: dict[str, Buffer]):
        self.asm, self.net, self.names = asm, net, names
        self.steps = micro_steps(net)
        self.plan: StagingPlan | None = None
        """The staging plan (None: unstaged, or staged but the SRAM overflows before any tensor is placed)."""
        self.pool: Buffer | None = None
        self.homes: dict[str, Buffer] = {}
        """The DRAM home of each staged tensor (declared with the datasets: :meth:`declare_homes`)."""
        self._views: dict[Segment, Buffer] = {}
        self._fixed = dict(fixed)
        self._now: dict[str, Buffer] = dict(fixed)
        self._used: dict[int, set[str]] = {}
        self._step = 0
        self._copying = False

    # lookups --------------------------------------------------------------------------------------------------
    def _get(self, tensor: str) -> Buffer:
        return self._now[tensor]

    def output(self, node: str) -> Buffer:
        return self._get(self.names.output[node])

    def gradient(self, node: str) -> Buffer:
        return self._get(self.names.gradient[node])

    def has_gradient(self, node: str) -> bool:
        return node in self.names.gradient

    def pad(self, conv: str) -> Buffer:
        return self._get(self.names.pad[conv])

    def gradient_pad(self, conv: str) -> Buffer:
        return self._get(self.names.gradient_pad[conv])

    def has_gradient_pad(self, conv: str) -> bool:
        return conv in self.names.gradient_pad

    def xhat(self, bn: str) -> Buffer:
        return self._get(self.names.xhat[bn])

    def final_output(self, node: str) -> Buffer:
        """Node ``node``'s output where the last forward step leaves it (where ``evaluate`` reads the logits)."""
        tensor = self.names.output[node]
        if self.plan is None:
            return self._fixed[tensor]
        last = max(self.steps[k] for k in self.steps if k[0] == FORWARD)
        seg = self.plan.at(tensor, last)
        assert seg is not None, f"the logits' tensor {tensor!r} is not resident after the forward pass"
        return self._views[seg]

    # steps ----------------------------------------------------------------------------------------------------
    def enter(self, kind: str, node: str = "") -> None:
        """Emission enters micro-batch step (``kind``, ``node``): unstaged, nothing; staged, the copies out of the
        tensors whose forward use ended and back in of those this step reads again (training only), then every
        tensor at its view of the pool (or dead)."""
        step = self.steps[(kind, node)]
        self._step = step
        if self.plan is None:
            return
        a = self.asm
        if self._copying:
            for seg in self.plan.copies_out(step):
                a.op("copy", self.homes[seg.tensor].at(), self._views[seg].at(), seg.words,
                     note=f"stage {seg.tensor} out to DRAM")
            for seg in self.plan.copies_in(step):
                a.op("copy", self._views[seg].at(), self.homes[seg.tensor].at(), seg.words,
                     note=f"stage {seg.tensor} back in")
        live = {seg.tensor: self._views[seg] for seg in self.plan.segments if seg.live(step)}
        self._now = {name: live.get(name) or DeadBuffer(name, "sram", words)
                     for name, words in self.names.words.items()}

    @contextmanager
    def copying(self) -> Iterator[None]:
        """While the training micro-batch is emitted: :meth:`enter` also emits the copies to and from DRAM."""
        self._copying = True
        try:
            yield
        finally:
            self._copying = False

    # staging ---------------------------------------------------------------------------------------------------
    def recording(self, emit: Callable[[], None]) -> dict[int, frozenset[str]]:
        """The tensors each step of ``emit()`` names in an operand, emitting it into a throwaway list."""
        fixed, self._used = self._now, {}

        def note(tensor: str) -> None:
            self._used.setdefault(self._step, set()).add(tensor)
        self._now = {name: _Recorded(b.name, b.space, b.words, b.base, b.addr, note) for name, b in fixed.items()}
        try:
            with self.asm.discarded():
                emit()
        finally:
            self._now = fixed
        return {step: frozenset(names) for step, names in self._used.items()}

    def stage(self, emit_micro: Callable[[], None], sram_over: bool) -> None:
        """Place the tensors in one ``pool`` symbol by the staging plan of the training micro-batch ``emit_micro``.

        When the other SRAM symbols alone overflow the data SRAM (``sram_over``: a micro-batch too large), the pool
        is sized by its lower bound, the largest tensor, without the recording: that plan fails anyway.
        """
        words = self.names.words
        if sram_over:
            self.pool = self.asm.buffer("pool", "sram", max(words.values()))
            return
        uses = self.recording(emit_micro)
        plan = plan_staging([uses.get(k, frozenset()) for k in range(len(self.steps))], self.steps[(LOSS, "")], words)
        self.pool = self.asm.buffer("pool", "sram", plan.pool_words)
        self._views = {seg: Buffer("pool", "sram", seg.words, seg.offset, self.pool.addr) for seg in plan.segments}
        self.plan = plan

    def declare_homes(self) -> None:
        """The DRAM home ``d_TENSOR`` of every staged tensor (after the datasets, so their addresses do not move)."""
        if self.plan is not None:
            self.homes = {name: self.asm.buffer(f"d_{name}", "dram", words) for name, words in self.plan.homes}

    @property
    def staged_words(self) -> int:
        """Words one micro-batch copies out to DRAM (and back); -1 when not staged."""
        return self.plan.staged_words if self.plan is not None else -1
