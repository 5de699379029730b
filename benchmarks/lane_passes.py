"""Where a training step's numerics go: the lane loops' passes of one scaling point, by kind, per thread count.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lane_passes.py [--model vgg8] [--batch 64] [--threads 1,2]

For each thread count, in a fresh subprocess, runs one point of ``benchmarks/scaling.py`` (full fidelity: the init
program, then two training steps of ``--batch`` synthetic images) and times every numerics pass of the fast
engine's lane loops (``socsim.sim.lanes.numerics``): together (all lanes at once, in lane groups when several
threads), in turn (one lane after another, on one thread) and in turn on threads (``socsim.sim.lanes.turns``: one
lane at a time per thread). Prints per count: the two steps' seconds and, per kind, the passes, their wall seconds
and the process's CPU seconds during them (every thread's; CPU / wall near the thread count means the threads ran
at once, near 1 that they took turns), and the split passes (with those that stopped and ran again on one thread):
what ``docs/performance.md``, "Threads", explains the thread scaling with.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(model: str, batch: int, threads: int) -> dict:
    """The point's step times and its numerics passes, timed in this process (the child of :func:`main`)."""
    sys.path.insert(0, str(HERE))
    import scaling

    from socsim.sim.lanes import numerics, turns

    passes = {"together": [0, 0.0, 0.0], "in turn": [0, 0.0, 0.0], "turns": [0, 0.0, 0.0]}

    def timed(cls: type, kind: str) -> None:
        run = cls.run

        def wrapper(self, *args, **kwargs):
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return run(self, *args, **kwargs)
            finally:
                passes[kind][0] += 1
                passes[kind][1] += time.perf_counter() - start
                passes[kind][2] += time.process_time() - cpu
        cls.run = wrapper

    timed(numerics.NumericsPass, "together")
    timed(numerics.InTurnPass, "in turn")
    timed(turns.TurnsOnThreads, "turns")
    row = scaling.point(model, batch, "full", "scaling", threads=threads)
    return {"threads": threads, "step_s": row["step_s"], "steady_s": row["steady_s"], "passes": passes,
            "split": numerics.split_passes + turns.passes, "reruns": numerics.split_reruns + turns.stopped}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="vgg8")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.model, args.batch, args.child)))
        return
    from socsim.tools.benchmarking import print_header
    print_header()
    kinds = ("together", "in turn", "turns")
    print(f"{'threads':>7} {'step s':>8} {'steady s':>9} " + " ".join(f"{k + ' (wall, cpu)':>24}" for k in kinds)
          + f" {'split':>6} {'reruns':>6}")
    for n in (int(t) for t in args.threads.split(",")):
        done = subprocess.run([sys.executable, __file__, "--model", args.model, "--batch", str(args.batch),
                               "--child", str(n)], capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        cells = [f"{r['passes'][k][0]:>3} in {r['passes'][k][1]:>7.2f}, {r['passes'][k][2]:>7.2f} s" for k in kinds]
        print(f"{n:>7} {r['step_s']:>8.2f} {r['steady_s']:>9.2f} " + " ".join(f"{c:>24}" for c in cells)
              + f" {r['split']:>6} {r['reruns']:>6}")


if __name__ == "__main__":
    main()
