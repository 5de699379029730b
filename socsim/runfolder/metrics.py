"""One epoch's metrics row, typed: :class:`MetricsRow`, written to ``metrics.csv`` (one row per epoch) and kept in
the checkpoint. The columns and their order are the ones every socsim has written, so files stay readable both
ways; a row of an older run that lacks a later column reads with it as None and writes back without it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from socsim.base.errors import InputError

PHASE_COLUMNS = ("forward_energy_pj", "backward_energy_pj", "update_energy_pj", "calibrate_energy_pj")
"""The training energy split by the phase the ledger rows were marked with (pJ)."""


@dataclass
class MetricsRow:
    """Everything one epoch measured, from the ledgers and cycle counts of its two program runs (the training epoch
    and the evaluation). Energies in pJ, times in simulated seconds (``wall_s``: host seconds)."""

    epoch: int
    """Epochs finished (1-based)."""
    test_accuracy: float | None
    """Share of the test images classified right; None: not measured (timing only)."""
    train_images: int
    """Training images of the epoch."""
    train_cycles: int
    """Cycles of the training program."""
    train_s: float
    """Simulated seconds of the training program."""
    latency_per_image_s: float
    """``train_s`` per training image."""
    train_energy_pj: float
    """Energy of the training program (pJ), static included."""
    energy_per_image_pj: float
    """``train_energy_pj`` per training image."""
    static_energy_pj: float | None
    """Leakage part of ``train_energy_pj`` (pJ)."""
    step_latency_s: float | None
    """``train_s`` per optimizer step (batch)."""
    eval_cycles: int
    """Cycles of the evaluation program."""
    eval_energy_pj: float
    """Energy of the evaluation program (pJ)."""
    eval_images: int | None
    """Test images the evaluation program classified."""
    infer_latency_per_image_s: float | None
    """Evaluation seconds per test image: the epoch's weights as inference."""
    infer_energy_per_image_pj: float | None
    """Evaluation energy per test image (pJ)."""
    cells_written: float
    """Device cells programmed."""
    writes_per_weight: float
    """``cells_written`` per weight of the graph."""
    set_pulses: float
    """SET pulses applied."""
    reset_pulses: float
    """RESET pulses applied."""
    adc_saturated_share: float | None
    """Share of the ADC conversions whose input was over range; None: timing only (no currents)."""
    wall_s: float
    """Host seconds the epoch took."""
    forward_energy_pj: float
    backward_energy_pj: float
    update_energy_pj: float
    calibrate_energy_pj: float | None
    baseline_accuracy: float | None = None
    """The numpy FP32 baseline's accuracy after the same epoch, when it trains alongside (a column only then)."""
    absent: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """Columns the row was read without (an older socsim's): written back without them."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Columns this socsim does not know (a newer socsim's): kept as read, written back after the known ones."""

    def as_dict(self) -> dict[str, Any]:
        """The row as ``metrics.csv`` and the checkpoint hold it: the columns in their order."""
        out = {name: getattr(self, name) for name in COLUMNS if name not in self.absent}
        if self.baseline_accuracy is None:
            out.pop("baseline_accuracy", None)
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, row: Mapping[str, Any], where: str = "metrics row") -> MetricsRow:
        """A row as :meth:`as_dict` wrote it (or an older socsim); InputError naming ``where`` and the column if
        one that every socsim wrote is missing."""
        missing = [name for name in REQUIRED if name not in row]
        if missing:
            raise InputError(f"missing column {missing[0]!r} (every metrics row has {', '.join(REQUIRED)})",
                             field=where)
        known = {name: row.get(name) for name in COLUMNS}
        absent = frozenset(name for name in COLUMNS if name not in row and name != "baseline_accuracy")
        extra = {k: v for k, v in row.items() if k not in known}
        return cls(**known, absent=absent, extra=extra)


COLUMNS = tuple(f.name for f in fields(MetricsRow) if f.name not in ("absent", "extra"))
"""The columns of ``metrics.csv``, in order."""
REQUIRED = ("epoch", "test_accuracy", "train_images", "train_cycles", "train_s", "train_energy_pj",
            "energy_per_image_pj", "latency_per_image_s", "eval_cycles", "eval_energy_pj")
"""Columns every run's rows have (and every report needs); the others may be absent from an older run's."""


def as_dicts(rows: list[MetricsRow]) -> list[dict[str, Any]]:
    """The rows as ``metrics.csv`` and the checkpoint hold them."""
    return [r.as_dict() for r in rows]
