"""A digest of every compiled program text: every graph in programs/ on every preset.

Run: .venv/bin/python benchmarks/compile_digest.py > before.txt (on one tree), again on another, then diff.
Each line is ``GRAPH PRESET ok m=MICRO SHA`` (sha256 of the four programs' assembly, first 16 hex digits) or
``GRAPH PRESET ERR KIND: message``. A change that must not alter what compiles today (compiler.staging = auto:
docs/compiler.md, "Staging through DRAM") shows no difference on the ``ok`` lines.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from socsim.compiler import GraphError, load_graph
from socsim.compiler.lower.lowering import compile_training
from socsim.config.soc import load_config, preset_names

ROOT = Path(__file__).resolve().parents[1]


def digest_lines(n_train: int = 4000, n_test: int = 1000) -> list[str]:
    """One line per (graph, preset), sorted by graph then preset."""
    out = []
    for path in sorted((ROOT / "programs").glob("*.toml")):
        graph = load_graph(str(path))
        for preset in preset_names():
            try:
                c = compile_training(graph, load_config(preset), n_train, n_test)
            except GraphError as exc:
                out.append(f"{path.stem} {preset} ERR {type(exc).__name__}: {exc}")
                continue
            text = "".join(f"{k}\n{v}" for k, v in sorted(c.text.items()))
            out.append(f"{path.stem} {preset} ok m={c.microbatch} {hashlib.sha256(text.encode()).hexdigest()[:16]}")
    return out


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    for line in digest_lines():
        print(line, flush=True)


if __name__ == "__main__":
    main()
