"""The opcode table: the single source of the CIM training ISA.

The assembler, disassembler, binary encoder/decoder, validator, the simulator's dispatch and
``docs/isa.md`` are all loops over :data:`OPCODES`. Each instruction is one 8-bit opcode
followed by its fields packed LSB-first; the encoding is rounded up to whole 32-bit words.
The records and enums of a row (:class:`OpSpec`, :class:`Field`, :class:`Space`, ...) are defined in
:mod:`isa.opspec` and importable from here.
"""

from __future__ import annotations

import enum

from isa.opspec import (
    MEM_BITS,
    MEM_OFFSET_BITS,
    MEM_REG_BITS,
    MEM_SPACE_BITS,
    OPCODE_BITS,
    SYMBOL_ADDRESS_BITS,
    WORD_BITS,
    Field,
    Group,
    Hyper,
    Kind,
    OpSpec,
    Phase,
    Space,
    TileStream,
    Unit,
    WaitUnit,
)

__all__ = ["BY_MNEMONIC", "BY_OPCODE", "MAX_WORDS", "MEM_BITS", "MEM_OFFSET_BITS", "MEM_REG_BITS", "MEM_SPACE_BITS",
           "OPCODES", "OPCODE_BITS", "SYMBOL_ADDRESS_BITS", "WORD_BITS", "Field", "Group", "Hyper", "Kind", "OpSpec",
           "Phase", "Space", "TileStream", "Unit", "WaitUnit"]
"""The table (OPCODES and its indexes) and, from :mod:`isa.opspec`, the records and enums its rows are made of."""


def _reg(name: str) -> Field:
    return Field(name, Kind.REG, 5)


def _u(name: str, bits: int) -> Field:
    return Field(name, Kind.UIMM, bits)


def _s(name: str, bits: int) -> Field:
    return Field(name, Kind.SIMM, bits)


def _f(name: str) -> Field:
    return Field(name, Kind.FIMM, 32)


def _m(name: str, access: str, size: str) -> Field:
    return Field(name, Kind.MEM, MEM_BITS, access, size)


def _e(name: str, values: type[enum.IntEnum], bits: int) -> Field:
    return Field(name, Kind.ENUM, bits, enum=values)


_LABEL = Field("target", Kind.LABEL, 20)
_TILE = _u("tile", 12)
"""A tile index: up to 4095 (socsim.config.soc.MAX_TILES bounds the tiles a config may have)."""
_N = _u("n", 24)
C, M, T, D, S = Group.CONTROL, Group.MOVE, Group.CIM, Group.DIGITAL, Group.SYNC


_CTRL = "controller.alu_cycles; 1 ctrl_instr"

_READ = ("n x min(tiles.bitlines_per_adc, the COLS columns' bit lines) x conversions per output x cycles per "
         "conversion (BWMCS: 1 x (tiles.physics.adc.bits + 1)), counting a differential pair once on both sides when "
         "tiles.physics.adc.pair_readout = analog; pJ: n x ROWS x slots dac_pulse, n x ROWS x bit lines x slots "
         "array_cell, n x converted outputs x conversions adc_conversion and shift_add (slots: DAC pulse slots of an "
         "IN_BITS code; energy.md), + tbuf_access per operand word")
"""Cost of a forward read (mvm, mvmr): socsim.sim.tile.Tile.mvm_cycles and socsim.sim.ops.tile.read_actions."""
_READ_T = ("n x min(tiles.rows_per_adc_transposed, ROWS) x weight slices x conversions per output x cycles per "
           "conversion; pJ: n x bit lines x slots dac_pulse, n x ROWS x bit lines x slots array_cell, n x ROWS x "
           "weight slices x conversions adc_conversion and shift_add, + tbuf_access per operand word")
_PROGRAM = ("max(1, ceil((set + reset pulses) / tiles.program_parallel_cells) x tiles.program_round_cycles), the "
            "pulses the device model's write reports; pJ: set_pulse, reset_pulse and verify_read per pulse and read "
            "+ per operand word its read")


def _transfer(words: str, read_modify_write: bool = False) -> str:
    """Cost of a DMA transfer of ``words`` words (socsim.sim.dma.Dma.execute, socsim.sim.fabric.Fabric.move)."""
    dst = "a read and a write" if read_modify_write else "a write"
    return (f"{words} words: dma.setup_cycles (+ dram.latency_cycles when a side is dram), then per bus grant of up "
            "to bus.grant_bytes: bus.grant_cycles + ceil(bytes / rate) (rate = bus.width_bytes, or "
            "min(bus.width_bytes, dram.bytes_per_cycle) when a side is dram), after the bus is free; pJ: "
            f"ceil(bytes / bus.width_bytes) bus_beat per grant, per word a read of src and {dst} of dst "
            "(dram_word, sram_read / sram_write, tbuf_access)")


def _alu(mn: str, code: int, doc: str) -> OpSpec:
    return OpSpec(mn, code, C, Unit.CTRL, (_reg("rd"), _reg("rs1"), _reg("rs2")), doc, formula=_CTRL)


def _branch(mn: str, code: int, doc: str) -> OpSpec:
    return OpSpec(mn, code, C, Unit.CTRL, (_reg("rs1"), _reg("rs2"), _LABEL), doc,
                  formula="controller.alu_cycles, + controller.branch_taken_penalty_cycles when taken; 1 ctrl_instr")


def _vbin(mn: str, code: int, doc: str, work: str = "ops n; MACs 0; specials 0") -> OpSpec:
    return OpSpec(mn, code, D, Unit.DU, (_m("dst", "w", "n"), _m("a", "r", "n"), _m("b", "r", "n"), _N),
                  doc, formula=work)


_POOL = (_u("planes", 16), _u("h", 8), _u("w", 8), _u("k", 4), _u("s", 4))
_POOL_OUT = "planes*((h-k)//s+1)*((w-k)//s+1)"

_TABLE: tuple[OpSpec, ...] = (
    # control ------------------------------------------------------------------------------
    OpSpec("halt", 0x01, C, Unit.CTRL, (), "stop after all issued work has completed",
           formula="waits for every unit's work, then controller.alu_cycles; 1 ctrl_instr"),
    OpSpec("nop", 0x02, C, Unit.CTRL, (), "do nothing for one cycle",
           formula=_CTRL),
    OpSpec("li", 0x03, C, Unit.CTRL, (_reg("rd"), _s("imm", 32)), "rd = imm",
           formula=_CTRL),
    _alu("add", 0x04, "rd = rs1 + rs2"),
    _alu("sub", 0x05, "rd = rs1 - rs2"),
    _alu("mul", 0x06, "rd = rs1 * rs2"),
    _alu("and", 0x07, "rd = rs1 & rs2"),
    _alu("or", 0x08, "rd = rs1 | rs2"),
    _alu("xor", 0x09, "rd = rs1 ^ rs2"),
    _alu("sll", 0x0A, "rd = rs1 << rs2"),
    _alu("sra", 0x0B, "rd = rs1 >> rs2 (arithmetic)"),
    _alu("slt", 0x0C, "rd = 1 if rs1 < rs2 else 0"),
    OpSpec("addi", 0x0D, C, Unit.CTRL, (_reg("rd"), _reg("rs1"), _s("imm", 24)), "rd = rs1 + imm",
           formula=_CTRL),
    OpSpec("muli", 0x0E, C, Unit.CTRL, (_reg("rd"), _reg("rs1"), _s("imm", 24)), "rd = rs1 * imm",
           formula=_CTRL),
    _branch("beq", 0x10, "go to target if rs1 == rs2"),
    _branch("bne", 0x11, "go to target if rs1 != rs2"),
    _branch("blt", 0x12, "go to target if rs1 < rs2"),
    _branch("bge", 0x13, "go to target if rs1 >= rs2"),
    OpSpec("jal", 0x14, C, Unit.CTRL, (_reg("rd"), _LABEL), "rd = pc + 1; go to target (call)",
           formula="controller.alu_cycles + controller.branch_taken_penalty_cycles; 1 ctrl_instr"),
    OpSpec("jalr", 0x15, C, Unit.CTRL, (_reg("rd"), _reg("rs1")), "rd = pc + 1; go to rs1 (return)",
           formula="controller.alu_cycles + controller.branch_taken_penalty_cycles; 1 ctrl_instr"),
    OpSpec("lw", 0x16, C, Unit.CTRL, (_reg("rd"), _m("src", "r", "1")),
           "rd = int(src[0]) (truncated toward zero); src on chip",
           formula="waits for src's producers, then sram.access_cycles; 1 ctrl_instr + 1 sram_read (tbuf_access in a"
                   " tile buffer)"),
    OpSpec("sw", 0x17, C, Unit.CTRL, (_reg("rs"), _m("dst", "w", "1")), "dst[0] = float(rs); dst on chip",
           formula="waits for dst's readers and writers, then sram.access_cycles; 1 ctrl_instr + 1 sram_write "
                   "(tbuf_access in a tile buffer)"),
    OpSpec("mark", 0x18, C, Unit.CTRL, (_u("layer", 16), _e("phase", Phase, 3)),
           "tag later instructions' ledger rows with layer id and phase (no cycles)",
           formula="0 cycles; no energy (not counted as an instruction)"),
    OpSpec("agen", 0x19, C, Unit.CTRL, (_u("level", 3), _u("extent", 16), _s("stride", 24)),
           "set address-generator level: extent and stride (words) of one loop of the gather pattern",
           formula=_CTRL),
    OpSpec("agclr", 0x1A, C, Unit.CTRL, (), "reset every address-generator level to extent 1, stride 0",
           formula=_CTRL),
    # data movement ------------------------------------------------------------------------
    OpSpec("copy", 0x20, M, Unit.DMA, (_m("dst", "w", "n"), _m("src", "r", "n"), _N),
           "dst[0:n] = src[0:n]; DRAM<->on-chip as DMA bursts, on-chip over the bus",
           formula=_transfer("n")),
    OpSpec("gather", 0x21, M, Unit.DMA, (_m("dst", "w", "PATTERN"), _m("src", "r", "SPAN")),
           "dst[i] = src[pattern(i)] for the agen pattern (im2col is a pattern)",
           formula=_transfer("PATTERN")),
    OpSpec("scatter", 0x22, M, Unit.DMA, (_m("dst", "w", "SPAN"), _m("src", "r", "PATTERN")),
           "dst[pattern(i)] = src[i]",
           formula=_transfer("PATTERN")),
    OpSpec("scadd", 0x23, M, Unit.DMA, (_m("dst", "rw", "SPAN"), _m("src", "r", "PATTERN")),
           "dst[pattern(i)] += src[i] (col2im)",
           formula=_transfer("PATTERN", read_modify_write=True)),
    # CIM --------------------------------------------------------------------------------------
    OpSpec("tcfg", 0x30, T, Unit.TILE,
           (_TILE, _u("r0", 12), _u("c0", 12), _u("rows", 12), _u("cols", 12), _u("in_bits", 4)),
           "select the active block [r0:r0+rows, c0:c0+cols] (weights) and the DAC input bits",
           formula="tiles.config_cycles; no energy beyond the issue"),
    OpSpec("mvm", 0x31, T, Unit.TILE, (_TILE, _m("dst", "w", "n*COLS"), _m("src", "r", "n*ROWS"), _u("n", 16)),
           "dst[n, COLS] = src[n, ROWS] @ W_block (src, dst in the tile's own buffer)",
           formula=_READ),
    OpSpec("mvmt", 0x32, T, Unit.TILE, (_TILE, _m("dst", "w", "n*ROWS"), _m("src", "r", "n*COLS"), _u("n", 16)),
           "dst[n, ROWS] = src[n, COLS] @ W_block.T (transposed read, for on-array backprop)",
           formula=_READ_T),
    OpSpec("wv", 0x33, T, Unit.TILE, (_TILE, _m("target", "r", "ROWS*COLS"), _m("mask", "r", "ROWS*COLS")),
           "write-verify the block's weights to target where mask != 0",
           formula=_PROGRAM),
    OpSpec("pulse", 0x34, T, Unit.TILE, (_TILE, _m("npulses", "r", "ROWS*COLS")),
           "apply round(npulses) open-loop pulses per weight (+ potentiates)",
           formula=_PROGRAM),
    OpSpec("rdw", 0x35, T, Unit.TILE, (_TILE, _m("dst", "w", "ROWS*COLS")),
           "dst[ROWS, COLS] = the block's weights as read back through the array",
           formula="ROWS x tiles.readback_cycles_per_row; pJ: ROWS x COLS readback_weight + tbuf_access per word of "
                   "dst"),
    OpSpec("mvmr", 0x36, T, Unit.TILE, (_TILE, _m("dst", "w", "n*COLS"), _m("src", "r", "n*ROWS"), _u("n", 16)),
           "dst[n, COLS] = the ADC readings (uA) of the read src[n, ROWS] @ W_block: per weight the largest "
           "magnitude among the conversions behind it, at the block's full scale (calibration)",
           formula=_READ),
    OpSpec("tgain", 0x37, T, Unit.TILE, (_TILE, _m("src", "r", "1")),
           "set the forward ADC full-scale current (uA) of the active block to src[0], rounded and clamped to "
           "the converter's settings (a fixed-range converter keeps its range)",
           formula="tiles.physics.adc.fs_settle_cycles; pJ: 1 adc_fs_set + the read of src"),
    OpSpec("tpat", 0x38, T, Unit.TILE, (_TILE, _e("which", TileStream, 1)),
           "latch the address-generator levels (agen) as the tile's input (in) or output (out) stream pattern",
           formula="tiles.config_cycles; no energy beyond the issue"),
    OpSpec("tepi", 0x39, T, Unit.TILE,
           (_TILE, _m("b", "r", "hb*COLS"), _m("run", "r", "hn*(ch+COLS)"), _m("gb", "r", "hn*(ch+COLS)"),
            _m("s", "r", "1"), _u("ch", 16), _f("f"), _f("eps"), _u("hb", 1), _u("hn", 1), _u("relu", 1)),
           "set the output stage's epilogue for the block's COLS outputs: y = (f s[0]) y (s: the layer's input scale "
           "in memory, as vsclm), + b[j] if hb, batch norm if hn "
           "(run = [mean, var], gb = [gamma, beta] of ch channels, starting at the block's first), then (mvms: + res), "
           "max(y, 0) if relu",
           formula="tiles.config_cycles + ceil(COLS x (hb + 4 hn) / tiles.stream_words_per_cycle); pJ: COLS x hn "
                   "du_special and du_op + operand words"),
    OpSpec("mvms", 0x3A, T, Unit.TILE,
           (_TILE, _m("dst", "w", "OUT_SPAN"), _m("src", "r", "IN_SPAN"), _m("psum", "r", "acc*n*COLS"),
            _m("res", "r", "hres*OUT_SPAN"), _m("scale", "r", "1"), _u("n", 16), _u("acc", 1), _u("post", 1),
            _u("hres", 1)),
           "streamed MVM of n vectors: x = src at the input pattern, quantised as quantm (scale[0], IN_BITS); "
           "y = x @ W_block "
           "(+ psum[n, COLS] if acc, added as the vectors come); the epilogue if post (+ res at the output pattern if "
           "hres); dst at the output pattern = y",
           formula="per vector the slowest of the conversion (as mvm), the input fetch ceil(ROWS / "
                   "tiles.stream_words_per_cycle) and the output stage ceil(COLS x (1 + acc + hres) / "
                   "tiles.stream_words_per_cycle); + the first fetch unless hidden, + tiles.psum_add_cycles and the "
                   "last outputs' words; pJ: as mvm, + per streamed word (n x ROWS of src, n x COLS of dst, psum, "
                   "res, 1 of scale) a read or write"),
    # digital unit ---------------------------------------------------------------------------------
    _vbin("vadd", 0x40, "dst = a + b"),
    _vbin("vsub", 0x41, "dst = a - b"),
    _vbin("vmul", 0x42, "dst = a * b", "ops 0; MACs n; specials 0"),
    _vbin("vmax", 0x43, "dst = max(a, b)"),
    _vbin("vmin", 0x44, "dst = min(a, b)"),
    _vbin("vcmpeq", 0x45, "dst = 1.0 where a == b else 0.0"),
    OpSpec("vscl", 0x46, D, Unit.DU, (_m("dst", "w", "n"), _m("a", "r", "n"), _N, _f("f")),
           "dst = f * a",
           formula="ops 0; MACs n; specials 0"),
    OpSpec("vaxpy", 0x47, D, Unit.DU, (_m("dst", "w", "n"), _m("a", "r", "n"), _m("b", "r", "n"), _N, _f("f")),
           "dst = f * a + b",
           formula="ops 0; MACs n; specials 0"),
    OpSpec("vfill", 0x48, D, Unit.DU, (_m("dst", "w", "n"), _N, _f("f")), "dst = f",
           formula="ops n; MACs 0; specials 0"),
    OpSpec("vclamp", 0x5F, D, Unit.DU, (_m("dst", "w", "n"), _m("a", "r", "n"), _N, _f("f")),
           "dst = min(max(a, -f), f)",
           formula="ops 2*n; MACs 0; specials 0"),
    OpSpec("vrelu", 0x49, D, Unit.DU, (_m("dst", "w", "n"), _m("a", "r", "n"), _N), "dst = max(a, 0)",
           formula="ops n; MACs 0; specials 0"),
    OpSpec("vdrelu", 0x4A, D, Unit.DU, (_m("dst", "w", "n"), _m("g", "r", "n"), _m("a", "r", "n"), _N),
           "dst = g where a > 0 else 0 (ReLU backward)",
           formula="ops n; MACs 0; specials 0"),
    OpSpec("vaddr", 0x4B, D, Unit.DU,
           (_m("dst", "w", "rows*cols"), _m("a", "r", "rows*cols"), _m("b", "r", "cols"),
            _u("rows", 16), _u("cols", 16)),
           "dst[i, j] = a[i, j] + b[j] (bias add)",
           formula="ops rows*cols; MACs 0; specials 0"),
    OpSpec("vsumr", 0x4C, D, Unit.DU, (_m("dst", "w", "cols"), _m("a", "r", "rows*cols"), _u("rows", 16),
                                       _u("cols", 16)),
           "dst[j] = sum_i a[i, j] (bias gradient)",
           formula="ops rows*cols; MACs 0; specials 0"),
    OpSpec("vsum", 0x4D, D, Unit.DU, (_m("dst", "w", "1"), _m("a", "r", "n"), _N), "dst[0] = sum(a)",
           formula="ops n; MACs 0; specials 0"),
    OpSpec("maxpool", 0x4E, D, Unit.DU, (_m("dst", "w", _POOL_OUT), _m("src", "r", "planes*h*w"), *_POOL),
           "k x k max pooling with stride s over planes of h x w (no padding)",
           formula="ops OUT*k*k; MACs 0; specials 0"),
    OpSpec("avgpool", 0x4F, D, Unit.DU, (_m("dst", "w", _POOL_OUT), _m("src", "r", "planes*h*w"), *_POOL),
           "k x k average pooling with stride s over planes of h x w",
           formula="ops OUT*k*k; MACs OUT; specials 0"),
    OpSpec("maxpoolb", 0x50, D, Unit.DU,
           (_m("dst", "w", "planes*h*w"), _m("gout", "r", _POOL_OUT), _m("src", "r", "planes*h*w"), *_POOL),
           "max-pool backward: each window's gradient goes to its (first) maximum of src",
           formula="ops 2*OUT*k*k; MACs 0; specials 0"),
    OpSpec("avgpoolb", 0x51, D, Unit.DU, (_m("dst", "w", "planes*h*w"), _m("gout", "r", _POOL_OUT), *_POOL),
           "average-pool backward: each window's gradient spread evenly",
           formula="ops OUT*k*k; MACs OUT; specials 0"),
    OpSpec("sxent", 0x52, D, Unit.DU,
           (_m("dst", "w", "n*classes"), _m("logits", "r", "n*classes"), _m("labels", "r", "n"),
            _u("n", 16), _u("classes", 16)),
           "dst = (softmax(logits) - onehot(labels)) / n, the mean cross-entropy gradient",
           formula="ops 3*n*classes; MACs 0; specials n*classes + n"),
    OpSpec("mm", 0x53, D, Unit.DU,
           (_m("dst", "rw", "m*n"), _m("a", "r", "m*k"), _m("b", "r", "k*n"), _u("m", 16), _u("k", 16),
            _u("n", 16), _u("ta", 1), _u("tb", 1), _u("acc", 1)),
           "dst[m, n] = op(a) @ op(b) (+ dst if acc); op transposes a stored (k, m) if ta, b stored (n, k) "
           "if tb",
           formula="ops 0; MACs m*k*n; specials 0"),
    OpSpec("opacc", 0x54, D, Unit.DU,
           (_m("acc", "rw", "m*n"), _m("a", "r", "k*m"), _m("b", "r", "k*n"), _u("k", 16), _u("m", 16),
            _u("n", 16), _f("f")),
           "acc[m, n] += f * a[k, m].T @ b[k, n] (k outer products accumulated)",
           formula="ops 0; MACs k*m*n + m*n; specials 0"),
    OpSpec("xferwv", 0x55, D, Unit.DU,
           (_m("target", "w", "n"), _m("mask", "w", "n"), _m("acc", "rw", "n"), _m("w", "rw", "n"), _N,
            _f("level")),
           "where |acc| >= level: target = w + acc, mask = 1, w = target, acc = 0; else target = w, "
           "mask = 0",
           formula="ops 4*n; MACs 0; specials 0"),
    OpSpec("xferp", 0x56, D, Unit.DU, (_m("pulses", "w", "n"), _m("acc", "rw", "n"), _N, _f("eps")),
           "pulses = trunc(acc / eps); acc -= pulses * eps",
           formula="ops n; MACs n; specials n"),
    OpSpec("hp", 0x57, D, Unit.DU, (_e("name", Hyper, 4), _f("f")),
           "set a digital-unit hyperparameter register (lr, beta1, beta2, eps, wd, momentum)",
           formula="ops 0; MACs 0; specials 0"),
    OpSpec("adamw", 0x58, D, Unit.DU,
           (_m("dw", "w", "n"), _m("grad", "r", "n"), _m("m", "rw", "n"), _m("v", "rw", "n"),
            _m("w", "r", "n"), _N, _reg("step")),
           "AdamW: m, v moments updated; dw = -lr * (m_hat / (sqrt(v_hat) + eps) + wd * w), step from a "
           "register (1-based)",
           formula="ops 3*n; MACs 6*n; specials 2*n"),
    OpSpec("sgd", 0x59, D, Unit.DU,
           (_m("dw", "w", "n"), _m("grad", "r", "n"), _m("mom", "rw", "n"), _m("w", "r", "n"), _N),
           "SGD with momentum and weight decay: mom = momentum * mom + grad + wd * w; dw = -lr * mom",
           formula="ops 0; MACs 3*n; specials 0"),
    OpSpec("quant", 0x5A, D, Unit.DU, (_m("dst", "w", "n"), _m("src", "r", "n"), _N, _f("scale"), _u("bits", 5)),
           "dst = clip(round_half_even(src / scale), -(2^(bits-1) - 1), 2^(bits-1) - 1) (DAC codes)",
           formula="ops 2*n; MACs 0; specials n"),
    OpSpec("vamax", 0x74, D, Unit.DU, (_m("dst", "w", "1"), _m("a", "r", "n"), _N),
           "dst[0] = max_i |a[i]| (0 for n = 0): the scale statistic of a tensor (GradScale)",
           formula="ops n; MACs 0; specials 0"),
    OpSpec("r4q", 0x75, D, Unit.DU,
           (_m("dst", "w", "n"), _m("unit", "w", "1"), _m("src", "r", "n"), _m("amax", "r", "1"), _N,
            _u("phase", 1), _u("exps", 4)),
           "radix-4 FP4 quantisation (Sun et al. 2020): s = the nearest to amax[0] of the powers 2^e with e = phase "
           "(mod 2) (linear midpoints, ties up; 2^phase if amax[0] = 0); unit[0] = s * 4^-(exps-1); "
           "dst = sign(src) * the nearest of 0, 1, 4, .., 4^(exps-1) to |src| / unit[0] (linear midpoints, ties away "
           "from zero): DAC codes of radix-4 values",
           formula="ops 4*n; MACs 0; specials 0"),
    OpSpec("argmax", 0x5B, D, Unit.DU, (_m("dst", "w", "n"), _m("src", "r", "n*classes"), _u("n", 16),
                                        _u("classes", 16)),
           "dst[i] = index of the first maximum of src[i, :]",
           formula="ops n*classes; MACs 0; specials 0"),
    OpSpec("bnfwd", 0x5C, D, Unit.DU,
           (_m("y", "w", "n*c*hw"), _m("x", "r", "n*c*hw"), _m("xhat", "w", "n*c*hw"), _m("stats", "w", "2*c"),
            _m("gb", "r", "2*c"), _m("run", "rw", "2*c"), _u("n", 16), _u("c", 16), _u("hw", 24), _f("eps"),
            _f("momentum")),
           "batch norm (training) over x (n, c, hw): per channel mean, biased var; xhat = (x - mean) / "
           "sqrt(var + eps); y = gamma xhat + beta with gb = [gamma, beta]; stats = [mean, 1/sqrt(var + eps)]; "
           "run = [mean, var] running averages (unbiased var) with momentum",
           formula="ops 3*n*c*hw; MACs 2*n*c*hw + 4*c; specials 2*c"),
    OpSpec("bnbwd", 0x5D, D, Unit.DU,
           (_m("dx", "w", "n*c*hw"), _m("dgb", "rw", "2*c"), _m("dy", "r", "n*c*hw"), _m("xhat", "r", "n*c*hw"),
            _m("stats", "r", "2*c"), _m("gb", "r", "2*c"), _u("n", 16), _u("c", 16), _u("hw", 24)),
           "batch-norm backward: dgb += [sum dy xhat, sum dy] per channel; dx = gamma inv / N (N dy - sum dy - "
           "xhat sum dy xhat), N = n hw",
           formula="ops 4*n*c*hw; MACs 3*n*c*hw; specials c"),
    OpSpec("bneval", 0x5E, D, Unit.DU,
           (_m("y", "w", "n*c*hw"), _m("x", "r", "n*c*hw"), _m("run", "r", "2*c"), _m("gb", "r", "2*c"),
            _u("n", 16), _u("c", 16), _u("hw", 24), _f("eps")),
           "batch norm (inference) with the running statistics: y = gamma (x - mean) / sqrt(var + eps) + beta",
           formula="ops n*c*hw; MACs n*c*hw; specials 2*c"),
    OpSpec("quantm", 0x72, D, Unit.DU, (_m("dst", "w", "n"), _m("src", "r", "n"), _m("scale", "r", "1"), _N,
                                         _u("bits", 5)),
           "quant with the scale in memory: dst = clip(round_half_even(src / scale[0]), -(2^(bits-1) - 1), "
           "2^(bits-1) - 1); scale[0] must be finite and > 0",
           formula="ops 2*n; MACs 0; specials n"),
    OpSpec("vsclm", 0x73, D, Unit.DU, (_m("dst", "w", "n"), _m("a", "r", "n"), _m("s", "r", "1"), _N, _f("f")),
           "dst = f * s[0] * a (a scale held in memory, e.g. a calibrated input scale)",
           formula="ops 0; MACs n; specials 0"),
    OpSpec("vhist", 0x70, D, Unit.DU,
           (_m("dst", "rw", "bins"), _m("src", "r", "n"), _N, _u("bins", 16), _f("lo"), _f("hi")),
           "dst[b] += the number of |src[i]| in bin b of bins log-spaced bins over [lo, hi]: b = "
           "floor(bins log(|x| / lo) / log(hi / lo)), clipped to 0 .. bins - 1",
           formula="ops n*ceil(log2(max(bins, 2))) + n; MACs 0; specials 0"),
    OpSpec("vpctl", 0x71, D, Unit.DU,
           (_m("dst", "w", "1"), _m("hist", "r", "bins"), _u("bins", 16), _f("q"), _f("lo"), _f("hi")),
           "dst[0] = lo (hi / lo)^((b + 1) / bins), the upper edge of the first bin b of a vhist histogram at "
           "which the cumulative count reaches q x the total (a percentile)",
           formula="ops 2*bins; MACs 1; specials 1"),
    # sync ------------------------------------------------------------------------------------------
    OpSpec("fence", 0x60, S, Unit.CTRL, (), "wait until every unit has finished its issued work",
           formula="waits for every unit's work, then controller.alu_cycles; 1 ctrl_instr"),
    OpSpec("wait", 0x61, S, Unit.CTRL, (_e("unit", WaitUnit, 2), _u("index", 12)),
           "wait until one unit (dma 0, du 0, tile i) has finished its issued work",
           formula="waits for the unit's work, then controller.alu_cycles; 1 ctrl_instr"),
    OpSpec("post", 0x62, S, Unit.CTRL, (_e("unit", WaitUnit, 2), _u("index", 12), _u("tag", 4)),
           "queue a marker on a unit that increments semaphore tag when the unit's earlier work is done",
           formula=_CTRL),
    OpSpec("waitt", 0x63, S, Unit.CTRL, (_u("tag", 4),),
           "wait until semaphore tag > 0, then decrement it",
           formula="waits for the semaphore, then controller.alu_cycles; 1 ctrl_instr"),
)


def _with_offsets(spec: OpSpec) -> OpSpec:
    offsets, pos = [], OPCODE_BITS
    for f in spec.fields:
        offsets.append(pos)
        pos += f.bits
    object.__setattr__(spec, "offsets", tuple(offsets))
    return spec


OPCODES: tuple[OpSpec, ...] = tuple(_with_offsets(s) for s in _TABLE)
BY_MNEMONIC: dict[str, OpSpec] = {s.mnemonic: s for s in OPCODES}
BY_OPCODE: dict[int, OpSpec] = {s.opcode: s for s in OPCODES}
MAX_WORDS = max(s.words for s in OPCODES)
