"""The address spaces' contents (float32 words) and address checking."""

from __future__ import annotations

import numpy as np

from isa.program import TBUF_STRIDE, Program
from isa.spec import Space
from socsim.config import SocConfig

Region = tuple[int, int, int]
"""(space, first word, one past the last word)."""


class Memory:
    """DRAM, data SRAM, accumulator SRAM and the tiles' buffers as float32 arrays."""

    def __init__(self, cfg: SocConfig):
        words = cfg.space_words()
        self.capacity = {Space.DRAM: words["dram"], Space.SRAM: words["sram"], Space.ACC: words["acc"]}
        self.tiles = cfg.tiles.count
        self.tile_words = words["tbuf"]
        # np.zeros maps untouched pages lazily, so a 1 GiB DRAM costs only what is written.
        self.arrays = {s: np.zeros(n, dtype=np.float32) for s, n in self.capacity.items()}
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

