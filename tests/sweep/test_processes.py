"""Sweeps under signals and concurrency: SIGTERM is handled like Ctrl-C, pool workers die with a SIGKILLed
parent, a point folder or sweep folder in use is never computed twice at once, a blank row is not finished,
and a sweep name cannot leave its folder."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from socsim.base.locks import FolderBusy, FolderLock
from socsim.sweep import SweepError, expand, load_sweep, run_sweep
from socsim.sweep.run import POINTS_DIR
from socsim.sweep.table import RESULTS, read_table
from tests.sweep.conftest import MLP, PROGRAM_SWEEP, ROOT, write_sweep

SLOW_SWEEP = f"""
name = "slow"
[job]
kind = "train"
graph = "{MLP}"
dataset = "digits"
epochs = 8
[grid]
seed = [0, 1, 2, 3]
"""
"""Four points of 8 full digits epochs each (~4 s a point): long enough to be killed in the middle."""


def _start(sweep: Path, out: Path) -> subprocess.Popen:
    """The sweep on 2 pool workers; stdout and stderr go to files beside ``out`` (a pipe would make waiting for
    output wait for every process holding it, orphans included)."""
    with open(out.parent / "stdout.txt", "w") as stdout, open(out.parent / "stderr.txt", "w") as stderr:
        return subprocess.Popen([sys.executable, "-m", "socsim.cli", "sweep", str(sweep), "--out", str(out),
                                 "--workers", "2", "--no-figures"], cwd=ROOT, stdout=stdout, stderr=stderr,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _output(out: Path) -> tuple[str, str]:
    return (out.parent / "stdout.txt").read_text(), (out.parent / "stderr.txt").read_text()


def _workers_busy(proc: subprocess.Popen, out: Path) -> list[psutil.Process]:
    """Wait until two pool workers are training (their point folders have a run.json); return them."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, _output(out)
        kids = [k for k in psutil.Process(proc.pid).children() if "resource_tracker" not in " ".join(k.cmdline())]
        if len(kids) >= 2 and len(list((out / POINTS_DIR).glob("*/run.json"))) >= 2:
            return kids
        time.sleep(0.05)
    raise AssertionError("the sweep never had two workers training")


def _dead(p: psutil.Process) -> bool:
    """Exited: gone, or a zombie (an orphan's exit is reaped by whatever init the machine has, maybe never)."""
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _gone(procs: list[psutil.Process], within: float) -> bool:
    deadline = time.monotonic() + within
    while not all(_dead(p) for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_sigterm_stops_the_workers_and_keeps_finished_points(tmp_path):
    out = tmp_path / "out"
    proc = _start(write_sweep(tmp_path, SLOW_SWEEP), out)
    workers = _workers_busy(proc, out)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    stdout, stderr = _output(out)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "terminated; finished points are in" in stdout
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert _gone(workers, 10), "pool workers outlived the terminated sweep"


def test_workers_die_with_a_sigkilled_parent(tmp_path):
    out = tmp_path / "out"
    proc = _start(write_sweep(tmp_path, SLOW_SWEEP), out)
    workers = _workers_busy(proc, out)
    tracker = [k for k in psutil.Process(proc.pid).children() if k not in workers]
    proc.kill()
    proc.wait(timeout=30)
    # a worker finishing its point alone would run for seconds more: they must go at once
    assert _gone(workers + tracker, 1.5), "orphaned workers (or the resource tracker) kept running"
    busy = list((out / POINTS_DIR).glob("*/.lock"))
    for lock in busy:  # the locks died with their holders: a rerun may compute those points
        with FolderLock(lock.parent):
            pass


def test_a_point_folder_in_use_is_not_computed_twice(tmp_path, program_sweep):
    spec = load_sweep(program_sweep)
    point = expand(spec)[1]
    held = tmp_path / "out" / POINTS_DIR / point.key
    with FolderLock(held):  # another process computing this point
        outcome = run_sweep(spec, tmp_path / "out", workers=1, figures=False)
        row = outcome.table.set_index("key").loc[point.key]
        assert row["status"] == "busy" and "in use by another socsim process" in row["error"]
        assert sorted(p.name for p in held.iterdir()) == [".lock"]  # nothing computed or written there
    again = run_sweep(spec, tmp_path / "out", workers=1, figures=False)
    assert again.ran == [point.key]  # busy is not finished: the rerun computes it, and only it
    assert (again.table["status"] == "ok").all()


def test_a_second_sweep_into_the_same_folder_is_refused(tmp_path, program_sweep):
    spec = load_sweep(program_sweep)
    with FolderLock(tmp_path / "out"):
        with pytest.raises(FolderBusy, match="this sweep folder is in use by another socsim process"):
            run_sweep(spec, tmp_path / "out", workers=1, figures=False)


def test_a_row_with_blank_metrics_is_not_taken_as_finished(tmp_path, program_sweep):
    spec = load_sweep(program_sweep)
    first = run_sweep(spec, tmp_path / "out", workers=1, figures=False)
    results = tmp_path / "out" / RESULTS
    rows = read_table(results)
    key = rows[2]["key"]
    text = results.read_text().splitlines()
    cells = text[3].split(",")
    header = text[0].split(",")
    for metric in spec.metrics:
        cells[header.index(metric)] = ""
    text[3] = ",".join(cells)
    results.write_text("\n".join(text) + "\n")
    again = run_sweep(spec, tmp_path / "out", workers=1, figures=False)
    assert again.ran == [key]
    assert again.table.drop(columns="wall_s").equals(first.table.drop(columns="wall_s"))


ESCAPES = {
    "name up and out": ('name = "../../.."\n', "name '../../..'"),
    "absolute name": ('name = "/tmp/x"\n', "name '/tmp/x'"),
    "figure file up": ('[[figure]]\nx = "cycles"\ny = "energy_pj"\nfile = "../../f.png"\n', "file '../../f.png'"),
}


@pytest.mark.parametrize("head, message", ESCAPES.values(), ids=ESCAPES.keys())
def test_a_sweep_name_or_figure_file_cannot_leave_its_folder(tmp_path, head, message):
    text = head + PROGRAM_SWEEP.replace('name = "vec"\n', "") if head.startswith("name") else PROGRAM_SWEEP + head
    with pytest.raises(SweepError, match=message):
        load_sweep(write_sweep(tmp_path, text))
