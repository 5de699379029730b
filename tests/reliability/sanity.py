"""What the fuzzers check when a damaged input is *accepted*: the result must still make sense.

The property of every fuzz suite: an input either fails with the loader's own error (exit 2) or a trap (exit 3),
or what it produced passes these checks; an accepted input that gives a wrong result silently is a bug.
"""

from __future__ import annotations

import math
import typing
from dataclasses import fields, is_dataclass

import numpy as np

from socsim.base.configtools import from_mapping, to_mapping
from socsim.compiler.graph import MAX_SIZE, Graph
from socsim.config.soc import SocConfig


def check_params(obj, path: str = "") -> None:
    """Every numeric field of a config dataclass is finite and inside its declared [lo, hi]."""
    hints = typing.get_type_hints(type(obj))
    for f in fields(obj):
        value, where = getattr(obj, f.name), f"{path}{f.name}"
        if is_dataclass(value):
            check_params(value, where + ".")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            assert math.isfinite(value), f"{where} = {value} accepted"
            lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
            assert (lo is None or value >= lo) and (hi is None or value <= hi), f"{where} = {value} outside range"
            assert isinstance(value, hints[f.name]) or hints[f.name] is float, f"{where}: {value!r} of the wrong type"


def check_config(cfg: SocConfig) -> None:
    """A loaded config: sane fields, and it survives the round trip through its saved form unchanged."""
    check_params(cfg)
    assert from_mapping(SocConfig, to_mapping(cfg)) == cfg, "the config does not round-trip"
    assert all(words >= 1 for words in cfg.space_words().values())


def check_graph(graph: Graph) -> None:
    """A loaded graph: every shape has positive, bounded sizes; it survives the TOML round trip."""
    from socsim.compiler.frontend.toml import dump_toml, loads_toml
    for name, shape in graph.shapes().items():
        assert all(isinstance(d, int) and 1 <= d <= MAX_SIZE for d in shape), f"node {name}: shape {shape}"
    for node in graph.weight_nodes():
        rows, cols = graph.weight_shape(node.name)
        assert rows >= 1 and cols >= 1 and graph.param_count(node.name) >= rows * cols
    again = loads_toml(dump_toml(graph), "again.toml")
    assert again.shapes() == graph.shapes() and [n.layer for n in again] == [n.layer for n in graph]


def check_dataset(ds) -> None:
    """A loaded dataset: float32 images in [0, 1] of one (C, H, W) shape, as many labels, labels in range."""
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        assert x.dtype == np.float32 and x.ndim == 4 and len(x) == len(y)
        assert np.isfinite(x).all() and (x.min(initial=0) >= 0) and (x.max(initial=0) <= 1)
        assert y.dtype == np.int64 and (len(y) == 0 or (y.min() >= 0 and y.max() < ds.classes))
    assert ds.x_train.shape[1:] == ds.x_test.shape[1:]


def nonfinite_inits(program) -> set[str]:
    """Symbols whose initial data holds NaN or inf on purpose (``= nan``): they may stay non-finite."""
    return {s.name for s in program.symbols.values() if not np.isfinite(np.asarray(s.init.values, float)).all()}


def check_result(result, program) -> None:
    """A run that ended at halt without a trap: it ran, its energy is a finite non-negative sum of its ledger,
    and no memory it wrote holds NaN or inf (controller.trap_on_nan would have trapped)."""
    assert result.instructions >= 1 and result.cycles >= 1
    assert math.isfinite(result.energy_pj) and result.energy_pj >= 0
    assert math.isclose(float(result.ledger["energy_pj"].sum()), result.energy_pj, rel_tol=1e-9, abs_tol=1e-9)
    keep = nonfinite_inits(program)
    for name, values in result.outputs.items():
        if name not in keep:
            assert np.isfinite(values).all(), f"symbol {name} holds NaN or inf after a run without a trap"
