"""The report of a run folder (``socsim report RUN_DIR``) and the comparison page (``socsim compare``).

:func:`run_figures` and :func:`run_tables` give the pieces; :func:`build_report` lays them out as one
self-contained HTML page; :func:`export` writes the tables (CSV, JSON) and figures (PNG, SVG) as files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
from matplotlib.figure import Figure

from socsim.base.configtools import to_mapping
from socsim.base.units import fmt_energy, fmt_time
from socsim.report import figures as F
from socsim.report import html as H
from socsim.report.compare import CONFIG_ROW, compare_table, run_labels
from socsim.report.devices import device_values, endurance, placed_masks
from socsim.report.headline import Headline, headline
from socsim.report.tables import elapsed_rows, layer_phase_pivot, run_tables, write_tables
from socsim.runfolder.files import DRIFT
from socsim.runfolder.read import RunFolder

DERIVATION = [
    "Every energy is a count of hardware actions recorded in the ledger by the unit that performed them, "
    "priced by the config's [energy] table (shown below); nothing else adds energy.",
    "Energy per training image = training-program energy of all epochs / training images of all epochs "
    "(every unit, memory, bus and DRAM access; evaluation excluded).",
    "Latency per training image = simulated cycles of the training program / clock / training images, "
    "mean over epochs; per batch step = the same cycles / batches (forward, backward and update of one batch).",
    "Inference per test image = cycles (and energy) of the evaluation program / clock / test images, mean over "
    "epochs: the program socsim infer runs.",
    "Static energy = every component's leakage power (the config's [area] table) x the simulated time, in the "
    "ledger as leakage rows attributed to the layer and phase of each cycle; chip area = the sum of the area "
    "table (socsim area CONFIG).",
    "Elapsed time by layer: each cycle of a program goes to the unit job that started most recently among those "
    "running (the next job to start when none runs), so the layers' elapsed times add up to the program's time.",
    "TOPS/W: ops = 2 x MACs of the tile MVMs (mvm, mvmt) in the ledger, training and evaluation. A tile MVM "
    "records tile_mac = vectors x rows x weights: one MAC per weight (a G+/G- pair, or a weight of several "
    "slices, counts once) and input, whatever the input pulses. Tile TOPS/W divides by the "
    "energy of the MVM datapath (DAC pulses, array, ADC + TIA, shift-add); system TOPS/W by all energy of both "
    "programs. Digital-unit FP32 work (backward, optimizer) costs energy but is not counted as ops. "
    "Wu et al. count one MAC per device column (3.08 TOPS/W for a 64x64 array); multiply the tile figure by "
    "the bit lines per weight (2 for differential) to compare.",
    "Busy cycles per unit come from the ledger's busy rows; units work in parallel, so busy times overlap and "
    "add up to more than the elapsed time. Utilization = busy cycles / elapsed cycles of all programs.",
]


def run_figures(run: RunFolder) -> dict[str, tuple[Figure, str]]:
    """Every figure of a run folder, by file stem: (figure, caption)."""
    led = run.ledger
    train = led[led["program"] == "train"] if "program" in led else led
    masks = placed_masks(run)
    figs: dict[str, tuple[Figure, str]] = {
        "accuracy": (F.accuracy_curve(run.metrics), "Test accuracy after each epoch."),
        "energy_breakdown": (F.energy_breakdown(train, run.train_images),
                             "Training-program energy per training image, by layer and by phase, stacked by "
                             "component."),
        "energy_by_class": (F.energy_by_class(train, run.train_images),
                            "Training-program energy per training image by layer, stacked by component class "
                            "(ADC includes the TIA, full-scale setting and shift-add; SRAM the data and accumulator "
                            "SRAMs and the tile buffers; static the leakage of every component)."),
        "latency_breakdown": (F.latency_breakdown(train, run.clock_hz, run.train_images,
                                                  float(run.metrics["train_cycles"].sum())),
                              "Training program per image. Left: elapsed time by layer and phase (each cycle "
                              "attributed to one layer; the bars add up to the elapsed time). Right: busy time per "
                              "unit and phase; the dashed line is the elapsed time per image (units overlap)."),
    }
    e = endurance(run, masks)
    final_w = device_values(run.final, "writes", masks)
    init_w = device_values(run.initial, "writes", masks, touched=run.final)
    figs["device_writes"] = (F.device_writes(final_w, init_w, e.endurance_pulses if e else 0.0),
                             "Programming pulses per device under placed weight blocks (both devices of a pair).")
    if run.final and any(k.endswith("_g") for k in run.final):
        kind, quantity, caption = "g", "conductance (uS)", "Conductances of the used devices (G+ and G- pooled)"
    else:
        kind, quantity, caption = "w", "weight (ideal device model)", "Weights stored by the ideal model"
    figs["conductances"] = (F.conductance_distribution(device_values(run.initial, kind, masks, touched=run.final),
                                                       device_values(run.final, kind, masks), quantity),
                            caption + " before and after training.")
    if (run.path / DRIFT).is_file():
        figs["drift"] = (F.drift_curve(pd.read_csv(run.path / DRIFT)),
                         "Test accuracy at later times as the devices drift (socsim drift; drift.csv).")
    if run.timeline is not None:
        figs["utilization_timeline"] = (F.utilization_timeline(run.timeline, run.clock_hz),
                                        "Per-unit activity from the run's trace.json.")
    return figs


def _energy(pj: float) -> str:
    return fmt_energy(pj, 4)


def _maybe(value: float, fmt) -> str:
    """``fmt(value, 4)``, or "not recorded" for a run folder written before the number was measured."""
    return fmt(value, 4) if value == value else "not recorded"


def headline_cards(h: Headline, run: RunFolder) -> list[tuple[str, str]]:
    e = endurance(run, placed_masks(run))
    acc = f"{h.final_accuracy:.2%}"
    base = f" (FP32 baseline {h.baseline_accuracy:.2%})" if h.baseline_accuracy is not None else ""
    items = [("final test accuracy" + base, acc),
             ("energy per training image", _energy(h.energy_per_image_pj)),
             ("latency per training image", fmt_time(h.latency_per_image_s, 4)),
             ("latency per training batch step", _maybe(h.step_latency_s, fmt_time)),
             ("inference latency per test image", _maybe(h.infer_latency_per_image_s, fmt_time)),
             ("inference energy per test image", _maybe(h.infer_energy_per_image_pj, fmt_energy)),
             ("static (leakage) share of all energy", _maybe(h.static_energy_pj / h.total_energy_pj
                                                             if h.total_energy_pj else float("nan"),
                                                             lambda v, _d: f"{v:.2%}")),
             ("chip area", _maybe(h.area_mm2, lambda v, _d: f"{v:.4g} mm^2")),
             ("TOPS/W, tile MVM datapath", f"{h.tops_per_w_tile:.3g}"),
             ("TOPS/W, whole chip (tile ops)", f"{h.tops_per_w_system:.3g}"),
             ("writes per weight (all epochs)", f"{h.writes_per_weight:.3g}")]
    if e is not None:
        margin = "unlimited" if e.endurance_pulses <= 0 else f"{e.margin:,.1f}x, ~{e.epochs_to_limit:,.0f} more epochs"
        items.append((f"max pulses per device (endurance margin {margin})", f"{e.max_writes:,}"))
    return items


def _mapping_text(run: RunFolder) -> str:
    """The mapping the run's programs were compiled with (its mapping.json)."""
    if run.mapping is None:
        return "no mapping.json in the run folder (a run of an older socsim): the mapping is not recorded"
    return (run.mapping["text"] + "\n\nplacement used by the lowering (column strips):\n"
            + run.mapping["placement"]["table"])


def build_report(run: RunFolder, embed: str = "svg", figures: dict[str, tuple[Figure, str]] | None = None) -> str:
    """The HTML page of ``run``: headline, derivations, figures, tables, mapping and config.

    ``figures`` (from :func:`run_figures`) are made when not given; they are closed once embedded."""
    h = headline(run)
    tables = run_tables(run)
    args, cfg = run.args, run.config
    intro = (f"<p>{H.esc(args.graph if args else '?')} on config <b>{H.esc(cfg.name if cfg else '?')}</b> "
             f"(scheme {H.esc(cfg.train.scheme.value if cfg else '?')}), dataset "
             f"{H.esc(args.dataset if args else '?')}, {run.epochs} epochs, {run.train_images:,} training images, "
             f"clock {run.clock_hz / 1e6:g} MHz. Run folder <code>{H.esc(run.path)}</code>.</p>"
             + (f"<p class='note'>Images: {H.esc(args.images_used)}.</p>" if args and args.images_used else ""))
    check = (f"Forward tile MACs per training image: {h.forward_macs_per_image:,.0f} from the ledger"
             + (f", {h.geometry_macs_per_image:,.0f} from the mapping's geometry"
                if h.geometry_macs_per_image is not None else "") + ".")
    sections = [intro, H.cards(headline_cards(h, run)),
                "<h2>How the numbers are derived</h2><ul class='note'>"
                + "".join(f"<li>{H.esc(t)}</li>" for t in DERIVATION) + f"<li>{H.esc(check)}</li></ul>",
                "<h2>Figures</h2>"]
    figures = run_figures(run) if figures is None else figures
    sections += [H.figure(F.embed(fig, embed), cap) for fig, cap in figures.values()]
    titles = {"epochs": "Per epoch", "components": "Per component (all programs, all epochs)",
              "layers": "Per layer x phase (all programs, all epochs)",
              "layer_classes": "Per layer x component class (all programs, all epochs)", "opcodes": "Per opcode",
              "actions": "Energy table as applied: actions, counts, price per action"}
    sections.append("<h2>Tables</h2><p class='note'>Energies and times in the unit that fits, 4 significant "
                    "digits; the exported CSV and JSON tables (--export) hold the exact numbers in pJ and s.</p>")
    for name, df in tables.items():
        sections.append(f"<h3>{H.esc(titles.get(name, name))}</h3>" + H.table(df, units=True))
        if name == "layers":
            sections.append("<p class='note'>Energy pivoted, layer x phase:</p>"
                            + H.table(layer_phase_pivot(run.ledger), units=True))
            sections.append("<p class='note'>Elapsed cycles pivoted, layer x phase (each cycle of every program "
                            "attributed to one layer; they add up to the programs' cycles):</p>"
                            + H.table(layer_phase_pivot(elapsed_rows(run.ledger), "cycles"), units=True))
    sections += ["<h2>Mapping</h2>", H.pre(_mapping_text(run)),
                 "<h2>Configuration</h2><details><summary>config.json and run.json</summary>"
                 + H.pre(json.dumps({"run": to_mapping(run.args) if run.args else {}, "config": run.config_mapping},
                                    indent=2)) + "</details>"]
    return H.page(f"socsim report: {run.name}", sections)


def export(run: RunFolder, out_dir: str | Path, table_formats: Iterable[str] = ("csv", "json"),
           figure_formats: Iterable[str] = ("png", "svg"),
           figures: dict[str, tuple[Figure, str]] | None = None) -> list[Path]:
    """Write every table and figure of ``run`` into ``out_dir``; returns the paths. Given ``figures`` are
    saved and left open (to embed them next); figures made here are closed."""
    import matplotlib.pyplot as plt  # deferred: pyplot starts a backend; only the export closes figures with it
    out = Path(out_dir)
    paths = write_tables(run_tables(run), out, tuple(table_formats))
    for stem, (fig, _) in (figures or run_figures(run)).items():
        paths += F.save_figure(fig, out / stem, tuple(figure_formats))
        if figures is None:
            plt.close(fig)
    return paths


def build_compare(runs: Sequence[RunFolder], embed: str = "svg") -> str:
    """The comparison page: the side-by-side table (with the differing config fields and the ratios to the first
    run) and accuracy, energy and latency figures."""
    table = compare_table(runs)
    labels = run_labels(runs)
    per_run = table[labels].T
    per_image = per_run[[c for c in table.index if c.endswith("_energy_per_image_pj") and c != "energy_per_image_pj"
                         and not c.startswith(CONFIG_ROW)]]
    sections = [f"<p>{len(runs)} runs: " + ", ".join(f"<code>{H.esc(r.path)}</code>" for r in runs)
                + f". Ratio columns divide each run's numbers by the first run's ({H.esc(labels[0])}); "
                  "<code>config:</code> rows are the config fields in which the runs differ.</p>",
                H.table(format_compare(table), index=True),
                H.figure(F.embed(F.compare_accuracy(dict(zip(labels, (r.metrics for r in runs)))), embed),
                         "Test accuracy per epoch, each run offset sideways by a fraction of an epoch so that equal "
                         "values stay visible; gray: the FP32 baselines (one line per distinct baseline)."),
                H.figure(F.embed(F.compare_energy(per_image), embed),
                         "Training energy per image by phase (every phase of the training program: the bars' "
                         "totals are the energy per training image of the table)."),
                H.figure(F.embed(F.compare_latency(per_run["latency_per_image_s"]), embed),
                         "Simulated latency per training image (training-program cycles / clock / images).")]
    return H.page("socsim compare", sections)


def _display_cell(quantity: str, value: object) -> str:
    """One run cell of the compare table for reading: energies and times in the unit that fits (4 digits), config
    booleans as true/false, everything else by :func:`html.fmt_value`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    number = isinstance(value, (int, float)) and math.isfinite(float(value))
    if number and quantity.endswith("_pj") and not quantity.startswith(CONFIG_ROW):
        return fmt_energy(float(value), 4)
    if number and quantity.endswith("_s") and not quantity.startswith(CONFIG_ROW):
        return fmt_time(float(value), 4)
    return H.fmt_value(quantity, value)


def display_name(quantity: str) -> str:
    """A row name for reading: the unit suffix dropped where the cells carry their unit (``train_energy``)."""
    if quantity.startswith(CONFIG_ROW):
        return quantity
    return quantity.removesuffix("_pj").removesuffix("_s") if quantity.endswith(("_pj", "_s")) else quantity


def format_compare(table: pd.DataFrame) -> pd.DataFrame:
    """The compare table as text cells for reading: run columns by :func:`_display_cell` (energies and times with
    their unit), ratio columns as ``1.23x`` (empty where there is no ratio)."""
    runs = table.attrs.get("runs", list(table.columns))
    cols = {}
    for c in table.columns:
        if c in runs:
            cols[c] = [_display_cell(str(q), v) for q, v in table[c].items()]
        else:
            cols[c] = [H.fmt_ratio(v) for v in table[c]]
    out = pd.DataFrame(cols, index=[display_name(str(q)) for q in table.index])
    out.index.name = table.index.name
    return out


def compare_text(runs: Sequence[RunFolder]) -> str:
    """The side-by-side table as fixed-width text (stdout of ``socsim compare``)."""
    return format_compare(compare_table(runs)).to_string()
