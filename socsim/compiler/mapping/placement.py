"""Placement: every crossbar block of every weight layer gets a region (tile, row, column) of a tile.

Blocks are cut as :mod:`socsim.compiler.mapping.blocking` says (the mapping table's crossbars); each block takes a strip
of columns starting at row 0 of a tile, first fit in layer order, so small layers share a tile (the Wu et al.
LeNet's six 64x64 blocks fit on two 64x64 tiles). With ``compiler.placement = spread`` the blocks of one layer go
to distinct tiles (a layer's blocks can then run at once; layers still share tiles). A graph whose strips do not
fit the tiles is an error naming the layer and the config field (time-multiplexed reprogramming is not supported
for training).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from socsim.compiler.graph import Graph
from socsim.compiler.mapping.blocking import blocks_of
from socsim.compiler.memory.plan import CapacityError
from socsim.config.soc import PlacementPolicy, SocConfig


@dataclass(frozen=True)
class PlacedBlock:
    """Block [row_start:+rows, col_start:+cols] of ``layer``'s matrix at (tile_row, tile_col) of ``tile``."""

    layer: str
    row_start: int
    rows: int
    col_start: int
    cols: int
    tile: int
    tile_row: int
    tile_col: int


@dataclass(frozen=True)
class Placement:
    blocks: tuple[PlacedBlock, ...]
    tiles_used: int

    @cached_property
    def _by_layer(self) -> dict[str, list[PlacedBlock]]:
        out: dict[str, list[PlacedBlock]] = {}
        for b in self.blocks:
            out.setdefault(b.layer, []).append(b)
        return out

    @cached_property
    def _by_tile(self) -> dict[int, list[PlacedBlock]]:
        out: dict[int, list[PlacedBlock]] = {}
        for b in self.blocks:
            out.setdefault(b.tile, []).append(b)
        return out

    def blocks_of(self, layer: str) -> list[PlacedBlock]:
        """The blocks of weight layer ``layer``: row blocks outer, column blocks inner."""
        return list(self._by_layer.get(layer, ()))

    def on_tile(self, tile: int) -> list[PlacedBlock]:
        """The blocks placed on ``tile``, in layer order."""
        return list(self._by_tile.get(tile, ()))

    def tile_words(self, tile: int, vectors: Callable[[str], int]) -> tuple[int, int]:
        """Input and output buffer words the tile needs: the largest block x its layer's vectors per MVM."""
        here = self.on_tile(tile)
        return (max(vectors(b.layer) * b.rows for b in here), max(vectors(b.layer) * b.cols for b in here))

    def table(self) -> str:
        lines = [f"{'layer':<12}{'block rows':>12}{'block cols':>12}{'tile':>6}{'at row':>8}{'at col':>8}"]
        for b in self.blocks:
            lines.append(f"{b.layer:<12}{f'{b.row_start}+{b.rows}':>12}{f'{b.col_start}+{b.cols}':>12}"
                         f"{b.tile:>6}{b.tile_row:>8}{b.tile_col:>8}")
        return "\n".join(lines)


def place_blocks(graph: Graph, cfg: SocConfig) -> Placement:
    """First-fit column strips of every weight layer's blocks onto ``cfg.tiles.count`` tiles (``spread``: a layer's
    blocks on distinct tiles); a CapacityError naming the least tile count that holds them otherwise."""
    placed = _first_fit(graph, cfg, cfg.tiles.count)
    if isinstance(placed, Placement):
        return placed
    node, (r0, nr, c0, nc) = placed
    need = sum(len(blocks_of(graph, n.name, cfg)) for n in graph.weight_nodes())
    least = _first_fit(graph, cfg, need)
    assert isinstance(least, Placement)  # one block per tile always fits
    raise CapacityError(f"graph {graph.name!r}, layer {node.name!r}: block rows {r0}+{nr}, cols {c0}+{nc} does not "
                        f"fit ({cfg.compiler.placement.value} placement): the graph has {need} blocks of up to "
                        f"{cfg.tiles.rows} rows x {cfg.tiles.weight_cols} weights, the target {cfg.tiles.count} "
                        f"tiles; raise tiles.count to at least {least.tiles_used}", "tiles")


def _first_fit(graph: Graph, cfg: SocConfig, tiles: int):
    """The placement on ``tiles`` tiles, or (the node, its block) that found no room."""
    cols = cfg.tiles.weight_cols
    spread = cfg.compiler.placement is PlacementPolicy.SPREAD
    free = [0] * tiles  # next free weight column per tile
    out: list[PlacedBlock] = []
    start = 0  # first tile that may have room (the tiles before it are full)
    for node in graph.weight_nodes():
        taken: set[int] = set()  # tiles holding a block of this layer
        for r0, nr, c0, nc in blocks_of(graph, node.name, cfg):
            while start < tiles and free[start] == cols:
                start += 1
            tile = next((t for t in range(start, tiles) if free[t] + nc <= cols and not (spread and t in taken)),
                        None)
            if tile is None:
                return node, (r0, nr, c0, nc)
            out.append(PlacedBlock(node.name, r0, nr, c0, nc, tile, 0, free[tile]))
            free[tile] += nc
            taken.add(tile)
    return Placement(tuple(out), sum(1 for f in free if f))
