"""The controller registers the compiled programs give a fixed role: one table, every role's register.

The lowering names a register by its role (``REG.step``), never by number. Roles of different programs may share a
register (``batch_end`` of ``train_epoch`` and a partial-sum slot register of the pipelined ``evaluate``); roles
live in one program at the same time never do (tests/compiler/test_registers.py checks both). Every register
starts at 0 when a program starts (socsim.sim.controller).
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Registers:
    """Register of each fixed role (``xN`` text, as the assembler reads it)."""

    zero: str = "x0"
    """Hard-wired 0."""
    outer: str = "x2"
    """The outer loop's index: the batch of ``train_epoch``, the pass of ``calibrate``."""
    micro: str = "x3"
    """The micro-batch in its loop."""
    image_offset: str = "x4"
    """Word offset of the micro-batch's first image in the DRAM dataset."""
    label_offset: str = "x5"
    """Word offset of its first label."""
    image: str = "x10"
    """Convolution bands: the image of the micro-batch."""
    band_row: str = "x11"
    """The band's first output row, in bands."""
    band_in: str = "x12"
    """The band's word offset in the (padded) input."""
    band_out: str = "x13"
    """The band's word offset in the CHW output."""
    band_col: str = "x14"
    """The band's first output column, in bands."""
    slot: str = "x15"
    """Pipelined evaluation: the band's partial-sum slot (0, 1, 0, ...)."""
    slot_offset: str = "x16"
    """Pipelined evaluation: the slot's word offset (``slots[0]``)."""
    one: str = "x17"
    """Pipelined evaluation: the constant 1 (the next slot is ``one - slot``)."""
    probe_row: str = "x3"
    """``compensate``: the row a one-hot reference input drives."""
    batch_end: str = "x19"
    """``train_epoch``: one past the last batch of this run."""
    step: str = "x20"
    """``train_epoch``: the optimizer step count (AdamW's bias correction reads it)."""
    temp: str = "x30"
    """Scratch of one address computation."""
    loop_limit: str = "x31"
    """A counted loop's trip count, for its closing branch."""
    bases: tuple[str, ...] = tuple(f"x{i}" for i in range(21, 29))
    """``bases[k - 1]`` holds ``k * 2^24``: the base of operand window k, for symbols past the offset range."""
    slots: tuple[str, ...] = ("x16", "x18", "x19", "x29", "x1", "x6", "x7", "x8", "x9")
    """Pipelined evaluation: ``slots[k]`` = the slot offset plus k x 2^24 (tile buffers in operand window k)."""

    def roles(self) -> dict[str, tuple[str, ...]]:
        """Every role's registers (one for a scalar role), by role name."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value if isinstance(value, tuple) else (value,)
        return out


REG = Registers()
