"""The assembler's documented syntax (docs/isa.md, "Syntax"): integer expressions, symbol functions, warnings."""

from __future__ import annotations

import re

import numpy as np
import pytest

import isa
from isa.syntax import SYNTAX


def value(expr: str, pre: str = "") -> int:
    return isa.assemble(f"{pre}    li x1, {expr}\n    halt\n").instructions[0].args[1]


@pytest.mark.parametrize("expr, want", [("7 / 2", 3), ("7 // 2", 3), ("-7 / 2", -4), ("7 % 4", 3), ("-7 % 4", 1),
                                        ("1 << 10", 1024), ("-256 >> 3", -32), ("2 + 3 * 4", 14),
                                        ("(2 + 3) * 4", 20), ("N * N - 1", 63), ("0x10 + 0b11", 19)])
def test_integer_expressions(expr, want):
    assert value(expr, ".equ N 8\n") == want


def test_addr_and_size_of_a_symbol():
    pre = ".sym a sram 10\n.sym b sram 6 @64\n.sym t tb1 4 @8\n"
    assert value("addr(b) + size(a)", pre) == 74
    assert value("addr(t)", pre) == 8  # in its tile's window: tb1:8 is the same word
    with pytest.raises(isa.IsaError, match="bad integer 'addr\\(c\\)'"):
        value("addr(c)", pre)


@pytest.mark.parametrize("expr", ["2 ** 3", "1 / 0", "1 % 0", "1 >> -1", "a.b", "abs(1)"])
def test_what_expressions_refuse(expr):
    with pytest.raises(isa.IsaError):
        value(expr)


def test_a_write_to_x0_assembles_with_a_warning_but_a_jump_through_x0_does_not_warn():
    p = isa.assemble("    li x0, 5\n    addi x0, x1, 1\n    jal x0, end\nend:\n    halt\n", "w.s")
    assert p.warnings == ["w.s:1:8: li writes x0, which always reads 0: the result is dropped; expected a register "
                          "x1 .. x31",
                          "w.s:2:10: addi writes x0, which always reads 0: the result is dropped; expected a "
                          "register x1 .. x31"]


def test_every_example_of_the_syntax_section_assembles_and_runs():
    from socsim.config.soc import load_config
    from socsim.sim import Soc
    examples = re.findall(r"```asm\n(.*?)```", SYNTAX, re.S)
    assert len(examples) == 2
    outs = [Soc.from_config(load_config("wu2023"), engine="reference").run(isa.assemble(text, "example.s")).outputs
            for text in examples]
    c = outs[0]["c"]
    assert (c[32:64] == np.r_[3.0, 4.0, [1.0] * 30]).all() and (c[16:24] == 5).all() and (c[:16] == 0).all()
    assert (outs[1]["acc"] == 4).all()
