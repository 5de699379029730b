"""Assembler: text -> :class:`isa.program.Program`. Errors cite ``file:line:col`` and the expected form.

Syntax, one statement per line; ``;`` or ``#`` starts a comment::

    .equ  N 64                                   ; integer constant
    .layer 1 fc1                                 ; layer id -> name, for ledger tags
    .sym  w1  dram 64*32 uniform -0.1 0.1 7      ; symbol: space, size [@addr] [init]
    .sym  x   tb0  N*64                          ; init: = v1, v2 ... | uniform LO HI SEED | normal MEAN STD SEED
    loop:  addi x1, x1, -1                       ; label, then an instruction
           copy sram:0(x2), w1+64, 64            ; memory: SYMBOL[+OFF][(xN)] or SPACE:OFF[(xN)]
"""

from __future__ import annotations

import ast
import bisect
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isa.directives import BY_NAME as DIRECTIVES
from isa.directives import names as directive_names
from isa.program import (
    TBUF_STRIDE,
    DataInit,
    Instruction,
    IsaError,
    LaneMark,
    MemRef,
    Program,
    SourceLine,
    Symbol,
    parse_space,
    read_program_bytes,
    space_name,
)
from isa.spec import BY_MNEMONIC, SYMBOL_ADDRESS_BITS, Field, Kind, OpSpec, Space
from isa.validate import check_operand, validate

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_LABEL_DEF = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*:")
_MEM = re.compile(r"^(?P<base>[^()]+?)\s*(\(\s*(?P<reg>[^)]*)\))?\s*$")

SYM_FORM = ".sym NAME SPACE SIZE [@ADDR] [= V, ... | uniform LO HI SEED | normal MEAN STD SEED]"
SYMBOL_FUNCTIONS = ("addr", "size")
"""Functions of a symbol in integer expressions: ``addr(x)`` its first word's address in its space (in its tile's
window for ``tbN``), ``size(x)`` its word count."""
WRITES_X0_OK = ("jal", "jalr")
"""Instructions for which x0 as rd is an idiom (a jump that keeps no return address): no warning."""
MAX_ERRORS = 20
"""Most errors one assembly reports (in line order); past it, how many more there were."""
MAX_EXPR_CHARS = 1000
"""Longest integer expression (characters): bounds the parse (its depth) and the work."""


def _fits_f32(value: float) -> bool:
    """Whether a finite ``value`` rounds to a finite float32 (the largest float32 prints as 3.4028235e+38, which
    is just above it and still rounds back to it)."""
    with np.errstate(over="ignore"):
        return bool(np.isfinite(np.float32(value)))
MAX_BITS = 64
"""Every value of an integer expression, intermediate ones included, has |v| < 2^MAX_BITS."""


class _TooBig(ValueError):
    """An integer expression's value leaves the bounded range."""


class _Broken(KeyError):
    """A name whose declaration had an error: its uses are not reported again."""


class _Cascade(IsaError):
    """An error that follows from an earlier one (a use of a name whose declaration failed): not reported."""


class AsmErrors(IsaError):
    """Several assembly errors, in line order (at most :data:`MAX_ERRORS` listed); ``errors`` holds them all."""

    def __init__(self, errors: list[IsaError]):
        first = errors[0]
        super().__init__("", first.file, first.line, first.col)
        self.errors = errors
        shown = [str(e) for e in errors[:MAX_ERRORS]]
        more = len(errors) - MAX_ERRORS
        tail = [f"... and {more} more error{'s' if more > 1 else ''}"] if more > 0 else []
        self.args = ("\n".join(shown + tail + [f"{len(errors)} errors"]),)


def _bounded(v: int) -> int:
    if abs(v) >> MAX_BITS:
        raise _TooBig(f"reaches {'-' if v < 0 else ''}2^{abs(v).bit_length() - 1} or more")
    return v


@dataclass
class _Token:
    text: str
    col: int


def _split_operands(text: str, col0: int) -> list[_Token]:
    """Split on commas outside parentheses; each token keeps its 1-based column."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text + ","):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            raw = text[start:i]
            stripped = raw.strip()
            out.append(_Token(stripped, col0 + start + (len(raw) - len(raw.lstrip())) + 1))
            start = i + 1
    if len(out) == 1 and not out[0].text:
        return []
    return out


def _words(text: str, col: int) -> list[_Token]:
    """Whitespace-separated words of ``text``, whose first character is at 1-based column ``col``."""
    return [_Token(m.group(), col + m.start()) for m in re.finditer(r"\S+", text)]


class _Assembler:
    def __init__(self, source: str, file: str):
        self.lines = source.splitlines()
        self.file = file
        self.equ: dict[str, int] = {}
        self.program = Program(source=file)
        self.next_addr: dict[tuple[Space, int], int] = {}
        self.spans: dict[Space, list[tuple[int, int]]] = {}
        """Each space's symbols as sorted, disjoint [addr, end) (the overlap check is a bisection, not a scan)."""
        self.pending: list[tuple[OpSpec, list[_Token], int, int]] = []
        self.lane_marks: list[tuple[list[_Token], int, int]] = []
        self.errors: list[IsaError] = []
        self.broken: set[str] = set()
        """Names of .sym and .equ lines that had an error (their uses are not reported again)."""

    def error(self, msg: str, line: int, col: int, expected: str = "") -> IsaError:
        return IsaError(msg, self.file, line, col, expected)

    # expressions ------------------------------------------------------------------------------
    def int_expr(self, text: str, line: int, col: int, what: str = "an integer expression") -> int:
        expr = text.strip()
        if len(expr) > MAX_EXPR_CHARS:
            raise self.error(f"integer expression of {len(expr)} characters", line, col,
                             f"at most {MAX_EXPR_CHARS} characters")
        try:
            tree = ast.parse(expr, mode="eval")
            return self._eval(tree.body)
        except _Broken:
            raise _Cascade("", self.file, line, col) from None
        except _TooBig as exc:
            raise self.error(f"integer {expr[:40]!r}{'...' if len(expr) > 40 else ''} {exc}", line, col,
                             f"{what} below 2^{MAX_BITS} in magnitude") from None
        except (SyntaxError, ValueError, KeyError, ZeroDivisionError, RecursionError, MemoryError):
            raise self.error(f"bad integer {expr[:40]!r}{'...' if len(expr) > 40 else ''}", line, col, what) \
                from None

    def _eval(self, node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return _bounded(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.broken:
                raise _Broken(node.id)
            return self.equ[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self._eval(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SYMBOL_FUNCTIONS \
                and len(node.args) == 1 and isinstance(node.args[0], ast.Name) and not node.keywords:
            name = node.args[0].id
            if name in self.broken:
                raise _Broken(name)
            sym = self.program.symbols[name]
            return sym.size if node.func.id == "size" else space_name(sym.space, sym.addr)[1]
        if isinstance(node, ast.BinOp):
            a, b = self._eval(node.left), self._eval(node.right)
            if isinstance(node.op, (ast.LShift, ast.RShift)) and not 0 <= b < MAX_BITS:
                raise _TooBig(f"shifts by {b}; a shift count is 0 .. {MAX_BITS - 1}")
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                   ast.FloorDiv: lambda: a // b, ast.Div: lambda: a // b, ast.Mod: lambda: a % b,
                   ast.LShift: lambda: a << b, ast.RShift: lambda: a >> b}
            for op_type, fn in ops.items():
                if isinstance(node.op, op_type):
                    return _bounded(fn())
        raise ValueError("unsupported expression")

    def float_lit(self, text: str, line: int, col: int) -> float:
        try:
            return float(text.strip())
        except ValueError:
            raise self.error(f"bad number {text.strip()!r}", line, col, "a decimal number like 0.5 or -1e-3") from None

    # passes -------------------------------------------------------------------------------------
    def run(self) -> Program:
        for number, raw in enumerate(self.lines, start=1):
            try:
                self.statement(raw, number)
            except IsaError as exc:
                self.failed(exc, raw)
        for spec, toks, line, col in self.pending:
            try:
                ins = self.instruction(spec, toks, line, col)
            except IsaError as exc:
                self.failed(exc)
                ins = Instruction(BY_MNEMONIC["nop"], (), line)  # keeps the later pcs; never encoded
            self.program.instructions.append(ins)
            self.program.lines.append(SourceLine(self.file, line, self.statement_text(line)))
        for words, line, col in self.lane_marks:
            try:
                self.program.lanes.append(self.lanes(words, line, col))
            except IsaError as exc:
                self.failed(exc)
        errors = sorted((e for e in self.errors if not isinstance(e, _Cascade)), key=lambda e: (e.line, e.col))
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise AsmErrors(errors)
        try:
            validate(self.program)
        except IsaError as exc:
            raise IsaError(str(exc), self.file) from None
        return self.program

    def failed(self, exc: IsaError, raw: str = "") -> None:
        """Keep an error for the report; a failed ``.sym`` or ``.equ`` line's name goes to :attr:`broken`."""
        self.errors.append(exc)
        words = re.split(r"[;#]", raw, maxsplit=1)[0].split()
        if len(words) >= 2 and words[0] in (".sym", ".equ"):
            self.broken.add(words[1])

    def statement_text(self, line: int) -> str:
        """The instruction on source line ``line``: without its label and comment."""
        text = re.split(r"[;#]", self.lines[line - 1], maxsplit=1)[0]
        m = _LABEL_DEF.match(text)
        return (text[m.end():] if m else text).strip()

    def statement(self, raw: str, line: int) -> None:
        text = re.split(r"[;#]", raw, maxsplit=1)[0].rstrip()
        col = 1
        m = _LABEL_DEF.match(text)
        if m:
            name = m.group(1)
            if name in self.program.labels:
                raise self.error(f"label {name!r} defined twice", line, m.start(1) + 1, "a new label name")
            self.program.labels[name] = len(self.pending)
            col = m.end() + 1
            text = " " * m.end() + text[m.end():]
        body = text.strip()
        if not body:
            return
        col = len(text) - len(text.lstrip()) + 1
        head = body.split(None, 1)[0]
        rest = body[len(head):]
        rest_col = col + len(head)
        if head.startswith("."):
            self.directive(head, rest, line, col, rest_col)
            return
        spec = BY_MNEMONIC.get(head.lower())
        if spec is None:
            self.pending.append((BY_MNEMONIC["nop"], [], line, col))  # holds its pc, so later labels stay put
            raise self.error(f"unknown instruction {head!r}", line, col,
                             f"a mnemonic from docs/isa.md or a directive ({directive_names()})")
        self.pending.append((spec, _split_operands(rest, rest_col - 1), line, col))

    def directive(self, head: str, rest: str, line: int, col: int, rest_col: int) -> None:
        words = _words(rest, rest_col)
        if head == ".equ":
            if len(words) < 2 or not _NAME.fullmatch(words[0].text):
                raise self.error("malformed .equ", line, col, ".equ NAME INTEGER-EXPRESSION")
            self.equ[words[0].text] = self.int_expr(rest[words[1].col - rest_col:], line, words[1].col)
        elif head == ".layer":
            if len(words) != 2:
                raise self.error("malformed .layer", line, col, ".layer ID NAME")
            self.program.layers[self.int_expr(words[0].text, line, words[0].col)] = words[1].text
        elif head == ".sym":
            self.symbol(rest, line, col, rest_col)
        elif head == ".lanes":
            self.lane_marks.append((words, line, col))  # labels and symbols may come later: resolved at the end
        else:
            raise self.error(f"unknown directive {head!r}", line, col, directive_names())

    def lanes(self, words: list[_Token], line: int, col: int) -> LaneMark:
        """``.lanes LABEL xN COUNT [private SYM ...] [reduce SYM ...]``."""
        form = DIRECTIVES[".lanes"].form
        if len(words) < 3:
            raise self.error("malformed .lanes", line, col, form)
        label, reg_w, count_w, *rest = words
        if label.text not in self.program.labels:
            raise self.error(f"undefined label {label.text!r}", line, label.col, "the label of the loop's first "
                                                                                  "instruction")
        reg = self.register(reg_w.text, line, reg_w.col)
        count = self.int_expr(count_w.text, line, count_w.col, "an iteration count of at least 2")
        lists: dict[str, list[str]] = {"private": [], "reduce": []}
        current: list[str] | None = None
        for w in rest:
            if w.text in lists:
                current = lists[w.text]
            elif current is None:
                raise self.error(f"unexpected {w.text!r}", line, w.col, form)
            elif w.text not in self.program.symbols:
                raise self.error(f"undefined symbol {w.text!r}", line, w.col, "a symbol declared with .sym")
            else:
                current.append(w.text)
        return LaneMark(label.text, self.program.labels[label.text], reg, count, tuple(lists["private"]),
                        tuple(lists["reduce"]))

    def symbol(self, rest: str, line: int, col: int, rest_col: int) -> None:
        """``.sym NAME SPACE SIZE [@ADDR] [INIT]``; errors point at the offending word."""
        cut = rest.find("=")
        if cut < 0:
            keyword = next((w for w in _words(rest, rest_col)[3:] if w.text in ("uniform", "normal")), None)
            cut = keyword.col - rest_col if keyword else len(rest)
        decl, init_raw = rest[:cut], rest[cut:]
        words = _words(decl, rest_col)
        if len(words) < 3:
            raise self.error("malformed .sym", line, col, SYM_FORM)
        name, space_w, size_w, *place = words
        if not _NAME.fullmatch(name.text):
            raise self.error(f"bad symbol name {name.text!r}", line, name.col, "a name like w1 or x_in")
        if name.text in self.program.symbols:
            raise self.error(f"symbol {name.text!r} declared twice", line, name.col, "a new symbol name")
        parsed = parse_space(space_w.text)
        if parsed is None:
            raise self.error(f"unknown space {space_w.text!r}", line, space_w.col,
                             "dram, sram, acc or tbN (tile N buffer)")
        space, base = parsed
        size = self.int_expr(size_w.text, line, size_w.col, "a positive word count")
        if size <= 0:
            raise self.error(f"symbol {name.text!r} has size {size}", line, size_w.col, "a positive word count")
        key = (space, base)
        where = name
        if place:
            where = place[0]
            if not where.text.startswith("@"):
                raise self.error(f"unexpected {where.text!r}", line, where.col, SYM_FORM)
            addr = base + self.int_expr(" ".join(w.text for w in place)[1:], line, where.col, "@ADDRESS")
        else:
            addr = self.next_addr.get(key, base)
        if space is Space.TBUF and addr + size > base + TBUF_STRIDE:
            raise self.error(f"symbol {name.text!r} does not fit a tile buffer window of {TBUF_STRIDE} words",
                             line, size_w.col, "a smaller size")
        if addr + size > 1 << SYMBOL_ADDRESS_BITS:
            raise self.error(f"symbol {name.text!r} [{addr}, {addr + size}) ends past the "
                             f"{1 << SYMBOL_ADDRESS_BITS}-word address range", line, where.col if place else size_w.col,
                             "a smaller size or address")
        spans = self.spans.setdefault(space, [])
        i = bisect.bisect_left(spans, (addr, addr + size))
        clash = any(0 <= j < len(spans) and addr < spans[j][1] and spans[j][0] < addr + size for j in (i - 1, i))
        for other in self.program.symbols.values() if clash else ():  # the first it overlaps, in declaration order
            if other.space is space and addr < other.end and other.addr < addr + size:
                raise self.error(f"symbol {name.text!r} [{addr}, {addr + size}) and {other.name!r} "
                                 f"[{other.addr}, {other.end}) overlap in {space.name.lower()}", line, where.col,
                                 "an @ADDR outside the other symbols of the space")
        self.next_addr[key] = max(self.next_addr.get(key, base), addr + size)
        bisect.insort(spans, (addr, addr + size))
        init_col = rest_col + cut + len(init_raw) - len(init_raw.lstrip())
        init = self.data_init(init_raw.strip(), size, line, init_col)
        self.program.symbols[name.text] = Symbol(name.text, space, addr, size, init)

    def data_init(self, text: str, size: int, line: int, col: int) -> DataInit:
        """An initializer ``text`` starting at column ``col``: ``= V, ...`` or ``KIND A B SEED``."""
        if not text:
            return DataInit()
        if text.startswith("="):
            toks = [t for t in _split_operands(text[1:], col) if t.text]
            vals = [self.float_lit(t.text, line, t.col) for t in toks]
            bad = next((t for t, v in zip(toks, vals) if math.isfinite(v) and not _fits_f32(v)), None)
            if bad is not None:  # it would become inf silently; an explicit nan or inf is kept (to test traps)
                raise self.error(f"value {bad.text!r} is beyond the float32 range", line, bad.col,
                                 "numbers within +-3.4e38 (or an explicit nan / inf)")
            if len(vals) > size:
                raise self.error(f"{len(vals)} values for a symbol of {size} words", line, toks[size].col,
                                 f"at most {size} values")
            return DataInit("values", tuple(float(np.float32(v)) for v in vals))
        words = _words(text, col)
        kind = words[0].text
        if len(words) != 4:
            raise self.error(f"malformed {kind} initializer", line, col, f"{kind} A B SEED")
        (a, b), (wa, wb) = (self.float_lit(w.text, line, w.col) for w in words[1:3]), words[1:3]
        for value, w in ((a, wa), (b, wb)):
            if not math.isfinite(value):
                raise self.error(f"{kind} bound {w.text!r} is not finite", line, w.col, "a finite number")
        if kind == "uniform" and a > b:
            raise self.error(f"uniform {wa.text} {wb.text}: the low bound is above the high bound", line, wa.col,
                             "uniform LO HI SEED with LO <= HI")
        if kind == "normal" and b < 0:
            raise self.error(f"normal standard deviation {wb.text} is negative", line, wb.col,
                             "normal MEAN STD SEED with STD >= 0")
        seed = self.int_expr(words[3].text, line, words[3].col, "an integer seed")
        if seed < 0:
            raise self.error(f"seed {seed} is negative", line, words[3].col, "a seed 0 .. 2^64 - 1")
        return DataInit(kind, (), a, b, seed)

    # operands ------------------------------------------------------------------------------------
    def instruction(self, spec: OpSpec, toks: list[_Token], line: int, col: int) -> Instruction:
        form = f"{spec.mnemonic} " + ", ".join(f"{f.name}:{f.kind.name.lower()}" for f in spec.fields)
        if len(toks) != len(spec.fields):
            raise self.error(f"{spec.mnemonic} takes {len(spec.fields)} operands, got {len(toks)}",
                             line, col, form.strip())
        args = tuple(self.operand(f, t, line) for f, t in zip(spec.fields, toks))
        for f, a, t in zip(spec.fields, args, toks):
            problem = check_operand(f, a)
            if problem:
                raise self.error(f"operand {f.name} {problem}", line, t.col, form.strip())
            n = len(self.pending)
            if f.kind is Kind.LABEL and not 0 <= a < n:  # type: ignore[operator]
                raise self.error(f"target {a} is outside the program (0 .. {n - 1})", line, t.col,
                                 f"a label or an instruction index 0 .. {n - 1}")
        rd = next((t for f, t in zip(spec.fields, toks) if f.name == "rd"), None)
        if rd is not None and args[0] == 0 and spec.mnemonic not in WRITES_X0_OK:
            self.program.warnings.append(str(self.error(f"{spec.mnemonic} writes x0, which always reads 0: the "
                                                        "result is dropped", line, rd.col, "a register x1 .. x31")))
        return Instruction(spec, args, line)

    def register(self, text: str, line: int, col: int) -> int:
        m = re.fullmatch(r"x(\d+)", text.strip().lower())
        if not m or int(m.group(1)) > 31:
            raise self.error(f"bad register {text.strip()!r}", line, col, "x0 .. x31")
        return int(m.group(1))

    def operand(self, f: Field, tok: _Token, line: int) -> int | float | MemRef:
        text, col = tok.text, tok.col
        if not text:
            raise self.error(f"missing operand {f.name}", line, col, f.kind.value)
        if f.kind is Kind.REG:
            return self.register(text, line, col)
        if f.kind in (Kind.SIMM, Kind.UIMM):
            return self.int_expr(text, line, col, f.kind.value)
        if f.kind is Kind.FIMM:
            with np.errstate(over="ignore"):  # out of float32 range: inf, rejected by check_operand
                return float(np.float32(self.float_lit(text, line, col)))
        if f.kind is Kind.LABEL:
            if text in self.program.labels:
                return self.program.labels[text]
            if _NAME.fullmatch(text):
                raise self.error(f"undefined label {text!r}", line, col, "a label defined in this file")
            return self.int_expr(text, line, col, "a label or instruction index")
        if f.kind is Kind.ENUM:
            assert f.enum is not None
            names = [e.name.lower() for e in f.enum]
            if text.lower() not in names:
                raise self.error(f"bad {f.name} {text!r}", line, col, "one of " + ", ".join(names))
            return int(f.enum[text.upper()])
        return self.memref(text, line, col)

    def memref(self, text: str, line: int, col: int) -> MemRef:
        form = "SYMBOL[+OFF][(xN)] or SPACE:OFF[(xN)]"
        m = _MEM.match(text)
        if not m:
            raise self.error(f"bad memory operand {text!r}", line, col, form)
        reg = self.register(m.group("reg"), line, col) if m.group("reg") is not None else 0
        base = m.group("base").strip()
        if ":" in base:
            space_text, off_text = base.split(":", 1)
            parsed = parse_space(space_text.strip())
            if parsed is None:
                raise self.error(f"unknown space {space_text.strip()!r}", line, col, "dram, sram, acc or tbN")
            space, start = parsed
            return MemRef(space, start + self.int_expr(off_text, line, col, form), reg)
        name_m = _NAME.match(base)
        if not name_m:
            raise self.error(f"bad memory operand {text!r}", line, col, form)
        sym = self.program.symbols.get(name_m.group(0))
        if sym is None:
            if name_m.group(0) in self.broken:
                raise _Cascade("", self.file, line, col)
            raise self.error(f"undefined symbol {name_m.group(0)!r}", line, col, "a symbol declared with .sym")
        tail = base[name_m.end():].strip()
        off = 0
        if tail:
            if tail[0] not in "+-":
                raise self.error(f"bad memory operand {text!r}", line, col, form)
            off = self.int_expr(tail, line, col, form)
        return MemRef(sym.space, sym.addr + off, reg)


def assemble(source: str, file: str = "<text>") -> Program:
    """Assemble program text; ``file`` names it in error messages."""
    return _Assembler(source, file).run()


def assemble_file(path: str | Path) -> Program:
    """Assemble a ``.s`` file."""
    p = Path(path)
    data = read_program_bytes(p, "program", "program")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise IsaError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", str(p), line,
                       exc.start - data.rfind(b"\n", 0, exc.start)) from None
    return assemble(text, str(p))
