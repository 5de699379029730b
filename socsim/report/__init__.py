"""Reporting: Result / run folder -> tables, figures, a self-contained HTML report, comparisons, traces.

Modules, one job each: :mod:`~socsim.runfolder.read` reads a run folder; :mod:`~socsim.report.tables` makes
DataFrames and exports them; :mod:`~socsim.report.headline` the headline numbers (TOPS/W, per image);
:mod:`~socsim.report.devices` device writes and endurance; :mod:`~socsim.report.figures` matplotlib figures;
:mod:`~socsim.report.html` page building blocks; :mod:`~socsim.report.report` the report and compare pages;
:mod:`~socsim.report.compare` the side-by-side table; :mod:`~socsim.debug.tracefile` Chrome trace-event JSON;
:mod:`~socsim.cli.report` the ``report`` and ``compare`` commands. See docs/reports.md.
"""

from socsim.debug.tracefile import read_trace, write_trace
from socsim.report.tables import result_tables, run_tables, write_tables
from socsim.runfolder.read import RunFolder, load_run

__all__ = ["RunFolder", "load_run", "result_tables", "run_tables", "write_tables", "read_trace", "write_trace"]
