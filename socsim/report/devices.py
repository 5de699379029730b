"""Device state of a run folder: programming pulses per device, conductances, endurance margin.

conductances*.npz hold, per tile i, ``tile{i}_g`` (2, slices, rows, cols) in uS (index 0 = G+, 1 = G-),
``tile{i}_writes`` (same shape, programming pulses each device has taken since fabrication) and, for the
ideal model, ``tile{i}_w`` (rows, cols) weights instead. Only devices under a placed weight block count:
the rest of a partly used array is never programmed and would pile up at zero writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from socsim.runfolder.read import RunFolder

Masks = dict[int, np.ndarray]
"""Per tile index: a (rows, cols) bool array, True where a weight block is placed."""


def tiles_in(state: dict[str, np.ndarray], kind: str) -> list[int]:
    """Tile indices that have an array ``tile{i}_{kind}`` in ``state``, in order."""
    found = (re.fullmatch(rf"tile(\d+)_{kind}", k) for k in state)
    return sorted(int(m.group(1)) for m in found if m)


def array_shape(run: "RunFolder") -> tuple[int, int]:
    """(word lines, weights per row) of the run's tiles: ``tiles.rows`` and the weight columns that
    ``tiles.bitlines`` hold (socsim.config.soc.TileConfig.weight_cols: bit lines / devices per weight). A config.json
    that no longer loads as a config falls back to the extent of the placed blocks."""
    try:
        tiles = run.soc_config.tiles
        return tiles.rows, tiles.weight_cols
    except ValueError:  # ConfigError: a config.json of another socsim version
        blocks = run.mapping["placement"]["blocks"] if run.mapping else []
        return (max((b["tile_row"] + b["rows"] for b in blocks), default=1),
                max((b["tile_col"] + b["cols"] for b in blocks), default=1))


def placed_masks(run: "RunFolder") -> Masks | None:
    """Where the lowering placed weight blocks, as the run folder's mapping.json records them, or None for a run
    without one."""
    if run.mapping is None:
        return None
    rows, cols = array_shape(run)
    masks: Masks = {}
    for b in run.mapping["placement"]["blocks"]:
        m = masks.setdefault(int(b["tile"]), np.zeros((rows, cols), dtype=bool))
        m[b["tile_row"]:b["tile_row"] + b["rows"], b["tile_col"]:b["tile_col"] + b["cols"]] = True
    return masks


def _select(state: dict[str, np.ndarray], kind: str, masks: Masks | None,
            touched: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Values of ``tile{i}_{kind}`` under the masks, flattened (every device of a pair and slice).
    Without masks: every device of tiles that ``touched`` (default ``state``) shows programmed."""
    out = []
    ref = touched if touched is not None else state
    for i in tiles_in(state, kind):
        a = state[f"tile{i}_{kind}"]
        if masks is not None:
            if i in masks:
                out.append(a[..., masks[i]].ravel())
        elif np.any(ref.get(f"tile{i}_writes", np.zeros(1))) or kind == "w":
            out.append(a.ravel())
    return np.concatenate(out) if out else np.zeros(0)


def device_values(state: dict[str, np.ndarray] | None, kind: str, masks: Masks | None,
                  touched: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Flattened ``kind`` ("g", "writes" or "w") of the used devices; empty when absent."""
    if not state or not tiles_in(state, kind):
        return np.zeros(0)
    return _select(state, kind, masks, touched)


@dataclass(frozen=True)
class Endurance:
    """Programming pulses per device against the device's endurance limit."""

    devices: int
    """Devices counted (under placed blocks, both devices of a pair, every slice)."""
    max_writes: int
    """Most pulses any device has taken (since fabrication, including the initial programming)."""
    mean_writes: float
    training_writes_max: int
    """Most pulses a device took during training (final minus initial counters)."""
    endurance_pulses: float
    """The device's limit from config tiles.physics.device.endurance_pulses (0 = unlimited)."""
    epochs: int

    @property
    def margin(self) -> float:
        """endurance_pulses / max_writes (inf when unlimited or no device written)."""
        if self.endurance_pulses <= 0 or self.max_writes == 0:
            return float("inf")
        return self.endurance_pulses / self.max_writes

    @property
    def epochs_to_limit(self) -> float:
        """Further epochs until the most-written device reaches the limit, at the mean per-epoch rate of the
        most-written device during training (inf when unlimited or no training writes)."""
        if self.endurance_pulses <= 0 or self.training_writes_max == 0 or self.epochs == 0:
            return float("inf")
        rate = self.training_writes_max / self.epochs
        return max(self.endurance_pulses - self.max_writes, 0) / rate


def endurance(run: "RunFolder", masks: Masks | None = None) -> Endurance | None:
    """Write counts of the final device state against the endurance limit; None without write counters."""
    final = device_values(run.final, "writes", masks)
    if final.size == 0:
        return None
    initial = device_values(run.initial, "writes", masks, touched=run.final)
    delta = final - initial if initial.shape == final.shape else final
    return Endurance(int(final.size), int(final.max()), float(final.mean()), int(delta.max()),
                     float(run.device.get("endurance_pulses", 0.0)), run.epochs)
