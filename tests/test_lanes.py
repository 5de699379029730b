"""Lane-parallel loops (``.lanes``): the fast engine runs them as lanes when the claim holds, equal to the
reference engine, and traps with the pc of the instruction that breaks the claim otherwise."""

from __future__ import annotations

import re

import numpy as np
import pytest

import isa
from socsim.config.soc import load_config
from socsim.sim import Soc, Trap, TrapKind
from tests.engines import assert_same_devices, assert_same_result

LANES = 8
BODY = """\
    muli x4, x3, 4
    copy buf, x(x4), 4
    mm out, buf, w, 1, 4, 4, 0, 0, 0
    vadd total, total, out, 4
"""
"""A lane-parallel iteration: load four words of its own, multiply by a shared matrix, add into ``total``."""


def program(body: str = BODY, count: int = LANES, lanes: str = "private buf out reduce total", before: str = "",
            mark: bool = True) -> str:
    x = ", ".join(str(float(v)) for v in np.arange(4 * LANES) % 7 - 3)
    w = ", ".join(str(float(v)) for v in (np.arange(16) % 5) / 4 - 0.5)
    return f"""
.sym x dram {4 * LANES} = {x}
.sym w sram 16 = {w}
.sym buf sram 4
.sym out sram 4
.sym total acc 4
.sym tgt sram 16
.sym msk sram 16
{before}
    li x3, 0
{f'.lanes top x3 {count} {lanes}' if mark else ''}
top:
{body}
    addi x3, x3, 1
    li x31, {LANES}
    blt x3, x31, top
    halt
"""


def run(text: str, engine: str, preset: str = "wu2023", strict: bool = True) -> tuple[Soc, object]:
    """Run ``text``; on the fast engine a loop whose claim does not hold traps (``strict``) or falls back."""
    soc = Soc.from_config(load_config(preset), timeline=True, engine=engine)
    soc.engine.strict = strict
    return soc, soc.run(isa.assemble(text, "lanes.s"))


def pc_of(text: str, start: str) -> int:
    """The pc of the first instruction whose source line starts with ``start``."""
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if t.strip().startswith(start))
    return next(pc for pc, ins in enumerate(isa.assemble(text, "lanes.s").instructions) if ins.line == line)


def program_with_inf(iteration: int) -> str:
    """:func:`program` with an inf in the input that the loop's iteration ``iteration`` reads."""
    lines = program().splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith(".sym x dram"))
    head, values = lines[at].split(" = ")
    words = values.split(", ")
    words[4 * iteration + 1] = "inf"
    lines[at] = f"{head} = {', '.join(words)}"
    return "\n".join(lines)


@pytest.mark.parametrize("preset", ["ideal", "wu2023"])
def test_a_lane_parallel_loop_equals_the_reference(preset):
    text = program()
    (ref_soc, ref), (fast_soc, fast) = run(text, "reference", preset), run(text, "fast", preset)
    assert_same_result(ref, fast, "hand-written lane loop")
    assert_same_devices(ref_soc, fast_soc)
    x = (np.arange(4 * LANES) % 7 - 3).astype(np.float32).reshape(LANES, 4)
    w = ((np.arange(16) % 5) / 4 - 0.5).astype(np.float32).reshape(4, 4)
    np.testing.assert_allclose(fast.outputs["total"], (x @ w).sum(axis=0), rtol=1e-6)
    assert fast_soc.engine.replayed > 0  # the iterations' timing repeats: most of it was replayed


CALIBRATION_BODY = """\
    muli x4, x3, 4
    copy tin, x(x4), 4
    quant tin, tin, 4, 0.05, 8
    mvmr 0, tread, tin, 1
    vhist hist, tread, 4, 16, 0.5, 64.0
    mvm 0, tout, tin, 1
    vadd total, total, tout, 4
"""
"""A calibration pass in lanes: each image's converter readings into a shared histogram, and its products."""


def test_converter_readings_and_histograms_in_lanes_equal_the_reference():
    before = (".sym hist sram 16\n.sym tin tb0 4\n.sym tread tb0 4\n.sym tout tb0 4\n.sym ones sram 16 = "
              + ", ".join(["1"] * 16) + "\n    tcfg 0, 0, 0, 4, 4, 8\n    wv 0, w, ones\n")
    text = program(CALIBRATION_BODY, lanes="private tin tread tout reduce total hist", before=before)
    (ref_soc, ref), (fast_soc, fast) = run(text, "reference"), run(text, "fast")
    assert_same_result(ref, fast, "calibration lane loop")
    assert_same_devices(ref_soc, fast_soc)
    assert fast.outputs["hist"].sum() == 4 * LANES and fast.outputs["hist"].max() < 4 * LANES


VIOLATIONS = {
    "reads what another lane wrote": (  # total += out before this iteration's mm writes out: the previous one's
        BODY.replace("    vadd total, total, out, 4\n", "").replace("    mm out",
                                                                    "    vadd total, total, out, 4\n    mm out"),
        "vadd total, total", "where the iteration has not written it yet"),
    "writes shared memory": (BODY + "    vscl w, w, 16, 0.5\n", "vscl", "writes memory the iterations share"),
    "uses a reduced symbol other than by accumulating": (BODY + "    vscl total, total, 4, 2.0\n", "vscl",
                                                          "other than by accumulating"),
    "diverges": (BODY + "    li x5, 4\n    blt x3, x5, skip\n    vfill out, 4, 0.0\nskip:\n    nop\n", "blt x3, x5",
                 "goes different ways"),
    "programs the devices": (BODY + "    tcfg 0, 0, 0, 4, 4, 8\n    wv 0, tgt, msk\n", "wv",
                             "changes state every iteration shares"),
    "addresses a private symbol per lane": (BODY.replace("copy buf, x(x4), 4", "copy buf(x3), x(x4), 1"), "copy",
                                            "at an address that differs between iterations"),
    "sets a block's full scale": (BODY + "    tcfg 0, 0, 0, 4, 4, 8\n    tgain 0, w\n", "tgain",
                                  "changes state every iteration shares"),
    "carries a register over": (BODY + "    addi x6, x6, 1\n", "blt x3, x31", "each iteration depends on the one "
                                "before"),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_a_broken_claim_traps_with_the_pc(case):
    body, at, message = VIOLATIONS[case]
    text = program(body)
    with pytest.raises(Trap) as info:
        run(text, "fast")
    trap = info.value
    assert trap.kind is TrapKind.LANES
    assert trap.pc == pc_of(text, at), str(trap)
    assert message in str(trap)


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_without_strict_a_broken_claim_runs_as_on_the_reference_engine(case):
    body, at, message = VIOLATIONS[case]
    text = program(body)
    try:
        _, ref = run(text, "reference")
    except Trap as exc:  # the program traps (on the reference engine too): the same trap
        with pytest.raises(Trap, match=re.escape(str(exc))):
            run(text, "fast", strict=False)
        return
    fast_soc, fast = run(text, "fast", strict=False)
    assert_same_result(ref, fast, case)
    why, = fast_soc.engine.fallbacks
    assert f"(pc {pc_of(text, BODY.splitlines()[0].strip())}, .lanes) runs one instruction at a time: " \
           f"pc {pc_of(text, at)} (" in why and message in why


def test_a_wrong_iteration_count_traps_at_the_closing_branch():
    text = program(count=LANES - 2)
    with pytest.raises(Trap, match="not taken in every iteration but the last") as info:
        run(text, "fast")
    assert info.value.pc == pc_of(text, "blt x3, x31")


def test_the_reference_engine_ignores_the_mark():
    """The claim is the fast engine's to check; the reference runs the loop one instruction at a time."""
    body, _, _ = VIOLATIONS["reads what another lane wrote"]
    assert run(program(body), "reference")[1].cycles > 0


def test_replay_never_spans_a_data_dependent_instruction():
    """Programming (write-verify trials) is the data-dependent cost: it cannot be inside a lane loop (above),
    and while one issued before the loop is still in flight the loop's timing is simulated, not replayed."""
    before = "\n".join(["    tcfg 0, 0, 0, 4, 4, 8", "    vfill tgt, 16, 0.7", "    vfill msk, 16, 1.0",
                        "    wv 0, tgt, msk"])
    body = BODY + "    tcfg 0, 0, 0, 4, 4, 8\n"  # every iteration waits on tile 0, which the wv keeps busy
    text = program(body, before=before)
    (_, ref), (_, fast) = run(text, "reference"), run(text, "fast")
    assert_same_result(ref, fast, "a lane loop behind a write-verify")
    wv_end = int(fast.timeline[fast.timeline.opcode == "wv"].end.iloc[0])
    first = fast.timeline[(fast.timeline.opcode == "tcfg")].start.sort_values().iloc[1]
    assert first >= wv_end  # the loop really waited on the programming
    unmarked = program(body, before=before, mark=False)
    soc, result = run(unmarked, "fast")
    assert soc.engine.replayed == 0
    assert_same_result(run(unmarked, "reference")[1], result, "the same loop without the mark")


def test_an_inner_loop_is_replayed_and_equals_the_reference():
    """An inner loop of many iterations inside each lane (as a convolution's bands): its repeating iterations are
    replayed within the simulated lanes, and nothing differs from the reference engine."""
    body = """\
    muli x4, x3, 4
    copy buf, x(x4), 4
    li x10, 0
band:
    mm out, buf, w, 1, 4, 4, 0, 0, 0
    vadd total, total, out, 4
    vscl buf, buf, 4, 0.5
    addi x10, x10, 1
    li x11, 16
    blt x10, x11, band
"""
    text = program(body)
    (ref_soc, ref), (fast_soc, fast) = run(text, "reference"), run(text, "fast")
    assert_same_result(ref, fast, "lanes with an inner loop")
    assert_same_devices(ref_soc, fast_soc)
    assert fast_soc.engine.inner_replayed > 0


def test_numerics_beside_the_timing_trap_as_one_after_the_other(monkeypatch):
    """A lane's numerics fault (an inf read in iteration 3) traps the same whether the numerics ran beside the
    timing pass or after it: the same trap, cycle and partial result, at the reference engine's pc and cycle."""
    from socsim.sim.lanes import overlap
    text = program_with_inf(iteration=3)
    traps, beside = {}, {}
    for name, engine, enabled in (("reference", "reference", False), ("after", "fast", False),
                                  ("beside", "fast", True)):
        monkeypatch.setattr(overlap, "ENABLED", enabled)
        soc = Soc.from_config(load_config("wu2023"), timeline=True, engine=engine)
        soc.engine.strict = True
        with pytest.raises(Trap) as info:
            soc.run(isa.assemble(text, "lanes.s"))
        traps[name], beside[name] = info.value, getattr(soc.engine, "beside", 0)
    assert beside == {"reference": 0, "after": 0, "beside": 1}
    assert traps["beside"].kind is TrapKind.NAN and "iteration 3" in str(traps["beside"])
    assert str(traps["beside"]) == str(traps["after"])
    assert_same_result(traps["after"].partial, traps["beside"].partial, "the partial result of a trap in lanes")
    ref = traps["reference"]
    assert (ref.kind, ref.pc, ref.cycle) == (traps["beside"].kind, traps["beside"].pc, traps["beside"].cycle)


def test_a_timeout_in_the_timing_pass_discards_the_numerics_beside_it(monkeypatch):
    """The cycle budget runs out in the middle of a lane loop's timing pass: whatever the numerics computed beside it
    is dropped, so the trap and its partial result (memory included) are those of the numerics never having run."""
    from socsim.sim.lanes import overlap
    text = program()
    cycles = run(text, "fast")[1].cycles
    cfg = load_config("wu2023", {"controller": {"max_cycles": cycles // 2}})
    traps = {}
    for enabled in (True, False):
        monkeypatch.setattr(overlap, "ENABLED", enabled)
        soc = Soc.from_config(cfg, timeline=True, engine="fast")
        with pytest.raises(Trap) as info:
            soc.run(isa.assemble(text, "lanes.s"), outputs=["total", "out"])
        traps[enabled] = info.value
        assert soc.engine.beside == int(enabled)
    assert traps[True].kind is TrapKind.TIMEOUT and str(traps[True]) == str(traps[False])
    assert_same_result(traps[False].partial, traps[True].partial, "the partial result of a timeout in lanes")
    assert not traps[True].partial.outputs["total"].any()  # the loop's sums were never added
