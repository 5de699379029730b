"""The fixed registers of the compiled programs: one table, no register numbers elsewhere in the compiler."""

import re
from pathlib import Path

from socsim.compiler.registers import REG

COMPILER = Path(__file__).resolve().parents[2] / "socsim" / "compiler"
TRAIN_ROLES = ("zero", "outer", "micro", "image_offset", "label_offset", "image", "band_row", "band_in", "band_out",
               "band_col", "batch_end", "step", "temp", "loop_limit", "bases")
"""Roles live together in train_epoch."""
EVAL_ROLES = ("zero", "micro", "image_offset", "label_offset", "image", "band_row", "band_in", "band_out", "band_col",
              "slot", "one", "temp", "loop_limit", "bases", "slots")
"""Roles live together in the pipelined evaluate (``slots[0]`` is ``slot_offset`` itself)."""


def _registers(roles: tuple[str, ...]) -> list[str]:
    table = REG.roles()
    return [r for role in roles for r in table[role]]


def test_roles_live_together_use_distinct_registers():
    for roles in (TRAIN_ROLES, EVAL_ROLES):
        regs = _registers(roles)
        assert len(regs) == len(set(regs)), sorted(r for r in regs if regs.count(r) > 1)
    assert REG.slots[0] == REG.slot_offset


def test_every_register_is_a_controller_register():
    for role, regs in REG.roles().items():
        for r in regs:
            assert re.fullmatch(r"x([0-9]|[12][0-9]|3[01])", r), (role, r)


def test_no_register_number_outside_the_table():
    literal = re.compile(r"[\"']x\d+[\"']|f[\"']x\{|\(x\d+\)")  # "x4", f"x{i}", "sym(x4)"
    hits = [f"{p.name}:{i}" for p in sorted(COMPILER.rglob("*.py")) if p.name != "registers.py"
            for i, line in enumerate(p.read_text().splitlines(), 1) if literal.search(line)]
    assert not hits, hits
