"""The thread count changes no number: training on 1 and 2 threads gives the same cycles, ledger, outputs, memory and
conductances on both engines (docs/performance.md, "Threads")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import isa
from socsim.base.threads import default_threads, per_worker, use_threads
from socsim.compiler import load_graph
from socsim.compiler.frontend.toml import loads_toml
from socsim.config.soc import load_config
from socsim.host.data import load_dataset
from socsim.host.options import RunOptions
from socsim.host.training import ChipTrainer
from socsim.sim import Soc, Trap, TrapKind
from socsim.sim.lanes import numerics, turns
from tests.compiler.test_lowering import RESIDUAL
from tests.engines import assert_same_devices, assert_same_result

ROOT = Path(__file__).resolve().parents[1]


def _train(graph, cfg, data, engine: str, threads: int, microbatch: int | None = None) -> tuple:
    with use_threads(threads):
        trainer = ChipTrainer(graph, cfg, data, microbatch=microbatch, options=RunOptions(engine=engine))
        results = [trainer.init_result, trainer.train_epoch(), trainer.evaluate()[1]]
        memory = {name: trainer.read(name) for name in trainer.compiled.init.symbols}
    return trainer, results, memory


def _assert_same(one: tuple, two: tuple, what: str) -> None:
    for a, b in zip(one[1], two[1]):
        assert_same_result(a, b, what)
    for name in one[2]:
        np.testing.assert_array_equal(one[2][name], two[2][name], err_msg=f"{what}: symbol {name}")
    assert_same_devices(one[0].soc, two[0].soc)
    assert one[0].soc.env.now == two[0].soc.env.now


@pytest.fixture(autouse=True)
def small_groups(monkeypatch):
    """Split even the small loops of these tests (a real run splits only loops of large lane storage)."""
    monkeypatch.setattr(numerics, "MIN_GROUP_WORDS", 0)


def test_lenet_training_is_the_same_on_one_and_two_threads():
    graph = load_graph(str(ROOT / "programs" / "lenet_wu2023.toml"))
    data = load_dataset("mnist5k").subset(32, 16)
    cfg = load_config("wu2023", {"train": {"batch": 16}})
    before, reruns = numerics.split_passes, numerics.split_reruns
    runs = [_train(graph, cfg, data, "fast", n) for n in (1, 2)]
    assert numerics.split_passes > before, "two threads should have split the lanes into groups"
    assert numerics.split_reruns == reruns, "a split pass stopped and ran again as one group"
    _assert_same(*runs, "LeNet on wu2023, fast engine")


def test_the_reference_engine_is_the_same_on_one_and_two_threads():
    graph = load_graph(str(ROOT / "programs" / "mlp.toml"))
    data = load_dataset("digits").subset(32, 16)
    cfg = load_config("wu2023", {"train": {"batch": 16}})
    _assert_same(*[_train(graph, cfg, data, "reference", n) for n in (1, 2)],
                 "MLP on wu2023, reference engine")


def test_per_lane_output_stages_join_in_lane_order():
    """The pipelined residual network latches its output stage (tepi) per lane inside the lane loop: two lane groups
    each keep their own and the tile ends with every lane's, as on one thread."""
    graph = loads_toml(RESIDUAL, "tiny_residual.toml")
    cfg = load_config("wu2023", {"train": {"batch": 32}, "controller": {"dmem_kbit": 4096},
                                 "compiler": {"datapath": "pipelined", "row_blocking": "kernel",
                                              "placement": "spread"}})
    data = load_dataset("digits").subset(32, 8)
    before, reruns = numerics.split_passes, numerics.split_reruns
    runs = [_train(graph, cfg, data, "fast", n, microbatch=4) for n in (1, 2)]
    assert numerics.split_passes > before and numerics.split_reruns == reruns, "the lane groups did not all finish"
    _assert_same(*runs, "pipelined residual on wu2023")


def test_blas_stays_single_threaded_and_the_count_is_restored():
    with use_threads(2) as n:
        assert n == 2
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
    with pytest.raises(ValueError, match="positive integer"):
        with use_threads(0):
            pass


def test_lane_groups_cover_the_lanes_in_order():
    assert numerics.lane_groups(7, 3) == [(0, 3), (3, 2), (5, 2)]
    assert numerics.lane_groups(2, 1) == [(0, 2)]


def test_a_sweep_divides_the_threads_among_its_workers():
    assert per_worker(8, 3) == 2
    assert per_worker(2, 4) == 1
    assert per_worker(None, 1) == default_threads()


def test_the_command_line_takes_a_thread_count(capsys):
    from socsim.cli import main
    printed = []
    for n in ("1", "2"):
        assert main(["run", str(ROOT / "programs" / "mlp_infer.s"), "--threads", n]) == 0
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1] and "cycles" in printed[0]
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--threads", "0"])
    assert exit_.value.code == 2 and "--threads: 0: expected a positive integer" in capsys.readouterr().err


def test_the_api_takes_a_thread_count():
    import socsim
    program = str(ROOT / "programs" / "mlp_infer.s")
    runs = [socsim.run(program, threads=n).result for n in (1, 2)]
    assert_same_result(runs[0], runs[1], "socsim.run at 1 and 2 threads")
    with pytest.raises(ValueError, match="threads: expected a positive integer .1 or more., got 0"):
        socsim.run(program, threads=0)


@pytest.mark.parametrize("kept", [0, 1 << 30])
def test_lanes_in_turn_on_two_threads_are_the_same_as_on_one(monkeypatch, kept):
    """Every loop in turn (as a large network's loops): on two threads each computes one lane at a time, summed in
    lane order (socsim/sim/lanes/turns.py; a lane that is not the head waits at its first reduction term, or keeps them
    all); cycles, ledger, outputs and memory equal one thread's."""
    monkeypatch.setattr(numerics, "TOGETHER_WORDS", 0)
    monkeypatch.setattr(turns, "KEPT_WORDS", kept)
    graph = load_graph(str(ROOT / "programs" / "lenet_wu2023.toml"))
    data = load_dataset("mnist5k").subset(16, 16)
    cfg = load_config("wu2023", {"train": {"batch": 16}})
    before, stopped = turns.passes, turns.stopped
    runs = [_train(graph, cfg, data, "fast", n) for n in (1, 2)]
    assert turns.passes > before and turns.stopped == stopped, "two threads should have run the lanes in turn"
    _assert_same(*runs, "LeNet on wu2023 in turn, fast engine")


def test_a_fault_in_turn_on_two_threads_traps_as_on_one(monkeypatch):
    """An inf read in iteration 3 of a loop in turn on two threads: the lanes before it are committed and the rest
    runs in turn on one thread, so the trap and its partial result are one thread's (and the reference engine's)."""
    from tests.test_lanes import program_with_inf
    monkeypatch.setattr(numerics, "TOGETHER_WORDS", 0)
    text = program_with_inf(iteration=3)
    traps = {}
    stopped = turns.stopped
    for name, engine, threads in (("reference", "reference", 1), ("one", "fast", 1), ("two", "fast", 2)):
        with use_threads(threads):
            soc = Soc.from_config(load_config("wu2023"), timeline=True, engine=engine)
            with pytest.raises(Trap) as info:
                soc.run(isa.assemble(text, "lanes.s"))
        traps[name] = info.value
    assert turns.stopped == stopped + 1, "the lanes on two threads should have stopped at the fault"
    assert traps["two"].kind is TrapKind.NAN and "iteration 3" in str(traps["two"])
    assert str(traps["two"]) == str(traps["one"])
    assert_same_result(traps["one"].partial, traps["two"].partial, "the partial result of a trap in turn")
    ref = traps["reference"]
    assert (ref.kind, ref.pc, ref.cycle) == (traps["two"].kind, traps["two"].pc, traps["two"].cycle)
