"""An assembly writer: the lowering emits readable text through it, then assembles the text.

Emitting text (not Instruction objects) makes the readable assembly the primary output, so
``socsim compile -o net.s`` re-assembles to exactly the program the simulator runs.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

import isa
from isa.program import TBUF_STRIDE, Program
from isa.spec import MEM_OFFSET_BITS
from socsim.compiler.registers import REG

OFFSET_RANGE = 1 << MEM_OFFSET_BITS
"""Words an operand's offset field reaches; words past it are reached through a base register."""


_SYMBOL_OPERAND = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)([+-]\d+)?")


def f32(value: float) -> str:
    """A float immediate, written as the float32 value the instruction will hold."""
    return repr(float(np.float32(value)))


@dataclass(frozen=True)
class LaneSymbols:
    """The symbols a lane-parallel loop's iterations write: each its own copy, or accumulated into."""

    private: tuple[str, ...]
    reduce: tuple[str, ...]


class AddressError(ValueError):
    """A buffer cannot be addressed: past the offset range and indexed by a register, or past every base."""


@dataclass
class Buffer:
    """A named region the lowering allocated: symbol name, space, size in words."""

    name: str
    space: str
    words: int
    base: int = 0
    """Offset inside the symbol ``name`` (views carved out of a shared scratch symbol)."""
    addr: int = 0
    """Word address of the symbol ``name`` in its space (as the assembler lays symbols out, in order)."""

    @property
    def end(self) -> int:
        """One past the buffer's last word address."""
        return self.addr + self.base + self.words

    def at(self, offset: int = 0, reg: str | None = None) -> str:
        """Memory operand text: ``name[+offset][(reg)]``; past the offset range, ``name+off(xBASE)``."""
        offset += self.base
        word = self.addr + offset
        if word >= OFFSET_RANGE:
            k = word // OFFSET_RANGE
            if reg or k > len(REG.bases):
                why = f"is indexed by {reg}" if reg else f"lies past the {len(REG.bases)} base registers"
                raise AddressError(f"buffer {self.name!r} word {word} of {self.space} is past the {OFFSET_RANGE}-word "
                                   f"operand offset and {why}")
            offset -= k * OFFSET_RANGE
            reg = REG.bases[k - 1]
        text = self.name + (f"{offset:+d}" if offset else "")
        return text + (f"({reg})" if reg else "")


@dataclass
class Asm:
    """Accumulates directives and instructions with comments; ``program()`` assembles them."""

    name: str
    lines: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    layers: dict[str, int] = field(default_factory=dict)
    buffers: dict[str, Buffer] = field(default_factory=dict)
    next_addr: dict[str, int] = field(default_factory=dict)
    """Next free word per space (symbols are laid out in declaration order, as the assembler does)."""
    _labels: int = 0

    def layer_id(self, layer: str) -> int:
        """Ledger tag id of a layer name (declared with .layer on first use)."""
        if layer not in self.layers:
            self.layers[layer] = len(self.layers) + 1
        return self.layers[layer]

    def buffer(self, name: str, space: str, words: int, init: str = "") -> Buffer:
        """Declare a symbol once; a second call with the same name returns the first (sizes must agree)."""
        if name in self.buffers:
            buf = self.buffers[name]
            if buf.words < words or buf.space != space:
                raise ValueError(f"buffer {name!r} redeclared as {space} {words} (was {buf.space} {buf.words})")
            return buf
        self.symbols.append(f".sym {name} {space} {max(1, words)}" + (f" {init}" if init else ""))
        addr = self.next_addr.get(space, 0)
        self.next_addr[space] = addr + max(1, words)
        base = int(space[2:]) * TBUF_STRIDE if space.startswith("tb") else 0  # tile t's window of the tile buffers
        buf = Buffer(name, space, max(1, words), 0, base + addr)
        self.buffers[name] = buf
        return buf

    def views(self, name: str, space: str, parts: list[list[tuple[str, int]]]) -> dict[str, Buffer]:
        """One symbol shared by groups of buffers that are never live at the same time.

        ``parts`` lists the groups; buffers within a group are laid out one after another, and every
        group starts at the symbol's start. Returns the views by name.
        """
        words = max(sum(w for _, w in group) for group in parts)
        whole = self.buffer(name, space, words)
        out: dict[str, Buffer] = {}
        for group in parts:
            at = 0
            for view, w in group:
                out[view] = Buffer(name, space, w, at, whole.addr)
                at += w
        self.buffers.update(out)
        return out

    @contextmanager
    def discarded(self) -> Iterator[None]:
        """Emit into a throwaway list: the lines, layer tags and labels emitted inside are dropped (the symbols
        declared inside are kept)."""
        saved = self.lines, dict(self.layers), self._labels
        self.lines = []
        try:
            yield
        finally:
            self.lines, self.layers, self._labels = saved

    def comment(self, text: str) -> None:
        self.lines.append(f"; ---- {text}")

    def operand(self, o: object) -> str:
        """Operand text; a bare ``SYMBOL[+OFF]`` past the offset range gets its base register."""
        text = str(o)
        m = _SYMBOL_OPERAND.fullmatch(text)
        if m and m.group(1) in self.buffers:
            buf = self.buffers[m.group(1)]
            if buf.name == m.group(1) and buf.addr + buf.words > OFFSET_RANGE:
                return buf.at(int(m.group(2) or 0))
        return text

    def op(self, mnemonic: str, *operands: object, note: str = "") -> None:
        text = f"    {mnemonic} " + ", ".join(self.operand(o) for o in operands) if operands else f"    {mnemonic}"
        self.lines.append(text + (f"    ; {note}" if note else ""))

    def label(self, stem: str) -> str:
        self._labels += 1
        return f"{stem}_{self._labels}"

    def place(self, label: str) -> None:
        self.lines.append(f"{label}:")

    def loop(self, counter: str, count: int, body, note: str = "", lanes: LaneSymbols | None = None) -> None:
        """Emit ``body()`` ``count`` times as a counted loop on register ``counter`` (0, 1, ... count-1).

        A count of 1 emits the body once with the counter set to 0 (no branch). ``lanes`` declares the
        iterations independent (``.lanes``, docs/isa.md): what they write privately and what they reduce into.
        """
        self.op("li", counter, 0, note=note)
        if count == 1:
            body()
            return
        top = self.label("loop")
        if lanes is not None and count >= 2:
            kinds = (("private", lanes.private), ("reduce", lanes.reduce))
            self.lines.append(f".lanes {top} {counter} {count}"
                              + "".join(f" {kind} " + " ".join(names) for kind, names in kinds if names))
        self.place(top)
        body()
        self.op("addi", counter, counter, 1)
        self.op("li", REG.loop_limit, count)
        self.op("blt", counter, REG.loop_limit, top)

    def base_registers(self) -> list[str]:
        """``li`` of the base registers the symbols need (none while every symbol ends in the offset range)."""
        top = max((b.end for b in self.buffers.values()), default=0)
        k = min(len(REG.bases), (top - 1) // OFFSET_RANGE)
        return [f"    li {REG.bases[i - 1]}, {i * OFFSET_RANGE}    ; base register: words past the offset range"
                for i in range(1, k + 1)]

    def text(self) -> str:
        head = [f"; {self.name}: generated by socsim.compiler; re-assembles to the program it came from"]
        head += [f".layer {i} {name}" for name, i in self.layers.items()]
        return "\n".join(head + self.symbols + self.base_registers() + self.lines) + "\n"

    def program(self) -> Program:
        return isa.assemble(self.text(), f"<{self.name}>")


def pattern(asm: Asm, levels: list[tuple[int, int]]) -> None:
    """Set the address generator: ``levels`` innermost first, as (extent, stride)."""
    asm.op("agclr")
    for i, (extent, stride) in enumerate(levels):
        if extent != 1:
            asm.op("agen", i, extent, stride)


def offset(asm: Asm, reg: str, terms: list[tuple[str, int]]) -> None:
    """reg = sum(register * constant), using ``REG.temp`` as scratch."""
    asm.op("li", reg, 0)
    for r, k in terms:
        asm.op("muli", REG.temp, r, k)
        asm.op("add", reg, reg, REG.temp)
