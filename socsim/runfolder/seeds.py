"""The folder of a multi-seed training run (``socsim train --seeds N``): its file names, where seed i's run folder
is, and ``seeds.json``, the arguments the seeds were started with."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from socsim.base.configtools import to_mapping
from socsim.base.errors import InputError
from socsim.base.fileio import is_temporary, read_json
from socsim.base.locks import LOCK
from socsim.runfolder.files import REPORT, check_fresh, run_files, write_json
from socsim.runfolder.runargs import RunArgs

SEEDS_FILE = "seeds.json"
"""``{"seeds": N, "baseline": bool, "run": run.json of seed 0}``: what a multi-seed run was started with."""
SUMMARY = "summary.csv"
"""Per epoch: ``epoch, test_accuracy_mean, test_accuracy_std, baseline_accuracy_mean, baseline_accuracy_std, n``,
then ``METRIC_mean, METRIC_std`` of every other numeric column of the seeds' metrics.csv."""
LEADING = ("test_accuracy", "baseline_accuracy")


def seed_folder(out: Path, index: int) -> Path:
    """The run folder of seed ``index``."""
    return Path(out) / f"seed-{index}"


def is_seeds_folder(path: Path) -> bool:
    """Whether ``path`` holds a multi-seed run (its seeds.json)."""
    return (Path(path) / SEEDS_FILE).is_file()


def check_fresh_seeds(out: Path, force: bool) -> None:
    """:func:`socsim.runfolder.files.check_fresh` for a multi-seed run in ``out``: it holds one when it has its
    seeds.json or a seed folder with a run's files."""
    if not out.is_dir():
        return check_fresh(out, force, "multi-seed run", [], [])
    held = ([SEEDS_FILE] if is_seeds_folder(out) else []) + sorted(p.name for p in out.glob("seed-*") if run_files(p))
    others = sorted(p.name for p in out.iterdir() if p.name not in {SEEDS_FILE, SUMMARY, REPORT, LOCK}
                    and not p.name.startswith("seed-") and not is_temporary(p.name))
    check_fresh(out, force, "multi-seed run", held, others)


@dataclass(frozen=True)
class SeedsSpec:
    """What a multi-seed run was started with: the arguments of seed 0 and the number of seeds."""

    run: RunArgs
    seeds: int
    baseline: bool = False
    """The numpy baseline trains beside every seed (kept for a resume)."""

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise InputError(f"seeds = {self.seeds}; expected 1 or more")

    def args(self, index: int) -> RunArgs:
        return replace(self.run, seed_index=index)

    def save(self, out: Path) -> None:
        write_json(Path(out) / SEEDS_FILE, {"seeds": self.seeds, "baseline": self.baseline,
                                            "run": to_mapping(self.run)})

    @classmethod
    def load(cls, out: Path) -> "SeedsSpec":
        path = Path(out) / SEEDS_FILE
        data = read_json(path, "seeds.json")
        if not isinstance(data, dict) or not isinstance(data.get("seeds"), int) or "run" not in data \
                or not isinstance(data.get("baseline", False), bool):
            raise InputError("expected a JSON object with an integer 'seeds', a boolean 'baseline' and the "
                             "'run' arguments", file=path)
        return cls(RunArgs.from_mapping(data["run"], f"{path}: run"), data["seeds"], data.get("baseline", False))
