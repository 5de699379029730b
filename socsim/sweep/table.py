"""The results table: one CSV row per finished point, rewritten atomically after each point.

Cells are written with ``repr`` for floats, so a table read back (``read_table``) and written again
is byte-identical, and two runs of the same sweep give equal files apart from ``wall_s``.
"""

from __future__ import annotations

import csv
import enum
import io
from pathlib import Path
from typing import Any, Iterable

from socsim.base.errors import InputError
from socsim.base.fileio import read_text
from socsim.runfolder.files import atomic_write
from socsim.sweep.spec import Point, SweepSpec

RESULTS = "results.csv"
STATUS_OK = "ok"
STATUS_BUSY = "busy"
"""A point whose folder another process held locked: not run here, not finished (run again later)."""
FAILED_STATUSES = ("trap", "diverged", "error", "crash")
"""Final statuses of a point that did not finish ok (kept unless --retry-failed)."""
NONDETERMINISTIC = ("wall_s",)
"""Columns that differ between runs of the same point (host wall-clock time)."""


REPLICATE = "replicate"
"""Column of the run of a point when ``[job] seeds`` > 1 (0, 1, ...: its seeds are the point's plus this)."""


def columns(spec: SweepSpec) -> list[str]:
    """point, replicate (with ``[job] seeds`` > 1), key, status, the swept fields, epochs (training), the metrics,
    wall_s, error."""
    extra = ["epochs"] if spec.job.kind == "train" else []
    runs = [REPLICATE] if spec.job.seeds > 1 else []
    return ["point", *runs, "key", "status", *spec.fields, *extra, *spec.metrics, "wall_s", "error"]


def cell(value: Any) -> str:
    """One CSV cell: floats by repr (exact round trip), enums by name, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cell(v) for v in value) + "]"
    return str(value)


def make_row(spec: SweepSpec, point: Point, result: dict[str, Any]) -> dict[str, str]:
    """A table row (all strings) for ``point`` from a worker's result dict."""
    row = {"point": str(point.index), REPLICATE: str(point.replicate), "key": point.key}
    row.update({f: cell(point.value(f)) for f in spec.fields})
    row.update({k: cell(v) for k, v in result.items() if k != "key"})
    return {c: row.get(c, "") for c in columns(spec)}


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of an existing results table (strings, as written); [] if there is none. ValueError naming the
    file when it cannot be read as CSV text."""
    if not path.exists():
        return []
    try:
        return list(csv.DictReader(io.StringIO(read_text(path, "results table"), newline="")))
    except csv.Error as exc:
        raise InputError(f"not a readable results table: {exc}", file=path) from None


def write_table(path: Path, spec: SweepSpec, rows: Iterable[dict[str, str]]) -> None:
    """Write the rows sorted by point index, atomically (a reader never sees half a table)."""
    cols = columns(spec)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: (int(r["point"]), int(r.get(REPLICATE) or 0))):
        writer.writerow({c: row.get(c, "") for c in cols})
    text = buf.getvalue()
    atomic_write(path, lambda fh: fh.write(text), binary=False)
