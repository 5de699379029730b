"""``socsim compile --mapping``: the mapping table, the placement the lowering uses and the compiler's memory plan.

Everything it prints about memories and tiles comes from compiling the graph (:func:`memory_plan` runs
:func:`compile_training`), so "ok" here means the compiler accepts the graph, and an overflow names the memory and
the config field to raise (socsim.compiler.memory.plan).
"""

from __future__ import annotations

from socsim.compiler.graph import Graph, GraphError
from socsim.compiler.lower.lowering import memory_plan
from socsim.compiler.mapping.placement import Placement, place_blocks
from socsim.compiler.mapping.table import Mapping, map_graph
from socsim.compiler.memory.plan import MemoryPlan
from socsim.config.soc import SocConfig


def placed_line(placement: Placement, cfg: SocConfig) -> str:
    """How the lowering placed the blocks."""
    return (f"placement used by the lowering ({cfg.compiler.placement.value}): {len(placement.blocks)} blocks as "
            f"column strips on {placement.tiles_used} of {cfg.tiles.count} tiles, all resident")


def placement_line(graph: Graph, cfg: SocConfig) -> str:
    """How the lowering places the blocks (or why they do not fit the tiles)."""
    try:
        return placed_line(place_blocks(graph, cfg), cfg)
    except GraphError as exc:
        return f"placement used by the lowering: does not fit ({exc})"


def mapping_text(mapping: Mapping, placement: str, plan: MemoryPlan) -> str:
    """The mapping table, the placement line and the memory plan's lines, as ``socsim compile --mapping`` prints."""
    return "\n".join([mapping.table(), placement, *plan.lines()])


def mapping_check(graph: Graph, cfg: SocConfig, n_train: int, n_test: int,
                  inference: bool = False) -> tuple[str, MemoryPlan]:
    """The text ``socsim compile --mapping`` prints and the memory plan it reports (``inference``: of the
    inference-only programs, ``socsim compile --infer --mapping``)."""
    plan = memory_plan(graph, cfg, n_train, n_test, inference=inference)
    return mapping_text(map_graph(graph, cfg), placement_line(graph, cfg), plan), plan
