"""The host side of on-chip training: load data into the simulated DRAM, run the compiled programs.

Every number comes from running the compiled programs on the SoC model; the host only places the
dataset in DRAM (like a loader before the run) and reads the result symbols.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socsim.base.errors import InputError
from socsim.compiler.graph import Graph
from socsim.compiler.lower.lowering import Compiled, compile_training
from socsim.config.soc import SocConfig
from socsim.host.data import DataError, Dataset, example_order
from socsim.host.images import ImageUse
from socsim.host.options import DEFAULTS, RunOptions
from socsim.host.parameters import ModelParameters
from socsim.runfolder.files import TrainerState
from socsim.sim import Result, Soc


@dataclass
class EpochReport:
    """What one epoch did on the chip: its training run and the evaluation run after it."""

    epoch: int
    accuracy: float | None
    """Test accuracy; None when not measured (timing-only mode)."""
    train: Result
    evaluate: Result


class StateMismatch(InputError):
    """A saved state (checkpoint) does not fit the compiled graph and the config's crossbars."""


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def check_inputs(graph: Graph, data: Dataset) -> None:
    """Raise DataError unless ``data``'s images have the graph's input shape and its labels fit the graph's classes."""
    want = tuple(graph.shape(graph.input.name))
    where = f"graph {graph.name!r}" + (f" ({graph.source})" if graph.source else "")
    if tuple(data.shape) != want:
        raise DataError(f"dataset {data.name} has images of shape {_shape(data.shape)}; {where} takes input shape "
                        f"{_shape(want)}")
    last = graph.nodes[-1]
    if not last.inputs:
        return  # no loss: the compiler names the problem
    classes = int(np.prod(graph.shape(last.inputs[0])))
    if data.classes > classes:
        raise DataError(f"dataset {data.name} has {data.classes} classes; {where} outputs {classes} logits")
    for split, y in (("training", data.y_train), ("test", data.y_test)):
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= classes):
            raise DataError(f"dataset {data.name}: {split} labels range over {int(y.min())} .. {int(y.max())}; "
                            f"{where} has classes 0 .. {classes - 1}")


BLANK_LABEL = -1
"""Label of the blank images that fill the last test micro-batch: no class index, so never a hit."""


def padded(values: np.ndarray, slots: int, fill: float) -> np.ndarray:
    """The first ``slots`` rows of ``values``, filled up with ``fill`` when it has fewer."""
    head = values[:slots]
    if len(head) == slots:
        return head
    pad = np.full((slots - len(head), *values.shape[1:]), fill, dtype=values.dtype)
    return np.concatenate([head, pad])


class ChipTrainer:
    """Compiles ``graph`` for ``cfg`` and drives the init / train-epoch / evaluate programs."""

    def __init__(self, graph: Graph, cfg: SocConfig, data: Dataset, microbatch: int | None = None,
                 state: TrainerState | None = None, timeline: bool = False, options: RunOptions = DEFAULTS,
                 parameters: ModelParameters | None = None, inference: bool = False, compensation: bool = False,
                 bn_images: int = 0):
        """``options``: the engine and the timing-only mode the programs run with (its other fields are the
        caller's: ``graph``, ``cfg`` and ``data`` are given); ``parameters``: a model's weights
        (socsim.host.parameters) the init program programs instead of the graph's initial ones, each layer scaled
        onto the devices by its own alpha; ``state``: a checkpoint's;
        ``inference``: compile only what inference needs (no training program); ``compensation``: with it, global
        drift compensation (:meth:`compensate`); ``bn_images``: with it, the BatchNorm statistics re-estimated from
        that many training images (:meth:`reestimate_statistics`)."""
        if state is not None and parameters is not None:
            raise InputError("a saved state and model parameters: give one (the state holds its own weights)")
        self.graph, self.cfg, self.data = graph, cfg, data
        check_inputs(graph, data)
        batch = cfg.train.batch
        if microbatch is not None and (microbatch > batch or batch % microbatch):
            raise InputError(f"micro-batch {microbatch} does not divide train.batch = {batch}: "
                             f"{batch % microbatch if microbatch <= batch else batch} image(s) of every batch would "
                             "be left out; use a divisor of the batch")
        scales = None if parameters is None else parameters.weight_scales(cfg.tiles.physics.w_max)
        self.compiled: Compiled = compile_training(graph, cfg, len(data.y_train), len(data.y_test), microbatch,
                                                   scales, inference, compensation, bn_images)
        if self.compiled.test_examples < 1:
            raise InputError("no test examples: give at least one")
        self.soc = Soc.from_config(cfg, timeline=timeline, timing_only=options.timing_only, engine=options.engine)
        self.epoch = 0
        self.write("test_x", padded(data.x_test, self.compiled.test_slots, 0.0))
        self.write("test_y", padded(data.y_test, self.compiled.test_slots, BLANK_LABEL))
        self.init_result: Result | None = None
        if state is None:
            self.place_training_data(0)  # the calibration after init reads the first epoch's first images
            self.soc.load(self.compiled.init)  # its symbols' initial data, then the model's over them
            for name, values in ({} if parameters is None else parameters.symbols()).items():
                self.write(name, values)
            self.init_result = self.calibrated(self.soc.run(outputs=()))
        else:
            try:
                self.restore(state)
            except (ValueError, KeyError) as exc:
                raise StateMismatch(exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)) from None

    # checkpoints -----------------------------------------------------------------------------------------
    DATA_SYMBOLS = ("train_x", "train_y", "test_x", "test_y")
    STATE_SYMBOLS = ("w_", "b_", "gb_", "run_", "inscale_", "step")
    """What a trained state holds beyond working buffers: weights, biases, batch norm, input scales, steps."""

    def state(self) -> TrainerState:
        """Everything the next epoch depends on: program memory, the crossbars' mutable state (with their
        generators), the tiles' active blocks, time, epoch. Plain data (arrays and numbers), no objects."""
        memory = {name: self.read(name) for name in self.compiled.init.symbols if name not in self.DATA_SYMBOLS}
        crossbars = [None if not t.has_devices else t.crossbar.state_dict() if t.built else {}
                     for t in self.soc.tiles]
        return TrainerState(self.epoch, self.soc.env.now, memory, crossbars, [list(t.block) for t in self.soc.tiles])

    def restore(self, state: TrainerState) -> None:
        """Continue from :meth:`state`: the crossbars are rebuilt from the config and seed, then their state loaded.
        Raises ValueError saying what does not match this graph and config."""
        tiles = self.soc.tiles
        memory = state.memory
        want = [n for n in self.compiled.init.symbols if n not in self.DATA_SYMBOLS]
        if self.compiled.train_epoch is None:  # inference only: the training state's other symbols are not used,
            # and its working buffers (scratch, tile buffers: sized for training) hold nothing the evaluation reads
            size = {n: self.compiled.init.symbol(n).size for n in want}
            memory = {k: v for k, v in memory.items()
                      if k in size and (np.asarray(v).size == size[k] or k.startswith(self.STATE_SYMBOLS))}
            want = [n for n in want if n in memory or n.startswith(self.STATE_SYMBOLS)]  # the state must be there
        if sorted(memory) != sorted(want):
            missing, extra = sorted(set(want) - set(memory)), sorted(set(memory) - set(want))
            raise InputError(f"the saved memory does not match the compiled graph (missing: "
                             f"{', '.join(missing) or '-'}; not in the programs: {', '.join(extra) or '-'})")
        if len(state.crossbars) != len(tiles) or len(state.blocks) != len(tiles):
            raise InputError(f"the saved state has {len(state.crossbars)} crossbars and {len(state.blocks)} "
                             f"blocks; the config has {len(tiles)} tiles")
        tc = self.cfg.tiles
        for i, block in enumerate(state.blocks):
            r0, c0, rows, cols, bits = block
            if min(r0, c0) < 0 or rows < 1 or cols < 1 or r0 + rows > tc.rows or c0 + cols > tc.weight_cols \
                    or not 0 <= bits <= 16:
                raise InputError(f"tile {i}: saved block {block} does not fit the {tc.rows} x {tc.weight_cols} array")
        now_s = state.cycle / self.cfg.clock_hz
        for i, saved in enumerate(state.crossbars):
            t_prog = saved.get("t_prog") if isinstance(saved, dict) else None
            if isinstance(t_prog, np.ndarray) and t_prog.size and np.nanmax(t_prog) > now_s:
                raise InputError(f"trainer.crossbars[{i}].t_prog: a device programmed at {np.nanmax(t_prog):g} s, "
                                 f"later than the saved clock (trainer.cycle {state.cycle} at clock_hz "
                                 f"{self.cfg.clock_hz:g}: {now_s:g} s); a programming time cannot be in the future")
        self.epoch = state.epoch
        self.soc.restore_time(state.cycle)
        for name, values in memory.items():
            self.write(name, values)
        for i, (tile, saved, block) in enumerate(zip(tiles, state.crossbars, state.blocks)):
            if (saved is None) == tile.has_devices:
                raise InputError(f"tile {i}: the saved state {'has no' if saved is None else 'has'} device state, "
                                 f"this run {'has' if saved is None else 'has none'} (timing-only mode differs)")
            if saved:  # {}: a tile never used, built from the config and seed when first used
                tile.crossbar.load_state_dict(saved)
            tile.block = tuple(block)
            tile.configured = tile.programmed = True  # as the run that saved the checkpoint left them

    def conductances(self) -> dict[str, np.ndarray]:
        """The device state arrays of every tile used so far (conductances in uS, write counters, ...), without
        reading; a tile no instruction used holds its fresh state and is left out."""
        out = {}
        for i, tile in enumerate(self.soc.tiles):
            if not tile.built:
                continue
            for attr in ("g", "writes", "t_prog", "w"):
                value = getattr(tile.crossbar, attr, None)
                if isinstance(value, np.ndarray):
                    out[f"tile{i}_{attr}"] = value
        return out

    def write(self, name: str, values: np.ndarray) -> None:
        """Place ``values`` in symbol ``name`` of the compiled programs (the host side of a data load).

        The values must fill the symbol exactly and the symbol must lie inside its memory (ValueError otherwise)."""
        sym = self.compiled.init.symbol(name)
        flat = np.asarray(values, dtype=np.float32).ravel()
        if flat.size != sym.size:
            raise InputError(f"host write of {flat.size} words into symbol {name!r}, which holds {sym.size} words")
        problem = self.soc.memory.check(sym.space, sym.addr, sym.size)
        if problem:
            raise InputError(f"host write into symbol {name!r}: {problem}")
        self.soc.memory.view(sym.space, sym.addr, sym.size)[:] = flat

    def read(self, name: str) -> np.ndarray:
        """Current contents of a symbol of the compiled programs."""
        sym = self.compiled.init.symbol(name)
        return self.soc.memory.view(sym.space, sym.addr, sym.size).copy()

    def weights(self) -> dict[str, np.ndarray]:
        """The digital weight copy of every weight layer, as (rows, cols) matrices."""
        return {n.name: self.read(f"w_{n.name}").reshape(self.graph.weight_shape(n.name))
                for n in self.graph.weight_nodes()}

    def image_use(self) -> ImageUse:
        """The training and test images this run uses (socsim.host.images)."""
        comp = self.compiled
        return ImageUse(len(self.data.y_train), self.cfg.train.batch, comp.batches_per_epoch, comp.test_examples,
                        comp.microbatch, comp.padding)

    def order(self, epoch: int) -> np.ndarray:
        """Training-example order of an epoch (seeded by the config seed; epoch 0 unshuffled)."""
        return example_order(self.cfg.seed, epoch, len(self.data.y_train))

    def place_training_data(self, epoch: int) -> None:
        """Put the training set in DRAM in the order of ``epoch``."""
        idx = self.order(epoch)
        self.write("train_x", self.data.x_train[idx])
        self.write("train_y", self.data.y_train[idx])

    def calibrated(self, result: Result) -> Result:
        """``result`` followed by the calibrate program's run (the converters' full scales set from the programmed
        weights), as one result; ``result`` itself when the programs do not calibrate."""
        if self.compiled.calibrate is None:
            return result
        return result.then(self.soc.run(self.compiled.calibrate, outputs=()))

    def runs(self) -> list[tuple[int, int]]:
        """The [first, end) batch ranges of one epoch's training runs: the whole epoch, or stretches of
        ``train.calibrate_every`` batches when the programs calibrate (a calibration follows each)."""
        n, every = self.compiled.batches_per_epoch, self.cfg.train.calibrate_every
        if self.compiled.calibrate is None or every == 0 or every >= n:
            return [(0, n)]
        return [(b, min(b + every, n)) for b in range(0, n, every)]

    def train_epoch(self, hooks: dict | None = None) -> Result:
        """Place this epoch's example order in DRAM and run the training program over its batches, each stretch
        of :meth:`runs` followed by the calibration (the weights moved): one result of them all."""
        if self.compiled.train_epoch is None:
            raise InputError(f"graph {self.graph.name!r} was compiled for inference only: it has no training program")
        self.place_training_data(self.epoch)
        result: Result | None = None
        for first, end in self.runs():
            self.write("batches", np.array([first, end], np.float32))
            part = self.calibrated(self.soc.run(self.compiled.train_epoch, hooks, outputs=()))
            result = part if result is None else result.then(part)
        assert result is not None
        self.epoch += 1
        return result

    def seconds(self) -> float:
        """Simulated time of the chip (s since it was powered up)."""
        return self.soc.env.now / self.cfg.clock_hz

    def idle_until(self, seconds: float) -> None:
        """Leave the chip idle, every unit stopped, until simulated time ``seconds`` (devices drift meanwhile)."""
        cycle = round(seconds * self.cfg.clock_hz)
        if cycle >= 1 << 62:
            raise InputError(f"idle_until({seconds} s): {cycle} cycles at clock_hz = {self.cfg.clock_hz:g} is past the "
                             f"simulated clock's range (2^62 cycles, {(1 << 62) / self.cfg.clock_hz:.3g} s)")
        if cycle < self.soc.env.now:
            raise InputError(f"idle_until({seconds} s): the chip is already at {self.seconds()} s")
        self.soc.restore_time(cycle)

    def compensate(self, reference: bool) -> Result:
        """Run the ``compensate`` program: store each layer's reference reading (``reference``, right after
        programming) or measure it again and set the layers' drift scales (socsim.compiler.lower.compensate)."""
        if self.compiled.compensate is None:
            raise InputError("global drift compensation was not compiled (ChipTrainer(..., compensation=True))")
        self.write("gdc_mode", np.array([0.0 if reference else 1.0], np.float32))
        return self.soc.run(self.compiled.compensate, outputs=())

    def reestimate_statistics(self) -> Result:
        """Run the ``bnstats`` program: every BatchNorm layer's running statistics re-estimated from the first
        training images on the chip as it is now (socsim.compiler.lower.bnstats). The training images are placed in
        the order of epoch 0 (the data set's own) first: a host load, not charged."""
        if self.compiled.bnstats is None:
            raise InputError("the BatchNorm statistics program was not compiled (ChipTrainer(..., bn_images=N))")
        self.place_training_data(0)
        return self.soc.run(self.compiled.bnstats, outputs=())

    def evaluate(self) -> tuple[float | None, Result]:
        """Test accuracy and the evaluation run; accuracy None in timing-only mode (not measured)."""
        result = self.soc.run(self.compiled.evaluate, outputs=("correct",))
        if self.soc.timing_only:
            return None, result
        correct = float(result.outputs["correct"][0])
        return correct / self.compiled.test_examples, result

    def run_epoch(self) -> EpochReport:
        train = self.train_epoch()
        acc, ev = self.evaluate()
        return EpochReport(self.epoch, acc, train, ev)
