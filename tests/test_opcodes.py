"""Semantics of every opcode of the CIM ISA, against numpy computations written here.

Each test program is registered at import time in :data:`PROGRAMS`;
``test_every_opcode_has_a_semantics_program`` fails when an opcode of ``isa.spec.OPCODES`` appears in
none of them, so a new opcode cannot ship without a semantics test.

Numerics run on the ``ideal`` preset (exact float32 crossbar). Comparisons are exact where the
operation is one correctly rounded float32 operation per element (or exact by construction of the
data); otherwise ``assert_allclose`` with a tolerance and the reason next to it.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import isa
from isa.spec import BY_MNEMONIC, OPCODES
from socsim.config.soc import load_config
from socsim.physics.adc import converter_cost
from socsim.sim import Result, Soc, Trap, TrapKind

F32 = np.float32

# ---------------------------------------------------------------------------------------------------
# registry and helpers

PROGRAMS: dict[str, str] = {}
"""Every program text used below, by test name (filled at import time)."""


def register(name: str, text: str) -> str:
    assert name not in PROGRAMS, f"program name {name!r} registered twice"
    PROGRAMS[name] = text
    return text


@functools.lru_cache(maxsize=None)
def _cfg(preset: str):
    return load_config(preset)


def run(text: str, preset: str = "ideal", timeline: bool = False) -> Result:
    return Soc(_cfg(preset), timeline=timeline).run(isa.assemble(text, "t.s"))


def run_trap(text: str, preset: str = "ideal") -> Trap:
    with pytest.raises(Trap) as info:
        run(text, preset)
    return info.value


def vals(data) -> str:
    """Comma-separated float32 values, each written exactly."""
    return ", ".join(repr(float(v)) for v in np.asarray(data, dtype=F32).ravel())


def sym(name: str, space: str, data=None, size: int | None = None) -> str:
    """A ``.sym`` line: zero-initialized ``size`` words, or initialized with ``data``."""
    if data is None:
        return f".sym {name} {space} {size}"
    flat = np.asarray(data, dtype=F32).ravel()
    return f".sym {name} {space} {size or flat.size} = {vals(flat)}"


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def rand(seed: int, *shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return rng(seed).uniform(lo, hi, shape).astype(F32)


def job(result: Result, opcode: str):
    rows = result.timeline[result.timeline.opcode == opcode]
    assert len(rows) == 1, f"expected one {opcode} job, got {len(rows)}"
    return rows.iloc[0]


# ---------------------------------------------------------------------------------------------------
# control: scalar ALU

# (instruction, destination register, expected value); each result is stored with sw right after it
ALU_CASES = [
    ("li x1, 7", 1, 7),
    ("li x2, -3", 2, -3),
    ("add x3, x1, x2", 3, 4),
    ("sub x4, x2, x1", 4, -10),
    ("mul x5, x1, x2", 5, -21),
    ("and x6, x1, x2", 6, 5),            # 0b111 & ...11101
    ("or x7, x1, x2", 7, -1),
    ("xor x8, x1, x2", 8, -6),
    ("li x9, 3", 9, 3),
    ("sll x10, x1, x9", 10, 56),
    ("li x11, -64", 11, -64),
    ("sra x12, x11, x9", 12, -8),        # arithmetic: sign bits shift in
    ("sra x13, x2, x9", 13, -1),         # -3 >> 3 rounds toward -inf
    ("sra x14, x1, x9", 14, 0),
    ("slt x15, x2, x1", 15, 1),          # signed: -3 < 7
    ("slt x16, x1, x2", 16, 0),
    ("slt x17, x1, x1", 17, 0),
    ("addi x18, x1, -10", 18, -3),
    ("addi x19, x0, 8388607", 19, 8388607),
    ("addi x20, x0, -8388608", 20, -8388608),
    ("muli x21, x2, -5", 21, 15),
    ("muli x22, x1, 0", 22, 0),
    ("li x23, -2147483648", 23, -2147483648),
    ("li x24, 2147483647", 24, 2147483647),
    ("addi x0, x1, 5", 0, 0),            # x0 ignores writes
    ("add x25, x0, x1", 25, 7),          # and reads 0
    ("li x26, -1", 26, -1),
    ("sll x27, x26, x9", 27, -8),
    ("xor x28, x26, x1", 28, -8),        # ~7
]
P_ALU = register("alu", "\n".join(
    [f".sym out sram {len(ALU_CASES)}"]
    + [f"    {ins}\n    sw x{rd}, out+{i}" for i, (ins, rd, _) in enumerate(ALU_CASES)]
    + ["    halt"]))


def test_alu_ops_and_immediates():
    out = run(P_ALU).outputs["out"]
    for i, (ins, _, want) in enumerate(ALU_CASES):
        assert out[i] == F32(want), f"{ins}: got {out[i]}, want {want}"


def wrap64(v: int) -> int:
    """Two's-complement 64-bit wrap (the controller's registers are 64 bits wide)."""
    return (v + (1 << 63)) % (1 << 64) - (1 << 63)


# Results are chosen to be exactly representable in float32 (powers of two, small integers).
WRAP_CASES = [
    ("li x1, 1", 1, 1),
    ("li x2, 62", 2, 62),
    ("sll x3, x1, x2", 3, 1 << 62),
    ("add x4, x3, x3", 4, wrap64(1 << 63)),                   # overflows to -2^63
    ("sub x5, x0, x4", 5, wrap64(1 << 63)),                   # -(-2^63) wraps to -2^63
    ("muli x6, x3, 4", 6, wrap64(1 << 64)),                   # 2^64 wraps to 0
    ("mul x7, x3, x3", 7, wrap64(1 << 124)),                  # 0
    ("addi x8, x4, -1", 8, wrap64(-(1 << 63) - 1)),           # 2^63 - 1
    ("sra x9, x8, x2", 9, 1),                                 # (2^63 - 1) >> 62
    ("slt x10, x0, x8", 10, 1),                               # 2^63 - 1 is positive
    ("slt x11, x4, x0", 11, 1),                               # -2^63 is negative
    ("li x12, 63", 12, 63),
    ("sll x13, x1, x12", 13, wrap64(1 << 63)),
    ("sra x14, x13, x12", 14, -1),
    ("li x15, 2147483647", 15, 2147483647),
    ("mul x16, x15, x15", 16, 2147483647 ** 2),               # no 32-bit wrap
    ("slt x17, x0, x16", 17, 1),
    ("li x18, 1023", 18, 1023),
    ("and x19, x8, x18", 19, 1023),                           # low bits of 2^63 - 1
]
P_WRAP = register("alu_wrap", "\n".join(
    [f".sym out sram {len(WRAP_CASES)}"]
    + [f"    {ins}\n    sw x{rd}, out+{i}" for i, (ins, rd, _) in enumerate(WRAP_CASES)]
    + ["    halt"]))


def test_alu_wraps_at_64_bits():
    out = run(P_WRAP).outputs["out"]
    for i, (ins, _, want) in enumerate(WRAP_CASES):
        assert out[i] == F32(want), f"{ins}: got {out[i]}, want {want}"


# ---------------------------------------------------------------------------------------------------
# control: branches, loops, calls

BRANCH_CASES = [(mn, a, b, taken)
                for mn, fn in (("beq", lambda a, b: a == b), ("bne", lambda a, b: a != b),
                               ("blt", lambda a, b: a < b), ("bge", lambda a, b: a >= b))
                for a, b in ((3, 3), (3, 4), (-5, 2), (2, -5))
                for taken in [fn(a, b)]]
BRANCH_PROGRAMS = {
    (mn, a, b): register(f"branch_{mn}_{a}_{b}", f"""
.sym out sram 2
    li x1, {a}
    li x2, {b}
    li x3, 0
    {mn} x1, x2, skip
    addi x3, x3, 1          ; runs only when the branch falls through
skip:
    addi x3, x3, 10
    sw x3, out
    halt
""") for mn, a, b, _ in BRANCH_CASES}


@pytest.mark.parametrize("mn, a, b, taken", BRANCH_CASES)
def test_branch_taken_or_not(mn, a, b, taken):
    out = run(BRANCH_PROGRAMS[mn, a, b]).outputs["out"]
    assert out[0] == (10 if taken else 11)


P_LOOPS = register("loops", """
.sym out sram 4
    li x1, 5                 ; bne loop counting down: 5 iterations
    li x2, 0
down:
    addi x2, x2, 1
    addi x1, x1, -1
    bne x1, x0, down
    sw x2, out
    li x1, 0                 ; blt loop counting up to 7, summing 3 per pass
    li x4, 0
    li x5, 7
up:
    addi x1, x1, 1
    addi x4, x4, 3
    blt x1, x5, up
    sw x1, out+1
    sw x4, out+2
    li x6, -4                ; bge loop over negative values: -4, -3, ..., 0 runs 5 times
    li x7, 0
neg:
    addi x7, x7, 1
    addi x6, x6, 1
    bge x0, x6, neg
    sw x7, out+3
    halt
""")


def test_loops_count_iterations():
    np.testing.assert_array_equal(run(P_LOOPS).outputs["out"], [5, 7, 21, 5])


P_CALL = register("call_return", """
.sym out sram 4
    li x5, 0                 ; pc 0
    jal x1, sub              ; pc 1: x1 = 2
    jal x1, sub              ; pc 2: x1 = 3
    sw x5, out               ; pc 3
    sw x1, out+1             ; pc 4
    li x3, 9                 ; pc 5
    jalr x4, x3              ; pc 6: x4 = 7, go to pc 9
    halt                     ; pc 7 (skipped)
    halt                     ; pc 8 (skipped)
    sw x4, out+2             ; pc 9
    jal x0, done             ; pc 10: plain jump, x0 stays 0
sub:
    addi x5, x5, 10          ; pc 11
    jalr x0, x1              ; pc 12: return
done:
    sw x0, out+3
    halt
""")


def test_jal_jalr_call_and_return():
    np.testing.assert_array_equal(run(P_CALL).outputs["out"], [20, 3, 7, 0])


# ---------------------------------------------------------------------------------------------------
# control: lw / sw, nop, mark, halt

P_LWSW = register("lw_sw", """
.sym v   sram 7 = 2.7, -2.7, 0.99, -0.99, 7.0, 1000000000.0, -0.5
.sym out sram 8
.sym t   tb1 4
.sym a   acc 4
    lw x1, v                 ; 2.7 -> 2 (toward zero)
    lw x2, v+1               ; -2.7 -> -2
    lw x3, v+2               ; 0
    lw x4, v+3               ; 0
    li x10, 4
    lw x5, v(x10)            ; base register: v[4] = 7
    lw x6, v+1(x10)          ; v[5] = 1e9
    lw x7, v+6               ; -0.5 -> 0
    sw x1, out
    sw x2, out+1
    sw x3, out+2
    sw x4, out+3
    sw x5, t+2               ; to a tile buffer and back
    lw x8, t+2
    sw x8, out+4
    sw x6, a+1               ; to the accumulator SRAM and back
    lw x9, a+1
    sw x9, out+5
    li x11, 1
    sw x7, out+5(x11)        ; base register on the store: out[6]
    halt
""")


def test_lw_truncates_toward_zero_and_sw_stores_floats():
    r = run(P_LWSW)
    np.testing.assert_array_equal(r.outputs["out"], [2, -2, 0, 0, 7, 1e9, 0, 0])
    np.testing.assert_array_equal(r.outputs["t"], [0, 0, 7, 0])
    np.testing.assert_array_equal(r.outputs["a"], [0, 1e9, 0, 0])


SCALAR_DRAM = {ins: register(f"scalar_dram_{ins[:2]}", f".sym d dram 4\n    nop\n    {ins}\n    halt\n")
               for ins in ("lw x1, d", "sw x1, d")}


@pytest.mark.parametrize("ins", sorted(SCALAR_DRAM))
def test_lw_sw_do_not_reach_dram(ins):
    t = run_trap(SCALAR_DRAM[ins])
    assert t.kind is TrapKind.OUT_OF_RANGE and t.pc == 1


P_NOP_BASE = ".sym a sram 4 = 1, 2\n    vadd a, a, a, 4\n    halt\n"
P_NOP = register("nop", ".sym a sram 4 = 1, 2\n    nop\n    nop\n    nop\n    vadd a, a, a, 4\n    halt\n")


def test_nop_takes_one_cycle_and_changes_nothing():
    base, nops = run(P_NOP_BASE), run(P_NOP)
    np.testing.assert_array_equal(nops.outputs["a"], [2, 4, 0, 0])
    np.testing.assert_array_equal(nops.outputs["a"], base.outputs["a"])
    assert nops.cycles - base.cycles == 3 * _cfg("ideal").controller.alu_cycles


P_MARK = register("mark", """
.layer 3 fc3
.sym a sram 4 = 1, 2, 3, 4
.sym b sram 4 = 0.5, 0.25, -1, 8
.sym c sram 4
    mark 3, backward
    vmul c, a, b, 4
    mark 0, eval
    vadd c, c, a, 4
    halt
""")


def test_mark_tags_ledger_rows_without_effect_on_numbers_or_cycles():
    marked = run(P_MARK)
    plain = run("\n".join(line for line in P_MARK.splitlines() if "mark" not in line))
    np.testing.assert_array_equal(marked.outputs["c"], F32([1, 2, 3, 4]) * F32([0.5, 0.25, -1, 8])
                                  + F32([1, 2, 3, 4]))
    for name in ("a", "b", "c"):
        np.testing.assert_array_equal(marked.outputs[name], plain.outputs[name])
    assert marked.cycles == plain.cycles
    led = marked.ledger
    assert set(led[led.opcode == "vmul"][["layer", "phase"]].itertuples(index=False, name=None)) == {
        ("fc3", "backward")}
    assert set(led[led.opcode == "vadd"].phase) == {"eval"}


P_HALT = register("halt", """
.sym big sram 4096
.sym out sram 2
    li x1, 1
    li x2, 2
    vfill big, 4096, 3.0
    sw x1, out
    halt
    sw x2, out               ; never runs
    sw x2, out+1
""")


def test_halt_stops_after_issued_work_completes():
    r = run(P_HALT, timeline=True)
    np.testing.assert_array_equal(r.outputs["out"], [1, 0])
    assert (r.outputs["big"] == 3).all()
    assert r.cycles >= job(r, "vfill").end
    assert r.instructions == 5


# ---------------------------------------------------------------------------------------------------
# data movement

SRC = rand(100, 12, lo=-4, hi=4)
P_COPY = register("copy_spaces", f"""
{sym("d0", "dram", SRC)}
.sym s0 sram 12
.sym a0 acc 12
.sym t0 tb2 12
.sym s1 sram 12
.sym d1 dram 12
.sym part sram 6 = 9, 9, 9, 9, 9, 9
    copy s0, d0, 12          ; dram -> sram
    copy a0, s0, 12          ; sram -> acc
    copy t0, a0, 12          ; acc -> tile buffer
    copy s1, t0, 12          ; tile buffer -> sram
    copy d1, t0, 12          ; tile buffer -> dram
    li x1, 2
    copy part+1, d0(x1), 3   ; part[1:4] = d0[2:5], base register on the source
    halt
""")


def test_copy_between_every_space():
    out = run(P_COPY).outputs
    for name in ("d0", "s0", "a0", "t0", "s1", "d1"):
        np.testing.assert_array_equal(out[name], SRC, err_msg=name)
    np.testing.assert_array_equal(out["part"], [9, SRC[2], SRC[3], SRC[4], 9, 9])


MAT = rand(101, 3, 4)
P_GATHER2 = register("gather_transpose", f"""
{sym("m", "sram", MAT)}
.sym t sram 12
    agen 0, 3, 4             ; inner loop: down a column
    agen 1, 4, 1             ; outer loop: across the columns
    gather t, m
    halt
""")


def test_gather_two_level_transpose():
    np.testing.assert_array_equal(run(P_GATHER2).outputs["t"], MAT.T.ravel())


PLANES = rand(102, 2, 3, 3)
P_GATHER3 = register("gather_rot180", f"""
{sym("x", "sram", PLANES)}
.sym pad sram 4 = 7, 7, 7, 7
.sym y sram 18
    agen 0, 3, -1            ; columns right to left
    agen 1, 3, -3            ; rows bottom to top
    agen 2, 2, 9             ; plane by plane
    gather y, x+8            ; pattern offsets -8 .. 9 around x+8
    halt
""")


def test_gather_three_level_negative_strides_rotates_planes():
    out = run(P_GATHER3).outputs
    np.testing.assert_array_equal(out["y"], PLANES[:, ::-1, ::-1].ravel())
    np.testing.assert_array_equal(out["pad"], [7, 7, 7, 7])


IMG = rand(103, 4, 4)
IM2COL = "\n".join([
    "    agen 0, 2, 1             ; kx",
    "    agen 1, 2, 4             ; ky",
    "    agen 2, 3, 1             ; output column",
    "    agen 3, 3, 4             ; output row",
])


def im2col_ref(img: np.ndarray, k: int) -> np.ndarray:
    h, w = img.shape
    rows = []
    for oy in range(h - k + 1):
        for ox in range(w - k + 1):
            rows.append([img[oy + ky, ox + kx] for ky in range(k) for kx in range(k)])
    return np.array(rows, dtype=F32)


P_IM2COL = register("gather_im2col", f"""
{sym("img", "sram", IMG)}
.sym cols tb0 36
{IM2COL}
    gather cols, img
    halt
""")


def test_gather_im2col_of_a_4x4_image_with_a_2x2_kernel():
    np.testing.assert_array_equal(run(P_IM2COL).outputs["cols"], im2col_ref(IMG, 2).ravel())


P_AGCLR = register("agclr", f"""
{sym("m", "sram", MAT)}
.sym t sram 12 = 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5
    agen 0, 3, 4
    agen 1, 4, 1
    agclr                    ; back to a one-element pattern
    gather t, m+5
    halt
""")


def test_agclr_resets_the_pattern_to_one_element():
    want = np.full(12, 5, dtype=F32)
    want[0] = MAT.ravel()[5]
    np.testing.assert_array_equal(run(P_AGCLR).outputs["t"], want)


P_SCATTER = register("scatter", f"""
{sym("t", "sram", MAT.T)}
.sym m sram 12
.sym gaps sram 8 = 1, 2, 3, 4, 5, 6, 7, 8
.sym r sram 4
    agen 0, 3, 4
    agen 1, 4, 1
    scatter m, t             ; m[pattern(i)] = t[i]: transposes back
    agclr
    agen 0, 4, 2
    scatter gaps, t          ; even positions only
    agen 0, 4, -1
    scatter r+3, t           ; reversed
    halt
""")


def test_scatter_two_level_strided_and_reversed():
    out = run(P_SCATTER).outputs
    np.testing.assert_array_equal(out["m"], MAT.ravel())
    tflat = MAT.T.ravel()
    np.testing.assert_array_equal(out["gaps"], [tflat[0], 2, tflat[1], 4, tflat[2], 6, tflat[3], 8])
    np.testing.assert_array_equal(out["r"], tflat[3::-1])


COLS = rand(104, 9, 4)
IMG0 = rand(105, 4, 4)
P_SCADD = register("scadd_col2im", f"""
{sym("cols", "sram", COLS)}
{sym("img", "sram", IMG0)}
{IM2COL}
    scadd img, cols          ; col2im: overlapping patches accumulate onto the old contents
    halt
""")


def test_scadd_col2im_accumulates_overlaps():
    want = IMG0.astype(np.float64)
    for p in range(9):
        oy, ox = divmod(p, 3)
        for kk in range(4):
            ky, kx = divmod(kk, 2)
            want[oy + ky, ox + kx] += COLS[p, kk]
    # up to four float32 additions per pixel, in an order the ISA does not fix
    np.testing.assert_allclose(run(P_SCADD).outputs["img"], want.ravel(), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# CIM (ideal preset: exact float32 weights)

TARGET = rand(110, 3, 4, lo=-2, hi=2)
MASK = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, -2]], dtype=F32)   # != 0 programs
XIN = rand(111, 2, 3)
XT = rand(112, 2, 4)
P_CIM = register("cim_wv_mvm_mvmt_rdw", f"""
.sym w0    sram 2048 uniform -1.0 1.0 3
.sym ones  sram 2048
{sym("tgt", "sram", TARGET)}
{sym("mask", "sram", MASK)}
.sym blk   sram 12
.sym all   sram 2048
.sym other sram 2048
{sym("x", "tb0", XIN)}
.sym y     tb0 8
{sym("xt", "tb0", XT)}
.sym yt    tb0 6
    vfill ones, 2048, 1.0
    tcfg 0, 0, 0, 64, 32, 8
    wv 0, w0, ones           ; the whole array
    tcfg 0, 5, 7, 3, 4, 8    ; block rows 5:8, cols 7:11
    wv 0, tgt, mask          ; partial write
    rdw 0, blk
    mvm 0, y, x, 2
    mvmt 0, yt, xt, 2
    tcfg 0, 0, 0, 64, 32, 8
    rdw 0, all
    tcfg 1, 0, 0, 64, 32, 8
    rdw 1, other             ; tile 1 was never programmed
    halt
""")


def test_wv_partial_mask_mvm_mvmt_rdw():
    r = run(P_CIM)
    w = isa.assemble(P_CIM).symbols["w0"].init.materialize(2048).reshape(64, 32)
    w[5:8, 7:11] = np.where(MASK != 0, TARGET, w[5:8, 7:11])
    block = w[5:8, 7:11]
    np.testing.assert_array_equal(r.outputs["all"], w.ravel())
    np.testing.assert_array_equal(r.outputs["blk"], block.ravel())
    np.testing.assert_array_equal(r.outputs["other"], 0)
    # float32 dot products of length 3 / 4: summation order may differ from numpy's
    np.testing.assert_allclose(r.outputs["y"], (XIN.astype(np.float64) @ block).ravel(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r.outputs["yt"], (XT.astype(np.float64) @ block.T).ravel(), rtol=1e-5,
                               atol=1e-6)


W_PULSE = rand(113, 2, 3)
NPULSES = np.array([[3, -2, 0], [1.4, -0.6, 10]], dtype=F32)
P_PULSE = register("pulse", f"""
.sym ones sram 6 = 1, 1, 1, 1, 1, 1
{sym("w", "sram", W_PULSE)}
{sym("np", "sram", NPULSES)}
.sym out sram 6
    tcfg 2, 2, 3, 2, 3, 4
    wv 2, w, ones
    pulse 2, np
    rdw 2, out
    halt
""")


def test_pulse_moves_weights_by_rounded_count_times_dw():
    dw = _cfg("ideal").tiles.physics.dw_per_pulse
    assert dw > 0
    want = W_PULSE.astype(np.float64) + np.array([[3, -2, 0], [1, -1, 10]]) * dw
    # float32 multiply-add per weight
    np.testing.assert_allclose(run(P_PULSE).outputs["out"], want.ravel(), rtol=0, atol=1e-6)


P_TCFG_OOB = register("tcfg_oob", "    nop\n    tcfg 0, 60, 0, 8, 4, 8\n    halt\n")


def test_tcfg_block_outside_the_array_traps():
    t = run_trap(P_TCFG_OOB)
    assert t.kind is TrapKind.OUT_OF_RANGE and t.pc == 1


P_MVM_WRONG_BUFFER = register("mvm_wrong_buffer", """
.sym x tb1 4
.sym y tb0 4
    tcfg 0, 0, 0, 4, 4, 8
    mvm 0, y, x, 1
    halt
""")


def test_mvm_operand_outside_its_tile_buffer_traps():
    t = run_trap(P_MVM_WRONG_BUFFER)
    assert t.kind is TrapKind.OUT_OF_RANGE and t.pc == 1


# ---------------------------------------------------------------------------------------------------
# CIM: the streamed MVM (tpat, tepi, mvms) against the sequential instructions it replaces

SX, SRES = rand(120, 3, 8), rand(121, 3, 4)
SW = rand(122, 8, 4, lo=-0.5, hi=0.5)
SBIAS, SRUN, SGB = rand(123, 4), np.concatenate([rand(124, 4), rand(125, 4, lo=0.5, hi=2)]), rand(126, 8, lo=0.5)
S_SCALE, S_F, S_EPS = 0.0078125, 0.03125, 1e-5
S_HEAD = f"""
{sym("x", "sram", SX)}
{sym("res", "sram", SRES)}
{sym("w0", "sram", SW[:4])}
{sym("w1", "sram", SW[4:])}
.sym ones sram 16
{sym("b", "sram", SBIAS)}
{sym("run", "sram", SRUN)}
{sym("gb", "sram", SGB)}
.sym y sram 12
.sym sc sram 1 = {S_SCALE}
.sym one sram 1 = 1.0
.sym tin0 tb0 12
.sym tout0 tb0 12
.sym ps tb0 12
.sym tin1 tb1 12
.sym tout1 tb1 12
    vfill ones, 16, 1.0
    tcfg 0, 0, 0, 4, 4, 8
    wv 0, w0, ones
    tcfg 1, 0, 0, 4, 4, 8
    wv 1, w1, ones
"""
P_SEQ_BLOCKS = register("sequential_blocks", S_HEAD + f"""
    agclr
    agen 0, 4, 1
    agen 1, 3, 8
    gather tin0, x
    quantm tin0, tin0, sc, 12, 8
    tcfg 0, 0, 0, 4, 4, 8
    mvm 0, tout0, tin0, 3
    agclr
    agen 0, 4, 1
    agen 1, 3, 4
    scatter y, tout0
    agclr
    agen 0, 4, 1
    agen 1, 3, 8
    gather tin1, x+4
    quantm tin1, tin1, sc, 12, 8
    tcfg 1, 0, 0, 4, 4, 8
    mvm 1, tout1, tin1, 3
    agclr
    agen 0, 4, 1
    agen 1, 3, 4
    scadd y, tout1
    vsclm y, y, one, 12, {S_F}
    vaddr y, y, b, 3, 4
    bneval y, y, run, gb, 3, 4, 1, {S_EPS}
    vadd y, y, res, 12
    vrelu y, y, 12
    halt
""")
P_STREAMED = register("streamed_blocks", S_HEAD + f"""
    agclr
    agen 0, 4, 1
    agen 1, 3, 8
    tpat 0, in
    tpat 1, in
    agclr
    agen 0, 12, 1
    tpat 0, out
    agclr
    agen 0, 4, 1
    agen 1, 3, 4
    tpat 1, out
    tepi 1, b, run, gb, one, 4, {S_F}, {S_EPS}, 1, 1, 1
    mvms 0, ps, x, sram:0, sram:0, sc, 3, 0, 0, 0
    mvms 1, y, x+4, ps, res, sc, 3, 1, 1, 1
    halt
""")


@pytest.mark.parametrize("preset", ["ideal", "wu2023"])
def test_mvms_chain_and_epilogue_equal_the_sequential_instructions_bit_for_bit(preset):
    """Two row blocks on two tiles: quantise, read, add the partial sums, dequantise, bias, batch norm, residual, ReLU:
    the streamed instructions give the sequential ones' numbers exactly (the same reads of the same tiles)."""
    seq, stream = run(P_SEQ_BLOCKS, preset), run(P_STREAMED, preset)
    np.testing.assert_array_equal(stream.outputs["y"], seq.outputs["y"])
    if preset == "ideal":  # and they are what the layer computes (float32 sums of 4 products: a tolerance)
        codes = np.clip(np.rint(SX / F32(S_SCALE)), -127, 127)
        z = (codes @ SW) * S_F + SBIAS
        z = SGB[:4] / np.sqrt(SRUN[4:] + S_EPS) * (z - SRUN[:4]) + SGB[4:] + SRES
        np.testing.assert_allclose(stream.outputs["y"], np.maximum(z, 0).ravel(), rtol=1e-5, atol=1e-5)
    assert (stream.outputs["y"] == 0).any() and (stream.outputs["y"] > 0).any()


def test_mvms_of_a_chain_convert_at_once_and_the_last_ends_after_its_producer():
    r = run(P_STREAMED, "wu2023", timeline=True)
    jobs = r.timeline[r.timeline.opcode == "mvms"].set_index("unit")
    first, second = jobs.loc["tile0"], jobs.loc["tile1"]
    assert second.start < first.end, "the second block converts while the first does"
    cfg = _cfg("wu2023").tiles
    tail = cfg.psum_add_cycles + -(-4 * 3 // cfg.stream_words_per_cycle)  # psum, res and result words of a vector
    assert second.end >= first.end + tail
    conv = converter_cost(cfg.physics.adc.kind, cfg.physics.adc.bits).cycles
    per = max(8 * conv, 4 // cfg.stream_words_per_cycle, 12 // cfg.stream_words_per_cycle)
    assert first.end - first.start >= 3 * per


P_STREAM_TWICE = register("streamed_back_to_back", S_HEAD + """
.sym big sram 4096
    agclr
    agen 0, 4, 1
    agen 1, 3, 8
    tpat 0, in
    agclr
    agen 0, 12, 1
    tpat 0, out
    vfill big, 4096, 0.0
    vscl x, x, 24, 1.0
    mvms 0, ps, x, sram:0, sram:0, sc, 3, 0, 0, 0
    mvms 0, tout0, x, sram:0, sram:0, sc, 3, 0, 0, 0
    halt
""")


def test_back_to_back_mvms_hide_the_first_fetch():
    """The tile's address generator fetches the next job's first vector while the array converts the last one of
    the job before: the second job has no fetch at its start."""
    cfg = load_config("wu2023", {"tiles": {"stream_words_per_cycle": 1, "psum_add_cycles": 0}})
    r = Soc(cfg, timeline=True).run(isa.assemble(P_STREAM_TWICE, "t.s"))
    a, b = r.timeline[r.timeline.opcode == "mvms"].itertuples()
    vscl = job(r, "vscl")
    conv = converter_cost(cfg.tiles.physics.adc.kind, cfg.tiles.physics.adc.bits).cycles
    per, fetch, tail = 8 * conv, 4, 4  # 4 rows in, 4 results out, one word per cycle
    assert a.start == vscl.end and a.end - a.start == fetch + 3 * per + tail, "the first waits for its first input"
    assert b.start == a.end and b.end - b.start == 3 * per + tail


P_MVMS_BAD_PATTERN = register("mvms_bad_pattern", S_HEAD + """
    agclr
    agen 0, 5, 1
    tpat 0, in
    mvms 0, ps, x, sram:0, sram:0, one, 1, 0, 0, 0
    halt
""")


def test_mvms_with_a_pattern_of_the_wrong_size_traps():
    t = run_trap(P_MVMS_BAD_PATTERN)
    assert t.kind is TrapKind.BAD_OPERAND and "input pattern has 5 words" in t.detail and "n x ROWS = 4" in t.detail


# ---------------------------------------------------------------------------------------------------
# digital unit: elementwise

VA = np.array([1.5, -2.0, 0.0, 3.25, -0.0, 1e-3, -7.5, 2.0], dtype=F32)
VB = np.array([1.5, 4.0, -0.0, -1.0, 0.0, 3e-3, 2.5, -2.0], dtype=F32)
VF = F32(-1.75)
ELEMENTWISE = {
    # mnemonic: (operands after dst, reference) -- each is one correctly rounded float32 op: exact
    "vadd": ("a, b, 8", lambda: VA + VB),
    "vsub": ("a, b, 8", lambda: VA - VB),
    "vmul": ("a, b, 8", lambda: VA * VB),
    "vmax": ("a, b, 8", lambda: np.maximum(VA, VB)),
    "vmin": ("a, b, 8", lambda: np.minimum(VA, VB)),
    "vcmpeq": ("a, b, 8", lambda: (VA == VB).astype(F32)),       # +0 == -0
    "vscl": (f"a, 8, {float(VF)!r}", lambda: VF * VA),
    "vfill": (f"8, {float(VF)!r}", lambda: np.full(8, VF)),
    "vrelu": ("a, 8", lambda: np.where(VA > 0, VA, F32(0))),
    "vdrelu": ("b, a, 8", lambda: np.where(VA > 0, VB, F32(0))),  # gradient b where a > 0
}
ELEMENTWISE_PROGRAMS = {mn: register(f"elementwise_{mn}", f"""
{sym("a", "sram", VA)}
{sym("b", "sram", VB)}
.sym dst sram 8 = 99, 99, 99, 99, 99, 99, 99, 99
.sym guard sram 1 = 42
    {mn} dst, {ops}
    halt
""") for mn, (ops, _) in ELEMENTWISE.items()}


@pytest.mark.parametrize("mn", sorted(ELEMENTWISE))
def test_elementwise(mn):
    out = run(ELEMENTWISE_PROGRAMS[mn]).outputs
    np.testing.assert_array_equal(out["dst"], ELEMENTWISE[mn][1]())
    np.testing.assert_array_equal(out["a"], VA)
    np.testing.assert_array_equal(out["b"], VB)
    assert out["guard"][0] == 42


def test_elementwise_values_by_hand():
    # the references above are numpy expressions; pin the comparison and masking ops by hand too
    assert run(ELEMENTWISE_PROGRAMS["vmax"]).outputs["dst"][:4].tolist() == [1.5, 4.0, 0.0, 3.25]
    assert run(ELEMENTWISE_PROGRAMS["vcmpeq"]).outputs["dst"].tolist() == [1, 0, 1, 0, 1, 0, 0, 0]
    vdrelu = run(ELEMENTWISE_PROGRAMS["vdrelu"]).outputs["dst"]
    assert vdrelu.tolist() == [1.5, 0, 0, -1, 0, float(F32(3e-3)), 0, -2]
    vrelu = run(ELEMENTWISE_PROGRAMS["vrelu"]).outputs["dst"]
    assert vrelu.tolist() == [1.5, 0, 0, 3.25, 0, float(F32(1e-3)), 0, 2]


P_VAXPY = register("vaxpy", f"""
{sym("a", "sram", VA)}
{sym("b", "sram", VB)}
.sym dst sram 8
    vaxpy dst, a, b, 8, {float(VF)!r}
    halt
""")


def test_vaxpy():
    want = float(VF) * VA.astype(np.float64) + VB
    # f * a + b: two float32 roundings or one fused rounding are both faithful to "f * a + b"
    np.testing.assert_allclose(run(P_VAXPY).outputs["dst"], want, rtol=1e-6, atol=1e-9)


ROWS_A = rand(120, 3, 5)
BIAS = rand(121, 5)
P_ROWS = register("vaddr_vsumr_vsum", f"""
{sym("a", "sram", ROWS_A)}
{sym("b", "sram", BIAS)}
.sym biased sram 15
.sym colsum sram 5
.sym total sram 2 = 5, 5
    vaddr biased, a, b, 3, 5
    vsumr colsum, a, 3, 5
    vsum total, a, 15
    halt
""")


def test_vaddr_vsumr_vsum():
    out = run(P_ROWS).outputs
    np.testing.assert_array_equal(out["biased"], (ROWS_A + BIAS[None, :]).ravel())   # one add: exact
    a64 = ROWS_A.astype(np.float64)
    # float32 sums; the ISA does not fix the summation order
    np.testing.assert_allclose(out["colsum"], a64.sum(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out["total"][0], a64.sum(), rtol=1e-6, atol=1e-6)
    assert out["total"][1] == 5          # dst is one word


# ---------------------------------------------------------------------------------------------------
# digital unit: pooling

POOL_CASES = [  # planes, h, w, k, s
    (2, 5, 5, 3, 1),     # overlapping windows
    (1, 4, 6, 2, 2),     # tiling windows
    (2, 5, 4, 3, 2),     # overlapping, non-square, last column not covered
    (1, 3, 3, 3, 1),     # one window
]


def pool_data(case):
    planes, h, w, k, s = case
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    seed = sum(case)
    x = rng(seed).integers(0, 4, (planes, h, w)).astype(F32)       # small integers: many ties
    g = rng(seed + 1).integers(-3, 4, (planes, oh, ow)).astype(F32)  # integers: exact sums
    return x, g, oh, ow


POOL_PROGRAMS = {}
for _case in POOL_CASES:
    _x, _g, _oh, _ow = pool_data(_case)
    _ops = ", ".join(map(str, _case))
    POOL_PROGRAMS[_case] = register(f"pool_{'_'.join(map(str, _case))}", f"""
{sym("x", "sram", _x)}
{sym("g", "sram", _g)}
.sym mx  sram {_g.size}
.sym av  sram {_g.size}
.sym gmx sram {_x.size}
.sym gav sram {_x.size}
    maxpool mx, x, {_ops}
    avgpool av, x, {_ops}
    maxpoolb gmx, g, x, {_ops}
    avgpoolb gav, g, {_ops}
    halt
""")


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "p{}h{}w{}k{}s{}".format(*c))
def test_pooling_forward_and_backward(case):
    planes, h, w, k, s = case
    x, g, oh, ow = pool_data(case)
    mx = np.zeros((planes, oh, ow))
    av = np.zeros((planes, oh, ow))
    gmx = np.zeros((planes, h, w))
    gav = np.zeros((planes, h, w))
    for p in range(planes):
        for i in range(oh):
            for j in range(ow):
                win = x[p, i * s:i * s + k, j * s:j * s + k].astype(np.float64)
                mx[p, i, j] = win.max()
                av[p, i, j] = win.sum() / (k * k)
                flat = win.ravel()
                first = 0
                for t in range(1, k * k):          # the first maximum in row-major window order
                    if flat[t] > flat[first]:
                        first = t
                gmx[p, i * s + first // k, j * s + first % k] += g[p, i, j]
                gav[p, i * s:i * s + k, j * s:j * s + k] += g[p, i, j] / (k * k)
    out = run(POOL_PROGRAMS[case]).outputs
    np.testing.assert_array_equal(out["mx"], mx.ravel())
    np.testing.assert_array_equal(out["gmx"], gmx.ravel())        # integer sums: exact
    # division by k*k (and sums of quotients) round in float32
    np.testing.assert_allclose(out["av"], av.ravel(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out["gav"], gav.ravel(), rtol=1e-6, atol=1e-6)


P_MAXPOOLB_TIES = register("maxpoolb_ties", """
.sym x sram 8 = 1, 1, 1, 1, 0, 2, 0, 2
.sym g sram 2 = 5, 3
.sym d sram 8
    maxpoolb d, g, x, 2, 2, 2, 2, 2
    halt
""")


def test_maxpoolb_ties_go_to_the_first_maximum():
    # 2x2 windows of tied maxima: the gradient lands on the first in row-major order
    np.testing.assert_array_equal(run(P_MAXPOOLB_TIES).outputs["d"], [5, 0, 0, 0, 0, 3, 0, 0])


# ---------------------------------------------------------------------------------------------------
# digital unit: softmax cross-entropy, matrix products, argmax

LOGITS = rand(130, 3, 4, lo=-3, hi=3)
LABELS = np.array([2, 0, 3], dtype=F32)
P_SXENT = register("sxent", f"""
{sym("z", "sram", LOGITS)}
{sym("lab", "sram", LABELS)}
.sym d sram 12
    sxent d, z, lab, 3, 4
    halt
""")


def test_sxent_is_the_mean_cross_entropy_gradient():
    z = LOGITS.astype(np.float64)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    p[np.arange(3), LABELS.astype(int)] -= 1
    # exp and division in float32
    np.testing.assert_allclose(run(P_SXENT).outputs["d"], (p / 3).ravel(), rtol=1e-5, atol=1e-7)


MM_M, MM_K, MM_N = 3, 4, 2
MM_CASES = [(ta, tb, acc) for ta in (0, 1) for tb in (0, 1) for acc in (0, 1)]
MM_A = rand(131, MM_M, MM_K)
MM_B = rand(132, MM_K, MM_N)
MM_D0 = rand(133, MM_M, MM_N)
MM_PROGRAMS = {(ta, tb, acc): register(f"mm_ta{ta}_tb{tb}_acc{acc}", f"""
{sym("a", "sram", MM_A.T if ta else MM_A)}
{sym("b", "sram", MM_B.T if tb else MM_B)}
{sym("d", "sram", MM_D0)}
    mm d, a, b, {MM_M}, {MM_K}, {MM_N}, {ta}, {tb}, {acc}
    halt
""") for ta, tb, acc in MM_CASES}


@pytest.mark.parametrize("ta, tb, acc", MM_CASES)
def test_mm_every_transpose_and_accumulate_combination(ta, tb, acc):
    want = MM_A.astype(np.float64) @ MM_B + (MM_D0 if acc else 0)
    # float32 dot products of length 4
    np.testing.assert_allclose(run(MM_PROGRAMS[ta, tb, acc]).outputs["d"], want.ravel(), rtol=1e-5, atol=1e-6)


OP_A = rand(134, 3, 2)    # k x m
OP_B = rand(135, 3, 4)    # k x n
OP_ACC = rand(136, 2, 4)
P_OPACC = register("opacc", f"""
{sym("a", "sram", OP_A)}
{sym("b", "sram", OP_B)}
{sym("acc", "acc", OP_ACC)}
    opacc acc, a, b, 3, 2, 4, 0.5
    halt
""")


def test_opacc_accumulates_k_outer_products():
    want = OP_ACC.astype(np.float64) + 0.5 * sum(np.outer(OP_A[i], OP_B[i]) for i in range(3))
    # three float32 products summed, then added
    np.testing.assert_allclose(run(P_OPACC).outputs["acc"], want.ravel(), rtol=1e-5, atol=1e-6)


ARGMAX_IN = np.array([[1, 3, 3, 0, 2], [-1, -1, -1, -1, -1], [0, 0, 0, 0, 5], [2.5, -4, 2.25, 2.5, 0]],
                     dtype=F32)
P_ARGMAX = register("argmax", f"""
{sym("s", "sram", ARGMAX_IN)}
.sym d sram 4
    argmax d, s, 4, 5
    halt
""")


def test_argmax_first_maximum_per_row():
    np.testing.assert_array_equal(run(P_ARGMAX).outputs["d"], [1, 0, 4, 0])


# ---------------------------------------------------------------------------------------------------
# digital unit: mixed-precision transfer

XF_ACC = np.array([0.25, -0.25, 0.2, -0.3, 0.0, 1.5, -0.24, 0.26], dtype=F32)
XF_W = np.array([1.0, 0.5, -0.5, 0.75, 2.0, -1.0, 0.125, 0.0], dtype=F32)
P_XFERWV = register("xferwv", f"""
{sym("acc", "acc", XF_ACC)}
{sym("w", "sram", XF_W)}
.sym target sram 8
.sym mask sram 8 = 7, 7, 7, 7, 7, 7, 7, 7
    xferwv target, mask, acc, w, 8, 0.25
    halt
""")


def test_xferwv_transfers_where_acc_reaches_the_level():
    out = run(P_XFERWV).outputs
    hit = np.abs(XF_ACC) >= F32(0.25)                # |acc| == level transfers
    assert hit.tolist() == [True, True, False, True, False, True, False, True]
    target = np.where(hit, XF_W + XF_ACC, XF_W)       # one float32 add: exact
    np.testing.assert_array_equal(out["target"], target)
    np.testing.assert_array_equal(out["mask"], hit.astype(F32))
    np.testing.assert_array_equal(out["w"], target)
    np.testing.assert_array_equal(out["acc"], np.where(hit, F32(0), XF_ACC))


XP_ACC = np.array([0.6, -0.6, 0.25, -0.25, 0.1, 1.0, -1.1, 0.0], dtype=F32)
P_XFERP = register("xferp", f"""
{sym("acc", "acc", XP_ACC)}
.sym pulses sram 8
    xferp pulses, acc, 8, 0.25
    halt
""")


def test_xferp_truncates_toward_zero_and_keeps_the_remainder():
    out = run(P_XFERP).outputs
    p = np.array([2, -2, 1, -1, 0, 4, -4, 0], dtype=F32)     # trunc(acc / 0.25)
    np.testing.assert_array_equal(out["pulses"], p)
    # remainder acc - p * 0.25: exact in float32 (0.25 is a power of two, |p * 0.25| <= |acc|)
    np.testing.assert_array_equal(out["acc"], XP_ACC - p * F32(0.25))


# ---------------------------------------------------------------------------------------------------
# digital unit: optimizers (hp, adamw, sgd), quant

N_OPT, STEPS = 6, 3
OPT_G = rand(140, STEPS, N_OPT)
OPT_W = rand(141, N_OPT)
ADAM = dict(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6, wd=0.1)
P_ADAMW = register("adamw", f"""
{sym("g", "sram", OPT_G)}
{sym("w", "sram", OPT_W)}
.sym m sram {N_OPT}
.sym v sram {N_OPT}
.sym dw sram {N_OPT}
    hp lr, {ADAM['lr']}
    hp beta1, {ADAM['beta1']}
    hp beta2, {ADAM['beta2']}
    hp eps, {ADAM['eps']}
    hp wd, {ADAM['wd']}
    li x1, 1                 ; step (1-based)
    li x2, 0                 ; offset of this step's gradient
    li x3, {STEPS + 1}
loop:
    adamw dw, g(x2), m, v, w, {N_OPT}, x1
    vadd w, w, dw, {N_OPT}
    addi x1, x1, 1
    addi x2, x2, {N_OPT}
    blt x1, x3, loop
    halt
""")


def test_adamw_matches_textbook_adamw_over_several_steps():
    lr, b1, b2, eps, wd = (ADAM[k] for k in ("lr", "beta1", "beta2", "eps", "wd"))
    w = OPT_W.astype(np.float64)
    m = np.zeros(N_OPT)
    v = np.zeros(N_OPT)
    for t in range(1, STEPS + 1):       # Loshchilov & Hutter, decoupled weight decay
        g = OPT_G[t - 1].astype(np.float64)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        dw = -lr * (m_hat / (np.sqrt(v_hat) + eps) + wd * w)
        w = w + dw
    out = run(P_ADAMW).outputs
    # float32 arithmetic with float32 hyperparameters against float64
    for name, want in (("m", m), ("v", v), ("dw", dw), ("w", w)):
        np.testing.assert_allclose(out[name], want, rtol=1e-5, atol=1e-8, err_msg=name)


P_ADAMW_STEP0 = register("adamw_step0", """
.sym a sram 4
    li x1, 0
    adamw a, a, a, a, a, 4, x1
    halt
""")


def test_adamw_step_register_must_be_at_least_one():
    t = run_trap(P_ADAMW_STEP0)
    assert t.kind is TrapKind.BAD_OPERAND and t.pc == 1


SGD = dict(lr=0.1, momentum=0.9, wd=0.01)
P_SGD = register("sgd", f"""
{sym("g", "sram", OPT_G)}
{sym("w", "sram", OPT_W)}
.sym mom sram {N_OPT}
.sym dw sram {N_OPT}
    hp lr, {SGD['lr']}
    hp momentum, {SGD['momentum']}
    hp wd, {SGD['wd']}
    li x2, 0
    li x3, {STEPS * N_OPT}
loop:
    sgd dw, g(x2), mom, w, {N_OPT}
    vadd w, w, dw, {N_OPT}
    addi x2, x2, {N_OPT}
    blt x2, x3, loop
    halt
""")


def test_sgd_with_momentum_and_weight_decay_over_several_steps():
    w = OPT_W.astype(np.float64)
    mom = np.zeros(N_OPT)
    for t in range(STEPS):
        mom = SGD["momentum"] * mom + OPT_G[t] + SGD["wd"] * w
        dw = -SGD["lr"] * mom
        w = w + dw
    out = run(P_SGD).outputs
    # float32 arithmetic against float64
    for name, want in (("mom", mom), ("dw", dw), ("w", w)):
        np.testing.assert_allclose(out[name], want, rtol=1e-5, atol=1e-7, err_msg=name)


Q_IN = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, 126.5, 127.5, 200.0, -127.5, -300.0, 0.0, -3.51],
                dtype=F32)
Q_PROGRAMS = {(scale, bits): register(f"quant_s{scale}_b{bits}", f"""
{sym("x", "sram", Q_IN)}
.sym q sram {Q_IN.size}
    quant q, x, {Q_IN.size}, {scale}, {bits}
    halt
""") for scale, bits in ((1.0, 8), (0.5, 8), (2.0, 4), (0.5, 0))}


def test_quant_8_bits_rounds_half_to_even_and_clips():
    out = run(Q_PROGRAMS[1.0, 8]).outputs["q"]
    np.testing.assert_array_equal(out, [0, 2, 2, -0, -2, -2, 3, 126, 127, 127, -127, -127, 0, -4])


@pytest.mark.parametrize("scale, bits", [(0.5, 8), (2.0, 4)])
def test_quant_scale_and_clip_range(scale, bits):
    top = 2 ** (bits - 1) - 1
    x = Q_IN.astype(np.float64) / scale      # power-of-two scales: exact
    want = np.clip(np.round(x), -top, top)   # np.round rounds half to even
    np.testing.assert_array_equal(run(Q_PROGRAMS[scale, bits]).outputs["q"], want)


def test_quant_0_bits_only_scales():
    # bits 0: no DAC code range, the scaled value is driven as is (analog input, docs/physics.md)
    np.testing.assert_array_equal(run(Q_PROGRAMS[0.5, 0]).outputs["q"], Q_IN / F32(0.5))


P_QUANTM = register("quantm", f"""
{sym("x", "sram", Q_IN)}
.sym s sram 2 = 0.0390625, 0.75
.sym q sram {Q_IN.size}
.sym qi sram {Q_IN.size}
.sym d sram {Q_IN.size}
    quantm q, x, s, {Q_IN.size}, 8
    quant qi, x, {Q_IN.size}, 0.0390625, 8
    vsclm d, q, s+1, {Q_IN.size}, -2.5
    halt
""")


def test_quantm_is_quant_with_the_scale_in_memory_and_vsclm_scales_by_a_word():
    r = run(P_QUANTM)
    np.testing.assert_array_equal(r.outputs["q"], r.outputs["qi"])
    assert np.abs(r.outputs["q"]).max() == 127 and len(np.unique(r.outputs["q"])) > 5
    # (f * s) * a in float32: f * s = -1.875 exactly
    np.testing.assert_array_equal(r.outputs["d"], F32(-1.875) * r.outputs["q"])


P_QUANTM_ZERO = register("quantm_zero", ".sym x sram 2 = 1, 2\n.sym s sram 1\n    quantm x, x, s, 2, 8\n    halt\n")


def test_quantm_with_a_scale_of_zero_traps():
    t = run_trap(P_QUANTM_ZERO)
    assert t.kind is TrapKind.BAD_OPERAND and "expected a finite scale > 0" in str(t)


# ---------------------------------------------------------------------------------------------------
# synchronization (timing-visible: the DMA copy is independent of the digital-unit work)

SYNC_PROGRAMS = {s: register(f"sync_{s.split()[0]}", f"""
.sym a sram 4096
.sym b sram 64
.sym c dram 64 uniform -1.0 1.0 4
    vfill a, 4096, 1.0
    {s}
    copy b, c, 64
    halt
""") for s in ("nop", "fence", "wait du, 0", "post du, 0, 2\n    waitt 2")}


def test_without_sync_independent_units_overlap():
    r = run(SYNC_PROGRAMS["nop"], timeline=True)
    assert job(r, "copy").start < job(r, "vfill").end


@pytest.mark.parametrize("s", ["fence", "wait du, 0", "post du, 0, 2\n    waitt 2"])
def test_sync_orders_later_work_after_the_unit_finishes(s):
    r = run(SYNC_PROGRAMS[s], timeline=True)
    assert job(r, "copy").start >= job(r, "vfill").end
    c = isa.assemble(SYNC_PROGRAMS[s]).symbols["c"]
    np.testing.assert_array_equal(r.outputs["b"], c.init.materialize(64))
    assert (r.outputs["a"] == 1).all()


P_WAIT_TILE = register("wait_tile", """
.sym x tb0 512
.sym y tb0 256
.sym b sram 64
.sym c dram 64
.sym keep sram 64*32             ; an all-zero mask: wv writes no cell
    tcfg 0, 0, 0, 64, 32, 8
    wv 0, keep, keep
    mvm 0, y, x, 8
    wait tile, 0
    copy b, c, 64
    post tile, 0, 1
    post tile, 0, 1
    waitt 1
    waitt 1                  ; two posts, two waits
    wait dma, 0
    vfill b, 64, 2.0
    halt
""")


def test_wait_tile_wait_dma_and_counting_semaphores():
    r = run(P_WAIT_TILE, timeline=True)
    assert job(r, "copy").start >= job(r, "mvm").end
    assert job(r, "vfill").start >= job(r, "copy").end
    assert (r.outputs["b"] == 2).all()


P_DEADLOCK = register("deadlock", """
    post du, 0, 1
    waitt 1
    waitt 1                  ; only one post
    halt
""")


def test_waitt_without_post_deadlocks():
    t = run_trap(P_DEADLOCK)
    assert t.kind is TrapKind.DEADLOCK and t.pc == 2


# ---------------------------------------------------------------------------------------------------
# traps

TRAPS = {
    # name: (preset, program, trap kind, pc)
    "out_of_range": ("ideal", """
.sym a sram 4
    li x1, 20000
    vadd a, a, a, 4
    vadd a(x1), a, a, 4
    halt
""", TrapKind.OUT_OF_RANGE, 2),
    "gather_below_memory": ("ideal", """
    agen 0, 4, -1
    gather sram:100, sram:1  ; reads sram:-2 .. sram:1
    halt
""", TrapKind.OUT_OF_RANGE, 1),
    "tile_buffer_of_missing_tile": ("ideal", ".sym a sram 4\n    vadd tb9:0, a, a, 4\n    halt\n",
                                    TrapKind.OUT_OF_RANGE, 0),
    "mvmt_without_transposed_read": ("wu2023", """
.sym x tb0 4
.sym y tb0 4
    tcfg 0, 0, 0, 4, 4, 8
    mvmt 0, y, x, 1
    halt
""", TrapKind.ILLEGAL_INSTRUCTION, 1),
    "inf_produced": ("ideal", """
.sym a sram 4 = 100, 1, 2, 3
    vscl a, a, 4, 1e38
    halt
""", TrapKind.NAN, 0),
    "lw_of_inf": ("ideal", ".sym a sram 1 = inf\n    lw x1, a\n    halt\n", TrapKind.NAN, 0),
    "falling_off_the_end": ("ideal", ".sym a sram 4\n    vfill a, 4, 1.0\n    nop\n",
                            TrapKind.ILLEGAL_INSTRUCTION, 2),
    "jump_outside_the_program": ("ideal", "    li x1, 100\n    jalr x0, x1\n    halt\n",
                                 TrapKind.ILLEGAL_INSTRUCTION, 100),
    **{f"illegal_tile_{ins.split()[0]}": ("ideal", f"    nop\n    {ins}\n    halt\n",
                                          TrapKind.ILLEGAL_INSTRUCTION, 1)
       for ins in ("tcfg 9, 0, 0, 4, 4, 8", "rdw 4, sram:0", "mvm 200, tb0:0, tb0:0, 1", "wait tile, 9",
                   "post tile, 7, 1")},
    **{f"sxent_label_{label}": ("ideal", f"""
.sym z sram 8
.sym lab sram 2 = 1, {label}
.sym d sram 8
    nop
    sxent d, z, lab, 2, 4
    halt
""", TrapKind.BAD_OPERAND, 1) for label in (4, -1)},
    **{f"pool_stride_0_{op.split()[0]}": ("ideal", f"""
.sym x sram 16
.sym d sram 16
    {op}, 1, 4, 4, 2, 0
    halt
""", TrapKind.BAD_OPERAND, 0)
       for op in ("maxpool d, x", "avgpool d, x", "maxpoolb d, x, x", "avgpoolb d, x")},
}
for _name, (_, _text, _, _) in TRAPS.items():
    register(f"trap_{_name}", _text)


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_trap_kind_and_pc(name):
    preset, text, kind, pc = TRAPS[name]
    t = run_trap(text, preset)
    assert (t.kind, t.pc) == (kind, pc), str(t)
    assert f"pc {pc}" in str(t)


def test_mvmt_trap_preset_has_no_transposed_read():
    assert not _cfg("wu2023").tiles.transposed_mvm
    assert _cfg("ideal").tiles.transposed_mvm


# ---------------------------------------------------------------------------------------------------
# coverage of the opcode table


def test_every_opcode_has_a_semantics_program():
    used: set[str] = set()
    for name, text in PROGRAMS.items():
        used |= {ins.spec.mnemonic for ins in isa.assemble(text, f"{name}.s").instructions}
    missing = sorted(set(BY_MNEMONIC) - used)
    assert not missing, f"opcodes without a semantics test in tests/test_opcodes.py: {missing}"
    assert len(OPCODES) == len(BY_MNEMONIC)


# ---------------------------------------------------------------------------------------------------
# batch norm: bnfwd / bnbwd / bneval against a float64 textbook batch norm

BN_N, BN_C, BN_HW = 3, 2, 5
BN_X = rand(301, BN_N, BN_C, BN_HW, lo=-2.0, hi=3.0)
BN_DY = rand(302, BN_N, BN_C, BN_HW)
BN_GB = np.array([1.5, 0.5, 0.25, -0.75], F32)   # gamma (2), beta (2)
BN_RUN = np.array([0.1, -0.2, 1.0, 2.0], F32)    # running mean (2), running var (2)
BN_EPS, BN_MOM = 1e-5, 0.1
P_BN = register("batchnorm", f"""
{sym("x", "sram", BN_X)}
{sym("dy", "sram", BN_DY)}
{sym("gb", "acc", BN_GB)}
{sym("run", "acc", BN_RUN)}
{sym("dgb", "acc", [0.5, 0.5, 0.5, 0.5])}
.sym y sram {BN_X.size}
.sym xhat sram {BN_X.size}
.sym stats sram 4
.sym dx sram {BN_X.size}
.sym ye sram {BN_X.size}
    bnfwd y, x, xhat, stats, gb, run, {BN_N}, {BN_C}, {BN_HW}, {BN_EPS}, {BN_MOM}
    bnbwd dx, dgb, dy, xhat, stats, gb, {BN_N}, {BN_C}, {BN_HW}
    bneval ye, x, run, gb, {BN_N}, {BN_C}, {BN_HW}, {BN_EPS}
    halt
""")


def test_batchnorm_forward_backward_and_eval_match_a_textbook_batch_norm():
    x = BN_X.astype(np.float64)
    dy = BN_DY.astype(np.float64)
    gamma, beta = BN_GB[:2].astype(np.float64), BN_GB[2:].astype(np.float64)
    mean = x.mean(axis=(0, 2))
    var = x.var(axis=(0, 2))
    inv = 1 / np.sqrt(var + BN_EPS)
    xhat = (x - mean[None, :, None]) * inv[None, :, None]
    y = gamma[None, :, None] * xhat + beta[None, :, None]
    count = BN_N * BN_HW
    run_mean = (1 - BN_MOM) * BN_RUN[:2] + BN_MOM * mean
    run_var = (1 - BN_MOM) * BN_RUN[2:] + BN_MOM * var * count / (count - 1)
    # backward by the chain rule through mean and variance
    dxhat = dy * gamma[None, :, None]
    dvar = (dxhat * (x - mean[None, :, None]) * -0.5 * inv[None, :, None] ** 3).sum(axis=(0, 2))
    dmean = (-dxhat * inv[None, :, None]).sum(axis=(0, 2)) + dvar * (-2 * (x - mean[None, :, None])).mean(axis=(0, 2))
    dx = dxhat * inv[None, :, None] + dvar[None, :, None] * 2 * (x - mean[None, :, None]) / count \
        + dmean[None, :, None] / count
    dgb = 0.5 + np.concatenate([(dy * xhat).sum(axis=(0, 2)), dy.sum(axis=(0, 2))])
    ye = gamma[None, :, None] * (x - run_mean[None, :, None]) / np.sqrt(run_var[None, :, None] + BN_EPS) \
        + beta[None, :, None]
    out = run(P_BN).outputs
    # float32 reductions over 15 values against float64
    np.testing.assert_allclose(out["xhat"], xhat.ravel(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["y"], y.ravel(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["stats"], np.concatenate([mean, inv]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["run"], np.concatenate([run_mean, run_var]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["dx"], dx.ravel(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["dgb"], dgb, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["ye"], ye.ravel(), rtol=1e-5, atol=1e-6)


P_VCLAMP = register("vclamp", f"""
{sym("a", "sram", [-3.0, -0.5, 0.0, 0.25, 2.0, 7.5])}
.sym d sram 6
    vclamp d, a, 6, 1.5
    halt
""")


def test_vclamp_clips_to_a_symmetric_range():
    np.testing.assert_array_equal(run(P_VCLAMP).outputs["d"], np.array([-1.5, -0.5, 0.0, 0.25, 1.5, 1.5], F32))


# ---------------------------------------------------------------------------------------------------
# number formats: vamax, r4q (radix-4 FP4 with a power-of-two scale and two phases), vsclm

R4_X = np.concatenate([rand(401, 40) * F32(0.3), [F32(0.0), F32(2.5 * 4.0 ** -3) * F32(0.25),  # a tie (midpoint)
                                                  F32(-1e-7), F32(0.45)]]).astype(F32)
P_R4Q = {phase: register(f"r4q_phase{phase}", f"""
{sym("x", "sram", R4_X)}
.sym amax sram 1
.sym q sram {R4_X.size}
.sym unit sram 1
.sym v sram {R4_X.size}
    vamax amax, x, {R4_X.size}
    r4q q, unit, x, amax, {R4_X.size}, {phase}, 7
    vsclm v, q, unit, {R4_X.size}, 2.0
    halt
""") for phase in (0, 1)}


@pytest.mark.parametrize("phase", [0, 1], ids=["even", "odd"])
def test_r4q_rounds_to_radix4_fp4_with_the_scale_of_vamax(phase):
    from socsim.host.baseline_quant import fp4_scale, fp4_values  # the baseline's own implementation of the format
    out = run(P_R4Q[phase]).outputs
    assert out["amax"][0] == np.abs(R4_X).max()
    scale = fp4_scale(float(np.abs(R4_X).max()), odd=phase == 1)
    assert out["unit"][0] == F32(scale * 4.0 ** -6)
    assert np.log2(scale) % 2 == phase                                   # even or odd powers of two
    q = out["q"]
    assert set(np.abs(q[q != 0]).tolist()) <= {4.0 ** k for k in range(7)}   # DAC codes: signed powers of 4
    np.testing.assert_array_equal(q * out["unit"][0], fp4_values(R4_X, phase == 1, 7))
    np.testing.assert_array_equal(out["v"], F32(2.0) * out["unit"][0] * q)   # vsclm: (f s[0]) a


P_R4Q_ZERO = register("r4q_zero", """
.sym x sram 3
.sym amax sram 1
.sym q sram 3 = 5, 5, 5
.sym unit sram 1
    vamax amax, x, 3
    r4q q, unit, x, amax, 3, 1, 3
    halt
""")


def test_r4q_of_zeros_is_zero_codes_with_the_phase_unit():
    out = run(P_R4Q_ZERO).outputs
    assert out["amax"][0] == 0 and out["q"].tolist() == [0, 0, 0] and out["unit"][0] == F32(2.0 / 16)


P_R4Q_BAD = register("r4q_bad_exps", """
.sym x sram 2 = 1, 2
.sym a sram 1 = 2
.sym q sram 2
.sym u sram 1
    nop
    r4q q, u, x, a, 2, 0, 9
    halt
""")


def test_r4q_refuses_a_format_without_magnitudes_it_can_drive():
    t = run_trap(P_R4Q_BAD)
    assert (t.kind, t.pc) == (TrapKind.BAD_OPERAND, 1) and "exps = 9" in str(t)


# ---------------------------------------------------------------------------------------------------
# calibration: converter readings (mvmr), a block's full scale (tgain), histogram and percentile

QUIET_RRAM = {"tiles": {"physics": {"read": {"noise_levels": 0.0}, "write_verify": {"prog_error_levels": 0.0},
                                    "adc": {"noise_lsb": 0.0, "fs_bits": 10, "fs_min_ua": 1.0,
                                            "fs_max_ua": 256.0}}}}
"""wu2023 devices without read noise, programming error or converter noise, and a programmable full scale
(multiples of 0.25 uA in [1, 256] uA): every reading is a function of the conductances."""
CAL_W = rand(401, 6, 3, lo=-0.9, hi=0.9)
CAL_X = rng(402).integers(0, 60, (2, 6)).astype(F32)
P_CALIBRATE_READ = register("calibrate_read", f"""
.sym ones sram 18 = {", ".join(["1"] * 18)}
{sym("w", "sram", CAL_W)}
{sym("x", "tb0", CAL_X)}
.sym r0 tb0 6
.sym y0 tb0 6
.sym r1 tb0 6
.sym y1 tb0 6
.sym r2 tb0 6
.sym fs sram 3 = 2.1, 0.01, 1000
    tcfg 0, 4, 2, 6, 3, 8
    wv 0, w, ones
    mvmr 0, r0, x, 2         ; nominal range, 0 .. 70 uA
    mvm 0, y0, x, 2
    tgain 0, fs              ; 2.1 uA -> 2.0 uA, the nearest multiple of 0.25 uA
    mvmr 0, r1, x, 2
    mvm 0, y1, x, 2
    tcfg 0, 4, 2, 6, 2, 8    ; the same block origin: its full scale
    tgain 0, fs+1            ; 0.01 uA -> 1.0 uA, the smallest setting
    tcfg 1, 0, 0, 6, 3, 8
    tgain 1, fs+2            ; 1000 uA -> 256 uA, the largest, on another tile
    tcfg 0, 4, 2, 6, 3, 8
    mvmr 0, r2, x, 2
    halt
""")


def _cal_soc(overrides=QUIET_RRAM) -> Soc:
    return Soc.from_config(load_config("wu2023", overrides))


def _bitline_reading(soc: Soc, fs_ua: float) -> np.ndarray:
    """The BWMCS reading of both bit lines of each weight of the block (quantised, clipped) -> (2, 3) largest."""
    xbar = soc.tiles[0].crossbar
    adc = soc.cfg.tiles.physics.adc
    tr = xbar.dac.train(8)
    g = xbar.g[:, 0, 4:10, 2:5].astype(np.float64)              # (pair, rows, weights) uS
    analog = np.einsum("bn,pnk->pbk", CAL_X.astype(np.float64) / tr.gain, g) * tr.v_unit
    k = fs_ua / adc.full_scale_ua
    lo, hi = adc.i_min_ua * k, adc.i_max_ua * k
    lsb = (hi - lo) / 2 ** adc.bits
    q = lo + lsb * np.minimum(np.floor((np.clip(analog, lo, hi) - lo) / lsb + 0.5), 2 ** adc.bits - 1)
    return q.max(axis=0)


def test_mvmr_reads_the_converter_and_tgain_sets_the_block_full_scale():
    soc = _cal_soc()
    r = soc.run(isa.assemble(P_CALIBRATE_READ, "cal.s"))
    xbar = soc.tiles[0].crossbar
    assert soc.cfg.tiles.physics.adc.pair_readout.name == "DIGITAL" and soc.cfg.tiles.physics.adc.kind == "bwmcs"
    # quantised readings: the float32 and float64 sums may round to neighbouring codes at a code boundary
    lsb70 = 70.0 / 256
    np.testing.assert_allclose(r.outputs["r0"], _bitline_reading(soc, 70.0).ravel(), rtol=0, atol=lsb70 * 1.01)
    np.testing.assert_allclose(r.outputs["r1"], _bitline_reading(soc, 2.0).ravel(), rtol=0, atol=2.0 / 256 * 1.01)
    assert r.outputs["r1"].max() == np.float32(2.0 * 255 / 256) < r.outputs["r0"].max()
    np.testing.assert_allclose(r.outputs["r2"], _bitline_reading(soc, 1.0).ravel(), rtol=0, atol=1.01 / 256)
    assert xbar.full_scale[4, 2] == 1.0 and xbar.full_scale[0, 0] == 0.0
    assert soc.tiles[1].crossbar.full_scale[0, 0] == 256.0
    # the mvm outputs follow the same converter: at 2 uA some bit lines saturate, so the products change
    assert not np.array_equal(r.outputs["y0"], r.outputs["y1"])
    led = r.ledger
    assert int(led[(led.action == "adc_fs_set")]["count"].sum()) == 3
    sat = led[led.action == "adc_saturated"].groupby("opcode")["count"].sum()
    assert sat.get("mvmr", 0) > 0 and sat.get("mvm", 0) > 0
    # mvmr costs what mvm costs: the same conversions and cycles
    by = led[led.component == "tile0"].groupby(["opcode", "action"])["count"].sum()
    assert by[("mvmr", "adc_conversion")] == 3 * by[("mvm", "adc_conversion")] / 2 == 3 * 2 * 2 * 3


def test_tgain_on_a_fixed_range_converter_keeps_the_range():
    fixed = {"tiles": {"physics": {**QUIET_RRAM["tiles"]["physics"],
                                   "adc": {**QUIET_RRAM["tiles"]["physics"]["adc"], "fs_bits": 0}}}}
    soc = _cal_soc(fixed)
    r = soc.run(isa.assemble(P_CALIBRATE_READ, "cal.s"))
    np.testing.assert_array_equal(r.outputs["r0"], r.outputs["r1"])
    np.testing.assert_array_equal(r.outputs["y0"], r.outputs["y1"])
    assert soc.tiles[0].crossbar.full_scale[4, 2] == 70.0


P_TGAIN_NEGATIVE = register("tgain_negative", """
.sym fs sram 1 = -3
    tcfg 0, 0, 0, 4, 4, 8
    tgain 0, fs
    halt
""")


def test_tgain_of_a_negative_current_traps():
    t = run_trap(P_TGAIN_NEGATIVE, "wu2023")
    assert t.kind is TrapKind.BAD_OPERAND and t.pc == 1 and "full-scale current -3.0 uA" in str(t)


def test_mvmr_on_a_model_without_converter_traps():
    t = run_trap(".sym x tb0 4\n.sym r tb0 4\n.sym keep sram 16\n    tcfg 0, 0, 0, 4, 4, 8\n    wv 0, keep, keep\n"
                 "    mvmr 0, r, x, 1\n    halt\n")
    assert t.kind is TrapKind.BAD_OPERAND and "no converter" in str(t)


HIST_X = np.array([0.0, 0.5, 1.0, 1.9, 2.0, -3.9, 4.0, 7.99, 8.0, 1e9, -0.25, 3.0], dtype=F32)
P_HIST = register("hist", f"""
{sym("x", "sram", HIST_X)}
.sym h sram 4 = 1, 0, 0, 2
.sym p sram 4
    vhist h, x, 12, 3, 1.0, 8.0     ; bins [1, 2), [2, 4), [4, 8]: edges 1, 2, 4, 8
    vpctl p, h, 3, 0.5, 1.0, 8.0
    vpctl p+1, h, 3, 0.75, 1.0, 8.0
    vpctl p+2, h, 3, 1.0, 1.0, 8.0
    vpctl p+3, h, 3, 0.0, 1.0, 8.0
    halt
""")


def test_vhist_counts_magnitudes_in_log_bins_and_vpctl_finds_the_percentile():
    r = run(P_HIST)
    # below lo (0, 0.5, 0.25) and [1, 2) (1.0, 1.9) -> bin 0; [2, 4): 2.0, 3.9, 3.0; >= 4 (4, 7.99, 8, 1e9) -> bin 2
    np.testing.assert_array_equal(r.outputs["h"], np.array([1, 0, 0, 2]) + np.array([5, 3, 4, 0]))
    # cumulative 6, 9, 15 of 15: half (7.5) is reached in bin 1 (upper edge 4), 0.75 (11.25) and all in bin 2
    np.testing.assert_array_equal(r.outputs["p"], np.array([4.0, 8.0, 8.0, 2.0], F32))


def test_vhist_bin_edges_of_a_finer_histogram():
    from socsim.sim.ops.histogram import bin_index, upper_edge
    x = np.array([[1.0, 1.0905, 1.0906, 255.9, 256.0]], F32)
    b = bin_index(x, 64, 1.0, 256.0)  # ratio 2^(8/64) = 1.0905 per bin
    np.testing.assert_array_equal(b, [[0, 0, 1, 63, 63]])
    assert upper_edge(np.array([63]), 64, 1.0, 256.0)[0] == pytest.approx(256.0, rel=1e-12)


P_HIST_BAD = register("hist_bad", ".sym x sram 2\n.sym h sram 2\n    vhist h, x, 2, 2, 0.0, 8.0\n    halt\n")


def test_vhist_of_an_empty_log_range_traps():
    t = run_trap(P_HIST_BAD)
    assert t.kind is TrapKind.BAD_OPERAND and "0 < lo < hi" in str(t)
