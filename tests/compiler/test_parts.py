"""The lowering as named parts: frozen records of the network and the memory layout, emitters composed with them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from socsim.compiler.emit import Buffer
from socsim.compiler.frontend.toml import load_toml
from socsim.compiler.lower.lowering import Lowering, lowering
from socsim.config.soc import load_config

PROGRAMS = Path(__file__).resolve().parents[2] / "programs"


@pytest.fixture(scope="module")
def low() -> Lowering:
    """A residual network with padding, batch norm and several consumers, calibrated, on the pipelined datapath:
    every part and every optional buffer present."""
    cfg = load_config("wu2023_256", {"compiler": {"datapath": "pipelined"}})
    return lowering(load_toml(PROGRAMS / "resnet_digits.toml"), cfg, cfg.train, 4, 256, 64)


def _buffers(value: object, path: str) -> list[tuple[str, Buffer]]:
    """Every Buffer reachable from a record's fields (dicts, tuples, nested records)."""
    if isinstance(value, Buffer):
        return [(path, value)]
    if isinstance(value, dict):
        return [b for k, v in value.items() for b in _buffers(v, f"{path}[{k!r}]")]
    if isinstance(value, (tuple, list)):
        return [b for i, v in enumerate(value) for b in _buffers(v, f"{path}[{i}]")]
    if dataclasses.is_dataclass(value):
        return [b for f in dataclasses.fields(value) for b in _buffers(getattr(value, f.name), f"{path}.{f.name}")]
    return []


def test_every_part_is_a_frozen_record_of_its_own_class(low):
    parts = [low, low.network, low.layout, *(getattr(low.layout, f.name) for f in dataclasses.fields(low.layout))]
    # the writer and the tensors' residency (the step being emitted, socsim.compiler.lower.tensors) are the emission's
    # state: the two parts that change while the programs are emitted
    # global drift compensation and the BatchNorm statistics are compiled into the sequential inference-only programs
    # only (tests/compiler/test_inference_only.py), never beside this fixture's pipelined training programs
    parts += [getattr(low, f.name) for f in dataclasses.fields(low)
              if f.name not in ("network", "asm", "layout", "tensors", "compensation", "statistics")]
    assert None not in parts
    for part in parts:
        assert dataclasses.is_dataclass(part) and type(part).__dataclass_params__.frozen, type(part).__name__
        assert type(part).__bases__ == (object,), f"{type(part).__name__} inherits {type(part).__bases__}"
    with pytest.raises(dataclasses.FrozenInstanceError):
        low.layout.activations = None


def test_the_layout_holds_only_declared_symbols_and_every_indexed_buffer(low):
    """Each buffer of the layout is a symbol the plan declared (or a view of one) at the address the assembler gives
    it; every activation, gradient, pad and pipelined layout is in the layout."""
    found = _buffers(low.layout, "layout")
    assert len(found) > 50
    declared = {id(b) for b in low.asm.buffers.values()}
    assert [p for p, b in found if id(b) not in declared] == []
    held = {id(b) for _, b in found}
    for key, buf in low.asm.buffers.items():
        if key.startswith(("a_", "g_", "pad_", "gpad_", "inscale_", "hist_", "tin", "tout")):
            assert id(buf) in held, key


def test_only_the_calibration_reads_the_converters(low):
    texts = low.programs()
    assert "mvmr" in texts["calibrate"] and "vhist" in texts["calibrate"]
    assert not any(op in texts[k] for k in ("init", "train_epoch", "evaluate") for op in ("mvmr", "vhist"))
    assert low.blocks.readings is None and low.reading_forward.blocks.readings is low.calibration
