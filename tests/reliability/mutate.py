"""Strategies that damage valid inputs: edit characters, swap tokens, replace TOML values."""

from __future__ import annotations

import re

from hypothesis import strategies as st

TOML_VALUES = st.one_of(
    st.integers(-(1 << 70), 1 << 70).map(str),
    st.sampled_from(["0", "-1", "1e308", "-1e400", "nan", "inf", "-inf", "1.5", "true", "false", '""', '"x"',
                     "[]", "[1, 2]", '["a"]', "[[1], [2]]", "{}", "{ a = 1 }", "1979-05-27", "0x1f", '"\\u0000"',
                     "[1, \"a\"]", "65536", "4294967296", "-2147483649"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\"\\\\"), max_size=8)
      .map(lambda s: f'"{s}"'),
)
"""Valid TOML value texts of every type and awkward size."""

JUNK = st.text(alphabet=st.sampled_from(list("abcxyz019 ,.:;()[]{}=+-_#\"'\\\t\n") + ["\x00", "é", "\u2028"]),
               max_size=12)


@st.composite
def edit_text(draw, text: str) -> str:
    """``text`` with 1-3 random edits: delete, insert junk, duplicate or swap a span."""
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 20)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(JUNK) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(JUNK) + text[j:]
    return text


_ASSIGN = re.compile(r"^(\s*[\w\".-]+\s*=\s*)(.+?)(\s*(#.*)?)$")


@st.composite
def replace_toml_values(draw, text: str) -> str:
    """``text`` (TOML) with 1-3 ``key = value`` lines given another value (still TOML, wrong content)."""
    lines = text.splitlines()
    assign = [i for i, line in enumerate(lines) if _ASSIGN.match(line) and not line.lstrip().startswith("#")]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.sampled_from(assign))
        m = _ASSIGN.match(lines[i])
        lines[i] = m.group(1) + draw(TOML_VALUES)
    return "\n".join(lines) + "\n"


@st.composite
def drop_toml_lines(draw, text: str) -> str:
    """``text`` with 1-3 lines removed (a key, a table header)."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if lines:
            del lines[draw(st.integers(0, len(lines) - 1))]
    return "\n".join(lines) + "\n"
