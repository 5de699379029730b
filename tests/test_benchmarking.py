"""What the benchmarks and studies share (socsim.tools.benchmarking): the machine and command lines they print first,
training a run folder through the command line."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import pandas as pd
import pytest

from socsim.runfolder.files import CHECKPOINT, METRICS
from socsim.tools.benchmarking import (
    chosen_cases,
    command_line,
    machine_line,
    percent_mean_std,
    print_header,
    train_run_folder,
)

MLP = str(Path(__file__).resolve().parents[1] / "programs" / "mlp.toml")


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


def test_train_run_folder_trains_skips_a_finished_folder_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    fresh = [MLP, "--config", "ideal", "--dataset", "digits", "--train-examples", "64", "--test-examples", "32"]
    train_run_folder(out, 1, fresh)
    assert len(pd.read_csv(out / METRICS)) == 1 and (out / CHECKPOINT).exists()
    assert "--out" in capsys.readouterr().out
    train_run_folder(out, 1, fresh)                          # finished: no command runs
    assert capsys.readouterr().out == ""
    train_run_folder(out, 2, fresh)                          # one more epoch, from the checkpoint
    assert "--resume" in capsys.readouterr().out
    assert list(pd.read_csv(out / METRICS)["epoch"]) == [1, 2]


def test_chosen_cases_keeps_the_order_and_refuses_an_unknown_case(capsys):
    ap = argparse.ArgumentParser()
    assert chosen_cases(ap, "b,a,", ["a", "b", "c"]) == ["b", "a"]
    with pytest.raises(SystemExit) as exc:
        chosen_cases(ap, "a,z", ["a", "b"])
    assert exc.value.code == 2
    assert "--cases: unknown z; expected some of a, b" in capsys.readouterr().err


def test_percent_mean_std_gives_the_sample_std_in_percent():
    assert percent_mean_std([0.9]) == "90.0"
    assert percent_mean_std([0.80, 0.90, 1.00], "%") == "90.0 +- 10.0%"  # ddof = 1: population std would be 8.2
    assert percent_mean_std(iter([0.5, 0.5])) == "50.0 +- 0.0"
