"""The validator rejects programs the encoder could not represent faithfully."""

from __future__ import annotations

import pytest

from isa import BY_MNEMONIC, DataInit, Instruction, IsaError, MemRef, Program, Space, Symbol, encode, validate
from isa.program import TBUF_STRIDE


def _vscl(f: float) -> Program:
    ref = MemRef(Space.SRAM, 0)
    return Program([Instruction(BY_MNEMONIC["vscl"], (ref, ref, 4, f)), Instruction(BY_MNEMONIC["halt"], ())],
                   {"a": Symbol("a", Space.SRAM, 0, 4)})


def test_float_immediates_must_be_float32_values():
    validate(_vscl(0.5))
    with pytest.raises(IsaError, match=r"operand f 0\.1 is not a float32 value"):
        encode(_vscl(0.1))  # 0.1 would silently become 0.10000000149011612


def test_tile_buffer_symbols_stay_in_one_window():
    prog = Program([Instruction(BY_MNEMONIC["halt"], ())],
                   {"t": Symbol("t", Space.TBUF, TBUF_STRIDE - 2, 4)})
    with pytest.raises(IsaError, match="crosses a tile-buffer window"):
        validate(prog)


def test_initial_values_fit_the_symbol():
    prog = Program([Instruction(BY_MNEMONIC["halt"], ())],
                   {"s": Symbol("s", Space.SRAM, 0, 2, DataInit("values", (1.0, 2.0, 3.0)))})
    with pytest.raises(IsaError, match="3 initial values for 2 words"):
        validate(prog)


def test_a_pool_window_larger_than_its_planes_traps_with_a_clear_message():
    import isa
    from socsim.config.soc import load_config
    from socsim.sim import Soc, Trap, TrapKind
    text = ".sym a sram 16\n.sym b sram 16\n    maxpool b, a, 1, 2, 2, 3, 1\n    halt\n"
    with pytest.raises(Trap) as info:
        Soc(load_config("ideal")).run(isa.assemble(text, "p.s"))
    assert info.value.kind is TrapKind.BAD_OPERAND and info.value.pc == 0
    assert "a 3 x 3 pooling window with stride 1 does not fit planes of 2 x 2" in str(info.value)
