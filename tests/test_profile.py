"""Per-instruction profile (``socsim run --profile``): per pc its count, cycles, stall cycles and why, energy."""

from __future__ import annotations

import csv

import pytest

import isa
from socsim.base.actions import Action
from socsim.cli import main
from socsim.config.soc import load_config
from socsim.sim import Soc

CHAIN = """\
.sym x  dram 4096 = 1.0
.sym xs sram 4096
.sym y  sram 4096
.sym s  sram 1
    copy xs, x, 4096          ; pc 0
    vscl y, xs, 4096, 2.0     ; pc 1: waits for the copy on xs
    li x1, 3
loop:
    vsum s, y, 4096           ; pc 3, three times
    addi x1, x1, -1
    bne x1, x0, loop
    halt
"""


def profiled(text: str):
    soc = Soc.from_config(load_config("wu2023"), timeline=True, engine="reference")
    profile = soc.start_profile()
    return profile, soc.run(isa.assemble(text, "chain.s"))


def test_counts_cycles_and_energy_add_up_to_the_run():
    profile, r = profiled(CHAIN)
    rows = profile.rows
    assert sum(row.count for row in rows.values()) == r.instructions == 13
    assert rows[3].count == 3 and rows[4].count == 3 and rows[0].count == 1
    assert sum(row.cycles for row in rows.values()) == sum(r.busy_cycles[u] for u in r.busy_cycles if u != "bus")
    led = r.ledger
    dynamic = led[~led.action.isin([Action.LEAKAGE, Action.ELAPSED])].energy_pj.sum()
    assert sum(row.energy_pj for row in rows.values()) == pytest.approx(dynamic, rel=1e-12)


def test_a_stall_names_the_producer_and_the_symbol():
    profile, r = profiled(CHAIN)
    row = profile.rows[1]
    t = r.timeline
    copy_end = int(t[t.pc == 0].end.iloc[0])
    assert row.stall >= copy_end - 2 and row.reasons.most_common(1)[0][0] == "scoreboard: waits for pc 0 (copy) on xs"


def test_the_profile_needs_the_reference_engine():
    with pytest.raises(ValueError, match="reference engine"):
        Soc.from_config(load_config("wu2023"), engine="fast").start_profile()


def test_run_profile_writes_the_csv_and_names_the_longest_stall(tmp_path, capsys):
    src, out = tmp_path / "chain.s", tmp_path / "p.csv"
    src.write_text(CHAIN)
    assert main(["run", str(src), "--profile", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["pc", "line", "instruction", "count", "cycles", "stall_cycles", "energy_pj",
                             "stall_reason"]
    assert rows[1]["line"] == f"{src}:6" and rows[1]["instruction"] == "vscl y, xs, 4096, 2.0"
    text = capsys.readouterr().out
    worst = max(rows, key=lambda row: int(row["stall_cycles"]))
    assert f"longest stall: pc {worst['pc']} ({worst['instruction']}, {worst['line']}): {worst['stall_cycles']} " \
           f"cycles" in text


def test_run_runs_several_programs_in_order_on_one_soc(tmp_path, capsys):
    first, second = tmp_path / "init.s", tmp_path / "eval.s"
    first.write_text(".sym w sram 64*32 = 0.5\n    tcfg 0, 0, 0, 64, 32, 8\n    wv 0, w, w\n    halt\n")
    second.write_text(".sym x tb0 64 = 1.0\n.sym y tb0 32\n    mvm 0, y, x, 1\n    halt\n")
    assert main(["run", str(second)]) == 3  # alone: the tile was never configured
    assert "no tcfg has configured" in capsys.readouterr().err
    assert main(["run", str(first), str(second), "--dump", "y"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"program       {first} + {second}\n") and "instructions  2\n" in out


def test_with_a_trace_the_profile_adds_the_controller_and_why_each_job_waited(tmp_path):
    import json
    src, trace = tmp_path / "chain.s", tmp_path / "t.json"
    src.write_text(CHAIN)
    assert main(["run", str(src), "--profile", str(tmp_path / "p.csv"), "--trace", str(trace)]) == 0
    events = [e for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "X"]
    tracks = {e["args"]["name"]: e["tid"] for e in json.loads(trace.read_text())["traceEvents"]
              if e["name"] == "thread_name"}
    controller = [e for e in events if e["tid"] == tracks["controller"]]
    assert [e["args"]["pc"] for e in controller] == [0, 1, 2, 3, 4, 5, 3, 4, 5, 3, 4, 5, 6]
    vscl = next(e for e in events if e["name"] == "vscl" and e["tid"] == tracks["du"])
    at = controller[1]["args"]  # pc 1 on the controller: fetched, issued (one cycle), then the next fetch
    assert at["start_cycle"] < vscl["args"]["issued_cycle"] <= at["end_cycle"] < vscl["args"]["start_cycle"]
    assert vscl["args"]["waited_for"].startswith(
        "scoreboard: waits for pc 0 (copy) on xs (")
