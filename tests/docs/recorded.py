"""Recorded output in the docs: find it, run it, compare it, rewrite it (``pytest tests/docs --update-docs``).

The format (docs/recorded-output.md says it for writers):

- A fenced block with the info string ``console`` is a recorded session. A line starting with ``$ `` is a shell
  command (a trailing `` \\`` continues it on the next line); the lines after it, up to the next command, are
  its recorded output (stdout and stderr as a terminal shows them). A command that exits with a non-zero status
  ends its output with the line ``[exit status N]``.
- A ``python`` block followed directly (blank lines aside) by an ``output`` block is a recorded example: the
  code runs as a script and its output is compared with the ``output`` block.
- Every other block is not run. One that shows commands (a line starting with ``$ ``) must say why it is not run
  in a comment on the line before its fence: ``<!-- not executed: REASON -->``. The check fails otherwise, so a
  recorded output is either compared or marked.

Each page runs top to bottom in its own scratch folder holding a copy of ``programs/``; commands run with bash,
``socsim`` being this checkout's (``python -m socsim.cli``). Before comparing, both texts are normalised
(:func:`canonical` and :data:`MASKS`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
"""Every page whose recorded output is checked."""
TIMEOUT_S = 300
"""Longest a single recorded command may take."""
SHOWN_LANGUAGES = ("", "text", "sh", "bash", "shell")
"""Info strings of blocks that must carry the not-executed marker when they show ``$ `` commands."""
NOT_EXECUTED = re.compile(r"^<!-- not executed: (.+?) -->\s*$")
STATUS = re.compile(r"^\[exit status (\d+)\]$")
FENCE = re.compile(r"^(`{3,})(.*)$")


@dataclass(frozen=True)
class Mask:
    """A machine-dependent part of an output, replaced in both the recorded and the new text before comparing."""

    name: str
    pattern: str
    replacement: str
    why: str


MASKS = (
    Mask("epoch wall time", r"\bwall \d+(?:\.\d+)? s\b", "wall <s> s",
         "host seconds an epoch took (`socsim train`'s `writes` line)"),
    Mask("point wall time", r"\(\d+(?:\.\d+)? s\)$", "(<s> s)",
         "host seconds a sweep point took (`socsim sweep`'s progress lines)"),
)
"""The only differences the comparison forgives: host wall-clock times. Simulated numbers are never masked."""


@dataclass
class Block:
    """One fenced block of a page: its line span (fences included), info string and body lines."""

    start: int
    end: int
    info: str
    body: list[str]
    marker: str | None = None
    """The reason of a ``<!-- not executed: ... -->`` comment on the line before the fence."""

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.split() else ""


@dataclass
class Command:
    """A ``$ `` command of a console block and its recorded output."""

    block: Block
    text: list[str]
    """The command's lines as written (``$ `` first, continuation lines after)."""
    expected: list[str] = field(default_factory=list)

    @property
    def shell(self) -> str:
        joined = "\n".join(self.text)[2:]
        return joined.replace(" \\\n", " ")


@dataclass
class Example:
    """A python block and the ``output`` block after it."""

    code: Block
    output: Block

    @property
    def expected(self) -> list[str]:
        return self.output.body


def blocks(lines: list[str]) -> list[Block]:
    """The fenced blocks of a page (a fence of three or more backticks closes with the same run)."""
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        ticks, info = m.group(1), m.group(2).strip()
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != ticks:
            j += 1
        prev = NOT_EXECUTED.match(lines[i - 1]) if i else None
        found.append(Block(i, j, info, lines[i + 1:j], prev.group(1) if prev else None))
        i = j + 1
    return found


def _commands(block: Block) -> list[Command]:
    out: list[Command] = []
    continuing = False
    for line in block.body:
        if continuing:
            out[-1].text.append(line)
        elif line.startswith("$ "):
            out.append(Command(block, [line]))
        elif out:
            out[-1].expected.append(line)
        continuing = bool(out) and line.endswith(" \\") and out[-1].text[-1] is line
    return out


def recorded(lines: list[str]) -> list[Command | Example]:
    """Every recorded command and example of a page, in page order."""
    found = blocks(lines)
    items: list[Command | Example] = []
    for k, b in enumerate(found):
        if b.language == "console" and b.marker is None:
            items += _commands(b)
        elif b.language == "python" and b.marker is None and k + 1 < len(found) and found[k + 1].language == "output" \
                and not any(x.strip() for x in lines[b.end + 1:found[k + 1].start]):
            items.append(Example(b, found[k + 1]))
    return items


def problems(path: Path) -> list[str]:
    """Blocks that break the format: commands shown but neither run nor marked, console blocks without a command,
    output blocks after no python block."""
    lines = path.read_text().splitlines()
    found = blocks(lines)
    examples = {i.output.start for i in recorded(lines) if isinstance(i, Example)}
    out = []
    for b in found:
        where = f"{path.relative_to(ROOT)}:{b.start + 1}"
        shows = any(x.startswith("$ ") for x in b.body)
        if b.language in SHOWN_LANGUAGES and shows and b.marker is None:
            out.append(f"{where}: a block with '$ ' commands is neither a 'console' block (run and compared) nor "
                       "marked '<!-- not executed: REASON -->' on the line before it")
        if b.language == "console" and b.marker is None and (not b.body or not b.body[0].startswith("$ ")):
            out.append(f"{where}: a console block must start with a '$ ' command")
        if b.language == "output" and b.start not in examples:
            out.append(f"{where}: an 'output' block must follow a python block directly")
    return out


# running --------------------------------------------------------------------------------------------------------
def sandbox(folder: Path) -> dict[str, str]:
    """Prepare ``folder`` (a copy of programs/, a ``socsim`` command of this checkout) and return the environment
    the page's commands run in."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "programs", folder / "programs", dirs_exist_ok=True)
    bin_dir = folder / ".bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "socsim"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m socsim.cli "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", PYTHONUTF8="1", PYTHONWARNINGS="ignore",
               MPLBACKEND="Agg", COLUMNS="100", PYTHON=sys.executable)
    return env


def run(item: Command | Example, folder: Path, env: dict[str, str]) -> list[str]:
    """Run a command (bash) or an example (python) in ``folder``; its output lines as :func:`canonical` gives them,
    with ``[exit status N]`` last when the status is not 0."""
    if isinstance(item, Command):
        argv = ["bash", "-c", item.shell]
    else:
        script = folder / ".example.py"
        script.write_text("\n".join(item.code.body) + "\n")
        argv = [sys.executable, str(script)]
    try:
        proc = subprocess.run(argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [f"[timed out after {TIMEOUT_S} s]"]
    lines = canonical(proc.stdout.decode("utf-8", errors="replace"), folder)
    return lines + ([f"[exit status {proc.returncode}]"] if proc.returncode else [])


def canonical(text: str, folder: Path) -> list[str]:
    """Output as a terminal shows it, independent of where it ran: each line as left after its carriage returns
    (progress bars overwrite themselves), the scratch folder's path removed (``/tmp/.../runs/x`` -> ``runs/x``),
    trailing spaces and trailing empty lines dropped."""
    for prefix in {str(folder.resolve()), str(folder)}:
        text = text.replace(prefix + os.sep, "").replace(prefix, ".")
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def masked(lines: list[str]) -> list[str]:
    """``lines`` with every :data:`MASKS` pattern replaced."""
    out = []
    for line in lines:
        for m in MASKS:
            line = re.sub(m.pattern, m.replacement, line)
        out.append(line)
    return out


def status_of(lines: list[str]) -> int:
    m = STATUS.match(lines[-1]) if lines else None
    return int(m.group(1)) if m else 0


# rewriting --------------------------------------------------------------------------------------------------------
def rewritten(lines: list[str], outputs: list[tuple[Command | Example, list[str]]]) -> list[str]:
    """The page with every recorded output replaced by the new one (commands and everything else untouched)."""
    by_block: dict[int, list[tuple[Command, list[str]]]] = {}
    bodies: dict[int, list[str]] = {}
    spans: dict[int, tuple[int, int]] = {}
    for item, new in outputs:
        if isinstance(item, Command):
            by_block.setdefault(item.block.start, []).append((item, new))
            spans[item.block.start] = (item.block.start, item.block.end)
        else:
            bodies[item.output.start] = new
            spans[item.output.start] = (item.output.start, item.output.end)
    for start, cmds in by_block.items():
        bodies[start] = [x for cmd, new in cmds for x in (*cmd.text, *new)]
    out, i = [], 0
    for start in sorted(spans):
        s, e = spans[start]
        out += lines[i:s + 1] + bodies[start]
        i = e
    return out + lines[i:]
