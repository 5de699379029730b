"""The two lines a benchmark or a study prints first: the machine it ran on and the command that ran it, so a
recorded output says where its numbers come from (``benchmarks/``, ``docs/studies/``, docs/performance.md)."""

from __future__ import annotations

import os
import platform
import sys


def machine_line(*details: str, processor: bool = False) -> str:
    """``machine: <platform>, <n> cpus, [<processor>, ]python <version>[, <details>...]``: the processor when
    ``processor`` (its name, or the machine type where the platform gives none), then each of ``details`` (e.g.
    ``"numpy 1.26.4"``)."""
    parts = [platform.platform(), f"{os.cpu_count()} cpus"]
    if processor:
        parts.append(platform.processor() or platform.machine())
    return "machine: " + ", ".join([*parts, f"python {platform.python_version()}", *details])


def command_line() -> str:
    """``command: <the Python executable's name> <the arguments>``: how to run it again."""
    return f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}"


def print_header(*details: str, processor: bool = False) -> None:
    """Print :func:`machine_line` (with ``details`` and ``processor``) and :func:`command_line` to stdout."""
    print(machine_line(*details, processor=processor))
    print(command_line())
