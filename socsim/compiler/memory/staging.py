"""Staging through DRAM: which tensors of a micro-batch get a DRAM home, and where each lives in one SRAM pool.

The lowering emits a micro-batch as a sequence of *steps* (loading the input, each node's forward computation,
the loss gradient, each node's backward computation) and records which tensors (activations, gradients, padded
copies, normalised activations, by the symbol name they would have unstaged) each step reads or writes. From
that, :func:`plan_staging`:

- gives each tensor one *segment* of SRAM residency, from its first to its last step; a tensor that a forward step
  writes and a backward step reads again, with steps between them, gets two: its forward segment ends at its last
  forward use and it is copied out to its DRAM home at the start of the next step, and its backward segment starts
  with a copy back in at the start of its first backward use;
- packs the segments into one pool by liveness (:func:`pack`): two segments whose step ranges overlap never share
  a word.

Pure functions over frozen dataclasses; the lowering (``socsim.compiler.lower.lowering``) turns segments into views of
its ``pool`` symbol and emits the copies. Sizes are in 32-bit words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Segment:
    """Tensor ``tensor`` resident in the pool at words [offset, offset + words) during steps first..last."""

    tensor: str
    first: int
    last: int
    words: int
    offset: int = 0

    @property
    def end(self) -> int:
        """One past the segment's last pool word."""
        return self.offset + self.words

    def live(self, step: int) -> bool:
        return self.first <= step <= self.last

    def overlaps(self, other: "Segment") -> bool:
        """True if the two are live at a common step and share a pool word."""
        return (self.first <= other.last and other.first <= self.last
                and self.offset < other.end and other.offset < self.end)


@dataclass(frozen=True)
class StagingPlan:
    """Every tensor's segments, the pool they need and the DRAM homes (words per micro-batch)."""

    segments: tuple[Segment, ...]
    homes: tuple[tuple[str, int], ...]
    """Tensors copied out after their last forward use and back before their first backward use: (name, words)."""
    pool_words: int

    @property
    def staged_words(self) -> int:
        """Words one micro-batch writes to DRAM (and reads back): the sum of the homes."""
        return sum(w for _, w in self.homes)

    def at(self, tensor: str, step: int) -> Segment | None:
        """The segment of ``tensor`` live at ``step`` (None: not resident then)."""
        return next((s for s in self.segments if s.tensor == tensor and s.live(step)), None)

    def _staged(self) -> list[tuple[Segment, Segment]]:
        """(forward segment, backward segment) of every tensor with a DRAM home."""
        homed = dict(self.homes)
        by: dict[str, list[Segment]] = {}
        for s in self.segments:
            if s.tensor in homed:
                by.setdefault(s.tensor, []).append(s)
        return [tuple(sorted(v, key=lambda s: s.first)) for v in by.values()]  # type: ignore[misc]

    def copies_out(self, step: int) -> list[Segment]:
        """Forward segments of staged tensors that ended at the step before ``step``: copied out at its start."""
        return [f for f, _ in self._staged() if f.last == step - 1]

    def copies_in(self, step: int) -> list[Segment]:
        """Backward segments of staged tensors that start at ``step``: copied in at its start."""
        return [b for _, b in self._staged() if b.first == step]


def pack(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """Offsets for ``segments`` (in the given order) so that no two live at a common step share a word.

    Largest first (ties: earliest step, then input order), each at the lowest offset clear of every placed segment
    whose steps overlap it; deterministic.
    """
    order = sorted(range(len(segments)), key=lambda i: (-segments[i].words, segments[i].first, i))
    placed: dict[int, Segment] = {}
    for i in order:
        seg = segments[i]
        busy = sorted((p.offset, p.end) for p in placed.values() if p.first <= seg.last and seg.first <= p.last)
        at = 0
        for lo, hi in busy:
            if at + seg.words <= lo:
                break
            at = max(at, hi)
        placed[i] = Segment(seg.tensor, seg.first, seg.last, seg.words, at)
    return tuple(placed[i] for i in range(len(segments)))


def plan_staging(uses: Sequence[frozenset[str]], backward_from: int, words: Mapping[str, int]) -> StagingPlan:
    """The staging plan of one micro-batch.

    ``uses[k]`` names the tensors step ``k`` reads or writes; steps before ``backward_from`` are forward steps
    (and the input load), the rest the loss gradient and the backward steps. ``words`` gives every tensor's size;
    a tensor no step uses gets no segment.
    """
    steps: dict[str, list[int]] = {}
    for k, names in enumerate(uses):
        for name in sorted(names):
            if name not in words:
                raise KeyError(f"step {k} uses tensor {name!r} of unknown size")
            steps.setdefault(name, []).append(k)
    segments: list[Segment] = []
    homes: list[tuple[str, int]] = []
    for name in sorted(steps, key=lambda n: (steps[n][0], n)):
        fwd = [k for k in steps[name] if k < backward_from]
        bwd = [k for k in steps[name] if k >= backward_from]
        if fwd and bwd and bwd[0] > fwd[-1] + 1:
            segments += [Segment(name, fwd[0], fwd[-1], words[name]), Segment(name, bwd[0], bwd[-1], words[name])]
            homes.append((name, words[name]))
        else:
            segments.append(Segment(name, steps[name][0], steps[name][-1], words[name]))
    packed = pack(segments)
    return StagingPlan(packed, tuple(homes), max((s.end for s in packed), default=0))
