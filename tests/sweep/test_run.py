"""Running sweeps: the table, resume after an interruption, failing points, figures, the command."""

from __future__ import annotations

import pytest

from socsim.sweep import load_sweep, run_sweep
from socsim.sweep.table import NONDETERMINISTIC, RESULTS, read_table
from tests.sweep.conftest import PROGRAM_SWEEP, ROOT, sweep_cli, write_sweep


def _strip(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k not in NONDETERMINISTIC} for r in rows]


def test_program_sweep_writes_table_and_figure(program_sweep, tmp_path):
    out = run_sweep(load_sweep(program_sweep), tmp_path / "out", workers=1)
    rows = read_table(out.results)
    assert [r["point"] for r in rows] == ["0", "1", "2", "3", "4"]
    assert all(r["status"] == "ok" for r in rows)
    assert [r["du.lanes"] for r in rows] == ["4", "4", "16", "16", "64"]
    cycles = [int(r["cycles"]) for r in rows]
    assert cycles[0] > cycles[2] > cycles[4]  # more lanes: fewer cycles
    assert int(rows[1]["cycles"]) > int(rows[0]["cycles"])  # longer pipeline fill: more cycles
    assert [p.name for p in out.figures] == ["energy_vs_cycles.png", "sweep.html"]
    assert out.figures[0].stat().st_size > 1000
    assert (tmp_path / "out" / "points" / rows[0]["key"] / "config.toml").exists()


def test_interrupted_sweep_resumes_and_ends_with_the_same_table(program_sweep, tmp_path):
    spec = load_sweep(program_sweep)
    whole = run_sweep(spec, tmp_path / "whole", workers=1, figures=False)
    seen: list[str] = []

    def stop_after_two(line: str) -> None:
        seen.append(line)
        if sum(line.startswith("[") for line in seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path / "cut", workers=1, figures=False, progress=stop_after_two)
    assert len(read_table(tmp_path / "cut" / RESULTS)) == 2  # each finished point is on disk at once
    again = run_sweep(spec, tmp_path / "cut", workers=1, figures=False)
    assert len(again.skipped) == 2 and len(again.ran) == 3
    assert _strip(read_table(again.results)) == _strip(read_table(whole.results))
    third = run_sweep(spec, tmp_path / "cut", workers=1, figures=False)
    assert third.ran == [] and len(third.skipped) == 5


def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    text = PROGRAM_SWEEP + '[[point]]\n"controller.dmem_kbit" = 1\n'
    spec = load_sweep(write_sweep(tmp_path, text))
    out = run_sweep(spec, tmp_path / "out", workers=1, figures=False)
    rows = read_table(out.results)
    assert [r["status"] for r in rows] == ["ok"] * 5 + ["trap"]
    assert "capacity exceeded" in rows[-1]["error"] and rows[-1]["cycles"] == ""
    rerun = run_sweep(spec, tmp_path / "out", workers=1, figures=False)
    assert rerun.ran == []  # a trap is a finished point ...
    retry = run_sweep(spec, tmp_path / "out", workers=1, figures=False, retry_failed=True)
    assert retry.ran == [rows[-1]["key"]]  # ... unless asked to retry


def test_edited_grid_keeps_the_points_it_still_has(program_sweep, tmp_path):
    spec = load_sweep(program_sweep)
    run_sweep(spec, tmp_path / "out", workers=1, figures=False)
    wider = load_sweep(write_sweep(tmp_path, PROGRAM_SWEEP.replace("du.lanes = [4, 16]", "du.lanes = [4, 8, 16]"),
                                   "wider.toml"))
    out = run_sweep(wider, tmp_path / "out", workers=1, figures=False)
    assert len(out.ran) == 2 and len(out.skipped) == 5
    assert [r["point"] for r in read_table(out.results)] == [str(i) for i in range(7)]


def test_command_dry_run_and_run(program_sweep, tmp_path):
    code, text = sweep_cli(str(program_sweep), "--dry-run")
    assert code == 0 and "5 point(s), job program" in text and "du.lanes=64" in text
    assert not (tmp_path / "runs").exists()
    code, text = sweep_cli(str(program_sweep), "--out", str(tmp_path / "o"), "--workers", "1")
    assert code == 0 and "5 point(s) in" in text and "Pareto front (cycles min, energy_pj min)" in text
    code, text = sweep_cli(str(program_sweep), "--out", str(tmp_path / "o"), "--workers", "1", "--no-figures")
    assert "5 of 5 points already finished" in text and "(0 run now, 5 finished before, 0 failed)" in text


def test_registered_in_the_socsim_command(program_sweep, tmp_path, capsys):
    from socsim.cli import EXIT_ERROR, build_parser, main
    assert "sweep" in build_parser()._subparsers._group_actions[0].choices
    assert main(["sweep", str(program_sweep), "--dry-run"]) == 0
    bad = write_sweep(tmp_path, PROGRAM_SWEEP.replace("du.lanes = [4, 16]", "du.lane = [4, 16]"), "bad.toml")
    assert main(["sweep", str(bad)]) == EXIT_ERROR
    assert f"{bad}: [grid]: du.lane: unknown field 'lane'" in capsys.readouterr().err


def test_shipped_example_expands():
    code, text = sweep_cli(str(ROOT / "programs" / "sweeps" / "adc_bits.toml"), "--dry-run")
    assert code == 0 and "6 point(s), job train" in text
