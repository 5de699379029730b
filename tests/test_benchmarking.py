"""The machine and command lines every benchmark and study prints first (socsim.benchmarking)."""

from __future__ import annotations

import os
import platform
import sys

from socsim.benchmarking import command_line, machine_line, print_header


def test_machine_line_names_the_platform_cpus_python_and_the_details_in_order():
    plain = f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}"
    assert machine_line() == plain
    assert machine_line("numpy 1", "X=2") == plain + ", numpy 1, X=2"
    proc = platform.processor() or platform.machine()
    assert machine_line(processor=True) == (f"machine: {platform.platform()}, {os.cpu_count()} cpus, {proc}, "
                                            f"python {platform.python_version()}")


def test_command_line_repeats_the_invocation(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/engine_speed.py", "--images", "8"])
    assert command_line() == f"command: {os.path.basename(sys.executable)} benchmarks/engine_speed.py --images 8"


def test_print_header_prints_the_two_lines(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["study.py"])
    print_header("OPENBLAS_NUM_THREADS=1")
    assert capsys.readouterr().out.splitlines() == [machine_line("OPENBLAS_NUM_THREADS=1"), command_line()]
