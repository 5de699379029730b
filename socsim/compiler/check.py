"""``socsim compile --mapping``: the mapping table, the placement the lowering uses and the compiler's memory plan.

Everything it prints about memories and tiles comes from compiling the graph (:func:`memory_plan` runs
:func:`compile_training`), so "ok" here means the compiler accepts the graph, and an overflow names the memory and
the config field to raise (socsim.compiler.memplan).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from socsim.compiler.graph import Graph, GraphError
from socsim.compiler.lower import Compiled, memory_plan
from socsim.compiler.mapping import map_graph, mapping_table
from socsim.compiler.memplan import MemoryPlan
from socsim.compiler.placement import place_blocks
from socsim.config import SocConfig


def placement_line(graph: Graph, cfg: SocConfig) -> str:
    """How the lowering places the blocks (or why they do not fit the tiles)."""
    try:
        placement = place_blocks(graph, cfg)
    except GraphError as exc:
        return f"placement used by the lowering: does not fit ({exc})"
    return (f"placement used by the lowering ({cfg.compiler.placement.value}): {len(placement.blocks)} blocks as "
            f"column strips on {placement.tiles_used} of {cfg.tiles.count} tiles, all resident")


def mapping_text(graph: Graph, cfg: SocConfig, plan: MemoryPlan) -> str:
    """The mapping table, the placement line and the memory plan's lines, as ``socsim compile --mapping`` prints."""
    return "\n".join([mapping_table(graph, cfg), placement_line(graph, cfg), *plan.lines()])


def mapping_check(graph: Graph, cfg: SocConfig, n_train: int, n_test: int) -> tuple[str, MemoryPlan]:
    """The text ``socsim compile --mapping`` prints and the memory plan it reports."""
    plan = memory_plan(graph, cfg, n_train, n_test)
    return mapping_text(graph, cfg, plan), plan


MAPPING_FORMAT = 1
"""Version of :func:`mapping_record`'s layout (``mapping.json`` of a run folder)."""


def mapping_record(graph: Graph, cfg: SocConfig, compiled: Compiled) -> dict[str, Any]:
    """What a run folder keeps of the mapping its programs were compiled with (``mapping.json``), so a report
    needs neither the graph file nor the compiler: the ``--mapping`` text, every placed block, the lowering's
    placement table and the forward MACs per image of the mapping's geometry."""
    blocks = [dataclasses.asdict(b) for b in compiled.placement.blocks]
    macs = float(sum(lm.rows * lm.cols * lm.mvms for lm in map_graph(graph, cfg).layers))
    return {"format": MAPPING_FORMAT, "graph": graph.name, "text": mapping_text(graph, cfg, compiled.memory),
            "placement": {"tiles_used": compiled.placement.tiles_used, "blocks": blocks,
                          "table": compiled.placement.table()},
            "geometry_macs_per_image": macs}
