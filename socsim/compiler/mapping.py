"""Map a graph's weight matrices onto crossbar blocks of the target's tiles and count the work per image.

Rules (see docs/compiler.md):

- A weight layer's rows x cols matrix (crossbar view, :mod:`socsim.compiler.graph`) is cut into row blocks
  (every ``tiles.rows`` rows, or after whole kernels: ``compiler.row_blocking``, :mod:`socsim.compiler.blocking`)
  x ``ceil(cols / tiles.weight_cols)`` col blocks; each block needs one crossbar (one tile's array). Partial sums
  of a layer's row blocks add in the digital unit (sequential datapath) or in the tiles' output stages.
- ``replicas[layer] = k`` places k copies of a layer (throughput); its MVMs are shared among the copies.
- Crossbars are numbered in layer, copy, row-block, col-block order and placed round-robin:
  crossbar i goes to tile ``i % tiles.count`` in *slot* ``i // tiles.count``. A slot is one programming
  of the arrays; more than one slot means time multiplexing (tiles are reprogrammed between slots).
  With ``time_multiplex=False`` crossbars beyond the tile count get no tile, and the mapping reports
  that it does not fit; mapping never fails on tile count. The lowering may place blocks otherwise.
- Work per image: MVMs (input vectors: conv output positions, 1 per linear layer) and tile operations
  (one block's MVM: MVMs x row blocks x col blocks).
- Memory capacity is not estimated here: the compiler's memory plan (:mod:`socsim.compiler.memplan`) is what
  ``socsim compile --mapping`` prints and what the compiler enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from typing import Mapping as MappingT

import pandas as pd

from socsim.compiler.blocking import blocks_of, col_cuts, row_cuts
from socsim.compiler.graph import Graph, GraphError
from socsim.compiler.memplan import CapacityError
from socsim.config import RowBlocking, SocConfig

if TYPE_CHECKING:
    import pandas as pd


MAX_CROSSBARS = 1 << 18
"""Most crossbars (blocks of all layers and copies) a mapping enumerates; a larger graph is refused before
any block is made (each block is an object: an unbounded count is unbounded time and memory)."""


@dataclass(frozen=True)
class MapOptions:
    """How to map: replication, tile rotation, row blocking. (What the compiled programs need of each memory is
    the compiler's memory plan: socsim.compiler.memplan.)"""

    replicas: MappingT[str, int] = field(default_factory=dict)
    """Copies per weight-layer name (default 1)."""
    time_multiplex: bool | None = None
    """Rotate crossbars through the tiles in slots: None = only when they do not fit, True, False = never."""
    row_blocking: RowBlocking | None = None
    """Where row blocks are cut; None: the config's ``compiler.row_blocking``."""

    def __post_init__(self) -> None:
        for name, k in self.replicas.items():
            if not isinstance(k, int) or k < 1:
                raise ValueError(f"MapOptions.replicas[{name!r}] = {k!r}; allowed an integer >= 1")


@dataclass(frozen=True)
class Block:
    """One crossbar: the sub-matrix [row_start:row_start+rows, col_start:col_start+cols] of a layer copy."""

    layer: str
    replica: int
    row_block: int
    col_block: int
    row_start: int
    rows: int
    col_start: int
    cols: int
    crossbar: int
    """Global index in placement order."""
    tile: int | None
    """Tile it is programmed on, None if it does not fit without time multiplexing."""
    slot: int | None
    """Programming round (0 when all crossbars fit at once)."""


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
    replicas: int
    crossbars: int
    """row_blocks x col_blocks x replicas."""
    used_cells: int
    """Weights stored (rows x cols x replicas); a weight is one differential pair when the tile says so."""
    allocated_cells: int
    """crossbars x tile rows x tile weight_cols."""
    mvms: int
    """Matrix-vector multiplies per image (conv output positions, 1 for linear)."""
    tile_ops: int
    """Block MVMs per image: mvms x row_blocks x col_blocks (independent of replicas)."""
    blocks: tuple[Block, ...]

    @property
    def utilization(self) -> float:
        return self.used_cells / self.allocated_cells


@dataclass(frozen=True)
class Mapping:
    """The whole graph on the target: layers, placed blocks, tile fit."""

    graph: Graph
    target: str
    layers: tuple[LayerMap, ...]
    tiles: int
    """Tiles on the target."""
    tile_rows: int
    tile_cols: int
    time_multiplex: bool

    @property
    def blocks(self) -> tuple[Block, ...]:
        return tuple(b for lm in self.layers for b in lm.blocks)

    @property
    def crossbars(self) -> int:
        return sum(lm.crossbars for lm in self.layers)

    @property
    def slots(self) -> int:
        """Programming rounds: 1 when every crossbar has its own tile."""
        return -(-self.crossbars // self.tiles) if self.time_multiplex else 1

    @property
    def fits_tiles(self) -> bool:
        return self.crossbars <= self.tiles

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
                              "row_blocks": lm.row_blocks, "col_blocks": lm.col_blocks, "replicas": lm.replicas,
                              "crossbars": lm.crossbars, "utilization": lm.utilization, "mvms": lm.mvms,
                              "tile_ops": lm.tile_ops} for lm in self.layers])

    def table(self) -> str:
        """A fixed-width table with totals and the tile fit."""
        w = max([5] + [len(lm.name) for lm in self.layers])
        head = (f"{'layer':<{w}} {'kind':<7} {'matrix':>9} {'row_blk':>7} {'col_blk':>7} {'copies':>6} "
                f"{'xbars':>5} {'util':>6} {'MVMs/img':>9} {'tile_ops/img':>12}")
        lines = [f"{self.graph.name} on {self.target}: {self.tiles} tiles of {self.tile_rows} rows x "
                 f"{self.tile_cols} weights", head, "-" * len(head)]
        for lm in self.layers:
            lines.append(f"{lm.name:<{w}} {lm.kind:<7} {f'{lm.rows}x{lm.cols}':>9} {lm.row_blocks:>7} "
                         f"{lm.col_blocks:>7} {lm.replicas:>6} {lm.crossbars:>5} {lm.utilization:>6.1%} "
                         f"{lm.mvms:>9} {lm.tile_ops:>12}")
        lines += ["-" * len(head), f"{'total':<{w}} {'':<7} {'':>9} {'':>7} {'':>7} {'':>6} {self.crossbars:>5} "
                                    f"{self.utilization:>6.1%} {self.mvms:>9} {self.tile_ops:>12}"]
        if self.fits_tiles:
            lines.append(f"tiles: {self.crossbars} crossbars on {self.tiles} tiles, all resident")
        elif self.time_multiplex:
            lines.append(f"tiles: {self.crossbars} crossbars > {self.tiles} tiles: time-multiplexed in "
                         f"{self.slots} slots (reprogrammed between slots)")
        else:
            lines.append(f"tiles: {self.crossbars} crossbars > {self.tiles} tiles: DOES NOT FIT "
                         f"(time_multiplex=False)")
        return "\n".join(lines)


def _layer_map(graph: Graph, name: str, cfg: SocConfig, blocking: RowBlocking, copies: int, first: int) -> LayerMap:
    rows, cols = graph.weight_shape(name)
    tr, tc = cfg.tiles.rows, cfg.tiles.weight_cols
    cuts = blocks_of(graph, name, cfg, blocking)
    cb = -(-cols // tc)
    rb = len(cuts) // cb
    blocks = []
    for r in range(copies):
        for k, (r0, nr, c0, nc) in enumerate(cuts):
            blocks.append(Block(name, r, k // cb, k % cb, r0, nr, c0, nc, first + len(blocks), None, None))
    mvms = graph.mvms(name)
    return LayerMap(name, graph.node(name).layer.kind, rows, cols, rb, cb, copies, len(blocks), rows * cols * copies,
                    len(blocks) * tr * tc, mvms, mvms * rb * cb, tuple(blocks))


def _place(layers: list[LayerMap], tiles: int, multiplex: bool) -> tuple[LayerMap, ...]:
    out = []
    for lm in layers:
        placed = []
        for b in lm.blocks:
            fits = multiplex or b.crossbar < tiles
            placed.append(replace(b, tile=b.crossbar % tiles if fits else None,
                                  slot=b.crossbar // tiles if fits else None))
        out.append(replace(lm, blocks=tuple(placed)))
    return tuple(out)


def map_graph(graph: Graph, cfg: SocConfig, options: MapOptions | None = None) -> Mapping:
    """Map ``graph`` onto ``cfg``'s tiles: its crossbar blocks, their round-robin placement and the work per image.
    Raises CapacityError past :data:`MAX_CROSSBARS`; memory capacity is the compiler's plan (compiler.memplan)."""
    opt = options or MapOptions()
    weight_names = [n.name for n in graph.weight_nodes()]
    for name in opt.replicas:
        if name not in weight_names:
            raise GraphError(f"{graph.name}: replicas names {name!r}, which is not a weight layer; "
                             f"weight layers: {', '.join(weight_names)}")
    tr, tc, tiles = cfg.tiles.rows, cfg.tiles.weight_cols, cfg.tiles.count
    blocking = cfg.compiler.row_blocking if opt.row_blocking is None else opt.row_blocking
    total = 0
    for name in weight_names:  # count first: refuse before enumerating blocks
        rows, cols = graph.weight_shape(name)
        total += len(row_cuts(graph, name, tr, blocking)) * len(col_cuts(graph, name, tc)) * opt.replicas.get(name, 1)
        if total > MAX_CROSSBARS:
            raise CapacityError(f"{graph.name}: layer {name!r} ({rows} x {cols} matrix) brings the graph to {total} "
                                f"crossbars of {tr} x {tc}, more than the {MAX_CROSSBARS} socsim maps")
    layers: list[LayerMap] = []
    for name in weight_names:
        layers.append(_layer_map(graph, name, cfg, blocking, opt.replicas.get(name, 1),
                                 sum(lm.crossbars for lm in layers)))
    total = sum(lm.crossbars for lm in layers)
    multiplex = total > tiles if opt.time_multiplex is None else opt.time_multiplex
    placed = _place(layers, tiles, multiplex)
    return Mapping(graph, cfg.name, placed, tiles, tr, tc, multiplex)


def mapping_table(graph: Graph, cfg: SocConfig, options: MapOptions | None = None) -> str:
    """The readable fixed-width mapping table (crossbars, blocks, utilization, work per image, tile fit)."""
    return map_graph(graph, cfg, options).table()


def mapping_frame(graph: Graph, cfg: SocConfig, options: MapOptions | None = None) -> pd.DataFrame:
    """The mapping as a DataFrame, one row per weight layer."""
    return map_graph(graph, cfg, options).frame()
