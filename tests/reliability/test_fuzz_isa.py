"""Fuzzing the assembler and the binary decoder: every bad input is an IsaError naming where, never a crash."""

from __future__ import annotations

import re
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import isa
from isa import IsaError
from isa.spec import OPCODES
from socsim.config.soc import load_config
from socsim.sim import Soc, Trap
from tests.reliability.conftest import FUZZ
from tests.reliability.mutate import JUNK, edit_text
from tests.reliability.sanity import check_result

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {p.name: p.read_text() for p in sorted((ROOT / "programs").glob("*.s"))}
POSITION = re.compile(r"^fuzz\.s:\d+:\d+: \S")
"""An assembler error starts with file:line:col."""

MNEMONICS = [op.mnemonic for op in OPCODES]
OPERANDS = st.one_of(
    st.sampled_from(["x0", "x1", "x31", "x32", "a", "sram:0", "tb0:4", "dram:-1", "acc:99999999", "a(x1)", "a+3",
                     "forward", "du", "tile", "lr", "1.0", "nan", "inf", "1e39", "-0", "0x10", "N", "loop", ""]),
    st.integers(-(1 << 40), 1 << 40).map(str),
    JUNK,
)
LINE = st.one_of(
    st.builds(lambda m, ops: f"    {m} {', '.join(ops)}", st.sampled_from(MNEMONICS), st.lists(OPERANDS, max_size=7)),
    st.builds(lambda name, space, size: f".sym {name} {space} {size}", st.sampled_from(["a", "b", "1x", "a"]),
              st.sampled_from(["sram", "dram", "acc", "tb0", "tb99", "flash"]), OPERANDS),
    st.builds(lambda name, v: f".equ {name} {v}", st.sampled_from(["N", "M", "x1"]), OPERANDS),
    st.sampled_from(["loop:", "loop: halt", ".layer 1 fc1", ".layer x", "halt", "; comment", ""]),
    JUNK,
)


RUN_CYCLES = 200_000
"""Cycle budget of a fuzzed program's run (a generated loop may never end)."""
CONFIG = load_config("wu2023", {"controller": {"max_cycles": RUN_CYCLES}})


def _assemble(text: str, run: bool = True) -> None:
    """Assemble; an accepted program must also run to a trap or to a sane result (tests.reliability.sanity)."""
    try:
        program = isa.assemble(text, "fuzz.s")
    except IsaError as exc:
        assert POSITION.match(str(exc)) or str(exc).startswith("fuzz.s: "), str(exc)
        return
    assert isa.decode(isa.encode(program), "again.bin") == program  # what runs is what was written
    if not run:
        return
    soc = Soc.from_config(CONFIG)
    soc.deadline = time.monotonic() + 1.5
    try:
        result = soc.run(program)
    except Trap:
        return
    check_result(result, program)


@FUZZ
@given(st.lists(LINE, min_size=1, max_size=12).map("\n".join))
def test_generated_programs_assemble_or_name_the_line(text):
    _assemble(text)


@FUZZ
@given(st.sampled_from(sorted(SOURCES)).flatmap(lambda name: edit_text(SOURCES[name])))
def test_damaged_shipped_programs_assemble_or_name_the_line(text):
    _assemble(text, run=False)  # running each (~0.1 s, the MLP) is left to the generated programs above


@FUZZ
@given(st.sampled_from(["tile_mvm.s", "vector_ops.s"]).flatmap(lambda name: edit_text(SOURCES[name])))
def test_damaged_small_programs_run_to_a_trap_or_a_sane_result(text):
    _assemble(text)


BINARY = isa.encode(isa.assemble(SOURCES["mlp_infer.s"], "mlp_infer.s"))


@st.composite
def damaged_binary(draw) -> bytes:
    blob = bytearray(BINARY)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "word"]))
        i = draw(st.integers(0, len(blob) - 1))
        if op == "flip":
            blob[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del blob[i:]
        elif op == "insert":
            blob[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            blob[i:i + 4] = draw(st.integers(0, (1 << 32) - 1)).to_bytes(4, "little")
        if not blob:
            break
    return bytes(blob)


def _decode(blob: bytes) -> None:
    """Decode: an IsaError naming the file, or exactly the program that was written (the checksum catches damage:
    a damaged binary never loads as another program)."""
    try:
        program = isa.decode(blob, "fuzz.bin")
    except IsaError as exc:
        assert str(exc).startswith("fuzz.bin"), str(exc)
        return
    assert isa.encode(program) == blob and blob == BINARY, "a damaged binary loaded as a program"


@FUZZ
@given(damaged_binary())
def test_damaged_binaries_decode_or_raise_isa_error(blob):
    _decode(blob)


@FUZZ
@given(st.binary(max_size=64).map(lambda b: isa.encoding.MAGIC + b))
def test_random_bytes_after_the_magic_raise_isa_error(blob):
    _decode(blob)


def test_binary_round_trips_exactly():
    assert isa.encode(isa.decode(BINARY, "x.bin")) == BINARY
