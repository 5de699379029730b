"""The command line: asm, disasm, run, exit codes and messages."""

from __future__ import annotations

import subprocess
import sys

from socsim.cli import EXIT_ERROR, EXIT_TRAP, main


def test_asm_disasm_run_roundtrip(tmp_path, capsys):
    out = tmp_path / "mlp.bin"
    assert main(["asm", "programs/mlp_infer.s", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"SOCSIMB2"
    text = tmp_path / "mlp.s"
    assert main(["disasm", str(out), "-o", str(text)]) == 0
    again = tmp_path / "again.bin"
    assert main(["asm", str(text), "-o", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()
    capsys.readouterr()
    assert main(["run", str(out), "--dump", "pred", "--json", str(tmp_path / "s.json")]) == 0
    printed = capsys.readouterr().out
    assert "cycles" in printed and "tile0" in printed and "pred =" in printed
    assert (tmp_path / "s.json").exists()


def test_run_reports_a_trap_with_exit_code(tmp_path, capsys):
    prog = tmp_path / "bad.s"
    prog.write_text(".sym a sram 4\n    vadd a, a, sram:16382, 4\n    halt\n")
    assert main(["run", str(prog)]) == EXIT_TRAP
    err = capsys.readouterr().err
    assert "trap: out-of-range access at pc 0 (vadd" in err


def test_bad_input_names_the_file_and_line(tmp_path, capsys):
    prog = tmp_path / "bad.s"
    prog.write_text("    halt\n    frobnicate x1\n")
    assert main(["run", str(prog)]) == EXIT_ERROR
    assert f"{prog}:2:5: unknown instruction 'frobnicate'" in capsys.readouterr().err
    assert main(["run", "programs/mlp_infer.s", "--config", "nope"]) == EXIT_ERROR
    assert "unknown preset 'nope'" in capsys.readouterr().err


def test_capacity_trap_for_instruction_memory(tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text('base = "wu2023"\n[controller]\nimem_kbit = 1\n')
    assert main(["run", "programs/mlp_infer.s", "--config", str(cfg)]) == EXIT_TRAP
    assert "capacity exceeded" in capsys.readouterr().err


def test_help_documents_every_command():
    out = subprocess.run([sys.executable, "-m", "socsim.cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for command in ("asm", "disasm", "run", "presets", "config"):
        assert command in out


def test_compile_writes_a_bundle_that_runs_init_then_eval(tmp_path, capsys):
    """socsim compile -o NET.s writes NET.bundle; socsim run NET.bundle equals running NET.init.s then NET.eval.s
    (the same correct count, cycles and energy), and NET.eval.s alone traps naming the missing init program."""
    out = tmp_path / "mlp.s"
    assert main(["compile", "programs/mlp.toml", "-o", str(out), "--train-examples", "64", "--test-examples",
                 "32"]) == 0
    bundle = tmp_path / "mlp.bundle"
    assert f"init + evaluate -> {bundle}" in capsys.readouterr().out
    assert [line for line in bundle.read_text().splitlines() if not line.startswith("#")] == ["mlp.init.s",
                                                                                               "mlp.eval.s"]
    init, evaluate = tmp_path / "mlp.init.s", tmp_path / "mlp.eval.s"
    assert main(["run", str(bundle), "--dump", "correct"]) == 0
    by_bundle = capsys.readouterr().out
    assert main(["run", str(init), str(evaluate), "--dump", "correct"]) == 0
    in_order = capsys.readouterr().out
    assert by_bundle == in_order and "correct =\n[" in by_bundle
    assert main(["run", str(evaluate)]) == EXIT_TRAP
    assert "after NET.init.s (socsim run NET.bundle" in capsys.readouterr().err


def test_run_bundle_errors_name_the_bundle_line(tmp_path, capsys):
    bundle = tmp_path / "x.bundle"
    bundle.write_text("# programs\nmissing.s\n")
    assert main(["run", str(bundle)]) == EXIT_ERROR
    assert f"{bundle}:2:1: program 'missing.s' not found" in capsys.readouterr().err
    bundle.write_text("# nothing\n")
    assert main(["run", str(bundle)]) == EXIT_ERROR
    assert "lists no program" in capsys.readouterr().err
