"""Shared helpers of the sweep tests: write a sweep file, run the command without the global CLI."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from socsim.cli.sweep import register

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "programs" / "mlp.toml"
VECTOR_OPS = ROOT / "programs" / "vector_ops.s"

TRAIN_SWEEP = f"""
name = "tiny"
config = "wu2023"
[job]
kind = "train"
graph = "{MLP}"
dataset = "digits"
epochs = 1
train_examples = 512
test_examples = 256
[grid]
"tiles.physics.adc.bits" = [4, 8]
seed = [0, 1]
"""

PROGRAM_SWEEP = f"""
name = "vec"
[job]
kind = "program"
program = "{VECTOR_OPS}"
[grid]
du.lanes = [4, 16]
"du.startup_cycles" = [4, 40]
[[point]]
"du.lanes" = 64
"""


def write_sweep(folder: Path, text: str, name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def sweep_cli(*argv: str) -> tuple[int, str]:
    """Run ``socsim sweep ARGV`` through its own parser; returns (exit code, printed text)."""
    parser = argparse.ArgumentParser(prog="socsim")
    register(parser.add_subparsers())
    args = parser.parse_args(["sweep", *argv])
    out = io.StringIO()
    return args.fn(args, out), out.getvalue()


@pytest.fixture
def program_sweep(tmp_path: Path) -> Path:
    return write_sweep(tmp_path, PROGRAM_SWEEP)
