"""Headline numbers of a run: TOPS/W, energy and latency per training image, accuracy, device writes.

How the operations of TOPS/W are counted (shown on the report page too): a tile MVM over a block of R
rows and C weights records ``tile_mac`` = vectors x R x C in the ledger (a zero-priced counter): one MAC per
weight and input, whatever pulses, weight slices or pairs compute it, and ops = 2 x MACs. (Ledgers of an older
socsim lack the counter; there MACs = ``array_cell`` / (b x bit lines per weight) with ``array_cell`` = vectors x
R x bit lines x b, exact for binary b-bit inputs and one pair per weight only; ``b`` is the DAC input bits every
``tcfg`` of the compiled program sets, config ``train.in_bits``, 0 = analog counting as 1 pulse.) Only tile MVMs
(``mvm``, ``mvms``, ``mvmt``) count as ops; the digital unit's FP32 work (backward, optimizer) costs energy but adds
no ops. The count is cross-checked against the mapping's geometry (rows x cols x MVMs per image of each layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from socsim.base.actions import Action
from socsim.pricing.area import total_area_mm2

if TYPE_CHECKING:
    from isa.program import Program
    from socsim.runfolder.read import RunFolder

MVM_OPCODES = ("mvm", "mvmt", "mvms")
TILE_MVM_ACTIONS = (Action.DAC_PULSE, Action.ARRAY_CELL, Action.ADC_CONVERSION, Action.SHIFT_ADD)
"""Actions of the tile's MVM datapath (DACs, array, ADC + TIA, shift-add): the 'tile' energy of TOPS/W."""


def tile_macs(ledger: pd.DataFrame, in_bits: int, differential: bool) -> float:
    """Multiply-accumulates (one per weight and input vector element) of the tile MVMs in ``ledger``: their
    ``tile_mac`` counters; for a ledger of an older socsim without them, ``array_cell / (in_bits x bit lines per
    weight)``, which holds for binary pulses and one pair (or device) per weight only."""
    mvm = ledger["opcode"].isin(MVM_OPCODES)
    macs = ledger["action"] == Action.TILE_MAC
    if macs.any():
        return float(ledger.loc[macs & mvm, "count"].sum())
    cells = ledger.loc[(ledger["action"] == Action.ARRAY_CELL) & mvm, "count"].sum()
    return float(cells) / (max(1, in_bits) * (2 if differential else 1))


def tile_mvm_energy_pj(ledger: pd.DataFrame) -> float:
    """Energy of the tile MVM datapath (:data:`TILE_MVM_ACTIONS` of :data:`MVM_OPCODES` rows), pJ."""
    rows = ledger["action"].isin(TILE_MVM_ACTIONS) & ledger["opcode"].isin(MVM_OPCODES)
    return float(ledger.loc[rows, "energy_pj"].sum())


def tops_per_w(ops: float, energy_pj: float) -> float:
    """Operations per second per watt = ops per joule / 1e12 (``energy_pj`` in pJ)."""
    return ops / (energy_pj * 1e-12) / 1e12 if energy_pj > 0 else float("nan")


def program_in_bits(program: "Program") -> int | None:
    """The DAC input bits every ``tcfg`` of ``program`` sets, or None when they differ or there is none."""
    bits = {ins.args[-1] for ins in program.instructions if ins.spec.mnemonic == "tcfg"}
    return int(bits.pop()) if len(bits) == 1 else None


@dataclass(frozen=True)
class Headline:
    """The numbers at the top of a report. Energy in pJ, time in s, accuracy as a fraction."""

    final_accuracy: float
    baseline_accuracy: float | None
    energy_per_image_pj: float
    """Training energy per training image, mean over epochs (every unit, memory and the bus)."""
    latency_per_image_s: float
    """Simulated training time per training image, mean over epochs."""
    train_energy_pj: float
    eval_energy_pj: float
    tile_macs: float
    """MACs of every tile MVM in the ledger (training and evaluation programs, all epochs)."""
    tile_energy_pj: float
    """Energy of those MVMs' datapath (DAC, array, ADC, shift-add)."""
    total_energy_pj: float
    """Energy of every ledger row (training and evaluation)."""
    forward_macs_per_image: float
    """Ledger: forward-phase tile MACs of the training program / training images."""
    geometry_macs_per_image: float | None
    """Mapping: forward MACs per image from layer geometry (None without the graph)."""
    writes_per_weight: float
    step_latency_s: float = float("nan")
    """Simulated time of one training batch (forward, backward and update of its images), mean over epochs."""
    infer_latency_per_image_s: float = float("nan")
    """Evaluation-program cycles / clock / test images, mean over epochs: inference per image."""
    infer_energy_per_image_pj: float = float("nan")
    """Evaluation-program energy / test images, mean over epochs."""
    static_energy_pj: float = float("nan")
    """Leakage energy of every ledger row (training and evaluation)."""
    area_mm2: float = float("nan")
    """Chip area of the run's config (socsim.pricing.area)."""

    @property
    def ops(self) -> float:
        return 2.0 * self.tile_macs

    @property
    def tops_per_w_tile(self) -> float:
        return tops_per_w(self.ops, self.tile_energy_pj)

    @property
    def tops_per_w_system(self) -> float:
        return tops_per_w(self.ops, self.total_energy_pj)


def headline(run: "RunFolder") -> Headline:
    """The headline numbers of a run folder."""
    m, led = run.metrics, run.ledger
    cfg = run.soc_config
    bits, differential = int(cfg.train.in_bits), bool(cfg.tiles.differential)
    macs = tile_macs(led, bits, differential)
    train = led[led["program"] == "train"] if "program" in led else led
    fwd = tile_macs(train[train["phase"] == "forward"], bits, differential)
    images = max(run.train_images, 1)
    geo = None if run.mapping is None else float(run.mapping["geometry_macs_per_image"])
    base = float(m["baseline_accuracy"].iloc[-1]) if "baseline_accuracy" in m and len(m) else None
    per_epoch = _per_epoch(m)
    return Headline(
        final_accuracy=float(m["test_accuracy"].iloc[-1]) if len(m) else float("nan"),
        baseline_accuracy=base,
        energy_per_image_pj=float(m["train_energy_pj"].sum()) / images,
        latency_per_image_s=float(m["train_s"].sum()) / images,
        train_energy_pj=float(m["train_energy_pj"].sum()),
        eval_energy_pj=float(m["eval_energy_pj"].sum()) if "eval_energy_pj" in m else 0.0,
        tile_macs=macs, tile_energy_pj=tile_mvm_energy_pj(led), total_energy_pj=float(led["energy_pj"].sum()),
        forward_macs_per_image=fwd / images, geometry_macs_per_image=geo,
        writes_per_weight=float(m["writes_per_weight"].sum()) if "writes_per_weight" in m else 0.0,
        **per_epoch, static_energy_pj=float(led.loc[led["action"] == Action.LEAKAGE, "energy_pj"].sum()),
        area_mm2=total_area_mm2(cfg) if run.config is not None else float("nan"))


def _per_epoch(m: pd.DataFrame) -> dict[str, float]:
    """Means over epochs of the step and inference columns of metrics.csv (NaN when a run lacks them)."""
    out = {}
    for name in ("step_latency_s", "infer_latency_per_image_s", "infer_energy_per_image_pj"):
        out[name] = float(m[name].mean()) if name in m and len(m) else float("nan")
    return out


def result_tile_macs(result) -> float:
    """Tile MACs of one :class:`Result`, with the input bits its program's ``tcfg`` set (the config's
    ``train.in_bits`` when the program sets several or none)."""
    bits = program_in_bits(result.program)
    return tile_macs(result.ledger, result.cfg.train.in_bits if bits is None else bits,
                     result.cfg.tiles.differential)
