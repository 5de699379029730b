"""Round trips of the ISA tools over random valid programs, and the consistency of the opcode table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import isa
from isa.encoding import decode, decode_instruction, encode, encode_instruction
from isa.program import TBUF_STRIDE, DataInit, Instruction, MemRef, Program, Symbol
from isa.spec import (
    BY_MNEMONIC,
    BY_OPCODE,
    MAX_WORDS,
    MEM_BITS,
    MEM_OFFSET_BITS,
    OPCODE_BITS,
    OPCODES,
    WORD_BITS,
    Kind,
    Space,
)
from isa.validate import validate

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "programs").glob("*.s"))

# ---------------------------------------------------------------------------------------------------
# random valid programs

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,7}", fullmatch=True)
F32S = st.floats(width=32, allow_nan=False, allow_infinity=False)
F64S = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def regions(draw) -> tuple[Space, int, int]:
    """(space, absolute address, size) of a symbol; tile-buffer symbols stay inside their tile's window."""
    space = draw(st.sampled_from(list(Space)))
    size = draw(st.integers(1, 64))
    if space is Space.TBUF:
        tile = draw(st.integers(0, (1 << MEM_OFFSET_BITS) // TBUF_STRIDE - 1))
        return space, tile * TBUF_STRIDE + draw(st.integers(0, TBUF_STRIDE - size)), size
    return space, draw(st.integers(0, (1 << MEM_OFFSET_BITS) - size)), size


@st.composite
def inits(draw, size: int) -> DataInit:
    kind = draw(st.sampled_from(DataInit.KINDS))
    if kind == "zeros":
        return DataInit()
    if kind == "values":
        return DataInit("values", tuple(draw(st.lists(F32S, max_size=min(size, 6)))))
    a, b = draw(F64S), draw(F64S)
    a, b = (min(a, b), max(a, b)) if kind == "uniform" else (a, abs(b))  # valid: lo <= hi, std >= 0
    return DataInit(kind, (), a, b, draw(st.integers(0, 2 ** 63)))


@st.composite
def symbol_tables(draw) -> dict[str, Symbol]:
    names = draw(st.lists(NAMES, max_size=5, unique=True))
    out: dict[str, Symbol] = {}
    for name in names:
        space, addr, size = draw(regions())
        if any(s.space is space and addr < s.end and s.addr < addr + size for s in out.values()):
            continue
        out[name] = Symbol(name, space, addr, size, draw(inits(size)))
    return out


@st.composite
def memrefs(draw, symbols: dict[str, Symbol]) -> MemRef:
    reg = draw(st.integers(0, 31))
    inside = list(symbols.values())
    if inside and draw(st.booleans()):     # an address inside a symbol: disassembled as SYMBOL+OFF
        s = draw(st.sampled_from(inside))
        return MemRef(s.space, draw(st.integers(s.addr, s.end - 1)), reg)
    return MemRef(draw(st.sampled_from(list(Space))), draw(st.integers(0, (1 << MEM_OFFSET_BITS) - 1)), reg)


def operand(draw, f, n: int, symbols: dict[str, Symbol]):
    if f.kind is Kind.REG:
        return draw(st.integers(0, 31))
    if f.kind in (Kind.SIMM, Kind.UIMM):
        return draw(st.one_of(st.integers(f.lo, f.hi), st.sampled_from([f.lo, f.hi, 0])))
    if f.kind is Kind.FIMM:
        return draw(F32S)
    if f.kind is Kind.LABEL:
        return draw(st.integers(0, n - 1))
    if f.kind is Kind.ENUM:
        return draw(st.sampled_from([int(e) for e in f.enum]))
    assert f.kind is Kind.MEM
    return draw(memrefs(symbols))


@st.composite
def programs(draw) -> Program:
    symbols = draw(symbol_tables())
    n = draw(st.integers(0, 12))
    instructions = []
    for _ in range(n):
        spec = draw(st.sampled_from(OPCODES))
        instructions.append(Instruction(spec, tuple(operand(draw, f, n, symbols) for f in spec.fields)))
    labels = draw(st.dictionaries(NAMES, st.integers(0, n), max_size=4))
    layers = draw(st.dictionaries(st.integers(0, (1 << 16) - 1), NAMES, max_size=3))
    return Program(instructions, symbols, labels, layers)


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(programs())
def test_binary_round_trip(p):
    validate(p)
    blob = encode(p)
    q = decode(blob)
    assert q == p
    assert encode(q) == blob


@SETTINGS
@given(programs())
def test_text_round_trip(p):
    text = isa.disassemble(p)
    q = isa.assemble(text, "roundtrip.s")
    assert q == p, text
    assert encode(q) == encode(p), text
    assert isa.disassemble(q) == text


@SETTINGS
@given(programs(), st.randoms(use_true_random=False))
def test_equal_programs_encode_to_equal_bytes(p, random):
    """The binary does not depend on the insertion order of the symbol, label and layer tables."""
    shuffled = Program(list(p.instructions), *({k: d[k] for k in random.sample(list(d), len(d))}
                                               for d in (p.symbols, p.labels, p.layers)))
    assert shuffled == p
    assert encode(shuffled) == encode(p)


@SETTINGS
@given(st.data())
def test_instruction_words_round_trip(data):
    spec = data.draw(st.sampled_from(OPCODES))
    ins = Instruction(spec, tuple(operand(data.draw, f, 1 << 20, {}) for f in spec.fields))
    words = encode_instruction(ins)
    assert len(words) == spec.words
    assert all(0 <= w < (1 << WORD_BITS) for w in words)
    assert words[0] & 0xFF == spec.opcode
    back = decode_instruction(words + [0xFFFFFFFF] * (MAX_WORDS - len(words)))   # trailing words ignored
    assert back == ins
    for f, a, b in zip(spec.fields, ins.args, back.args):
        assert type(a) is type(b), f.name
        if f.kind is Kind.FIMM:             # -0.0 keeps its sign
            assert np.float32(a).tobytes() == np.float32(b).tobytes()


def test_names_that_look_like_keywords_round_trip():
    text = """.layer 2 fc
.sym normal sram 4 uniform -1.0 1.0 3
.sym uniform dram 2 @5 normal 0.0 2.0 4
.sym tb0 tb3 8 @100 = 1.5, -0.0
.sym x1 acc 1
halt:
    copy normal+1(x3), uniform, 2
x1:
    beq x1, x0, halt
    mvm 3, tb0+7, tb3:0(x31), 1
    lw x2, x1
    halt
"""
    p = isa.assemble(text)
    assert set(p.symbols) == {"normal", "uniform", "tb0", "x1"}
    assert p.symbols["tb0"] == Symbol("tb0", Space.TBUF, 3 * TBUF_STRIDE + 100, 8,
                                      DataInit("values", (1.5, -0.0)))
    assert p.labels == {"halt": 0, "x1": 1}
    q = isa.assemble(isa.disassemble(p))
    assert q == p and encode(q) == encode(p)


def test_float_immediates_keep_their_bits_through_text():
    for value in (-0.0, 1e-45, -3.4028234663852886e38, 0.1, 1 / 3):
        v32 = float(np.float32(value))
        p = Program([Instruction(BY_MNEMONIC["hp"], (0, v32)), Instruction(BY_MNEMONIC["halt"], ())])
        q = isa.assemble(isa.disassemble(p))
        assert np.float32(q.instructions[0].args[1]).tobytes() == np.float32(v32).tobytes()
        assert encode(q) == encode(p)


# ---------------------------------------------------------------------------------------------------
# shipped programs


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_program_round_trips(path):
    p = isa.assemble_file(path)
    assert p.instructions
    blob = encode(p)
    assert decode(blob, str(path)) == p
    text = isa.disassemble(p)
    q = isa.assemble(text, f"{path.name}.dis")
    assert q == p
    assert encode(q) == blob


def test_there_are_shipped_programs():
    assert {"tile_mvm.s", "vector_ops.s"} <= {p.name for p in SHIPPED}


# ---------------------------------------------------------------------------------------------------
# the opcode table


def test_mnemonics_and_opcodes_are_unique_and_fit_8_bits():
    assert len({s.mnemonic for s in OPCODES}) == len(OPCODES)
    assert len({s.opcode for s in OPCODES}) == len(OPCODES)
    assert OPCODE_BITS == 8
    for s in OPCODES:
        assert 0 <= s.opcode < (1 << OPCODE_BITS), s.mnemonic
        assert s.mnemonic == s.mnemonic.lower() and s.mnemonic.isidentifier()
    assert BY_MNEMONIC == {s.mnemonic: s for s in OPCODES}
    assert BY_OPCODE == {s.opcode: s for s in OPCODES}
    assert MAX_WORDS == max(s.words for s in OPCODES)


@pytest.mark.parametrize("spec", OPCODES, ids=lambda s: s.mnemonic)
def test_fields_fit_the_words_and_do_not_overlap(spec):
    assert len(spec.offsets) == len(spec.fields)
    assert len({f.name for f in spec.fields}) == len(spec.fields), "field names repeat"
    spans = sorted((off, off + f.bits, f.name) for f, off in zip(spec.fields, spec.offsets))
    end_of_previous = OPCODE_BITS                    # bits 0..7 hold the opcode
    for lo, hi, name in spans:
        assert lo >= end_of_previous, f"{name} overlaps the field or opcode before it"
        assert hi <= spec.words * WORD_BITS, f"{name} runs past word {spec.words}"
        end_of_previous = hi
    assert spec.words == -(-spec.bits // WORD_BITS)


@pytest.mark.parametrize("spec", OPCODES, ids=lambda s: s.mnemonic)
def test_field_kinds_are_well_formed(spec):
    names = {f.name for f in spec.fields}
    for f in spec.fields:
        assert f.bits > 0
        if f.kind is Kind.MEM:
            assert f.bits == MEM_BITS and f.access in ("r", "w", "rw"), f.name
            # the size expression uses only the other fields and the documented run-time names
            env = {name: 3 for name in names | {"ROWS", "COLS", "PATTERN", "SPAN", "IN_SPAN", "OUT_SPAN"}}
            env.update(k=2, s=1)
            assert isinstance(eval(f.size, {"__builtins__": {}}, env), int), f.size  # noqa: S307
        else:
            assert not f.access and not f.size, f.name
        if f.kind is Kind.FIMM:
            assert f.bits == 32
        if f.kind is Kind.ENUM:
            assert f.enum is not None and all(0 <= int(e) < (1 << f.bits) for e in f.enum)
        if f.kind is Kind.REG:
            assert f.bits == 5
