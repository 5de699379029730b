"""The report of a multi-seed run folder (``socsim report OUT`` on ``socsim train --seeds N``'s OUT): accuracy as
mean +- sample std over the seeds, as a figure with an error band and as tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from socsim.report import figures as F
from socsim.report import html as H
from socsim.runfolder.read import RunFolder, load_run
from socsim.runfolder.seeds import SUMMARY, SeedsSpec, seed_folder


def accuracy_band(summary: pd.DataFrame) -> Figure:
    """Test accuracy per epoch (%): the mean over the seeds with a band of +- one sample std, the numpy baseline's
    likewise when measured."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    e = summary["epoch"]
    n = int(summary["n"].max()) if len(summary) else 0
    for key, label, style in (("test_accuracy", "on the simulated chip", dict(marker="o")),
                              ("baseline_accuracy", "numpy FP32 baseline", dict(marker="s", ls="--", color="gray"))):
        mean = summary[f"{key}_mean"] * 100
        if mean.isna().all():
            continue
        std = summary[f"{key}_std"].fillna(0.0) * 100
        line, = ax.plot(e, mean, label=f"{label} (mean of {n})", **style)
        ax.fill_between(e, mean - std, mean + std, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    F._integer_epochs(ax, e)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Accuracy vs epoch over the seeds (band: +- 1 sample std)")
    fig.tight_layout()
    return fig


def seeds_table(runs: list[RunFolder]) -> pd.DataFrame:
    """Per seed and epoch: the config seeds and the test (and baseline) accuracy."""
    rows = []
    for i, run in enumerate(runs):
        m = run.metrics
        for _, r in m.iterrows():
            cfg = run.config
            rows.append({"seed_index": i, "config_seed": cfg.seed if cfg else None,
                         "init_seed": cfg.train.init_seed if cfg else None, "epoch": int(r["epoch"]),
                         "test_accuracy": r["test_accuracy"], "baseline_accuracy": r.get("baseline_accuracy")})
    return pd.DataFrame(rows)


def build_seeds_report(out: Path, embed: str = "svg") -> str:
    """The HTML page of a multi-seed run folder: the accuracy band, the summary's accuracy columns, every seed's
    accuracy, and the seed folders (each has its own report)."""
    out = Path(out)
    spec = SeedsSpec.load(out)
    runs = [load_run(seed_folder(out, i)) for i in range(spec.seeds) if (seed_folder(out, i) / "metrics.csv").is_file()]
    summary = pd.read_csv(out / SUMMARY)
    fig = accuracy_band(summary)
    accuracy = summary[["epoch", "n", "test_accuracy_mean", "test_accuracy_std", "baseline_accuracy_mean",
                        "baseline_accuracy_std"]]
    intro = (f"<p>{H.esc(spec.run.graph)} on config <b>{H.esc(spec.run.config)}</b>, dataset "
             f"{H.esc(spec.run.dataset)}, {spec.run.epochs} epochs, {len(runs)} of {spec.seeds} seeds trained "
             f"(seed i: config seed + i, which moves the data order, and train.init_seed + 1000 i). Std is the "
             f"sample standard deviation (ddof = 1) over the seeds. Folder <code>{H.esc(out)}</code>; every "
             f"metric's mean and std per epoch are in <code>{SUMMARY}</code>, each seed's run folder "
             f"(<code>seed-0</code> ...) has its own report.</p>")
    sections = [intro, "<h2>Accuracy over the seeds</h2>",
                H.figure(F.embed(fig, embed), "Mean test accuracy per epoch over the seeds; the band is +- one "
                                              "sample standard deviation."),
                "<h3>Per epoch (mean and std over the seeds)</h3>", H.table(accuracy),
                "<h3>Per seed</h3>", H.table(seeds_table(runs))]
    return H.page(f"socsim report: {out.name} ({spec.seeds} seeds)", sections)
