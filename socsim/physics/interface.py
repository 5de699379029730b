"""The contract between a CIM tile (timing, in ``socsim.sim``) and its array numerics (here).

Weights are in *weight units*: the model maps them onto device conductances (for example a
differential pair, w = (G+ - G-) / (G_max - G_min) * w_max) and back. Inputs to an MVM are DAC
codes: integer-valued float32 in the signed range of ``in_bits`` bits (``in_bits = 0`` means an
ideal, unquantised analog input). Outputs are in (input code x weight unit), after the ADC model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping

import numpy as np

from isa.program import BadOperand
from socsim.base.registry import register
from socsim.physics import state as _state
from socsim.physics.draws import Stream


@dataclass(frozen=True)
class ProgramReport:
    """What one programming operation did, for the ledger (energy) and the tile (timing).

    Counts are totals over the programmed cells; ``pulse_rounds`` is the number of sequential
    pulse slots when all selected cells in a round are pulsed in parallel (the longest cell's
    pulse count for write-verify with row-parallel programming).
    """

    cells: int = 0
    """Weights whose devices were addressed."""
    set_pulses: int = 0
    """SET (potentiating) pulses applied, all devices."""
    reset_pulses: int = 0
    """RESET (depressing) pulses applied, all devices."""
    verify_reads: int = 0
    """Verify read operations (one per device per write-verify iteration)."""
    pulse_rounds: int = 0
    """Sequential pulse slots needed (sets the programming latency)."""
    worn_out: int = 0
    """Devices that reached their endurance limit during this operation (now stuck)."""
    failed: int = 0
    """Devices still outside the verify window after the last allowed trial."""
    refreshed: int = 0
    """Weights whose device pairs were refreshed (carry, RESET, reprogram; PCM hybrid scheme)."""

    def __add__(self, other: "ProgramReport") -> "ProgramReport":
        return ProgramReport(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class CellArea:
    """The area table's device cells (the config's ``[area]``, docs/area.md), in F^2 of its feature size."""

    rram_f2: float
    """One 1T1R cell."""
    sram_f2: float
    """One 6T SRAM bit cell."""


MODELS: dict[str, type["Crossbar"]] = {}
"""Every array model by its ``name`` (``tiles.physics.model``): filled by :class:`Crossbar` itself when a subclass
that sets ``name`` is defined, so the registry is the set of model classes, never a list kept by hand."""


def model_names() -> list[str]:
    """Names of the registered array models, sorted (what ``tiles.physics.model`` accepts)."""
    return sorted(MODELS)


class Crossbar(ABC):
    """Numerics of one CIM tile: ``rows`` word lines (inputs) by ``cols`` weight columns.

    Every method works on the block ``[r0:r0+nr, c0:c0+nc]``; ``t_s`` is the simulated time in
    seconds (for drift and timestamps). Random numbers are counter-based (:mod:`socsim.physics.draws`):
    a read's noise depends on the tile's stream key and the read's number, never on the order of calls,
    so :meth:`mvm_lanes` evaluates L independent reads at once with the same result as one at a time.

    A subclass that sets ``name`` is an array model: it registers itself in :data:`MODELS` when defined, is built as
    ``cls(rows, cols, params, rng, stream)`` and answers what the compiler and the tile's geometry ask of a model
    (:meth:`weight_level`, :meth:`pulse_step`, :meth:`slices`, :attr:`exact`) and the area table
    (:meth:`cell_f2`).
    """

    name: ClassVar[str]
    """The model's name in a config (``tiles.physics.model``)."""
    exact: ClassVar[bool] = False
    """True for a model without devices or converters (the ideal array): it stores weights exactly, multiplies its
    inputs as they are (no DAC), has no read path to calibrate and no device pairs to read single-ended."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register(MODELS, cls, "name", "array model")

    @classmethod
    def weight_level(cls, params: Any) -> float:
        """One programming level of one device in weight units, for :class:`socsim.physics.params.PhysicsParams`
        ``params`` (the wu2023 threshold); 0 for exact or continuous weights (this default)."""
        return 0.0

    @classmethod
    def pulse_step(cls, params: Any) -> float:
        """Nominal weight change of one open-loop pulse (weight units): ``dw_per_pulse`` unless the model says
        otherwise."""
        return float(params.dw_per_pulse)

    @classmethod
    def slices(cls, params: Any) -> int:
        """Device pairs per weight (1 unless the model slices a weight)."""
        return 1

    @classmethod
    def cell_f2(cls, cells: CellArea) -> float:
        """Area of one device cell of the array (F^2): the table's 1T1R cell unless the model says otherwise."""
        return cells.rram_f2

    rows: int
    cols: int
    params: Any
    """The model's :class:`socsim.physics.params.PhysicsParams`."""
    stream: Stream
    """This tile's draw counters (reads and programming operations so far)."""
    time_dependent_reads: ClassVar[bool] = False
    """True if a read's result depends on its time (drift): lanes are then read one at a time."""
    saturated: int = 0
    """ADC conversions of the single-read methods (:meth:`mvm`, :meth:`mvm_t`) whose input exceeded the
    converter's range."""
    STATE: ClassVar[tuple[str, ...]] = ("stream.reads", "stream.programs", "saturated")
    """Attributes that change after construction (dotted for a part's, e.g. ``stream.reads``): what a
    checkpoint holds; the rest is rebuilt from the config and seed (socsim.physics.state)."""

    def state_dict(self) -> dict[str, Any]:
        """The mutable state: arrays (copies) and numbers."""
        return _state.get_state(self, self.STATE)

    def state_bounds(self) -> dict[str, tuple[float, float, str]]:
        """Physical range ``(lo, hi, unit)`` of each ``STATE`` attribute that has one (checked on restore)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` into a model built from the same config and seed; InputError on a mismatch."""
        _state.set_state(self, self.STATE, state)
        self._state_loaded()

    def _state_loaded(self) -> None:  # noqa: B027 - a hook: models without caches need nothing here
        """Drop what is cached from the state (after :meth:`load_state_dict`)."""

    def saturated_conversions(self) -> int:
        """ADC conversions so far of :meth:`mvm` and :meth:`mvm_t` (forward and transposed) whose input exceeded
        the converter's range (0 for a model without a converter range)."""
        return self.saturated

    @abstractmethod
    def mvm_lanes(self, x: np.ndarray, r0: int, c0: int, n_out: int, in_bits: int, t_s: np.ndarray,
                  counters: np.ndarray, transposed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """L independent reads. Forward: ``x`` (L, B, nr) codes -> (L, B, n_out) ~ x @ W[r0:r0+nr, c0:c0+n_out];
        transposed: ``x`` (L, B, nc) -> (L, B, n_out) ~ x @ W[r0:r0+n_out, c0:c0+nc].T. ``t_s`` (L,) read times,
        ``counters`` (L,) uint64 read numbers (the draws' counter). Returns the outputs and each lane's ADC
        conversions outside the converter's range (L,) int64."""

    def readings_lanes(self, x: np.ndarray, r0: int, c0: int, n_out: int, in_bits: int, t_s: np.ndarray,
                       counters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """L independent forward reads returning the converter's readings instead of the products: ``x`` (L, B, nr)
        codes -> (L, B, n_out) uA, for each weight the largest magnitude among the conversions behind it (both
        bit lines of a pair read digitally, every pulse of a shift-and-add converter, both trains of a sign-split
        input), at the block's full scale; and each lane's conversions outside the range (L,) int64. The same
        read as :meth:`mvm_lanes` (conversions, noise, counter). BadOperand for a model without a converter."""
        raise BadOperand(f"{type(self).__name__} has no converter to read (array model {self.params.model!r})")

    def set_full_scale(self, r0: int, c0: int, fs_ua: float) -> float:
        """Set the full-scale current (uA) of the forward converter for the block whose first weight is (r0, c0)
        (the tile's gain register of that block); returns the value set, rounded and clamped to what the converter
        can be set to (``adc.fs_bits``, ``fs_min_ua``, ``fs_max_ua``; a fixed-range converter keeps its nominal
        full scale). A model without a converter ignores the setting (returns 0.0). BadOperand if ``fs_ua``
        is negative or not finite."""
        if not np.isfinite(fs_ua) or fs_ua < 0:
            raise BadOperand(f"full-scale current {fs_ua} uA: expected a finite value >= 0")
        return 0.0

    def mvm(self, x: np.ndarray, r0: int, c0: int, nc: int, in_bits: int, t_s: float) -> np.ndarray:
        """Forward MVM, one read: ``x`` (batch, nr) codes -> (batch, nc) ~ x @ W[r0:r0+nr, c0:c0+nc]."""
        y, sat = self.mvm_lanes(x[None], r0, c0, nc, in_bits, np.array([t_s]), self.stream.next_read())
        self.saturated += int(sat[0])
        return y[0]

    def mvm_t(self, x: np.ndarray, r0: int, c0: int, nr: int, in_bits: int, t_s: float) -> np.ndarray:
        """Transposed MVM, one read: ``x`` (batch, nc) codes -> (batch, nr) ~ x @ W[r0:r0+nr, c0:c0+nc].T."""
        y, sat = self.mvm_lanes(x[None], r0, c0, nr, in_bits, np.array([t_s]), self.stream.next_read(), True)
        self.saturated += int(sat[0])
        return y[0]

    @abstractmethod
    def write_verify(self, target: np.ndarray, mask: np.ndarray, r0: int, c0: int,
                     t_s: float) -> ProgramReport:
        """Program the weights where ``mask`` is true towards ``target`` (both (nr, nc))."""

    @abstractmethod
    def pulse(self, n_pulses: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        """Apply open-loop pulses: ``n_pulses`` (nr, nc) signed int32, + potentiates the weight."""

    @abstractmethod
    def read_weights_at(self, r0: int, c0: int, nr: int, nc: int, t_s: float, counter: int) -> np.ndarray:
        """Read back the block as weights (nr, nc) float32, as the chip's read path sees them; ``counter`` is
        the read's number (its draws)."""

    def read_weights(self, r0: int, c0: int, nr: int, nc: int, t_s: float) -> np.ndarray:
        """Read back the block as weights (nr, nc) float32, one read (numbered by :attr:`stream`)."""
        return self.read_weights_at(r0, c0, nr, nc, t_s, int(self.stream.next_read()[0]))

    @abstractmethod
    def load_weights(self, w: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        """Initial programming of a block (the same physics as :meth:`write_verify`, all cells)."""

    def _check_block(self, r0: int, c0: int, nr: int, nc: int) -> None:
        if r0 < 0 or c0 < 0 or r0 + nr > self.rows or c0 + nc > self.cols:
            raise IndexError(f"block rows {r0}:{r0 + nr}, cols {c0}:{c0 + nc} is outside the "
                             f"{self.rows}x{self.cols} array")
