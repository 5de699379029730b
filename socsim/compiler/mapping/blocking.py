"""Where a weight matrix is cut into crossbar blocks: its row blocks and column blocks (docs/compiler.md).

One function for the mapping table and the placement, so the crossbars ``socsim compile --mapping`` counts are
the blocks the lowering programs. Columns are cut every ``tiles.weight_cols`` weights. Rows are cut every
``tiles.rows`` rows (``cut``), or, for a convolution with ``kernel`` row blocking, after whole kernels: a block
holds ``floor(tiles.rows / (kh x kw))`` input channels, so its im2col rows are an address pattern over whole
channels (the counts of Wu et al.'s Table 2: 28 channels of a 3 x 3 kernel, 252 rows, on a 256-row array).
"""

from __future__ import annotations

from socsim.compiler.graph import Conv2d, Graph, GraphError
from socsim.config.soc import RowBlocking, SocConfig


def row_cuts(graph: Graph, name: str, tile_rows: int, blocking: RowBlocking) -> list[tuple[int, int]]:
    """(first row, rows) of each row block of weight layer ``name``'s crossbar matrix, in order."""
    rows, _ = graph.weight_shape(name)
    step = tile_rows
    layer = graph.node(name).layer
    if blocking is RowBlocking.KERNEL and isinstance(layer, Conv2d):
        kernel = layer.kernel[0] * layer.kernel[1]
        if kernel > tile_rows:
            raise GraphError(f"layer {name!r}: one {layer.kernel[0]}x{layer.kernel[1]} kernel is {kernel} rows, more "
                             f"than the {tile_rows} rows of a tile, so compiler.row_blocking = kernel cannot keep it "
                             "whole; use row_blocking = cut or larger tiles.rows")
        step = tile_rows // kernel * kernel
    return [(r0, min(step, rows - r0)) for r0 in range(0, rows, step)]


def col_cuts(graph: Graph, name: str, tile_cols: int) -> list[tuple[int, int]]:
    """(first column, columns) of each column block of weight layer ``name``'s crossbar matrix, in order."""
    _, cols = graph.weight_shape(name)
    return [(c0, min(tile_cols, cols - c0)) for c0 in range(0, cols, tile_cols)]


def blocks_of(graph: Graph, name: str, cfg: SocConfig, blocking: RowBlocking | None = None) \
        -> list[tuple[int, int, int, int]]:
    """(first row, rows, first column, columns) of every block of ``name``: row blocks outer, column blocks inner."""
    rb = row_cuts(graph, name, cfg.tiles.rows, cfg.compiler.row_blocking if blocking is None else blocking)
    return [(r0, nr, c0, nc) for r0, nr in rb for c0, nc in col_cuts(graph, name, cfg.tiles.weight_cols)]
