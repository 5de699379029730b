"""What the command line prints: --version, presets with descriptions, run's summary units, a closed pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import isa
from socsim import __version__
from socsim.base.units import energy_unit, fmt_energy, fmt_time, time_unit
from socsim.cli import EXIT_BROKEN_PIPE, main
from socsim.cli.configs import preset_description
from socsim.config.soc import DEFAULT_PRESET, load_config, preset_names
from socsim.sim import Soc

ROOT = Path(__file__).resolve().parents[1]


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"socsim {__version__}" and lines[1].startswith("numeric environment: numpy ")
    assert len(lines) == 2


def test_every_preset_has_a_one_line_description(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == preset_names()
    for name, line in zip(preset_names(), lines):
        desc = preset_description(name)
        assert 20 <= len(desc) <= 110, f"socsim/presets/{name}.toml: first line must be '# <one-line description>'"
        assert line.endswith(desc)
        assert ("(default)" in line) == (name == DEFAULT_PRESET)


@pytest.mark.parametrize("seconds, text", [(4.435675710, "4.44 s"), (55.59e-6, "55.6 us"), (7.92328e-3, "7.92 ms"),
                                           (999.7e-6, "1.00 ms"), (4435.6, "4,436 s"), (12e-9, "12.0 ns")])
def test_time_in_adapted_units(seconds, text):
    assert fmt_time(seconds) == text


@pytest.mark.parametrize("pj, text", [(3740778.0, "3.74 uJ"), (29555.0, "29.6 nJ"), (240.0, "240 pJ"),
                                      (999.96, "1.00 nJ"), (2.5e12, "2.50 J")])
def test_energy_in_adapted_units(pj, text):
    assert fmt_energy(pj) == text


def test_units_tables():
    assert time_unit(4.4) == ("s", 1.0) and time_unit(5e-5) == ("us", 1e-6) and time_unit(0.0) == ("ns", 1e-9)
    assert energy_unit(999.0) == ("pJ", 1.0) and energy_unit(2.66e3) == ("nJ", 1e3)


def test_run_summary_uses_display_units(capsys):
    program = ROOT / "programs" / "mlp_infer.s"
    result = Soc.from_config(load_config("ideal")).run(isa.assemble_file(program))
    assert 1_000 <= result.cycles < 100_000 and 1e6 <= result.energy_pj < 1e7  # us and uJ below
    assert main(["run", str(program), "--config", "ideal"]) == 0
    out = capsys.readouterr().out
    assert f"cycles        {result.cycles:,}\n" in out
    assert f"time          {result.cycles / 100:.3g} us at 100 MHz\n" in out  # cycles / 100 MHz, in us
    assert (f"energy        {result.energy_pj / 1e6:.3g} uJ (dynamic {result.dynamic_energy_pj / 1e6:.3g} uJ + static "
            f"{result.static_energy_pj / 1e3:.3g} nJ)\n") in out
    assert 1e3 <= result.static_energy_pj < 1e6  # nJ above
    assert "\ncomponent        energy nJ   share  busy cycles   util\n" in out
    dram = result.by_component().loc["dram"]
    assert f"\ndram        {dram.energy_pj / 1e3:>14,.3f}{dram.share:>8.1%}            0   0.0%\n" in out


@pytest.mark.parametrize("buffered", [True, False])
def test_closed_pipe_exits_quietly(buffered):
    """``socsim compile ... | head``: when the reader has gone, no traceback and no 'Broken pipe' message, exit
    status 141 (128 + SIGPIPE), whether stdout is block-buffered (a pipe) or not (PYTHONUNBUFFERED)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | {"PYTHONPATH": str(ROOT)}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "socsim.cli", "compile", "programs/lenet_wu2023.toml"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is written: the first write fails
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert err == ""


def test_pipe_into_head_prints_the_first_lines():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}  # a write per line: head closes mid-way
    proc = subprocess.run(f"'{sys.executable}' -m socsim.cli compile programs/lenet_wu2023.toml | head -2",
                          shell=True, cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.splitlines()[0].startswith("lenet_wu2023 on wu2023: scheme wu2023")
    assert len(proc.stdout.splitlines()) == 2
