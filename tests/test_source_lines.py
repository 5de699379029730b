"""Source-level traps and listings: the assembler's line table (in the binary too, optionally), traps that cite
``file:line`` and the source text, ``socsim asm --listing``, pcs in the disassembly, and what a trap leaves behind
(the registers, what ran, --trace / --ledger / --json up to it)."""

from __future__ import annotations

import json

import pytest

import isa
from isa.encoding import encode
from isa.program import SourceLine
from socsim.cli import main
from socsim.config.soc import load_config
from socsim.sim import Soc, Trap

TRAPS = """\
.sym a sram 64 = 1.0
.sym b sram 64 = 2.0
.sym c sram 64
    li x3, 7            ; a register to see in the dump
top: vadd c, a, b, 64
    copy b, a, 64
    vadd c, a, b, 128   ; overrun
    halt
"""


def test_the_line_table_holds_each_instructions_file_line_and_text():
    p = isa.assemble(TRAPS, "t.s")
    assert p.lines[1] == SourceLine("t.s", 5, "vadd c, a, b, 64")  # without the label and the comment
    assert [src.line for src in p.lines] == [4, 5, 6, 7, 8]


def test_the_binary_keeps_the_line_table_only_when_asked_and_old_binaries_still_load():
    p = isa.assemble(TRAPS, "t.s")
    with_lines = isa.decode(encode(p, lines=True))
    assert with_lines.lines == p.lines and with_lines == p
    without = isa.decode(encode(p))
    assert without.lines == [] and without == p
    assert encode(p) == encode(isa.assemble(isa.disassemble(p)))  # the default binary does not depend on the text


def test_a_trap_cites_file_line_source_text_and_pc():
    soc = Soc.from_config(load_config("wu2023"), timeline=True)
    with pytest.raises(Trap) as info:
        soc.run(isa.assemble(TRAPS, "t.s"))
    t = info.value
    assert t.pc == 3 and t.source == "t.s:7" and t.instruction == "vadd c, a, b, 128"
    assert str(t).startswith("trap: out-of-range access at pc 3 (vadd c, a, b, 128), t.s:7, cycle ")
    assert t.registers[3] == 7
    r = t.partial  # the run up to the trap: the first vadd and the copy ran to completion
    assert r.instructions == 4 and list(r.timeline.opcode) == ["vadd", "copy"]
    assert r.cycles == r.timeline.end.max() and r.energy_pj > 0
    assert (r.outputs["c"] == 3.0).all()


def test_a_binary_without_a_line_table_names_the_instruction_by_its_symbols(tmp_path):
    path = tmp_path / "t.bin"
    isa.write_binary(isa.assemble(TRAPS, "t.s"), path)
    with pytest.raises(Trap) as info:
        Soc.from_config(load_config("wu2023")).run(isa.read_binary(path))
    assert info.value.instruction == "vadd c, a, b, 128" and info.value.source == ""


def test_run_writes_trace_ledger_and_json_up_to_the_trap_and_dumps_the_state(tmp_path, capsys):
    src = tmp_path / "t.s"
    src.write_text(TRAPS)
    files = {k: tmp_path / f"out.{k}" for k in ("trace", "ledger", "json")}
    code = main(["run", str(src), "--trace", str(files["trace"]), "--ledger", str(files["ledger"]),
                 "--json", str(files["json"])])
    out, err = capsys.readouterr()
    assert code == 3 and out == ""
    first, *rest = err.splitlines()
    assert first.startswith(f"socsim: trap: out-of-range access at pc 3 (vadd c, a, b, 128), {src}:7, cycle ")
    assert "  ran           4 instructions in " in rest[0] and rest[1] == "  registers     x3=7"
    assert json.loads(files["json"].read_text())["instructions"] == 4
    assert len(json.loads(files["trace"].read_text())["traceEvents"]) >= 2
    assert "vadd" in files["ledger"].read_text()


def test_asm_listing_prints_pc_source_and_encoding(tmp_path, capsys):
    src = tmp_path / "t.s"
    src.write_text(TRAPS)
    assert main(["asm", str(src), "--listing"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["pc", "source", "instruction", "encoding"]
    p = isa.assemble(TRAPS, str(src))
    words = " ".join(f"{w:08x}" for w in isa.encoding.encode_instruction(p.instructions[1]))
    assert lines[2].split(None, 2)[:2] == ["1", f"{src}:5"] and lines[2].endswith(words)
    assert "vadd c, a, b, 64" in lines[2]


def test_asm_lines_keeps_the_table_for_traps_of_the_binary(tmp_path, capsys):
    src, out = tmp_path / "t.s", tmp_path / "t.bin"
    src.write_text(TRAPS)
    assert main(["asm", str(src), "-o", str(out), "--lines"]) == 0
    assert main(["run", str(out)]) == 3
    assert f"(vadd c, a, b, 128), {src}:7" in capsys.readouterr().err


def test_disasm_shows_each_instructions_pc_and_still_reassembles():
    p = isa.assemble(TRAPS, "t.s")
    text = isa.disassemble(p)
    assert "    vadd c, a, b, 128" in text and text.splitlines()[-2].endswith("; pc 3")
    assert isa.assemble(text) == p
