"""Chrome trace-event output: valid JSON, one track per unit, no overlapping slices, microsecond times."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socsim.debug.tracefile import read_trace, write_trace
from socsim.sim.result import TIMELINE_COLUMNS


def load(path) -> tuple[list[dict], dict[int, str]]:
    data = json.loads(path.read_text())
    assert set(data) >= {"traceEvents", "displayTimeUnit", "otherData"}
    events = data["traceEvents"]
    tracks = {ev["tid"]: ev["args"]["name"] for ev in events if ev["ph"] == "M" and ev["name"] == "thread_name"}
    return events, tracks


def check_trace_format(events: list[dict], tracks: dict[int, str]) -> None:
    """Required fields per event, every slice on a named track, slices of a track in order without overlap."""
    assert len(set(tracks.values())) == len(tracks), "one track per unit"
    slices = [ev for ev in events if ev["ph"] == "X"]
    for ev in slices:
        assert {"name", "ph", "ts", "dur", "pid", "tid", "args"} <= set(ev)
        assert isinstance(ev["ts"], (int, float)) and ev["dur"] >= 0
        assert ev["tid"] in tracks
        assert {"pc", "opcode", "layer", "phase"} <= set(ev["args"])
    for tid in tracks:
        mine = sorted((ev["args"]["start_cycle"], ev["args"]["end_cycle"]) for ev in slices if ev["tid"] == tid)
        for (_, end), (start, _) in zip(mine, mine[1:]):
            assert start >= end, f"overlapping slices on {tracks[tid]}"


def test_trace_of_a_program(infer_result, tmp_path):
    r = infer_result
    path = tmp_path / "trace.json"
    n = write_trace(r.timeline, path, r.cfg.clock_hz)
    events, tracks = load(path)
    check_trace_format(events, tracks)
    assert n == len(r.timeline) == sum(ev["ph"] == "X" for ev in events)
    assert sorted(tracks.values()) == sorted(r.timeline["unit"].unique())
    t0 = r.timeline["start"].min()
    first = r.timeline.sort_values("start").iloc[0]
    ev = next(e for e in events if e["ph"] == "X" and e["args"]["pc"] == first.pc)
    assert ev["ts"] == pytest.approx((first.start - t0) / r.cfg.clock_hz * 1e6)
    assert ev["dur"] == pytest.approx((first.end - first.start) * 1e6 / r.cfg.clock_hz)  # 100 MHz: 0.01 us/cycle
    assert ev["name"] == first.opcode and ev["cat"] == first.phase
    back = read_trace(path)
    assert back.sort_values(["start", "unit"]).astype(str).to_numpy().tolist() == \
        r.timeline.sort_values(["start", "unit"]).astype(str).to_numpy().tolist()


def test_bounded_trace_keeps_jobs_starting_in_the_window(infer_result, tmp_path):
    r = infer_result
    t0 = int(r.timeline["start"].min())
    path = tmp_path / "bounded.json"
    n = write_trace(r.timeline, path, r.cfg.clock_hz, max_cycles=2000)
    events, tracks = load(path)
    starts = [ev["args"]["start_cycle"] for ev in events if ev["ph"] == "X"]
    assert n == len(starts) == int((r.timeline["start"] < t0 + 2000).sum()) < len(r.timeline)
    assert max(starts) < t0 + 2000
    assert len(tracks) == r.timeline["unit"].nunique()  # tracks of idle units stay, so views line up
    with pytest.raises(ValueError, match="max_cycles"):
        write_trace(r.timeline, path, r.cfg.clock_hz, max_cycles=0)


def test_empty_timeline_writes_a_valid_trace(tmp_path):
    path = tmp_path / "empty.json"
    assert write_trace(pd.DataFrame(columns=TIMELINE_COLUMNS), path, 1e8) == 0
    events, tracks = load(path)
    assert tracks == {} and all(ev["ph"] == "M" for ev in events)


@st.composite
def timelines(draw) -> pd.DataFrame:
    """Random sequential jobs on up to 4 units (a unit runs one job at a time, as in the simulator)."""
    rows = []
    for u in range(draw(st.integers(1, 4))):
        t = draw(st.integers(0, 50))
        for pc in range(draw(st.integers(0, 8))):
            t += draw(st.integers(0, 5))
            d = draw(st.integers(0, 20))
            rows.append((f"tile{u}", pc, "mvm", "fc1", "forward", t, t + d))
            t += d
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


@settings(max_examples=25, deadline=None)
@given(tl=timelines(), clock=st.sampled_from([1e6, 1e8, 1.5e9]), bound=st.one_of(st.none(), st.integers(1, 100)))
def test_any_sequential_timeline_gives_a_valid_trace(tl, clock, bound, tmp_path_factory):
    path = tmp_path_factory.mktemp("trace") / "t.json"
    n = write_trace(tl, path, clock, max_cycles=bound)
    events, tracks = load(path)
    check_trace_format(events, tracks)
    assert n == sum(ev["ph"] == "X" for ev in events)
