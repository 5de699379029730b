"""Generated pages and tables are current: docs/isa.md and docs/config.md (socsim.tools.docgen), the tables between
``<!-- BEGIN tag -->`` / ``<!-- END tag -->`` markers. ``--update-docs`` rewrites them instead of comparing."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from socsim.tools.docgen import DOCS, PAGES
from tests.docs.recorded import MASKS, ROOT

HINT = "run `make docs` (pytest tests/docs --update-docs)"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_page_is_current(name, update_docs):
    path, text = DOCS / name, PAGES[name]()
    if update_docs:
        path.write_text(text)
    assert path.read_text() == text, f"docs/{name} is stale: {HINT} or `python -m socsim.tools.docgen`"


def test_isa_page_lists_every_opcode():
    from isa.spec import OPCODES
    text = (DOCS / "isa.md").read_text()
    for spec in OPCODES:
        assert f"| `{spec.mnemonic}` | 0x{spec.opcode:02x} |" in text


def shipped_graphs_markdown() -> str:
    """The table of programs/*.toml: dataset, size, mapping on wu2023 and whether its memories suffice."""
    from socsim.compiler.frontend.toml import load_toml
    from socsim.compiler.lower.lowering import memory_plan
    from socsim.compiler.mapping.table import map_graph
    from socsim.config.soc import load_config
    cfg = load_config("wu2023")
    rows = ["| file | dataset | input | parameters | weight layers | crossbars | utilization | MVMs/image | "
            "tile ops/image | compiles for wu2023 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for path in sorted((ROOT / "programs").glob("*.toml")):
        g = load_toml(path)
        m = map_graph(g, cfg)
        plan = memory_plan(g, cfg, 4000, 1000)
        why = ("yes" if plan.ok else "no: " + (", ".join(u.space for u in plan.uses if not u.ok) or
                                               ("tiles" if "tiles.count" in plan.problem else "memories")))
        rows.append(f"| `{g.name}` | {g.input.layer.dataset} | {'x'.join(map(str, g.input.layer.shape))} | "
                    f"{g.param_count():,} | {len(m.layers)} | {m.crossbars:,} | {m.utilization:.1%} | {m.mvms:,} | "
                    f"{m.tile_ops:,} | {why} |")
    return "\n".join(rows) + "\n"


def layer_reference() -> str:
    from socsim.compiler.frontend.toml import reference_markdown
    return reference_markdown()


def masks_markdown() -> str:
    """The normalisation table of docs/recorded-output.md, from tests/docs/recorded.py's MASKS."""
    rows = ["| masked | pattern | shown as | why |", "|---|---|---|---|"]
    rows += [f"| {m.name} | `{m.pattern}` | `{m.replacement}` | {m.why} |" for m in MASKS]
    return "\n".join(rows) + "\n"


SECTIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("docs/compiler.md", "layer-reference"): layer_reference,
    ("docs/compiler.md", "shipped-graphs"): shipped_graphs_markdown,
    ("docs/recorded-output.md", "masks"): masks_markdown,
}
"""Generated sections of hand-written pages: (page, tag) -> the function that makes the text between the markers."""


def _split(text: str, tag: str) -> tuple[str, str, str]:
    begin, end = f"<!-- BEGIN {tag} -->\n", f"<!-- END {tag} -->"
    head, rest = text.split(begin, 1)
    body, tail = rest.split(end, 1)
    return head + begin, body, end + tail


@pytest.mark.parametrize("page, tag", sorted(SECTIONS), ids=lambda v: str(v))
def test_generated_section_is_current(page, tag, update_docs):
    path: Path = ROOT / page
    head, body, tail = _split(path.read_text(), tag)
    want = SECTIONS[(page, tag)]()
    if update_docs and body != want:
        path.write_text(head + want + tail)
        body = want
    assert body == want, f"{page}: the section {tag!r} is stale: {HINT}"
