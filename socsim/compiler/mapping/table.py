"""Cut a graph's weight matrices into crossbar blocks of the target's tiles and count the work per image.

Rules (see docs/compiler.md):

- A weight layer's rows x cols matrix (crossbar view, :mod:`socsim.compiler.graph`) is cut into row blocks
  (every ``tiles.rows`` rows, or after whole kernels: ``compiler.row_blocking``,
  :mod:`socsim.compiler.mapping.blocking`) x ``ceil(cols / tiles.weight_cols)`` col blocks; each block needs one
  crossbar (one tile's array). Partial sums of a layer's row blocks add in the digital unit (sequential datapath) or in
  the tiles' output stages.
- Where each block goes is the placement (:mod:`socsim.compiler.mapping.placement`), the one the lowering compiles, the
  capacity check reports and a run folder records; this module only counts. Every block is resident: socsim
  neither replicates a layer nor reprograms tiles between slots (time multiplexing), so neither is offered.
- Work per image: MVMs (input vectors: conv output positions, 1 per linear layer) and tile operations
  (one block's MVM: MVMs x row blocks x col blocks).
- Memory capacity is not estimated here: the compiler's memory plan (:mod:`socsim.compiler.memory.plan`) is what
  ``socsim compile --mapping`` prints and what the compiler enforces.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from socsim.compiler.graph import Graph
from socsim.compiler.mapping.blocking import blocks_of, col_cuts, row_cuts
from socsim.compiler.memory.plan import CapacityError
from socsim.config.soc import RowBlocking, SocConfig

MAX_CROSSBARS = 1 << 18
"""Most crossbars (blocks of all layers and copies) a mapping enumerates; a larger graph is refused before
any block is made (each block is an object: an unbounded count is unbounded time and memory)."""


@dataclass(frozen=True)
class MapOptions:
    """How to cut the blocks. (What the compiled programs need of each memory is the compiler's memory plan:
    socsim.compiler.memory.plan; where the blocks go, the placement: socsim.compiler.mapping.placement.)"""

    row_blocking: RowBlocking | None = None
    """Where row blocks are cut; None: the config's ``compiler.row_blocking``."""


@dataclass(frozen=True)
class Block:
    """One crossbar: the sub-matrix [row_start:row_start+rows, col_start:col_start+cols] of a layer."""

    layer: str
    row_block: int
    col_block: int
    row_start: int
    rows: int
    col_start: int
    cols: int
    crossbar: int
    """Global index, in layer, row-block, col-block order."""


@dataclass(frozen=True)
class LayerMap:
    """One weight layer on the crossbars; counts are per image."""

    name: str
    kind: str
    rows: int
    """Matrix rows (word lines needed): in_channels*kh*kw or in_features."""
    cols: int
    """Matrix cols (weights per row): out_channels or out_features."""
    row_blocks: int
    col_blocks: int
    crossbars: int
    """row_blocks x col_blocks."""
    used_cells: int
    """Weights stored (rows x cols); a weight is one differential pair when the tile says so."""
    allocated_cells: int
    """crossbars x tile rows x tile weight_cols."""
    mvms: int
    """Matrix-vector multiplies per image (conv output positions, 1 for linear)."""
    tile_ops: int
    """Block MVMs per image: mvms x row_blocks x col_blocks."""
    blocks: tuple[Block, ...]

    @property
    def utilization(self) -> float:
        return self.used_cells / self.allocated_cells


@dataclass(frozen=True)
class Mapping:
    """The whole graph cut for the target: layers, their blocks, the work per image."""

    graph: Graph
    target: str
    layers: tuple[LayerMap, ...]
    tiles: int
    """Tiles on the target."""
    tile_rows: int
    tile_cols: int

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(b for lm in self.layers for b in lm.blocks)

    @property
    def crossbars(self) -> int:
        return sum(lm.crossbars for lm in self.layers)


    @property
    def mvms(self) -> int:
        return sum(lm.mvms for lm in self.layers)

    @property
    def tile_ops(self) -> int:
        return sum(lm.tile_ops for lm in self.layers)

    @property
    def utilization(self) -> float:
        alloc = sum(lm.allocated_cells for lm in self.layers)
        return sum(lm.used_cells for lm in self.layers) / alloc if alloc else 0.0

    def layer(self, name: str) -> LayerMap:
        for lm in self.layers:
            if lm.name == name:
                return lm
        raise KeyError(f"no weight layer {name!r}; weight layers: {', '.join(lm.name for lm in self.layers)}")

    def frame(self) -> pd.DataFrame:
        """One row per weight layer (the table's columns)."""
        return pd.DataFrame([{"layer": lm.name, "kind": lm.kind, "rows": lm.rows, "cols": lm.cols,
                              "row_blocks": lm.row_blocks, "col_blocks": lm.col_blocks,
                              "crossbars": lm.crossbars, "utilization": lm.utilization, "mvms": lm.mvms,
                              "tile_ops": lm.tile_ops} for lm in self.layers])

    def table(self) -> str:
        """A fixed-width table with totals (where the blocks go: the placement's line beside it)."""
        w = max([5] + [len(lm.name) for lm in self.layers])
        head = (f"{'layer':<{w}} {'kind':<7} {'matrix':>9} {'row_blk':>7} {'col_blk':>7} "
                f"{'xbars':>5} {'util':>6} {'MVMs/img':>9} {'tile_ops/img':>12}")
        lines = [f"{self.graph.name} on {self.target}: {self.tiles} tiles of {self.tile_rows} rows x "
                 f"{self.tile_cols} weights", head, "-" * len(head)]
        for lm in self.layers:
            lines.append(f"{lm.name:<{w}} {lm.kind:<7} {f'{lm.rows}x{lm.cols}':>9} {lm.row_blocks:>7} "
                         f"{lm.col_blocks:>7} {lm.crossbars:>5} {lm.utilization:>6.1%} "
                         f"{lm.mvms:>9} {lm.tile_ops:>12}")
        lines += ["-" * len(head), f"{'total':<{w}} {'':<7} {'':>9} {'':>7} {'':>7} {self.crossbars:>5} "
                                    f"{self.utilization:>6.1%} {self.mvms:>9} {self.tile_ops:>12}"]
        return "\n".join(lines)


def _layer_map(graph: Graph, name: str, cfg: SocConfig, blocking: RowBlocking, first: int) -> LayerMap:
    rows, cols = graph.weight_shape(name)
    tr, tc = cfg.tiles.rows, cfg.tiles.weight_cols
    cuts = blocks_of(graph, name, cfg, blocking)
    cb = -(-cols // tc)
    rb = len(cuts) // cb
    blocks = tuple(Block(name, k // cb, k % cb, r0, nr, c0, nc, first + k) for k, (r0, nr, c0, nc) in enumerate(cuts))
    mvms = graph.mvms(name)
    return LayerMap(name, graph.node(name).layer.kind, rows, cols, rb, cb, len(blocks), rows * cols,
                    len(blocks) * tr * tc, mvms, mvms * rb * cb, blocks)


def map_graph(graph: Graph, cfg: SocConfig, options: MapOptions | None = None) -> Mapping:
    """Cut ``graph`` for ``cfg``'s tiles: its crossbar blocks and the work per image. Raises CapacityError past
    :data:`MAX_CROSSBARS`; where the blocks go is the placement, memory capacity the compiler's plan."""
    opt = options or MapOptions()
    weight_names = [n.name for n in graph.weight_nodes()]
    tr, tc, tiles = cfg.tiles.rows, cfg.tiles.weight_cols, cfg.tiles.count
    blocking = cfg.compiler.row_blocking if opt.row_blocking is None else opt.row_blocking
    total = 0
    for name in weight_names:  # count first: refuse before enumerating blocks
        rows, cols = graph.weight_shape(name)
        total += len(row_cuts(graph, name, tr, blocking)) * len(col_cuts(graph, name, tc))
        if total > MAX_CROSSBARS:
            raise CapacityError(f"{graph.name}: layer {name!r} ({rows} x {cols} matrix) brings the graph to {total} "
                                f"crossbars of {tr} x {tc}, more than the {MAX_CROSSBARS} socsim maps")
    layers: list[LayerMap] = []
    for name in weight_names:
        layers.append(_layer_map(graph, name, cfg, blocking, sum(lm.crossbars for lm in layers)))
    return Mapping(graph, cfg.name, tuple(layers), tiles, tr, tc)


def mapping_table(graph: Graph, cfg: SocConfig, options: MapOptions | None = None) -> str:
    """The readable fixed-width mapping table (crossbars, blocks, utilization, work per image)."""
    return map_graph(graph, cfg, options).table()


def mapping_frame(graph: Graph, cfg: SocConfig, options: MapOptions | None = None) -> pd.DataFrame:
    """The mapping as a DataFrame, one row per weight layer."""
    return map_graph(graph, cfg, options).frame()
