"""``OUT/sweep.html``: one self-contained page per sweep (inline CSS, figures as inline SVG, no other file).

What ran (base config, job, the swept and fixed fields), each figure with its Pareto front as a table, every point
with its metrics in display units, and the failed points with their errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from socsim.base.fileio import write_text
from socsim.report import html as H
from socsim.sweep.display import display
from socsim.sweep.pareto import pareto_table
from socsim.sweep.spec import FigureSpec, SweepSpec
from socsim.sweep.table import STATUS_OK


def _job_text(spec: SweepSpec) -> str:
    job = spec.job
    runs = f"; each point run {job.seeds} times (seeds +0 to +{job.seeds - 1})" if job.seeds > 1 else ""
    timing = " (timing only: no accuracy)" if job.timing_only else ""
    if job.kind == "program":
        return f"program {Path(job.program).name}{runs}"
    if job.kind == "infer":
        weights = f"trained weights of {job.weights}" if job.weights else "initial weights"
        images = f"{job.images} test images" if job.images else "every test image"
        return f"inference of {Path(job.graph).name} on {job.dataset}, {images}, {weights}{timing}{runs}"
    counts = ", ".join(f"{n} {what}" for n, what in ((job.train_examples, "training"), (job.test_examples, "test"))
                       if n is not None)
    epochs = f"{job.epochs} epochs" if job.epochs is not None else "each point's train.epochs"
    return (f"training {Path(job.graph).name} on {job.dataset}, {epochs}" + (f" ({counts} images)" if counts else "")
            + timing + runs)


def shown_table(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of ``table`` with metric columns renamed and scaled to their display units (3-4 digits); a
    metric with a ``{column}_std`` column (a summary's means) shows ``mean ± std``."""
    out = {}
    for c in columns:
        if c not in table:
            continue
        d = display(c, pd.to_numeric(table[c], errors="coerce"))
        if d.label == c:
            out[c] = table[c].tolist()
        else:
            values = d.values(pd.to_numeric(table[c], errors="coerce"))
            text = [f"{v:.4g}" if pd.notna(v) else "" for v in values]
            if f"{c}_std" in table:
                spread = d.values(pd.to_numeric(table[f"{c}_std"], errors="coerce"))
                text = [f"{t} ± {abs(e):.2g}" if t and pd.notna(e) else t for t, e in zip(text, spread)]
            out[d.label] = text
    return pd.DataFrame(out)


def _swept(spec: SweepSpec, table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for f in spec.fields:
        values = list(dict.fromkeys(str(v) for v in table[f])) if f in table else []
        rows.append({"field": f, "set by": "[set]" if f in spec.fixed else "[grid] / [[point]]",
                     "values": ", ".join(values)})
    return pd.DataFrame(rows, columns=["field", "set by", "values"])


def build_summary(spec: SweepSpec, table: pd.DataFrame, figures: Sequence[tuple[FigureSpec, str]],
                  runs: pd.DataFrame | None = None) -> str:
    """The page: ``figures`` are (figure spec, inline SVG markup) pairs, in the sweep's figure order. With ``[job]
    seeds`` > 1, ``table`` is the points' means (socsim.sweep.summary.means_table) and ``runs`` the results table
    of every run."""
    runs = table if runs is None else runs
    ok = table[table["status"] == STATUS_OK]
    failed = runs[runs["status"] != STATUS_OK]
    metrics = [m for m in spec.metrics if m in table]
    sections = [f"<p>Sweep file <code>{H.esc(spec.path)}</code>: base config <b>{H.esc(Path(spec.base).name)}</b>, "
                f"{H.esc(_job_text(spec))}. {len(table)} point(s), {len(runs)} run(s): {len(runs) - len(failed)} ok, "
                f"{len(failed)} failed. Energies and times are simulated, in the unit each column names; results.csv "
                "holds the exact numbers" + ("; summary.csv each metric's mean and standard deviation over a "
                                             "point's runs (shown as mean ± std; error bars: one std)"
                                             if spec.job.seeds > 1 else "") + ".</p>",
                "<h2>Swept fields</h2>", H.table(_swept(spec, table))]
    sections.append("<h2>Figures</h2>")
    for fig, markup in figures:
        xd, yd = display(fig.x, ok[fig.x] if fig.x in ok else ()), display(fig.y, ok[fig.y] if fig.y in ok else ())
        sections.append(H.figure(markup, f"{yd.label} vs {xd.label}; circled and joined: the Pareto front of each "
                                         f"panel's points ({fig.x} {fig.x_goal}, {fig.y} {fig.y_goal})."))
        front = pareto_table(spec, table, fig)
        if len(front) and fig.pareto:
            cols = list(dict.fromkeys(["point", *spec.fields, fig.x, fig.y]))
            sections.append(f"<p class='note'>Pareto front of {H.esc(yd.label)} vs {H.esc(xd.label)} over all "
                            "points:</p>"
                            + H.table(shown_table(front, cols)))
    if spec.job.seeds > 1:
        sections += ["<h2>Every point: mean ± std over its runs</h2>",
                     H.table(shown_table(table, ["point", *spec.fields, "n", "epochs", *metrics]))]
    sections += ["<h2>Every run</h2>" if spec.job.seeds > 1 else "<h2>Every point</h2>",
                 H.table(shown_table(runs, ["point", "replicate", "key", "status", *spec.fields, "epochs",
                                            *metrics]))]
    if len(failed):
        sections += ["<h2>Failed points</h2>", H.table(failed[["point", "key", "status", "error"]])]
    return H.page(f"socsim sweep: {spec.name}", sections)


def write_summary(spec: SweepSpec, table: pd.DataFrame, path: Path,
                  figures: Sequence[tuple[FigureSpec, str]], runs: pd.DataFrame | None = None) -> Path:
    """Write :func:`build_summary` to ``path``; returns it."""
    write_text(path, build_summary(spec, table, figures, runs))  # atomic; never through a link
    return path
