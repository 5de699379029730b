"""docs/compiler.md shows the real layer reference and the real Wu LeNet mapping table."""

from __future__ import annotations

from pathlib import Path

from socsim.compiler.frontend_toml import load_toml, reference_markdown
from socsim.compiler.mapping import mapping_table
from socsim.config import load_config

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "compiler.md").read_text()


def _between(tag: str) -> str:
    return DOC.split(f"<!-- BEGIN {tag} -->\n")[1].split(f"<!-- END {tag} -->")[0]


def test_layer_reference_is_current():
    assert _between("layer-reference") == reference_markdown()


def test_wu_lenet_table_is_real_output():
    table = mapping_table(load_toml(ROOT / "programs" / "lenet_wu2023.toml"), load_config("wu2023"))
    assert _between("wu-lenet-table") == f"```\n{table}\n```\n"


def shipped_graphs_markdown() -> str:
    """The docs' table of programs/*.toml: dataset, size, mapping on wu2023 and whether its memories suffice."""
    from socsim.compiler.mapping import map_graph
    cfg = load_config("wu2023")
    rows = ["| file | dataset | input | parameters | weight layers | crossbars | utilization | MVMs/image | "
            "tile ops/image | fits wu2023 memories |", "|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted((ROOT / "programs").glob("*.toml")):
        g = load_toml(path)
        m = map_graph(g, cfg, check=False)
        over = [c.space for c in m.capacity if not c.ok]
        rows.append(f"| `{g.name}` | {g.input.layer.dataset} | {'x'.join(map(str, g.input.layer.shape))} | "
                    f"{g.param_count():,} | {len(m.layers)} | {m.crossbars:,} | {m.utilization:.1%} | {m.mvms:,} | "
                    f"{m.tile_ops:,} | {'no: ' + ', '.join(over) if over else 'yes'} |")
    return "\n".join(rows) + "\n"


def test_shipped_graphs_table_is_current():
    assert _between("shipped-graphs") == shipped_graphs_markdown()
