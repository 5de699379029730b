"""Timing-only mode: what the SoC charges when it skips the numerics (``Soc(cfg, timing_only=True)``).

In this mode no instruction computes data: tile MVMs, programming and read-back, digital-unit math
and DMA data movement are skipped, so memories and crossbars keep stale contents. Everything whose
cost depends only on the instruction stream (operand sizes, address patterns, register values,
cycles, bus and port contention, every ledger count but programming and the count of ADC inputs over range,
``adc_saturated``, which needs the currents) is exactly what the full run
produces. Registers, branches, ``lw``/``sw`` and ``hp`` still execute, so control flow is exact as long
as it does not depend on values computed by skipped instructions.

Programming is the one cost that depends on data: how many cells a ``wv`` changes (its mask and which
devices already hold their target) and how many pulses a ``pulse`` applies. The rule here is
:func:`nominal_report`: every cell of the active block is programmed with exactly one pulse (charged
as SET) and, for write-verify, one verify read. For the ``ideal`` scheme (every weight written every
batch, one pulse per moved weight) this equals the full run whenever every weight moves; for threshold
schemes (``wu2023``) it is an upper bound on cells written; for open-loop multi-pulse updates it is
not a bound.
"""

from __future__ import annotations

from socsim.physics import ProgramReport

HELP = ("skip the numerics (tile MVMs and programming physics, digital-unit math, data movement): cycles and "
        "energy are exactly the full run's where they do not depend on data; a programming instruction (wv, pulse) "
        "is charged as if every cell of its block took one SET pulse (and, for wv, one verify read); memory "
        "contents and accuracy are not computed (docs/performance.md)")
"""Command-line help of ``--timing-only`` (socsim run, socsim train)."""

def nominal_report(mnemonic: str, rows: int, cols: int) -> ProgramReport:
    """The programming report charged for ``wv`` / ``pulse`` on a ``rows`` x ``cols`` block without data."""
    cells = rows * cols
    verify = cells if mnemonic == "wv" else 0
    return ProgramReport(cells=cells, set_pulses=cells, reset_pulses=0, verify_reads=verify,
                         pulse_rounds=1 if cells else 0)
