"""Elapsed time by layer: the attribution rule on hand-made timelines, and on real runs it sums to the run's cycles
on both engines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import isa
from socsim.compiler import load_graph
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.options import RunOptions
from socsim.host.training import ChipTrainer
from socsim.sim import Soc
from socsim.sim.elapsed import NO_JOB, elapsed_by_layer
from socsim.sim.joblog import JobLog

ROOT = Path(__file__).resolve().parents[1]


def job(unit: str, layer: str, phase: str, start: int, end: int) -> tuple:
    return (unit, 0, "op", layer, phase, start, end)


def test_one_job_at_a_time_and_gaps_go_to_the_next_job():
    # a: 10-20, gap 20-25, b: 25-40, tail 40-50 (after the last job: to the job that started last)
    rows = [[job("du", "a", "forward", 10, 20), job("du", "b", "forward", 25, 40)]]
    got = elapsed_by_layer(rows, 0, 50)
    assert got == {("a", "forward"): 20, ("b", "forward"): 30}  # a: head 0-10 + 10-20; b: gap + job + tail


def test_overlap_goes_to_the_most_recently_started_job_then_back():
    # long a on a tile 0-100, short b on the DU 10-20: b owns 10-20, a the rest
    rows = [[job("du", "b", "backward", 10, 20)], [job("tile0", "a", "forward", 0, 100)]]
    assert elapsed_by_layer(rows, 0, 100) == {("a", "forward"): 90, ("b", "backward"): 10}


def test_equal_starts_go_to_the_unit_listed_later():
    rows = [[job("dma0", "x", "forward", 0, 10)], [job("tile0", "y", "forward", 0, 6)]]
    assert elapsed_by_layer(rows, 0, 10) == {("y", "forward"): 6, ("x", "forward"): 4}


def test_no_jobs_is_one_bucket():
    assert elapsed_by_layer([[], []], 5, 17) == {NO_JOB: 12}


def test_nested_overlaps_sum_to_the_interval():
    rows = [[job("dma0", "l1", "forward", 0, 50), job("dma0", "l3", "update", 60, 61)],
            [job("du", "l2", "backward", 5, 30)], [job("tile0", "l1", "eval", 20, 80)]]
    got = elapsed_by_layer(rows, 0, 90)
    # 0-5 l1/f, 5-20 l2, 20-60 tile l1/eval (latest start), 60-61 l3, 61-80 l1/eval, 80-90 tail: l3 (started last)
    assert got == {("l1", "forward"): 5, ("l2", "backward"): 15, ("l1", "eval"): 59, ("l3", "update"): 11}
    assert sum(got.values()) == 90


def _repeated_log(as_rows: bool) -> JobLog:
    """A log with direct rows around a replayed period that itself holds a replayed inner loop."""
    log = JobLog()
    log.append(job("du", "a", "forward", 0, 4))
    outer = log.mark()
    log.append(job("du", "b", "forward", 4, 6))
    inner = log.mark()
    log.append(job("du", "c", "backward", 6, 7))
    log.repeat(log.since(inner, 6), np.array([7, 8], np.int64), as_rows)  # two more c: 7-8, 8-9
    log.append(job("du", "d", "update", 9, 12))
    log.repeat(log.since(outer, 4), np.array([12, 20], np.int64), as_rows)  # the period 4-12 twice more
    log.append(job("du", "e", "other", 28, 30))
    return log


def test_a_replayed_block_lists_the_jobs_its_rows_would():
    rows, blocks = _repeated_log(as_rows=True), _repeated_log(as_rows=False)
    assert blocks.blocks and not rows.blocks
    assert blocks.table_rows() == rows.rows
    assert [r[5] for r in rows.rows] == [0, 4, 6, 7, 8, 9, 12, 14, 15, 16, 17, 20, 22, 23, 24, 25, 28]
    a, b = rows.columns(), blocks.columns()
    assert [a.names[k] for k in a.keys] == [b.names[k] for k in b.keys]
    np.testing.assert_array_equal(a.starts, b.starts)
    np.testing.assert_array_equal(a.ends, b.ends)
    assert elapsed_by_layer([blocks], 0, 31) == elapsed_by_layer([rows.rows], 0, 31)


@pytest.mark.parametrize("preset", ["wu2023", "radix4"])
def test_a_program_runs_elapsed_by_layer_sums_to_its_cycles(preset):
    program = isa.assemble_file(ROOT / "programs" / "mlp_infer.s")
    results = {e: Soc.from_config(load_config(preset), engine=e).run(program) for e in ("reference", "fast")}
    for result in results.values():
        elapsed = result.elapsed
        assert int(elapsed["cycles"].sum()) == result.cycles
        assert set(elapsed["layer"]) >= {"fc1", "fc2"}
        assert result.timeline.empty  # the timeline is kept for the accounting, not returned unless asked
    pd.testing.assert_frame_equal(results["reference"].elapsed, results["fast"].elapsed)


def test_training_and_evaluation_elapsed_by_layer_sum_to_their_cycles_on_both_engines():
    graph = load_graph(str(ROOT / "programs" / "mlp.toml"))
    data = load_dataset("digits").subset(128, 64)
    out = {}
    for engine in ("reference", "fast"):
        trainer = ChipTrainer(graph, load_config("wu2023"), data, options=RunOptions(engine=engine))
        out[engine] = [trainer.train_epoch(), trainer.evaluate()[1]]
    for a, b in zip(out["reference"], out["fast"]):
        for r in (a, b):
            assert int(r.elapsed["cycles"].sum()) == r.cycles
        key = ["layer", "phase"]
        pd.testing.assert_frame_equal(a.elapsed.sort_values(key).reset_index(drop=True),
                                      b.elapsed.sort_values(key).reset_index(drop=True))
    train = out["fast"][0].elapsed.set_index(["layer", "phase"])["cycles"]
    for layer in ("fc1", "fc2"):
        for phase in ("forward", "backward", "update"):
            assert train.get((layer, phase), 0) > 0, (layer, phase)
