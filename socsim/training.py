"""The host side of on-chip training: load data into the simulated DRAM, run the compiled programs.

Every number comes from running the compiled programs on the SoC model; the host only places the
dataset in DRAM (like a loader before the run) and reads the result symbols.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socsim.compiler.graph import Graph
from socsim.compiler.lower import Compiled, compile_training
from socsim.config import SocConfig
from socsim.data import Dataset
from socsim.sim import Result, Soc


@dataclass
class EpochReport:
    """What one epoch did on the chip: its training run and the evaluation run after it."""

    epoch: int
    accuracy: float | None
    """Test accuracy; None when not measured (timing-only mode)."""
    train: Result
    evaluate: Result


class ChipTrainer:
    """Compiles ``graph`` for ``cfg`` and drives the init / train-epoch / evaluate programs."""

    def __init__(self, graph: Graph, cfg: SocConfig, data: Dataset, microbatch: int | None = None,
                 state: dict | None = None, timeline: bool = False, timing_only: bool = False, engine: str = "fast"):
        self.graph, self.cfg, self.data = graph, cfg, data
        self.compiled: Compiled = compile_training(graph, cfg, len(data.y_train), len(data.y_test), microbatch)
        self.soc = Soc.from_config(cfg, timeline=timeline, timing_only=timing_only, engine=engine)
        self.epoch = 0
        self.write("test_x", data.x_test[:self.compiled.test_examples])
        self.write("test_y", data.y_test[:self.compiled.test_examples])
        self.init_result: Result | None = None
        if state is None:
            self.init_result = self.soc.run(self.compiled.init)
        else:
            self.restore(state)

    # checkpoints -----------------------------------------------------------------------------------------
    DATA_SYMBOLS = ("train_x", "train_y", "test_x", "test_y")

    def state(self) -> dict:
        """Everything the next epoch depends on: program memory, crossbars (with their RNG), time, epoch."""
        memory = {name: self.read(name) for name in self.compiled.init.symbols if name not in self.DATA_SYMBOLS}
        return {"epoch": self.epoch, "cycle": self.soc.env.now, "memory": memory,
                "crossbars": [t.crossbar for t in self.soc.tiles], "blocks": [t.block for t in self.soc.tiles]}

    def restore(self, state: dict) -> None:
        self.epoch = state["epoch"]
        self.soc.restore_time(state["cycle"])
        for name, values in state["memory"].items():
            self.write(name, values)
        for tile, crossbar, block in zip(self.soc.tiles, state["crossbars"], state["blocks"]):
            tile.crossbar, tile.block = crossbar, block

    def conductances(self) -> dict[str, np.ndarray]:
        """The device state arrays of every tile (conductances in uS, write counters, ...), without reading."""
        out = {}
        for i, tile in enumerate(self.soc.tiles):
            for attr in ("g", "writes", "t_prog", "w"):
                value = getattr(tile.crossbar, attr, None)
                if isinstance(value, np.ndarray):
                    out[f"tile{i}_{attr}"] = value
        return out

    def write(self, name: str, values: np.ndarray) -> None:
        """Place ``values`` in symbol ``name`` of the compiled programs (the host side of a data load)."""
        sym = self.compiled.init.symbol(name)
        flat = np.asarray(values, dtype=np.float32).ravel()
        self.soc.memory.view(sym.space, sym.addr, flat.size)[:] = flat

    def read(self, name: str) -> np.ndarray:
        """Current contents of a symbol of the compiled programs."""
        sym = self.compiled.init.symbol(name)
        return self.soc.memory.view(sym.space, sym.addr, sym.size).copy()

    def weights(self) -> dict[str, np.ndarray]:
        """The digital weight copy of every weight layer, as (rows, cols) matrices."""
        return {n.name: self.read(f"w_{n.name}").reshape(self.graph.weight_shape(n.name))
                for n in self.graph.weight_nodes()}

    def order(self, epoch: int) -> np.ndarray:
        """Training-example order of an epoch (seeded by the config seed; epoch 0 unshuffled)."""
        n = len(self.data.y_train)
        return np.arange(n) if epoch == 0 else np.random.default_rng([self.cfg.seed, epoch]).permutation(n)

    def train_epoch(self, hooks: dict | None = None) -> Result:
        """Place this epoch's example order in DRAM and run the training program once."""
        idx = self.order(self.epoch)
        self.write("train_x", self.data.x_train[idx])
        self.write("train_y", self.data.y_train[idx])
        result = self.soc.run(self.compiled.train_epoch, hooks)
        self.epoch += 1
        return result

    def seconds(self) -> float:
        """Simulated time of the chip (s since it was powered up)."""
        return self.soc.env.now / self.cfg.clock_hz

    def idle_until(self, seconds: float) -> None:
        """Leave the chip idle, every unit stopped, until simulated time ``seconds`` (devices drift meanwhile)."""
        cycle = round(seconds * self.cfg.clock_hz)
        if cycle < self.soc.env.now:
            raise ValueError(f"idle_until({seconds} s): the chip is already at {self.seconds()} s")
        self.soc.restore_time(cycle)

    def evaluate(self) -> tuple[float | None, Result]:
        """Test accuracy and the evaluation run; accuracy None in timing-only mode (not measured)."""
        result = self.soc.run(self.compiled.evaluate)
        if self.soc.timing_only:
            return None, result
        correct = float(result.outputs["correct"][0])
        return correct / self.compiled.test_examples, result

    def run_epoch(self) -> EpochReport:
        train = self.train_epoch()
        acc, ev = self.evaluate()
        return EpochReport(self.epoch, acc, train, ev)
