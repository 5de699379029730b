"""Generated reference pages are current: regenerate with `python -m socsim.docgen`."""

from __future__ import annotations

import pytest

from socsim.docgen import DOCS, PAGES


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_page_is_current(name):
    on_disk = (DOCS / name).read_text()
    assert on_disk == PAGES[name](), f"docs/{name} is stale: run `python -m socsim.docgen`"


def test_isa_page_lists_every_opcode():
    from isa.spec import OPCODES
    text = (DOCS / "isa.md").read_text()
    for spec in OPCODES:
        assert f"| `{spec.mnemonic}` | 0x{spec.opcode:02x} |" in text
