"""Assembler and binary-decoder errors: ``IsaError`` citing ``file:line:col`` and what was expected."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import isa
from isa import IsaError
from isa.encoding import MAGIC, decode, encode, seal
from isa.spec import BY_OPCODE

PREAMBLE = """; a test program
.equ N 4
.sym a sram 8
.sym t tb1 4
top:
    vadd a, a, a, N
"""
"""Six valid lines; each case's offending line follows as line 7."""
LINE = PREAMBLE.count("\n") + 1

# id: (offending line, the text the column must point at (its first occurrence in the line),
#      a fragment of the message, a fragment of the expected-hint)
CASES = {
    "unknown mnemonic": ("    frob x1, x2", "frob", "unknown instruction 'frob'", "mnemonic"),
    "too few operands": ("    add x1, x2", "add", "add takes 3 operands, got 2",
                         "add rd:reg, rs1:reg, rs2:reg"),
    "too many operands": ("    halt x1", "halt", "halt takes 0 operands, got 1", "halt"),
    "missing operand": ("    add x1, , x3", ", x3", "missing operand rs1", "register"),
    "bad register number": ("    add x1, x2, x32", "x32", "bad register 'x32'", "x0 .. x31"),
    "bad register name": ("    addi y1, x2, 3", "y1", "bad register 'y1'", "x0 .. x31"),
    "bad base register": ("    vfill a(x40), 4, 1.0", "a(x40)", "bad register 'x40'", "x0 .. x31"),
    "simm too large": ("    addi x1, x2, 8388608", "8388608", "does not fit 24 bits", "addi rd:reg"),
    "simm too small": ("    li x1, -2147483649", "-2147483649", "does not fit 32 bits",
                       "li rd:reg, imm:simm"),
    "uimm negative": ("    vfill a, -1, 1.0", "-1", "operand n value -1 does not fit", "vfill"),
    "uimm too large": ("    tcfg 4096, 0, 0, 1, 1, 8", "4096", "operand tile value 4096 does not fit 12 bits",
                       "tcfg"),
    "level too large": ("    agen 8, 1, 1", "8", "operand level value 8 does not fit 3 bits", "agen"),
    "bad integer": ("    addi x1, x2, 3x", "3x", "bad integer '3x'", "signed integer"),
    "undefined equ": ("    addi x1, x2, M+1", "M+1", "bad integer 'M+1'", "signed integer"),
    "undefined label": ("    beq x0, x0, nowhere", "nowhere", "undefined label 'nowhere'", "label defined"),
    "label index outside program": ("    jal x1, 99", "99", "outside the program", "0 .. 2"),
    "duplicate label": ("  top: halt", "top", "label 'top' defined twice", "a new label name"),
    "undefined symbol": ("    vadd a, a, b, 4", "b", "undefined symbol 'b'", "a symbol declared with .sym"),
    "bad memory operand": ("    vadd a, a, a*2, 4", "a*2", "bad memory operand 'a*2'", "SYMBOL[+OFF][(xN)]"),
    "memory offset too large": ("    vadd a, a, sram:16777216, 4", "sram:16777216",
                                "address 16777216 outside", "vadd dst:mem"),
    "unknown space in operand": ("    vadd a, a, flash:0, 4", "flash:0", "unknown space 'flash'",
                                 "dram, sram"),
    "unknown space in .sym": (".sym b flash 4", "flash", "unknown space 'flash'", "dram, sram, acc or tbN"),
    "bad phase": ("    mark 1, sideways", "sideways", "bad phase 'sideways'", "other, forward, backward"),
    "bad wait unit": ("    wait gpu, 0", "gpu", "bad unit 'gpu'", "dma, du, tile"),
    "bad hyperparameter": ("    hp alpha, 0.1", "alpha", "bad name 'alpha'", "lr, beta1, beta2, eps, wd"),
    "bad float operand": ("    vfill a, 4, 1.0.0", "1.0.0", "bad number '1.0.0'", "a decimal number"),
    "float operand overflows float32": ("    vscl a, a, 4, 1e39", "1e39", "not a finite float", "vscl"),
    ".sym value beyond float32": (".sym b sram 2 = 1.0, 3.5e38", "3.5e38", "beyond the float32 range",
                                  "numbers within"),
    ".sym missing size": (".sym b sram", ".sym", "malformed .sym", ".sym NAME SPACE SIZE"),
    ".sym bad name": (".sym 1b sram 4", "1b", "bad symbol name '1b'", "a name like"),
    ".sym zero size": (".sym b sram 0", "0", "symbol 'b' has size 0", "a positive word count"),
    ".sym bad size": (".sym b sram N*", "N*", "bad integer 'N*'", "a positive word count"),
    ".sym trailing word": (".sym b sram 4 banana", "banana", "unexpected 'banana'", ".sym NAME SPACE SIZE"),
    ".sym bad address": (".sym b sram 4 @x", "@x", "bad integer 'x'", "@ADDRESS"),
    ".sym tile window": (".sym b tb0 70000", "70000", "does not fit a tile buffer window", "a smaller size"),
    ".sym past the address range": (".sym b dram 4294967297", "4294967297", "ends past the 4294967296-word",
                                    "a smaller size"),
    ".sym placed past the address range": (".sym b dram 10 @4294967290", "@4294967290", "ends past",
                                           "a smaller size or address"),
    ".sym short initializer": (".sym b sram 4 uniform 0 1", "uniform", "malformed uniform initializer",
                               "uniform A B SEED"),
    ".sym bad seed": (".sym b sram 4 normal 0 1 q", "q", "bad integer 'q'", "an integer seed"),
    ".equ missing value": (".equ M", ".equ", "malformed .equ", ".equ NAME INTEGER-EXPRESSION"),
    ".equ bad name": (".equ 9x 4", ".equ", "malformed .equ", ".equ NAME INTEGER-EXPRESSION"),
    ".equ bad expression": (".equ M 4+", "4+", "bad integer '4+'", "an integer expression"),
    ".layer missing name": (".layer 1", ".layer", "malformed .layer", ".layer ID NAME"),
    ".layer extra word": (".layer 1 fc extra", ".layer", "malformed .layer", ".layer ID NAME"),
    ".layer bad id": (".layer one fc", "one", "bad integer 'one'", "an integer expression"),
    "unknown directive": ("  .data 4", ".data", "unknown directive '.data'", ".equ, .layer, .sym, .lanes"),
    ".lanes too short": (".lanes top x3", ".lanes", "malformed .lanes", ".lanes LABEL xN COUNT"),
    ".lanes undefined label": (".lanes nowhere x3 4", "nowhere", "undefined label 'nowhere'", "the label of the loop"),
    ".lanes bad register": (".lanes top y3 4", "y3", "bad register 'y3'", "x0 .. x31"),
    ".lanes bad count": (".lanes top x3 four", "four", "bad integer 'four'", "an iteration count"),
    ".lanes undefined symbol": (".lanes top x3 4 private a b", "b", "undefined symbol 'b'", "a symbol declared"),
    ".lanes symbol before a list": (".lanes top x3 4 banana", "banana", "unexpected 'banana'", ".lanes LABEL xN COUNT"),
    "duplicate symbol": (".sym   a sram 4", "a", "symbol 'a' declared twice", "a new symbol name"),
    "too many initial values": (".sym b sram 2 = 1, 2, 3", "3", "3 values for a symbol of 2 words",
                                "at most 2 values"),
    "bad initial value": (".sym b sram 3 = 1, 2x, 3", "2x", "bad number '2x'", "a decimal number"),
    "bad uniform bound": (".sym b sram 3 uniform 0 one 5", "one", "bad number 'one'", "a decimal number"),
    "overlapping symbols": (".sym b sram 4 @6", "@6", "overlap", "@ADDR"),
    "overlapping tile buffer symbols": (".sym u tb1 2 @3", "@3", "overlap", "@ADDR"),
}


def assemble_error(source: str, file: str = "prog.s") -> IsaError:
    with pytest.raises(IsaError) as info:
        isa.assemble(source, file)
    return info.value


@pytest.mark.parametrize("case", sorted(CASES))
def test_assembler_error_cites_file_line_col_and_expected(case):
    text, at, message, expected = CASES[case]
    col = text.index(at) + 1
    err = assemble_error(PREAMBLE + text + "\n    halt\n")
    where = f"prog.s:{LINE}:{col}: "
    assert str(err).startswith(where), f"{err} should start with {where!r}"
    assert (err.file, err.line, err.col) == ("prog.s", LINE, col)
    assert message in str(err)
    assert err.expected and expected in err.expected, err.expected
    assert str(err).endswith(f"; expected {err.expected}")


def test_the_preamble_is_valid():
    assert len(isa.assemble(PREAMBLE + "    halt\n").instructions) == 2


@pytest.mark.parametrize("text", [
    ".sym u tb0 4 @0",          # same offsets as t, other tile buffer
    ".sym u dram 4 @0",         # same offset as a, other space
    ".sym u sram 4 @8",         # adjacent to a
    ".sym u sram 4",            # placed after a
])
def test_symbols_that_do_not_overlap(text):
    prog = isa.assemble(PREAMBLE + text + "\n    halt\n")
    assert prog.symbols["u"].size == 4


def test_the_largest_float32_as_printed_is_a_valid_value():
    top = float(np.finfo(np.float32).max)
    prog = isa.assemble(PREAMBLE + f".sym u sram 2 = {np.float32(top)}, -{np.float32(top)}\n    halt\n")
    assert prog.symbols["u"].init.values == (top, -top)


def test_error_on_a_line_with_a_label_and_a_comment():
    err = assemble_error("start:  addi x1, x2, 1 << 30   ; too big\n    halt\n")
    assert (err.line, err.col) == (1, len("start:  addi x1, x2, ") + 1)


def test_assemble_file_names_the_path(tmp_path):
    path = tmp_path / "bad.s"
    path.write_text("    nop\n    bogus\n")
    with pytest.raises(IsaError) as info:
        isa.assemble_file(path)
    assert str(info.value).startswith(f"{path}:2:5: unknown instruction 'bogus'")
    with pytest.raises(IsaError) as info:
        isa.assemble_file(tmp_path / "missing.s")
    assert str(info.value).startswith(f"{tmp_path / 'missing.s'}: cannot read program")


# ---------------------------------------------------------------------------------------------------
# binary decoding

GOOD = isa.assemble(PREAMBLE + "    copy a, t, 4\n    halt\n", "good.s")


def decode_error(blob: bytes) -> IsaError:
    with pytest.raises(IsaError) as info:
        decode(blob, "prog.bin")
    return info.value


def code_words(blob: bytes) -> list[int]:
    (n,) = struct.unpack_from("<I", blob, 8)
    return list(struct.unpack_from(f"<{n}I", blob, 12))


def with_code(blob: bytes, words: list[int]) -> bytes:
    """``blob`` with its code words replaced (metadata kept)."""
    (n,) = struct.unpack_from("<I", blob, 8)
    meta = blob[12 + 4 * n:-4]  # without the old checksum: seal() appends the new one
    return seal(MAGIC + struct.pack("<I", len(words)) + struct.pack(f"<{len(words)}I", *words) + meta)


def test_decode_of_encode_is_the_program():
    assert decode(encode(GOOD)) == GOOD


def test_decode_bad_magic():
    err = decode_error(b"ELF\x00SOCS" + encode(GOOD)[8:])
    assert str(err).startswith("prog.bin: not a socsim binary")
    assert "SOCSIMB2" in err.expected


@pytest.mark.parametrize("keep", [0, 5, 8, 10, 14, 30, -1])
def test_decode_truncated_bytes(keep):
    blob = encode(GOOD)
    err = decode_error(blob[:keep])
    assert str(err).startswith("prog.bin: ")
    if keep >= 8:
        assert "truncated or corrupt" in str(err)


def test_decode_corrupt_metadata():
    blob = bytearray(encode(GOOD))
    blob[-1:] = b"!"
    err = decode_error(bytes(blob))
    assert str(err).startswith("prog.bin: truncated or corrupt binary")


def test_decode_unknown_opcode():
    unused = next(code for code in range(255, 0, -1) if code not in BY_OPCODE)
    blob = encode(GOOD)
    words = code_words(blob)
    first_len = GOOD.instructions[0].spec.words
    words[first_len] = (words[first_len] & ~0xFF) | unused       # second instruction's opcode
    err = decode_error(with_code(blob, words))
    assert str(err).startswith(f"prog.bin: illegal opcode 0x{unused:02x} at instruction 1")


def test_decode_instruction_cut_off_at_the_end_of_the_code():
    blob = encode(GOOD)
    words = code_words(blob)
    n0 = GOOD.instructions[0].spec.words
    cut = words[:n0 + 1]                   # the 3-word copy loses two words
    err = decode_error(with_code(blob, cut))
    assert str(err).startswith("prog.bin: ") and "cut off" in str(err)


def test_decode_memory_operand_in_a_missing_space():
    blob = encode(GOOD)
    words = code_words(blob)
    n0 = GOOD.instructions[0].spec.words
    # copy: opcode in bits 0..7, dst memory operand from bit 8, its space in the low 3 bits
    words[n0] |= 0b111 << 8
    err = decode_error(with_code(blob, words))
    assert str(err).startswith("prog.bin: ") and "space 7" in str(err)


def test_decode_branch_outside_the_program():
    prog = isa.assemble("loop: beq x0, x0, loop\n    halt\n")
    blob = encode(prog)
    words = code_words(blob)
    words[0] |= 5 << (8 + 5 + 5)           # target field: 0 -> 5, past the 2 instructions
    words[0] &= 0xFFFFFFFF
    err = decode_error(with_code(blob, words))
    assert str(err).startswith("prog.bin: ") and "outside the program" in str(err)


def test_read_binary_names_the_path(tmp_path):
    path = tmp_path / "p.bin"
    path.write_bytes(encode(GOOD)[:20])
    with pytest.raises(IsaError) as info:
        isa.read_binary(path)
    assert str(info.value).startswith(f"{path}: ")
    with pytest.raises(IsaError) as info:
        isa.read_binary(tmp_path / "missing.bin")
    assert str(info.value).startswith(f"{tmp_path / 'missing.bin'}: cannot read binary")
