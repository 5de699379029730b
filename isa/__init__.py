"""The CIM training ISA: one opcode table (``isa.spec``) and the tools derived from it."""

from isa.asm import assemble, assemble_file
from isa.disasm import disassemble
from isa.encoding import decode, encode, read_binary, write_binary
from isa.loader import load_program
from isa.program import DataInit, Instruction, IsaError, MemRef, Program, Symbol
from isa.spec import BY_MNEMONIC, OPCODES, Group, Hyper, Kind, OpSpec, Phase, Space, Unit, WaitUnit
from isa.validate import validate

__all__ = ["assemble", "assemble_file", "disassemble", "decode", "encode", "load_program", "read_binary",
           "write_binary",
           "DataInit", "Instruction", "IsaError", "MemRef", "Program", "Symbol", "BY_MNEMONIC", "OPCODES",
           "Group", "Hyper", "Kind", "OpSpec", "Phase", "Space", "Unit", "WaitUnit", "validate"]
