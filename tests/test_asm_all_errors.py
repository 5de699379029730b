"""One assembly reports every error of the file, in line order, up to a limit; an error that follows from an earlier
one (a use of a symbol whose declaration failed) is not reported again."""

from __future__ import annotations

import pytest

import isa
from isa.asm import MAX_ERRORS, AsmErrors
from socsim.cli import main

SIX = """\
.equ N 64
.sym a sram N
.sym b sram N uniform 1.0 0.0 3      ; 1: low above high
    frob x1, x2                      ; 2: unknown instruction
    vadd a, a, b, N                  ; b's declaration failed: not reported again
    add x1, x2, x40                  ; 3: bad register
    bne x1, x0, nowhere              ; 4: undefined label
    vfill c, 4, 1.0                  ; 5: undefined symbol
.sym a sram 4                        ; 6: declared twice
    halt
"""


def test_six_errors_in_one_file_are_all_reported_in_line_order():
    with pytest.raises(AsmErrors) as info:
        isa.assemble(SIX, "six.s")
    errors = info.value.errors
    assert [(e.line, e.col) for e in errors] == [(3, 23), (4, 5), (6, 17), (7, 17), (8, 11), (9, 6)]
    lines = str(info.value).splitlines()
    assert lines[-1] == "6 errors" and lines[1] == ("six.s:4:5: unknown instruction 'frob'; expected a mnemonic from "
                                                    "docs/isa.md or a directive (.equ, .layer, .sym, .lanes)")
    assert "'b'" not in str(info.value).split("\n", 1)[1]  # the use of the broken b is not an error of its own


def test_one_error_is_reported_as_before():
    with pytest.raises(isa.IsaError) as info:
        isa.assemble("    frob\n    halt\n", "one.s")
    assert not isinstance(info.value, AsmErrors) and str(info.value).startswith("one.s:1:5: unknown instruction")


def test_past_the_limit_the_count_of_the_rest_is_given():
    with pytest.raises(AsmErrors) as info:
        isa.assemble("    frob\n" * (MAX_ERRORS + 5), "many.s")
    lines = str(info.value).splitlines()
    assert len(lines) == MAX_ERRORS + 2 and lines[-2:] == ["... and 5 more errors", f"{MAX_ERRORS + 5} errors"]


def test_asm_prints_every_error(tmp_path, capsys):
    src = tmp_path / "six.s"
    src.write_text(SIX)
    assert main(["asm", str(src)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"socsim: error: {src}:3:23: ") and len(err) == 7 and err[-1] == "6 errors"
