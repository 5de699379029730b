"""Chrome trace-event JSON of a unit timeline (opens in Perfetto, ui.perfetto.dev, and chrome://tracing).

One process ("socsim"), one thread (track) per unit, one complete event (``"ph": "X"``) per executed
unit job, named by its opcode, with args pc, opcode, layer, phase and the start/end cycles (and, for a profiled
run's events, the issue cycle and what the job waited for; the controller then has a track of its own). Trace-event
``ts`` and ``dur`` are microseconds: ``us = cycles / clock_hz * 1e6``, counted from the first job's start
cycle (``otherData.origin_cycle``). A unit runs one job at a time, so slices on a track never overlap.

``max_cycles`` bounds the file: only jobs that *start* in the first ``max_cycles`` cycles after the
origin are written (each with its full duration), so a long training run does not write gigabytes.
Events are streamed to the file one per line; memory stays at the size of the timeline DataFrame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Iterator

import pandas as pd

from socsim.base.errors import InputError
from socsim.base.fileio import atomic_write, read_json
from socsim.base.units import natural_key
from socsim.sim.result import TIMELINE_COLUMNS

PID = 1
EXTRA_COLUMNS = ("issued_cycle", "waited_for")
"""Optional timeline columns (a profiled run's events, socsim.sim.profile): written into each slice's args."""
CYCLE_ARGS = ("start_cycle", "end_cycle")


def _us(cycles: float, clock_hz: float) -> float:
    return round(cycles / clock_hz * 1e6, 6)


def trace_events(timeline: pd.DataFrame, clock_hz: float, max_cycles: int | None = None,
                 origin: int | None = None) -> Iterator[dict]:
    """The trace events of ``timeline`` (columns unit, pc, opcode, layer, phase, start, end; cycles):
    metadata naming the process and one thread per unit, then one complete event per job in start order."""
    if clock_hz <= 0:
        raise InputError(f"clock_hz = {clock_hz}; must be > 0")
    missing = [c for c in TIMELINE_COLUMNS if c not in timeline]
    if missing:
        raise InputError(f"timeline lacks columns {missing}; expected {TIMELINE_COLUMNS}")
    t0 = int(timeline["start"].min()) if origin is None and len(timeline) else int(origin or 0)
    rows = timeline
    if max_cycles is not None:
        rows = rows[rows["start"] < t0 + max_cycles]
    rows = rows.sort_values(["start", "unit", "pc"], kind="stable")
    units = sorted(timeline["unit"].astype(str).unique(), key=natural_key)
    tid = {u: i + 1 for i, u in enumerate(units)}
    yield {"name": "process_name", "ph": "M", "pid": PID, "tid": 0, "args": {"name": "socsim"}}
    for u in units:
        yield {"name": "thread_name", "ph": "M", "pid": PID, "tid": tid[u], "args": {"name": u}}
        yield {"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid[u], "args": {"sort_index": tid[u]}}
    extra = [c for c in EXTRA_COLUMNS if c in timeline]
    for unit, pc, opcode, layer, phase, start, end, *more in rows[TIMELINE_COLUMNS + extra].itertuples(index=False):
        args = {"pc": int(pc), "opcode": str(opcode), "layer": str(layer), "phase": str(phase),
                "start_cycle": int(start), "end_cycle": int(end)}
        args.update({k: (int(v) if k == "issued_cycle" else str(v)) for k, v in zip(extra, more) if v != ""})
        yield {"name": str(opcode), "cat": str(phase), "ph": "X", "pid": PID, "tid": tid[str(unit)],
               "ts": _us(start - t0, clock_hz), "dur": _us(end - start, clock_hz), "args": args}


def _dump(fh: IO[str], events: Iterator[dict], other: dict) -> None:
    fh.write('{"displayTimeUnit": "ns",\n "otherData": ' + json.dumps(other) + ',\n "traceEvents": [\n')
    for i, ev in enumerate(events):
        fh.write((",\n" if i else "") + json.dumps(ev, separators=(",", ":")))
    fh.write("\n]}\n")


def write_trace(timeline: pd.DataFrame, path: str | Path, clock_hz: float, max_cycles: int | None = None) -> int:
    """Write ``timeline`` as trace-event JSON to ``path`` (atomically); returns the number of job slices.

    ``clock_hz`` converts cycles to microseconds; ``max_cycles`` keeps only the jobs starting in the first
    ``max_cycles`` cycles (None: all)."""
    if max_cycles is not None and max_cycles < 1:
        raise InputError(f"max_cycles = {max_cycles}; must be >= 1 (or None for the whole timeline)")
    origin = int(timeline["start"].min()) if len(timeline) else 0
    kept = len(timeline) if max_cycles is None else int((timeline["start"] < origin + max_cycles).sum())
    other = {"generator": "socsim", "clock_hz": clock_hz, "origin_cycle": origin, "max_cycles": max_cycles,
             "jobs": kept, "jobs_in_timeline": len(timeline), "time_unit": "us = cycles / clock_hz * 1e6"}
    events = trace_events(timeline, clock_hz, max_cycles, origin)
    atomic_write(Path(path), lambda fh: _dump(fh, events, other), binary=False)
    return kept


def read_trace(path: str | Path) -> pd.DataFrame:
    """A timeline DataFrame (cycles) back from a trace written by :func:`write_trace`; ValueError naming the
    file when it is not one."""
    data = read_json(path, "trace file")
    try:
        events = data["traceEvents"]
        names = {ev["tid"]: ev["args"]["name"] for ev in events
                 if ev.get("ph") == "M" and ev.get("name") == "thread_name"}
        rows = [(names.get(ev["tid"], str(ev["tid"])), ev["args"]["pc"], ev["args"]["opcode"], ev["args"]["layer"],
                 ev["args"]["phase"], int(ev["args"]["start_cycle"]), int(ev["args"]["end_cycle"]))
                for ev in events if ev.get("ph") == "X"]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"not a trace written by socsim ({type(exc).__name__}: {exc})", file=path) from None
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)
