"""Design-space sweeps: many configs x seeds, each point an independent job (``socsim sweep``).

Modules: :mod:`~socsim.sweep.spec` (reading the sweep file), :mod:`~socsim.sweep.records` (what it holds, a
point), :mod:`~socsim.sweep.points` (its expansion into points and their keys), :mod:`~socsim.sweep.jobs`
(one point, the worker function), :mod:`~socsim.sweep.backends` (in process, local pool, Dask),
:mod:`~socsim.sweep.table` (the results CSV), :mod:`~socsim.sweep.figures` (scatter + Pareto front),
:mod:`~socsim.sweep.run` (resume, orchestration; the command is :mod:`socsim.cli.sweep`). Format: ``docs/sweeps.md``.
"""

from socsim.sweep.jobs import PointJob, run_point
from socsim.sweep.run import SweepOutcome, run_sweep
from socsim.sweep.spec import FigureSpec, JobSpec, Point, SweepError, SweepSpec, expand, load_sweep

__all__ = ["FigureSpec", "JobSpec", "Point", "PointJob", "SweepError", "SweepOutcome", "SweepSpec",
           "expand", "load_sweep", "run_point", "run_sweep"]
