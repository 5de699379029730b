"""Placement: every crossbar block of every weight layer gets a region (tile, row, column) of a tile.

Blocks are cut at the array's rows x weight columns; each block takes a strip of columns starting
at row 0 of a tile, first-fit in layer order, so small layers share a tile (the Wu et al. LeNet's
six 64x64 blocks fit on two 64x64 tiles). A graph whose strips do not fit the tiles is an error
naming the layer (time-multiplexed reprogramming is not supported for training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from socsim.compiler.graph import Graph, GraphError
from socsim.config import SocConfig


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

    def blocks_of(self, layer: str) -> list[PlacedBlock]:
        return [b for b in self.blocks if b.layer == layer]

    def tile_words(self, tile: int, vectors: Callable[[str], int]) -> tuple[int, int]:
        """Input and output buffer words the tile needs: the largest block x its layer's vectors per MVM."""
        here = [b for b in self.blocks if b.tile == tile]
        return (max(vectors(b.layer) * b.rows for b in here), max(vectors(b.layer) * b.cols for b in here))

    def table(self) -> str:
        lines = [f"{'layer':<12}{'block rows':>12}{'block cols':>12}{'tile':>6}{'at row':>8}{'at col':>8}"]
        for b in self.blocks:
            lines.append(f"{b.layer:<12}{f'{b.row_start}+{b.rows}':>12}{f'{b.col_start}+{b.cols}':>12}"
                         f"{b.tile:>6}{b.tile_row:>8}{b.tile_col:>8}")
        return "\n".join(lines)


def place_blocks(graph: Graph, cfg: SocConfig) -> Placement:
    """First-fit column strips of every weight layer's blocks onto ``cfg.tiles.count`` tiles."""
    rows, cols, tiles = cfg.tiles.rows, cfg.tiles.weight_cols, cfg.tiles.count
    free = [0] * tiles  # next free weight column per tile
    out: list[PlacedBlock] = []
    for node in graph.weight_nodes():
        r_total, c_total = graph.weight_shape(node.name)
        for r0 in range(0, r_total, rows):
            for c0 in range(0, c_total, cols):
                nr, nc = min(rows, r_total - r0), min(cols, c_total - c0)
                tile = next((t for t in range(tiles) if free[t] + nc <= cols), None)
                if tile is None:
                    need = sum(-(-graph.weight_shape(n.name)[0] // rows) * graph.weight_shape(n.name)[1]
                               for n in graph.weight_nodes())
                    raise GraphError(f"graph {graph.name!r}, layer {node.name!r}: block rows {r0}+{nr}, "
                                     f"cols {c0}+{nc} does not fit; "
                                     f"the graph needs about {need} weight columns of {rows}-row strips, the "
                                     f"target has {tiles} tiles x {cols} columns = {tiles * cols}")
                out.append(PlacedBlock(node.name, r0, nr, c0, nc, tile, 0, free[tile]))
                free[tile] += nc
    return Placement(tuple(out), sum(1 for f in free if f))
