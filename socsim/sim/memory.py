"""The address spaces' contents (float32 words) and address checking."""

from __future__ import annotations

import mmap
import sys

import numpy as np

from isa.program import TBUF_STRIDE, Program
from isa.spec import Space
from socsim.config import SocConfig

Region = tuple[int, int, int]
"""(space, first word, one past the last word)."""

_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)  # Linux's value


def lazy_zeros(words: int, space: str) -> np.ndarray:
    """A writable float32 array of ``words`` zeros whose pages the host allocates only when written: an
    anonymous mapping without swap reservation, so a configured 1 TiB DRAM costs what a program touches.
    ValueError naming the space if the host cannot map that much address space."""
    if not hasattr(mmap, "MAP_ANONYMOUS"):  # pragma: no cover - not POSIX: numpy's calloc is lazy too
        return np.zeros(words, dtype=np.float32)
    try:
        buf = mmap.mmap(-1, max(words, 1) * 4, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _NORESERVE)
    except (OSError, OverflowError) as exc:
        raise ValueError(f"{space}: cannot map {words} words ({words * 4 / 2 ** 30:.3g} GiB) of host address "
                         f"space for it ({exc}); configure a smaller memory") from None
    return np.frombuffer(buf, dtype=np.float32, count=words)


class Memory:
    """DRAM, data SRAM, accumulator SRAM and the tiles' buffers as float32 arrays."""

    def __init__(self, cfg: SocConfig):
        words = cfg.space_words()
        self.capacity = {Space.DRAM: words["dram"], Space.SRAM: words["sram"], Space.ACC: words["acc"]}
        self.tiles = cfg.tiles.count
        self.tile_words = words["tbuf"]
        # pages are mapped lazily (lazy_zeros), so a large DRAM costs only what is written
        self.arrays = {s: lazy_zeros(n, s.name.lower()) for s, n in self.capacity.items()}
        self.arrays[Space.TBUF] = np.zeros(self.tiles * TBUF_STRIDE, dtype=np.float32)

    def check(self, space: Space, start: int, size: int) -> str | None:
        """None if [start, start+size) is inside ``space``, else what is wrong."""
        if space is Space.TBUF:
            tile, off = divmod(start, TBUF_STRIDE)
            if tile >= self.tiles:
                return f"tile buffer tb{tile} does not exist (tiles: {self.tiles})"
            if start < 0 or off + size > self.tile_words:
                return (f"tb{tile}[{off}:{off + size}] exceeds the tile buffer of {self.tile_words} words")
            return None
        cap = self.capacity[space]
        if start < 0 or start + size > cap:
            return f"{space.name.lower()}[{start}:{start + size}] exceeds its {cap} words"
        return None

    def view(self, space: Space, start: int, size: int) -> np.ndarray:
        """A writable view of ``size`` words (the caller has checked the range)."""
        return self.arrays[space][start:start + size]

    def load_symbols(self, program: Program) -> None:
        """Write every symbol's initial data; raises ValueError if a symbol does not fit."""
        for sym in program.symbols.values():
            problem = self.check(sym.space, sym.addr, sym.size)
            if problem:
                raise ValueError(f"symbol {sym.name!r}: {problem}")
            if sym.init.kind != "zeros":
                self.view(sym.space, sym.addr, sym.size)[:] = sym.init.materialize(sym.size)

    def read_symbol(self, program: Program, name: str) -> np.ndarray:
        sym = program.symbol(name)
        return self.view(sym.space, sym.addr, sym.size).copy()

