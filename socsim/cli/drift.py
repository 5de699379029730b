"""``socsim drift RUN_DIR``: test accuracy of a trained run at later times, as its devices drift
(:mod:`socsim.host.drift`)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from socsim.base.argtypes import positive_int
from socsim.base.errors import InputError, MissingInput
from socsim.base.exits import EXIT_OK
from socsim.base.locks import FolderLock
from socsim.cli.commands import command
from socsim.compiler.compensations import COMPENSATIONS
from socsim.host.drift import BN_IMAGES, evaluate_drift
from socsim.runfolder.digests import ACCEPT_EDITS_HELP, check_unedited
from socsim.runfolder.files import CHECKPOINT, DRIFT, LEGACY_CHECKPOINT


def parse_times(text: str) -> list[float]:
    """'1,3600,86400' -> [1.0, 3600.0, 86400.0] (seconds, ascending, >= 0)."""
    try:
        times = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InputError(f"--after {text!r}: expected comma-separated seconds, e.g. 1,3600,86400") from None
    if not times or any(not math.isfinite(t) or t < 0 for t in times) or times != sorted(times):
        raise InputError(f"--after {text!r}: expected one or more ascending, finite times >= 0 s")
    return times


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``drift`` to the CLI's subcommands."""
    p = command(sub, "drift", cmd_drift, "test accuracy of a trained run at later times (device drift)",
                description="Leave the chip of RUN_DIR's last checkpoint idle until each time after training "
                                   "and run the evaluate program there; writes RUN_DIR/drift.csv.")
    p.add_argument("run_dir", help="run folder written by 'socsim train'")
    p.add_argument("--after", default="1,60,3600,86400",
                   help="comma-separated seconds after training, ascending (default: 1,60,3600,86400)")
    p.add_argument("--accept-edits", action="store_true", help=ACCEPT_EDITS_HELP)
    p.add_argument("--repeats", type=positive_int, default=1,
                   help="evaluations at each time, each with its own read-noise draws; accuracy as mean +- std")
    p.add_argument("--compensation", choices=list(COMPENSATIONS), default="none",
                   help="; ".join(f"{c.name}: {c.description}" for c in COMPENSATIONS.values())
                   + "; drift.csv keeps one curve per compensation")
    p.add_argument("--bn-images", type=positive_int, default=BN_IMAGES,
                   help=f"with bn or global+bn: training images the BatchNorm statistics are re-estimated from, in "
                        f"whole micro-batches (default: {BN_IMAGES})")
    p.add_argument("--quiet", action="store_true")


def cmd_drift(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / CHECKPOINT).exists() and not (run_dir / LEGACY_CHECKPOINT).exists():
        raise MissingInput("no checkpoint; train first with 'socsim train'", file=run_dir / CHECKPOINT)
    with FolderLock(run_dir, "run folder", create=False):  # a train --force or another drift waits its turn
        check_unedited(run_dir, args.accept_edits)
        evaluate_drift(run_dir, parse_times(args.after), measured=None if args.quiet else _print_row,
                       repeats=args.repeats, compensation=args.compensation, bn_images=args.bn_images)
    if not args.quiet:
        print(f"wrote {run_dir / DRIFT}", file=sys.stdout)
    return EXIT_OK


def _print_row(row: dict) -> None:
    spread = f" +- {row['test_accuracy_std']:.2%} ({row['repeats']} draws)" if row["repeats"] > 1 else ""
    comp = "" if row["compensation"] == "none" else f" ({COMPENSATIONS[row['compensation']].label}"
    comp += f" from {row['bn_images']} training images)" if row["bn_images"] else ")" if comp else ""
    print(f"{row['seconds_after_training']:>12.6g} s after training: test accuracy {row['test_accuracy']:.2%}{spread}"
          f"{comp}")
