"""Runtime traps through ``socsim run`` in a subprocess: exit status 3, a message with PC, instruction, state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TRAPS = {
    # id: (config, program, the message's head)
    "illegal instruction": ("wu2023", """
.sym x tb0 4
.sym y tb0 4
    tcfg 0, 0, 0, 4, 4, 8
    mvmt 0, y, x, 1
    halt
""", "trap: illegal instruction at pc 1 (mvmt 0, "),
    "out-of-range access": ("ideal", """
.sym a sram 4
    li x1, 20000
    vadd a, a, a, 4
    vadd a(x1), a, a, 4
    halt
""", "trap: out-of-range access at pc 2 (vadd "),
    "deadlock": ("wu2023", """
    post du, 0, 1
    waitt 1
    waitt 1
    halt
""", "trap: deadlock at pc 2 (waitt 1)"),
    "NaN": ("ideal", """
.sym a sram 4 = 100, 1, 2, 3
    vscl a, a, 4, 1e38
    halt
""", "trap: NaN or inf produced at pc 0 (vscl "),
    "missing halt": ("ideal", ".sym a sram 4\n    vfill a, 4, 1.0\n    nop\n",
                     "trap: illegal instruction at pc 2"),
}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "socsim.cli", "run", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


CASES = [pytest.param(*v, id=k) for k, v in TRAPS.items()]


@pytest.mark.parametrize("config, program, head", CASES)
def test_trap_exits_3_with_pc_instruction_and_state(tmp_path, config, program, head):
    path = tmp_path / "trap.s"
    path.write_text(program)
    proc = _run(str(path), "--config", config)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith(f"socsim: {head}"), proc.stderr
    assert "unit state:" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_capacity_trap_names_the_memory(tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text('base = "wu2023"\n[controller]\nimem_kbit = 1\n')
    proc = _run("programs/mlp_infer.s", "--config", str(cfg))
    assert proc.returncode == 3 and "trap: capacity exceeded" in proc.stderr and "instruction memory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_undecodable_binary_is_bad_input_not_a_trap(tmp_path):
    import isa
    blob = bytearray(isa.encode(isa.assemble("    nop\n    halt\n", "t.s")))
    blob[12] = 0xFF  # the first code word's opcode byte
    path = tmp_path / "bad.bin"
    path.write_bytes(isa.encoding.seal(bytes(blob[:-4])))  # a valid checksum: the opcode itself is refused
    proc = _run(str(path))
    assert proc.returncode == 2 and f"socsim: error: {path}" in proc.stderr and "opcode 0xff" in proc.stderr


SPIN = "loop:\n    addi x1, x1, 1\n    jal x0, loop\n    halt\n"
"""A runaway program: it never reaches halt."""


def test_runaway_program_stops_at_the_default_budget(tmp_path, capsys, monkeypatch):
    """controller.max_cycles defaults to 2^40 (days); socsim run has a budget of its own, raised by --max-cycles."""
    import socsim.cli.program as run_command
    from socsim.cli import main
    from socsim.config.soc import load_config
    budget = run_command.run_budget
    assert budget(load_config("wu2023"), None).controller.max_cycles == run_command.DEFAULT_RUN_CYCLES
    low = load_config("wu2023", {"controller": {"max_cycles": 1000}})
    assert budget(low, None).controller.max_cycles == 1000  # a lower config budget is kept
    assert budget(low, 5000).controller.max_cycles == 5000  # --max-cycles wins
    path = tmp_path / "spin.s"
    path.write_text(SPIN)
    monkeypatch.setattr(run_command, "DEFAULT_RUN_CYCLES", 30_000)
    assert main(["run", str(path)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("socsim: trap: cycle limit reached at pc ") and "controller.max_cycles = 30000" in err
    assert "--max-cycles" in err
    assert main(["run", str(path), "--max-cycles", "60000"]) == 3
    assert "controller.max_cycles = 60000" in capsys.readouterr().err


def test_wall_clock_timeout_traps_with_the_pc(tmp_path):
    path = tmp_path / "spin.s"
    path.write_text(SPIN)
    proc = _run(str(path), "--timeout", "0.5", "--max-cycles", str(1 << 40))
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("socsim: trap: time limit reached at pc "), proc.stderr
    assert "(--timeout 0.5 s)" in proc.stderr and "Traceback" not in proc.stderr and proc.stdout == ""
