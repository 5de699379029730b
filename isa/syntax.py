"""The assembly syntax as documented in ``docs/isa.md`` (section "Syntax"): grammar, rules and examples.

``tests/test_asm_syntax.py`` assembles and runs every ``asm`` example of this text.
"""

from __future__ import annotations

from isa.asm import MAX_ERRORS, MAX_EXPR_CHARS

SYNTAX = """## Syntax

One statement per line; `;` or `#` starts a comment. Mnemonics and space names are case-insensitive; names
(labels, symbols, constants) are case-sensitive, `[A-Za-z_][A-Za-z0-9_.]*`.

```
line        = [ NAME ":" ] [ instruction | directive ] [ comment ]
instruction = MNEMONIC [ operand { "," operand } ]
operand     = register | integer | float | target | enum | memory
register    = "x0" .. "x31"                  (x0 reads 0; an instruction that writes it assembles with a warning)
integer     = expression                     (an immediate: li, addi, counts, sizes, tile numbers)
float       = decimal number                 (0.5, -1e-3; stored as float32)
target      = LABEL | expression             (a pc)
enum        = one of the names the operand lists in the tables below (forward, tile, lr, ...)
memory      = SYMBOL [ ("+" | "-") expression ] [ "(" register ")" ]
            | SPACE ":" expression [ "(" register ")" ]
SPACE       = "dram" | "sram" | "acc" | "tb" N   (tile N's buffer)
expression  = integer literal (12, 0x1f, 0b101, 0o17), a .equ NAME, addr(SYMBOL), size(SYMBOL), unary + and -,
              binary + - * / // % << >> and parentheses, with Python's precedence; / and // both round toward
              minus infinity, % takes the sign of the divisor; every value, intermediate ones too, stays below
              2^64 in magnitude, an expression at most @MAX_EXPR_CHARS@ characters
```

A `.sym` line's SIZE is one word (`2*N`, no spaces); its `@ADDR` and every operand may contain spaces.

- **The pc** is an instruction's index in the program (0, 1, 2 ...), not a byte address: labels, branch targets,
  `jal`'s return address (pc + 1) and every trap, listing and trace count instructions.
- **Addresses** are word (float32) indices. A memory operand's address is the symbol's first word + the offset
  + the register's value when the instruction issues. `addr(SYMBOL)` is that first word (in its tile's window for
  a `tbN` symbol, so `tb1:0(x1)` with `x1 = addr(t)` is `t`), `size(SYMBOL)` its words. A symbol used in an
  expression must be declared above the line.
- **Symbol-safe memory**: an access that starts inside a symbol must end inside it, else the run traps naming
  the symbol, its size and the access (`operand dst: c[0:128] overruns symbol 'c' of 64 words`). An access that
  starts outside every symbol (`sram:OFF` between symbols) is checked against its space only. `mvm`, `mvmt`,
  `mvmr` and `mvms` trap on a tile no `tcfg` has configured or no `wv` / `pulse` has programmed.
- **Initial data**: `.sym x sram 64 = 1.0` fills all 64 words with 1.0; several values (`= 1, 2, 3`) fill the
  first words and the rest are zero; `uniform LO HI SEED` and `normal MEAN STD SEED` draw every word.
- **Errors**: one assembly reports every error of the file in line order (at most @MAX_ERRORS@, then how many more),
  each as `file:line:col: what; expected what`; a use of a name whose `.sym` or `.equ` line failed is not
  reported again.
- **Bundles**: a `NET.bundle` file lists programs, one path a line relative to its folder (`#` starts a
  comment); `socsim run NET.bundle` and `socsim debug NET.bundle` run them in order on one SoC (memories, tiles
  and time carry over; the report covers the last), as `socsim run A.s B.s` does. `socsim compile -o NET.s`
  writes one listing `NET.init.s` then `NET.eval.s`. A bundle is not assembled: each program keeps its own file,
  line table and binary.
- **Listings and line tables**: `socsim asm prog.s --listing` prints per instruction its pc, `file:line`, source
  text and encoding (hex words); `socsim asm prog.s --lines` keeps the line table in the binary (binaries without
  it load too), so that a trap of the binary cites the source; `socsim disasm` ends each instruction with
  `; pc N`. A trap prints the pc, the source text and `file:line`; `socsim run` then prints what ran and the
  registers, and writes `--trace`, `--ledger` and `--json` up to the trap.

Example: constants, symbol functions and an address through a register.

```asm
.equ N 64
.sym a sram N = 1.0                 ; all 64 words are 1.0
.sym b sram N = 2.0, 3.0            ; b[0] = 2, b[1] = 3, the rest 0
.sym c sram 2*N                     ; a .sym SIZE is one word: no spaces
    li x1, size(a) / 2              ; 32
    vadd c(x1), a, b, N / 2         ; c[32:64] = a[0:32] + b[0:32]
    li x2, addr(c) + N % 48         ; 128 + 16
    vfill sram:0(x2), 8, 5.0        ; c[16:24] = 5
    halt
```

Example: a loop; `bne`'s target is the pc of `loop`.

```asm
.sym acc sram 4
.sym one sram 4 = 1.0
    li x1, 1 << 2                   ; four iterations
loop:
    vadd acc, acc, one, 4
    addi x1, x1, -1
    bne x1, x0, loop
    halt
```
""".replace("@MAX_EXPR_CHARS@", str(MAX_EXPR_CHARS)).replace("@MAX_ERRORS@", str(MAX_ERRORS))
