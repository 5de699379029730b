"""One capacity error lists every field to raise, each with the least value that fits with the others raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from socsim.compiler import load_graph
from socsim.compiler.lower.lowering import CapacityError, compile_training
from socsim.compiler.memory.shortfalls import with_field
from socsim.config.soc import load_config

MLP = str(Path(__file__).resolve().parents[2] / "programs" / "mlp.toml")
SMALL = {"tiles": {"count": 1}, "controller": {"dmem_kbit": 1, "imem_kbit": 1}, "sram": {"acc_kbit": 1}}


def test_every_shortfall_is_listed_with_the_least_value_that_fits():
    graph, cfg = load_graph(MLP), load_config("wu2023", SMALL)
    with pytest.raises(CapacityError, match="every shortfall at once") as info:
        compile_training(graph, cfg, 256, 64)
    needs = info.value.needs
    assert set(needs) == {"tiles.count", "controller.dmem_kbit", "sram.acc_kbit", "controller.imem_kbit"}
    for field, least in needs.items():
        assert f"raise {field} to at least {least}" in str(info.value)
    fitted = cfg
    for field, least in needs.items():
        fitted = with_field(fitted, field, least)
    compile_training(graph, fitted, 256, 64)  # every field raised: it compiles
    for field, least in needs.items():  # each one less than its least: it does not
        with pytest.raises(CapacityError, match=field.replace(".", r"\.")):
            compile_training(graph, with_field(fitted, field, least - 1), 256, 64)


def test_a_single_shortfall_keeps_its_own_message():
    cfg = load_config("wu2023", {"tiles": {"count": 1}})
    with pytest.raises(CapacityError, match=r"raise tiles.count to at least 2$") as info:
        compile_training(load_graph(MLP), cfg, 256, 64)
    assert "every shortfall" not in str(info.value)


def test_code_bytes_counted_from_the_text_are_the_assembled_ones():
    from socsim.compiler.memory.shortfalls import text_code_bytes
    for name in ("mlp", "lenet_wu2023"):
        compiled = compile_training(load_graph(str(Path(MLP).with_name(f"{name}.toml"))), load_config("wu2023"),
                                    256, 64)
        for program, text in compiled.text.items():
            assert text_code_bytes(text) == getattr(compiled, program).code_bytes(), (name, program)
