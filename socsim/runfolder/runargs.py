"""What a training run was started with (``run.json``), checked on load, and the inputs it names.

A resumed run takes its config from the resolved ``config.json`` it saved (not from the preset or file it
named, which may have changed since) and refuses a graph file whose contents changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import typing
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socsim.base.configtools import ABSENT, ConfigError, dotted_differences, from_mapping, to_mapping
from socsim.base.errors import InputError, MissingInput
from socsim.base.fileio import read_json
from socsim.config.soc import SocConfig
from socsim.runfolder.files import CONFIG, RUN_ARGS

if TYPE_CHECKING:
    from socsim.config.soc import SocConfig


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class RunArgs:
    """What a run was started with (saved in run.json, reused by --resume)."""

    graph: str
    config: str
    dataset: str
    data_path: str | None
    epochs: int
    train_examples: int | None
    test_examples: int | None
    microbatch: int | None
    timing_only: bool = False
    """Numerics skipped (socsim.sim.timing_only): latency and energy only, accuracy not measured."""
    graph_sha256: str | None = None
    """SHA-256 of the graph file when the run started (None: not recorded); a resume refuses another graph."""
    images_used: str | None = None
    """The images the run uses, in words (socsim.host.images.ImageUse.text): written when the run starts."""
    seed_index: int = 0
    """Seed i of a multi-seed run (``socsim train --seeds N``): the config's seeds are shifted by it when the run
    starts (:func:`socsim.host.inputs.seeded_config`); 0 leaves the config as named."""
    environment: str | None = None
    """The numeric environment the run started in (socsim.base.environment.environment_text): numpy, BLAS library,
    version and kernel, numba, CPU model."""

    def __post_init__(self) -> None:
        for name in ("epochs", "train_examples", "test_examples", "microbatch"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name} = {value}; expected a positive number (or none: all / the default)")
        if self.seed_index < 0:
            raise InputError(f"seed_index = {self.seed_index}; expected 0 or more")

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> "RunArgs":
        """Build from a run.json mapping; ValueError naming ``where`` and the key on an unknown, missing or
        mistyped key."""
        hints = typing.get_type_hints(cls)
        names = [f.name for f in fields(cls)]
        if not isinstance(data, dict):
            raise InputError(f"expected a JSON object with keys {', '.join(names)}, got a "
                             f"{type(data).__name__}", file=where)
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise InputError(f"unknown key {unknown[0]!r}; run.json has: {', '.join(names)}", file=where)
        for f in fields(cls):
            if f.name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise InputError(f"missing key {f.name!r}", file=where)
                continue
            value, tp = data[f.name], hints[f.name]
            allowed = typing.get_args(tp) or (tp,)
            ok = any((value is None) if a is type(None) else
                     (isinstance(value, a) and (a is bool or not isinstance(value, bool))) for a in allowed)
            if not ok:
                kinds = " or ".join("null" if a is type(None) else a.__name__ for a in allowed)
                raise InputError(f"{f.name}: expected {kinds}, got {value!r}", file=where)
        try:
            return cls(**data)
        except ValueError as exc:
            raise InputError(f"{exc}", file=where) from None

    @classmethod
    def load(cls, run_dir: Path) -> "RunArgs":
        """What the run in ``run_dir`` was started with (its run.json)."""
        path = run_dir / RUN_ARGS
        try:
            data = read_json(path, "run.json")
        except FileNotFoundError:
            raise MissingInput("not a run folder written by 'socsim train'", file=path) from None
        return cls.from_mapping(data, str(path))

    def with_graph_hash(self) -> "RunArgs":
        """These arguments with the graph file's SHA-256 recorded."""
        return replace(self, graph_sha256=file_sha256(self.graph))

    def check_graph(self) -> None:
        """ValueError if the graph file is not the one the run started with."""
        if self.graph_sha256 is not None and Path(self.graph).is_file() and \
                file_sha256(self.graph) != self.graph_sha256:
            raise InputError("the graph file changed since the run started (its SHA-256 differs "
                             "from run.json's); a resumed run needs the graph it started with", file=self.graph)

    def saved_config(self, run_dir: Path) -> "SocConfig":
        """The resolved config the run saved (config.json), with this run's epochs."""
        path = run_dir / CONFIG
        try:
            data = read_json(path, "config.json")
        except FileNotFoundError:
            raise MissingInput("missing; the run folder is incomplete (start it again with --force)", file=path) \
                from None
        try:
            cfg = from_mapping(SocConfig, data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        added = new_settings(data, to_mapping(cfg))
        if added:
            print(f"socsim: warning: {path} has no {', '.join(added[:6])}{', ...' if len(added) > 6 else ''} "
                  "(settings added since the run started): today's defaults apply, so what follows can differ "
                  "from the run's own numbers", file=sys.stderr)
        return replace(cfg, train=replace(cfg.train, epochs=self.epochs))


def new_settings(saved: dict[str, Any], resolved: dict[str, Any]) -> list[str]:
    """``FIELD = VALUE`` (or the table's name) for every dotted setting of ``resolved`` that a saved config lacks (a
    setting added to socsim after the run wrote it, which took today's default)."""
    return [key if isinstance(value, dict) else f"{key} = {value!r}"
            for key, old, value in dotted_differences(saved, resolved) if old is ABSENT]
