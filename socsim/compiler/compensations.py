"""Drift compensations: what ``socsim drift --compensation`` can add to the inference-only programs, in one table.

Each entry names the programs it compiles and runs at every evaluation time, in this order:

- global drift compensation (``compensate``, socsim.compiler.lower.compensate): one scale per layer from a
  reference reading of known inputs (Joshi et al. 2020, Nat. Commun. 11, 2473; Le Gallo et al. 2018);
- BatchNorm statistics re-estimated on the drifted chip (``bnstats``, socsim.compiler.lower.bnstats): forward passes
  over the first training images, each BatchNorm layer's running mean and variance replaced by the average of its
  micro-batch statistics (the "adaptive batch normalization statistics" compensation of Joshi et al. 2020).

The host (socsim.host.drift) and the drift figure (socsim.report.figures) read this table and nothing else about
a compensation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Compensation:
    """One choice of ``socsim drift --compensation``."""

    name: str
    """The choice on the command line and in drift.csv's ``compensation`` column."""
    label: str
    """Readable name: the drift figure's legend and the console's note."""
    description: str
    """What it does (``socsim drift --help``)."""
    global_drift: bool
    """Compiles and runs global drift compensation (the ``compensate`` program): a reference at the end of training,
    the layers' scales at each time."""
    bn_statistics: bool
    """Compiles and runs the ``bnstats`` program at each time (after global drift compensation when both)."""


COMPENSATIONS: dict[str, Compensation] = {c.name: c for c in (
    Compensation("none", "no compensation", "the evaluation alone", False, False),
    Compensation("global", "global drift compensation",
                 "global drift compensation: a reference reading of known inputs per layer at the end of training, "
                 "the layer's outputs scaled by reference / now before each evaluation (Joshi et al. 2020)",
                 True, False),
    Compensation("bn", "BatchNorm statistics re-estimated",
                 "every BatchNorm layer's running mean and variance re-estimated on the drifted chip before each "
                 "evaluation: forward passes over the first --bn-images training images, the average of their "
                 "micro-batch statistics (AdaBS, Joshi et al. 2020)", False, True),
    Compensation("global+bn", "global drift compensation + BatchNorm statistics",
                 "global drift compensation first, then the BatchNorm statistics re-estimated (as bn)", True, True),
)}
"""Every drift compensation, by name."""

