"""``socsim debug``: a scripted session (commands on stdin) stops where asked and shows what was asked."""

from __future__ import annotations

import io
import sys

import pytest

import isa
from socsim.cli import main
from socsim.config.soc import load_config
from socsim.debug.stepper import Debugger, debug
from socsim.sim import Soc

PROGRAM = """\
.sym a sram 8 = 1.0
.sym s sram 1
    li x1, 3
loop:
    vadd a, a, a, 8
    addi x1, x1, -1
    bne x1, x0, loop
    vsum s, a, 8
    halt
"""


def session(commands: str, text: str = PROGRAM) -> tuple[int, str]:
    out = io.StringIO()
    soc = Soc.from_config(load_config("wu2023"), engine="reference")
    code = debug(soc, isa.assemble(text, "d.s"), iter(commands.splitlines()), out, echo=True)
    return code, out.getvalue()


def test_break_on_a_label_continue_regs_and_print():
    code, out = session("break loop\ncontinue\ncontinue\nregs\nprint a[0:2]\ncontinue\ncontinue\nprint s\n")
    stops = [line for line in out.splitlines() if line.startswith("stopped:")]
    assert stops == ["stopped: the first instruction", "stopped: breakpoint at pc 1", "stopped: breakpoint at pc 1",
                     "stopped: breakpoint at pc 1"]
    assert "x1 =       2" in out  # the second stop: one iteration done
    assert "a[0:2] = [2. 2.]" in out
    assert "\nhalted: 12 instructions, " in out and out.endswith("(socsim) print s\ns = [64.]\n")
    assert code == 0


def test_step_where_and_a_file_line_breakpoint():
    code, out = session("break d.s:8\nstep 2\nwhere\ncontinue\nwhere\nquit\n")
    assert "breakpoint at pc 4: vsum s, a, 8 (d.s:8)" in out
    after_step = out.split("(socsim) step 2\n")[1]
    assert after_step.startswith("stopped: step\npc 2 (d.s:6): addi x1, x1, -1\ncycle 2 ")
    assert "stopped: breakpoint at pc 4\npc 4 (d.s:8): vsum s, a, 8" in out
    assert "  du     " in out and out.endswith("quit\n")


def test_watch_stops_after_the_instruction_that_changed_the_symbol():
    _, out = session("watch s\ncontinue\nprint s\nquit\n")
    assert "stopped: watch: s changed (by pc 4: vsum s, a, 8)\npc 5 (d.s:9): halt" in out


def test_a_trap_stops_the_session_with_the_registers_still_readable():
    code, out = session("continue\nregs\n", PROGRAM.replace("vsum s, a, 8", "vsum s, a, 9"))
    assert code == 3 and "trap: trap: out-of-range access at pc 4 (vsum s, a, 9), d.s:8" in out
    assert "x1 =       0" in out


def test_the_command_reads_stdin(tmp_path, monkeypatch, capsys):
    src = tmp_path / "d.s"
    src.write_text(PROGRAM)
    monkeypatch.setattr(sys, "stdin", io.StringIO("break 4\ncontinue\nprint a\ncontinue\n"))
    assert main(["debug", str(src)]) == 0
    out = capsys.readouterr().out
    assert "(socsim) print a\na = [8. 8. 8. 8. 8. 8. 8. 8.]" in out and "halted: 12 instructions" in out


def test_the_command_takes_a_bundle(tmp_path, monkeypatch, capsys):
    """A bundle's programs run in order; the stepper drives the last (here it reads what the first wrote)."""
    (tmp_path / "first.s").write_text(".sym a sram 8\n    vfill a, 8, 3.0\n    halt\n")
    (tmp_path / "second.s").write_text(".sym a sram 8\n    vscl a, a, 8, 2.0\n    halt\n")
    bundle = tmp_path / "p.bundle"
    bundle.write_text("first.s\nsecond.s  # runs under the stepper\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO("continue\nprint a\n"))
    assert main(["debug", str(bundle)]) == 0
    assert "a = [6. 6. 6. 6. 6. 6. 6. 6.]" in capsys.readouterr().out


def test_a_mistyped_command_is_said_and_the_session_goes_on():
    """Each bad command gets one ``error:`` line naming what was wrong; the next command is read."""
    _, out = session("step x\nstep 0\nprint nope\nwatch\nprint a[-:2]\nbreak nowhere\nfrob\ncontinue\nprint s\n")
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert errors == ["error: step N needs N >= 1, got 'x'", "error: step N needs N >= 1, got '0'",
                      "error: no symbol 'nope'; the program has: a, s", "error: no symbol ''; the program has: a, s",
                      "error: print 'a[-:2]': expected SYMBOL, SYMBOL[i] or SYMBOL[i:j]",
                      "error: break 'nowhere': expected a pc, a label or FILE:LINE",
                      "error: unknown command 'frob'; 'help' lists them"]
    assert out.endswith("(socsim) print s\ns = [64.]\n")


def test_a_bug_in_a_command_is_not_taken_for_bad_input(monkeypatch):
    """Only a SocsimError is a user's mistake; any other exception escapes with its traceback."""
    def broken(self, text: str) -> None:
        raise KeyError("a bug")
    monkeypatch.setattr(Debugger, "print_symbol", broken)
    with pytest.raises(KeyError, match="a bug"):
        session("print a\n")
