"""Scaling: wall time and peak memory of one training step, by model, batch and mode (timing-only / full).

Run: .venv/bin/python benchmarks/scaling.py [--models lenet5,vgg8,resnet18] [--batches 8,16,32,64]
     [--modes timing,full] [--full-batches 8,64] [--config scaling] [--figure scaling.png]
     [--threads 1,2] [--baseline]

Each point runs in a fresh subprocess (``--point``), so its peak memory (ru_maxrss of that child, from
os.wait4) is its own: the child compiles the graph for ``train.batch = B``, builds the SoC, runs the init
program (programs every weight), then two training steps (each an epoch of one batch of B synthetic 3x32x32
images): the first (cold: the fast engine's replay memo is empty) is "step s", the second "steady s". Peak
memory covers the whole child. "50k epoch" projects one 50,000-image epoch from the steady step (ceil(50000 / B)
steps; evaluation not included). Tile operations per step are one block's
MVM per input vector (mapping: tile_ops per image x B). LeNet is programs/lenet5.toml on a 3x32x32
input without conv1's padding (the CIFAR LeNet-5). Goals (docs/performance.md, not tests), batch 64 at full fidelity:
VGG-8 step < 3 s, ResNet-18 < 4 s, peak memory < 2 GiB, a 50,000-image epoch < 45 min.

``--threads 1,2`` measures every point at each thread count (socsim.base.threads: the chip's numerics) and prints a
thread-scaling table: the steady step, its speedup over the first count and the efficiency (speedup / threads).
``--baseline`` also times the numpy FP32 baseline's step (the same graph and batch) in the same child with as
many BLAS threads, after the chip's steps. Goals at two threads (not tests): VGG-8's full-fidelity step no slower
than the baseline's, and at least 1.6x faster than at one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))   # run from a checkout without installing
from socsim.host.options import RunOptions  # noqa: E402
from socsim.tools.benchmarking import load_line, print_header  # noqa: E402

MODELS = {"lenet5": "programs/lenet5.toml", "vgg8": "programs/vgg8.toml", "resnet18": "programs/resnet18.toml"}
GIB = 1 << 30


def load_model(model: str):
    """The graph of ``model`` with a 3x32x32 input."""
    from socsim.compiler import load_graph
    from socsim.compiler.frontend.toml import loads_toml
    path = ROOT / MODELS[model]
    if model != "lenet5":
        return load_graph(str(path))
    text = path.read_text().replace("shape = [1, 28, 28]", "shape = [3, 32, 32]").replace("padding = 2\n", "")
    return loads_toml(text, f"{path} (3x32x32, no padding)")


def point(model: str, batch: int, mode: str, config: str, engine: str = "fast", threads: int = 1,
          baseline: bool = False) -> dict:
    """One measurement in this process (the child): compile, init, one training step, on ``threads`` threads; with
    ``baseline`` the numpy baseline's step too (BLAS on ``threads`` threads)."""
    from socsim.base.threads import use_threads
    with use_threads(threads):
        row = _point(model, batch, mode, config, engine)
    if baseline:
        from threadpoolctl import threadpool_limits

        from socsim.host.baseline import Baseline
        from socsim.host.data import synthetic
        graph = load_model(model)
        data = synthetic(tuple(graph.input.layer.shape), row["classes"], n_train=batch, n_test=batch, seed=0)
        base = Baseline(graph, row.pop("train"))
        with threadpool_limits(threads, "blas"):
            base.train_epoch(data.x_train, data.y_train)  # cold
            t = time.perf_counter()
            base.train_epoch(data.x_train, data.y_train)
            row["baseline_s"] = time.perf_counter() - t
    row.pop("train", None)
    return {**row, "threads": threads}


def _point(model: str, batch: int, mode: str, config: str, engine: str) -> dict:
    import numpy as np

    from socsim.compiler.mapping.table import map_graph
    from socsim.config.soc import load_config
    from socsim.host.data import synthetic
    from socsim.host.training import ChipTrainer
    t0 = time.perf_counter()
    graph = load_model(model)
    cfg = load_config(config, {"train": {"batch": batch}})
    classes = int(np.prod(graph.shape(list(graph.nodes)[-1].inputs[0])))
    data = synthetic(tuple(graph.input.layer.shape), classes, n_train=batch, n_test=batch, seed=0)
    trainer = ChipTrainer(graph, cfg, data, options=RunOptions(engine=engine, timing_only=mode == "timing"))
    t1 = time.perf_counter()
    step = trainer.train_epoch()
    t2 = time.perf_counter()
    counts = {"instructions": step.instructions, "cycles": step.cycles, "energy_pj": step.energy_pj}
    del step  # its outputs (every symbol's words) are not part of the second step's memory
    trainer.train_epoch()
    t3 = time.perf_counter()
    return {"model": model, "batch": batch, "mode": mode, "microbatch": trainer.compiled.microbatch,
            "setup_s": t1 - t0, "step_s": t2 - t1, "steady_s": t3 - t2, **counts,
            "tile_ops": map_graph(graph, cfg).tile_ops * batch, "classes": classes, "train": cfg.train}


def measure(model: str, batch: int, mode: str, config: str, timeout: float, engine: str = "fast",
            threads: int = 1, baseline: bool = False) -> dict:
    """Run one point in a fresh subprocess; add its peak RSS (bytes) from os.wait4."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--point", model, str(batch), mode, "--config", config,
           "--engine", engine, "--threads", str(threads)] + (["--baseline"] if baseline else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    t0 = time.monotonic()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return {"model": model, "batch": batch, "mode": mode, "threads": threads,
                    "error": f"timeout after {timeout:.0f} s"}
        time.sleep(0.05)
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        return {"model": model, "batch": batch, "mode": mode, "threads": threads,
                "error": (err.strip().splitlines() or ["?"])[-1]}
    row = json.loads(out.strip().splitlines()[-1])
    row["peak_bytes"] = usage.ru_maxrss * 1024  # Linux: KiB
    return row


def slope(rows: list[dict], x: str, y: str) -> float:
    """Least-squares slope of log(y) on log(x): 1.0 is linear growth."""
    pts = [(math.log(r[x]), math.log(r[y])) for r in rows]
    if len(pts) < 2:
        return float("nan")
    mx, my = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else float("nan")


def table(rows: list[dict]) -> str:
    head = (f"{'model':<9}{'mode':<8}{'thr':>4}{'batch':>6}{'micro':>6}{'tile ops':>12}{'instr':>10}{'step s':>9}"
            f"{'steady s':>9}{'50k epoch':>10}{'us/tile op':>11}{'setup s':>9}{'peak MiB':>10}{'cycles':>15}"
            f"{'energy uJ':>12}")
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['model']:<9}{r['mode']:<8}{r.get('threads', 1):>4}{r['batch']:>6}  {r['error']}")
            continue
        lines.append(f"{r['model']:<9}{r['mode']:<8}{r.get('threads', 1):>4}{r['batch']:>6}{r['microbatch']:>6}"
                     f"{r['tile_ops']:>12,}"
                     f"{r['instructions']:>10,}{r['step_s']:>9.2f}{r['steady_s']:>9.2f}"
                     f"{epoch_minutes(r):>7.1f} min{r['steady_s'] / r['tile_ops'] * 1e6:>11.2f}"
                     f"{r['setup_s']:>9.2f}{r['peak_bytes'] / 2**20:>10.0f}{r['cycles']:>15,}"
                     f"{r['energy_pj'] / 1e6:>12.1f}")
    return "\n".join(lines)


def epoch_minutes(row: dict, images: int = 50_000) -> float:
    """Projected minutes of one ``images``-image training epoch from the steady step."""
    return -(-images // row["batch"]) * row["steady_s"] / 60


def growth(rows: list[dict]) -> list[str]:
    """Log-log slopes of step time against batch (per model and mode) and against tile ops (per mode)."""
    ok = [r for r in rows if "error" not in r]
    fewest = min((r.get("threads", 1) for r in ok), default=1)
    ok = [r for r in ok if r.get("threads", 1) == fewest]  # the slopes at one thread count
    out = []
    for mode in sorted({r["mode"] for r in ok}):
        for model in MODELS:
            sel = [r for r in ok if r["mode"] == mode and r["model"] == model]
            if len(sel) > 1:
                out.append(f"{mode:<7} {model:<9} step time ~ batch^{slope(sel, 'batch', 'steady_s'):.2f}, "
                           f"peak memory ~ batch^{slope(sel, 'batch', 'peak_bytes'):.2f}")
        sel = [r for r in ok if r["mode"] == mode]
        if len({r["model"] for r in sel}) > 1:
            out.append(f"{mode:<7} all models: step time ~ tile_ops^{slope(sel, 'tile_ops', 'steady_s'):.2f}")
    return out


def thread_table(rows: list[dict]) -> list[str]:
    """Per model, mode and batch measured at several thread counts: the steady step at each, its speedup over the
    fewest threads and the efficiency (speedup / thread ratio); with the baseline, its step and speedup too."""
    ok = [r for r in rows if "error" not in r]
    groups: dict[tuple, list[dict]] = {}
    for r in ok:
        groups.setdefault((r["model"], r["mode"], r["batch"]), []).append(r)
    groups = {k: sorted(v, key=lambda r: r["threads"]) for k, v in groups.items() if len(v) > 1}
    if not groups:
        return []
    lines = [f"{'model':<9}{'mode':<8}{'batch':>6}{'threads':>8}{'steady s':>10}{'speedup':>9}{'efficiency':>11}"
             f"{'baseline s':>11}{'speedup':>9}{'chip/base':>10}"]
    for (model, mode, batch), sel in groups.items():
        first = sel[0]
        for r in sel:
            ratio = r["threads"] / first["threads"]
            up = first["steady_s"] / r["steady_s"]
            line = f"{model:<9}{mode:<8}{batch:>6}{r['threads']:>8}{r['steady_s']:>10.2f}{up:>8.2f}x{up / ratio:>10.0%}"
            if "baseline_s" in r and "baseline_s" in first:
                line += (f"{r['baseline_s']:>11.2f}{first['baseline_s'] / r['baseline_s']:>8.2f}x"
                         f"{r['steady_s'] / r['baseline_s']:>10.2f}")
            lines.append(line)
    return lines


GOALS = {"vgg8": 3.0, "resnet18": 4.0}
"""Issue 14's full-fidelity step goals (s) at batch 64."""


def goals(rows: list[dict]) -> list[str]:
    out = []
    for model, limit in GOALS.items():
        r = next((r for r in rows if r["model"] == model and r["batch"] == 64 and r["mode"] == "full"
                  and r.get("threads", 1) == 1), None)
        if r is None or "error" in r:
            out.append(f"goal {model} full-fidelity step (batch 64) < {limit:g} s: not measured ({r and r['error']})")
            continue
        minutes = epoch_minutes(r)
        out.append(f"goal {model} full-fidelity step (batch 64) < {limit:g} s: "
                   f"{'met' if r['steady_s'] < limit else 'NOT met'} ({r['steady_s']:.1f} s steady); peak < 2 GiB: "
                   f"{'met' if r['peak_bytes'] < 2 * GIB else 'NOT met'} ({r['peak_bytes'] / GIB:.2f} GiB); "
                   f"50k-image epoch < 45 min: {'met' if minutes < 45 else 'NOT met'} ({minutes:.0f} min)")
    return out


def figure(rows: list[dict], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = [r for r in rows if "error" not in r]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for model in MODELS:
        for mode, style in (("timing", "o-"), ("full", "s--")):
            sel = sorted((r for r in ok if r["model"] == model and r["mode"] == mode), key=lambda r: r["batch"])
            if not sel:
                continue
            label = f"{model} {mode}"
            axes[0].plot([r["batch"] for r in sel], [r["steady_s"] for r in sel], style, label=label)
            axes[1].plot([r["tile_ops"] for r in sel], [r["steady_s"] for r in sel], style, label=label)
            axes[2].plot([r["batch"] for r in sel], [r["peak_bytes"] / 2**20 for r in sel], style, label=label)
    for ax, (xl, yl) in zip(axes, (("batch (images per step)", "wall time of one step (s)"),
                                   ("tile operations per step", "wall time of one step (s)"),
                                   ("batch (images per step)", "peak memory of the process (MiB)"))):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("socsim: one training step on 3x32x32 synthetic data (benchmarks/scaling.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="lenet5,vgg8,resnet18")
    ap.add_argument("--batches", default="8,16,32,64", help="batches of the timing-only points")
    ap.add_argument("--full-batches", default=None, help="batches of the full-fidelity points (default: --batches)")
    ap.add_argument("--modes", default="timing,full")
    ap.add_argument("--config", default="scaling", help="preset or TOML file (default: scaling)")
    ap.add_argument("--engine", default="fast", help="simulator engine (fast or reference)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per point")
    ap.add_argument("--figure", metavar="PNG", help="write the log-log figure here")
    ap.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    ap.add_argument("--threads", default="1", help="comma-separated thread counts, each point at each (default 1)")
    ap.add_argument("--baseline", action="store_true", help="time the numpy baseline's step too (full mode)")
    ap.add_argument("--point", nargs=3, metavar=("MODEL", "BATCH", "MODE"), help=argparse.SUPPRESS)
    ap.add_argument("--report", metavar="JSON", help="print the table, slopes and goals of rows saved by --json")
    args = ap.parse_args()
    if args.report:
        rows = json.loads(Path(args.report).read_text())
        print("\n".join([table(rows), ""] + growth(rows) + [""] + thread_table(rows) + [""] + goals(rows)))
        if args.figure:
            figure(rows, args.figure)
        return
    if args.point:
        model, batch, mode = args.point
        print(json.dumps(point(model, int(batch), mode, args.config, args.engine, int(args.threads),
                               args.baseline)))
        return
    print_header(load_line(), processor=True)
    batches = [int(b) for b in args.batches.split(",")]
    full_batches = [int(b) for b in args.full_batches.split(",")] if args.full_batches else batches
    thread_counts = [int(t) for t in args.threads.split(",")]
    rows = []
    for mode in args.modes.split(","):
        for model in args.models.split(","):
            for batch in (batches if mode == "timing" else full_batches):
                for threads in thread_counts:
                    rows.append(measure(model, batch, mode, args.config, args.timeout, args.engine, threads,
                                        args.baseline and mode == "full"))
                    print(table([rows[-1]]).splitlines()[-1], flush=True)
    print("\n" + table(rows))
    print("\n".join([""] + growth(rows) + [""] + thread_table(rows) + [""] + goals(rows)))
    print(load_line())
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.figure:
        figure(rows, args.figure)
        print(f"\nfigure -> {args.figure}")


if __name__ == "__main__":
    main()
