"""Program bundles: a text file that lists programs to run in order on one SoC (``socsim compile -o`` writes one).

A bundle (``NET.bundle``) holds one program path per line, relative to the bundle's folder; ``#`` starts a
comment. ``socsim run NET.bundle`` runs its programs in order, as ``socsim run A.s B.s`` does: memories, tiles and
time carry over, and the report covers the last. The programs themselves are unchanged, so each still assembles
(and re-assembles from its disassembly) to the same binary.
"""

from __future__ import annotations

from pathlib import Path

from isa.program import IsaError

BUNDLE_SUFFIX = ".bundle"
HEADER = "# socsim bundle: these programs run in order on one SoC (paths relative to this file)"
MAX_PROGRAMS = 64
"""Most programs one bundle lists."""


def is_bundle(path: str | Path) -> bool:
    """Whether ``path`` names a bundle (by its suffix)."""
    return Path(path).suffix == BUNDLE_SUFFIX


def bundle_text(programs: list[str]) -> str:
    """The text of a bundle listing ``programs`` (paths relative to the bundle's folder) in run order."""
    return "\n".join([HEADER, *programs]) + "\n"


def read_bundle(path: str | Path) -> list[Path]:
    """The programs of bundle ``path``, in order, resolved against its folder. Errors (IsaError) name the bundle's
    file and line: an unreadable bundle, a listed program that is missing or itself a bundle, an empty bundle."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IsaError(f"cannot read bundle: {getattr(exc, 'strerror', None) or exc}", str(p)) from None
    out: list[Path] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        target = p.parent / entry
        if is_bundle(target):
            raise IsaError(f"lists the bundle {entry!r}", str(p), number, 1, "a program (.s or .bin), not a bundle")
        if not target.is_file():
            raise IsaError(f"program {entry!r} not found (looked for {target})", str(p), number, 1,
                           "a program path relative to the bundle's folder")
        out.append(target)
        if len(out) > MAX_PROGRAMS:
            raise IsaError(f"more than {MAX_PROGRAMS} programs", str(p), number, 1, f"at most {MAX_PROGRAMS}")
    if not out:
        raise IsaError("lists no program", str(p), expected="one program path per line")
    return out


def expand(paths: list[str]) -> list[str]:
    """``paths`` with every bundle replaced by the programs it lists, in order."""
    out: list[str] = []
    for path in paths:
        out += [str(q) for q in read_bundle(path)] if is_bundle(path) else [path]
    return out
