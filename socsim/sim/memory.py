"""The address spaces' contents (float32 words) and address checking."""

from __future__ import annotations

import bisect
import mmap
import sys

import numpy as np

from isa.program import TBUF_STRIDE, Program
from isa.spec import Space
from socsim.base.errors import CapacityError
from socsim.config.soc import SocConfig

Region = tuple[int, int, int]
"""(space, first word, one past the last word)."""

_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)  # Linux's value


def lazy_zeros(words: int, space: str) -> np.ndarray:
    """A writable float32 array of ``words`` zeros whose pages the host allocates only when written: an
    anonymous mapping without swap reservation, so a configured 1 TiB DRAM costs what a program touches.
    CapacityError (a ValueError) naming the space if the host cannot map that much address space."""
    if not hasattr(mmap, "MAP_ANONYMOUS"):  # pragma: no cover - not POSIX: numpy's calloc is lazy too
        return np.zeros(words, dtype=np.float32)
    try:
        buf = mmap.mmap(-1, max(words, 1) * 4, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _NORESERVE)
    except (OSError, OverflowError) as exc:
        raise CapacityError(f"{space}: cannot map {words} words ({words * 4 / 2 ** 30:.3g} GiB) of host address "
                         f"space for it ({exc}); configure a smaller memory") from None
    return np.frombuffer(buf, dtype=np.float32, count=words)


class SymbolMap:
    """One space's symbols as sorted, disjoint [addr, end) spans: which symbol an access starts in, and whether it
    ends inside it (an access that starts outside every symbol is checked against the space only)."""

    def __init__(self, spans: list[tuple[int, int, str]]):
        self.starts = [a for a, _, _ in spans]
        self.ends = [e for _, e, _ in spans]
        self.names = [n for _, _, n in spans]
        self.start_array = np.asarray(self.starts, dtype=np.int64)
        self.end_array = np.asarray(self.ends, dtype=np.int64)

    def overrun(self, start: int, size: int) -> str | None:
        """None if [start, start + size) ends inside the symbol it starts in (or starts in none), else what it
        overruns."""
        i = bisect.bisect_right(self.starts, start) - 1
        if i < 0 or start >= self.ends[i] or start + size <= self.ends[i]:
            return None
        return self.describe(i, start, size)

    def overrun_lanes(self, starts: np.ndarray, size: int) -> str | None:
        """:meth:`overrun` for every lane's start at once (the first lane that overruns is described)."""
        i = np.searchsorted(self.start_array, starts, side="right") - 1
        inside = (i >= 0) & (starts < self.end_array[np.maximum(i, 0)])
        bad = inside & (starts + size > self.end_array[np.maximum(i, 0)])
        if not bad.any():
            return None
        lane = int(np.argmax(bad))
        return self.describe(int(i[lane]), int(starts[lane]), size) + f" (iteration {lane} of the loop)"

    def name_at(self, addr: int) -> str:
        """The symbol holding word ``addr`` ("" if none)."""
        i = bisect.bisect_right(self.starts, addr) - 1
        return self.names[i] if i >= 0 and addr < self.ends[i] else ""

    def describe(self, i: int, start: int, size: int) -> str:
        addr, end, name = self.starts[i], self.ends[i], self.names[i]
        return (f"{name}[{start - addr}:{start - addr + size}] overruns symbol {name!r} of {end - addr} words "
                f"(it ends {start + size - end} words past it)")


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
        self.symbols: dict[Space, SymbolMap] = {}
        """The loaded program's symbols by space: an access that starts in a symbol must end in it."""

    def set_symbols(self, program: Program) -> None:
        """Check later accesses against ``program``'s symbols (:meth:`check`)."""
        by_space: dict[Space, list] = {}
        for sym in program.symbols.values():
            by_space.setdefault(sym.space, []).append((sym.addr, sym.end, sym.name))
        self.symbols = {space: SymbolMap(sorted(spans)) for space, spans in by_space.items()}

    def check(self, space: Space, start: int, size: int) -> str | None:
        """None if [start, start+size) is inside ``space`` and, when it starts inside a symbol of the loaded
        program, ends inside that symbol; else what is wrong."""
        if space is Space.TBUF:
            tile, off = divmod(start, TBUF_STRIDE)
            if tile >= self.tiles:
                return f"tile buffer tb{tile} does not exist (tiles: {self.tiles})"
            if start < 0 or off + size > self.tile_words:
                return (f"tb{tile}[{off}:{off + size}] exceeds the tile buffer of {self.tile_words} words")
        else:
            cap = self.capacity[space]
            if start < 0 or start + size > cap:
                return f"{space.name.lower()}[{start}:{start + size}] exceeds its {cap} words"
        symbols = self.symbols.get(space)
        return symbols.overrun(start, size) if symbols is not None else None

    def check_lanes(self, space: Space, starts: np.ndarray, size: int) -> str | None:
        """:meth:`check` of ``size`` words from each of ``starts`` (one per lane of a lane-parallel loop)."""
        for s in (int(starts.min()), int(starts.max())):
            problem = self.check(space, s, size)
            if problem:
                return problem
        symbols = self.symbols.get(space)
        return symbols.overrun_lanes(starts, size) if symbols is not None else None

    def symbol_at(self, space: Space, addr: int) -> str:
        """The loaded program's symbol holding word ``addr`` of ``space`` ("" if none)."""
        symbols = self.symbols.get(space)
        return symbols.name_at(addr) if symbols is not None else ""

    def view(self, space: Space, start: int, size: int) -> np.ndarray:
        """A writable view of ``size`` words (the caller has checked the range)."""
        return self.arrays[space][start:start + size]

    def load_symbols(self, program: Program) -> None:
        """Write every symbol's initial data; a symbol that does not fit is a :class:`CapacityError`. Later accesses
        are checked against these symbols."""
        self.symbols = {}
        for sym in program.symbols.values():
            problem = self.check(sym.space, sym.addr, sym.size)
            if problem:
                raise CapacityError(problem, field=f"symbol {sym.name!r}")
            if sym.init.kind != "zeros":
                self.view(sym.space, sym.addr, sym.size)[:] = sym.init.materialize(sym.size)
        self.set_symbols(program)

    def read_symbol(self, program: Program, name: str) -> np.ndarray:
        sym = program.symbol(name)
        return self.view(sym.space, sym.addr, sym.size).copy()

