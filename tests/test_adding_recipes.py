"""The "Adding ..." recipes of docs/architecture.md hold: a toy ADC kind, a toy device model and a toy layer type,
each written as the recipe says (one class, registered by being defined) and nothing else, run end to end.

Each toy is defined inside a fixture that restores the registry afterwards, so no other test sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import pytest

import isa
from socsim.compiler.frontend.toml import loads_toml
from socsim.compiler.layer import LAYERS, BackwardEmission, ForwardEmission, Layer, ParamLayer, Shape, knob
from socsim.compiler.lower.calibrate import calibrates_adc
from socsim.config.soc import load_config
from socsim.host.baseline import Baseline, initial_weights
from socsim.host.data import synthetic
from socsim.host.parameters import ModelParameters, baseline_with, expected_shapes
from socsim.host.training import ChipTrainer
from socsim.physics.adc.base import ADCS, Adc, SarArea
from socsim.physics.interface import MODELS, CellArea, Crossbar, ProgramReport
from socsim.physics.params import PhysicsParams
from socsim.physics.registry import pulse_step, slices, weight_level
from socsim.pricing.area import area_table
from socsim.sim import Soc

TILE_MVM = "programs/tile_mvm.s"


@pytest.fixture
def restored():
    """Every registry as it was before the test (a toy defined in the test leaves with it)."""
    saved = [(table, dict(table)) for table in (ADCS, MODELS, LAYERS)]
    yield
    for table, before in saved:
        table.clear()
        table.update(before)


# ---- an ADC kind ------------------------------------------------------------------------------------------------
COMPARATOR_UM2 = 5.0
"""Area of one comparator of the toy flash converter (um^2; a made-up figure for the test)."""


@pytest.fixture
def flash_adc(restored):
    class FlashAdc(Adc):
        """A toy flash converter: the binary-weighted analog sum converted at once by 2^bits comparators in one
        cycle."""

        name = "toy_flash"
        sums_analog = True

        def combine(self, currents, weights, seeds, saturated, var=None):
            return self.convert(self.weighted_sum(weights, currents), self._summed_var(weights, var), seeds,
                                saturated)

        @staticmethod
        def conversions(n_pulses: int) -> int:
            return 1

        @staticmethod
        def conversion_cycles(bits: int) -> int:
            return 1

        @staticmethod
        def area_um2(bits: int, sar: SarArea) -> float:
            return 2 ** bits * COMPARATOR_UM2

    return FlashAdc


def _tile_mvm(kind: str):
    cfg = load_config("wu2023", {"tiles": {"physics": {"adc": {"kind": kind}}}})
    with open(TILE_MVM) as fh:
        result = Soc.from_config(cfg).run(isa.assemble(fh.read(), TILE_MVM))
    return cfg, result


def test_a_new_adc_kind_is_one_class(flash_adc):
    cfg, flash = _tile_mvm("toy_flash")
    _, bwmcs = _tile_mvm("bwmcs")
    # numerics: the same analog sum converted once, so the same codes as BWMCS bit for bit
    np.testing.assert_array_equal(flash.outputs["y"], bwmcs.outputs["y"])
    assert np.count_nonzero(flash.outputs["y"]) > 0
    # timing: the class's one cycle per conversion (8 column groups) against BWMCS's 9 (Wu et al.: 72 cycles)
    mvm = lambda r: int(r.ledger.query("component == 'tile0' and opcode == 'mvm'").cycles.sum())  # noqa: E731
    assert (mvm(flash), mvm(bwmcs)) == (8, 72)
    # area: the class's own model, not the SAR scaling
    adc = area_table(cfg).query("component == 'tile0' and part == 'adc'").iloc[0]
    assert adc.unit_um2 == 2 ** cfg.tiles.physics.adc.bits * COMPARATOR_UM2
    # calibration: it has a range to set
    assert calibrates_adc(load_config("wu2023", {"tiles": {"physics": {"adc": {"kind": "toy_flash", "fs_bits": 6}}}}))


def test_an_adc_kind_is_registered_once(restored):
    with pytest.raises(TypeError, match="ADC kind 'bwmcs' of Twin is already BwmcsAdc's"):
        type("Twin", (Adc,), {"name": "bwmcs"})


# ---- a device model ---------------------------------------------------------------------------------------------
GRID_STEPS = 127
"""Steps of the toy grid model from 0 to w_max (8-bit signed weights)."""


@pytest.fixture
def grid_model(restored):
    class GridArray(Crossbar):
        """A toy array: weights held exactly on a grid of w_max / GRID_STEPS (write-verify lands on the nearest step),
        a pulse moves a weight one step, reads are exact; two device pairs per weight, each device an SRAM cell."""

        name = "toy_grid"
        STATE = (*Crossbar.STATE, "w")

        def __init__(self, rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream):
            self.rows, self.cols, self.params, self.stream = rows, cols, params, stream
            self.w = np.zeros((rows, cols), np.float32)

        @classmethod
        def weight_level(cls, params: PhysicsParams) -> float:
            return params.w_max / GRID_STEPS

        @classmethod
        def pulse_step(cls, params: PhysicsParams) -> float:
            return cls.weight_level(params)

        @classmethod
        def slices(cls, params: PhysicsParams) -> int:
            return 2

        @classmethod
        def cell_f2(cls, cells: CellArea) -> float:
            return cells.sram_f2

        def _grid(self, w: np.ndarray) -> np.ndarray:
            step = self.weight_level(self.params)
            limit = self.params.w_max
            return (np.clip(np.rint(w / step), -GRID_STEPS, GRID_STEPS) * step).clip(-limit, limit).astype(np.float32)

        def mvm_lanes(self, x, r0, c0, n_out, in_bits, t_s, counters, transposed=False):
            nr, nc = (n_out, x.shape[2]) if transposed else (x.shape[2], n_out)
            self._check_block(r0, c0, nr, nc)
            w = self.w[r0:r0 + nr, c0:c0 + nc]
            return np.matmul(x, w.T if transposed else w), np.zeros(len(x), np.int64)

        def write_verify(self, target, mask, r0, c0, t_s) -> ProgramReport:
            nr, nc = target.shape
            self._check_block(r0, c0, nr, nc)
            block, m = self.w[r0:r0 + nr, c0:c0 + nc], mask.astype(bool)
            block[m] = self._grid(target)[m]
            n = int(np.count_nonzero(m))
            return ProgramReport(cells=n, set_pulses=n, verify_reads=n, pulse_rounds=1 if n else 0)

        def pulse(self, n_pulses, r0, c0, t_s) -> ProgramReport:
            nr, nc = n_pulses.shape
            block = self.w[r0:r0 + nr, c0:c0 + nc]
            block[:] = self._grid(block + n_pulses * self.weight_level(self.params))
            return ProgramReport(cells=int(np.count_nonzero(n_pulses)), set_pulses=int(np.abs(n_pulses).sum()),
                                 pulse_rounds=int(np.abs(n_pulses).max(initial=0)))

        def read_weights_at(self, r0, c0, nr, nc, t_s, counter) -> np.ndarray:
            return self.w[r0:r0 + nr, c0:c0 + nc].copy()

        def load_weights(self, w, r0, c0, t_s) -> ProgramReport:
            return self.write_verify(w, np.ones(w.shape, bool), r0, c0, t_s)

    return GridArray


def test_a_new_device_model_is_one_class(grid_model):
    # wu2023 (threshold transfer by write-verify); the toy has no converter to calibrate
    cfg = load_config("wu2023", {"tiles": {"physics": {"model": "toy_grid"}},
                                 "train": {"batch": 16, "calibration_images": 0}})
    phys = cfg.tiles.physics
    assert weight_level(phys) == pulse_step(phys) == phys.w_max / GRID_STEPS and slices(phys) == 2
    assert cfg.tiles.weight_cols == cfg.tiles.bitlines // 4  # two differential pairs per weight
    cell = area_table(cfg).query("component == 'tile0' and part == 'crossbar'").iloc[0]
    assert cell.unit_um2 == pytest.approx(cfg.area.sram_cell_f2 * (cfg.area.feature_nm * 1e-3) ** 2, rel=1e-12)
    data = synthetic((1, 8, 8), 10, 16, 8)
    trainer = ChipTrainer(loads_toml(open("programs/mlp.toml").read(), "mlp.toml"), cfg, data, microbatch=8)
    start = {i: tile.crossbar.w.copy() for i, tile in enumerate(trainer.soc.tiles)}
    trainer.run_epoch()
    step = phys.w_max / GRID_STEPS
    changed = 0
    for i, tile in enumerate(trainer.soc.tiles):
        assert isinstance(tile.crossbar, grid_model)
        codes = tile.crossbar.w / step
        np.testing.assert_allclose(codes, np.rint(codes), atol=1e-4)  # every weight on the model's grid
        changed += int(np.count_nonzero(tile.crossbar.w != start[i]))
    assert changed > 0, "training wrote no weight: the threshold did not come from the model"
    assert 0.0 <= trainer.evaluate()[0] <= 1.0


def test_an_unknown_model_lists_the_registered_ones(grid_model):
    with pytest.raises(ValueError, match="valid models: ideal, pcm_hic, rram_pulse, rram_wv, sram_cd, toy_grid"):
        load_config("wu2023", {"tiles": {"physics": {"model": "toy"}}})


# ---- a layer type -----------------------------------------------------------------------------------------------
SCALED_MLP = """
name = "scaled_mlp"
[input]
shape = [1, 8, 8]
[[layer]]
type = "flatten"
name = "flat"
[[layer]]
type = "linear"
name = "fc1"
out_features = 16
[[layer]]
type = "toy_scale"
name = "half"
factor = 0.5
[[layer]]
type = "relu"
name = "relu"
[[layer]]
type = "linear"
name = "fc2"
out_features = 10
[[layer]]
type = "softmax_xent"
name = "loss"
"""


@pytest.fixture
def scale_layer(restored):
    @dataclass(frozen=True)
    class Scale(Layer):
        """A toy digital layer: y = factor * x, on the digital unit (``vscl``)."""

        kind: ClassVar[str] = "toy_scale"
        doc: ClassVar[str] = "y = factor x, digital"
        factor: float = knob(1.0, doc="the constant factor")

        def infer(self, ins: tuple[Shape, ...]) -> Shape:
            return ins[0]

        def emit_forward(self, e: ForwardEmission) -> None:
            e.op("vscl", e.output().at(), e.input().at(), e.microbatch * int(np.prod(e.out_shape())), self.factor)

        def emit_backward(self, e: BackwardEmission) -> None:
            n, gout = e.microbatch * int(np.prod(e.in_shape())), e.gradient()
            e.into(0, lambda d: e.op("vscl", d.at(), gout.at(), n, self.factor))

        def numpy_forward(self, ins: Sequence[np.ndarray]) -> np.ndarray:
            return ins[0] * np.float32(self.factor)

        def numpy_backward(self, ins, out, grad):
            return [grad * np.float32(self.factor)]

    return Scale


def test_a_new_layer_type_is_one_class(scale_layer):
    graph = loads_toml(SCALED_MLP, "scaled_mlp.toml")
    assert isinstance(graph.node("half").layer, scale_layer)
    cfg = load_config("ideal", {"train": {"batch": 16, "epochs": 1}})
    data = synthetic((1, 8, 8), 10, 32, 16)
    trainer = ChipTrainer(graph, cfg, data, microbatch=8)
    assert "half (toy_scale) forward" in trainer.compiled.text["train_epoch"]
    trainer.run_epoch()
    base = Baseline(graph, cfg.train)
    base_logits = base.logits(data.x_test[:16])
    base.train_epoch(data.x_train[:32], data.y_train[:32])
    for name, w in trainer.weights().items():  # the layer's code and its numpy twin trained the same network
        np.testing.assert_allclose(w, base.weights[name], rtol=1e-4, atol=1e-6, err_msg=name)
    initial = initial_weights(graph, cfg.train.init_seed)
    assert all(np.abs(w - initial[name]).max() > 1e-4 for name, w in trainer.weights().items()), "nothing trained"
    # the pipelined datapath's evaluation runs the layer's same code: the untrained network's logits
    piped = ChipTrainer(graph, load_config("ideal", {"train": {"batch": 16}, "compiler": {"datapath": "pipelined"}}),
                        data)
    assert "half (toy_scale) eval, pipelined" in piped.compiled.text["evaluate"]
    piped.evaluate()
    symbol, first, words = piped.compiled.logits
    logits = piped.read(symbol)[first:first + words].reshape(-1, 10)
    np.testing.assert_allclose(logits, base_logits, rtol=1e-5, atol=1e-6)


# ---- a layer type with a trainable parameter ---------------------------------------------------------------------
GAINED_MLP = SCALED_MLP.replace('type = "toy_scale"\nname = "half"\nfactor = 0.5', 'type = "toy_gain"\nname = "gain"')


@pytest.fixture
def gain_layer(restored):
    @dataclass(frozen=True)
    class Gain(ParamLayer):
        """A toy layer with a trainable parameter: y[i, f] = gain[f] * x[i, f] on flat features, the gain trained by
        the digital unit (initially 1)."""

        kind: ClassVar[str] = "toy_gain"
        doc: ClassVar[str] = "y = gain x per feature, a learnable gain, digital"
        plan_stage: ClassVar[int] = 1

        def infer(self, ins: tuple[Shape, ...]) -> Shape:
            return ins[0]

        def param_count(self, in_shape: Shape) -> int:
            return in_shape[0]

        # its buffers, its code, its update
        def plan_parameters(self, p, name: str) -> None:
            f = p.net.graph.in_shapes(name)[0][0]
            p.asm.buffer(f"gain_{name}", "acc", f, "= " + ", ".join(["1.0"] * f))
            if not p.net.inference:
                for stem in ("mgain", "vgain", "dgain"):
                    p.asm.buffer(f"{stem}_{name}", "acc", f)
                p.asm.buffer(f"tgain_{name}", "sram", p.net.microbatch * f)  # gout * x of one micro-batch
                p.asm.buffer(f"sgain_{name}", "sram", f)  # its sum over the micro-batch

        def emit_forward(self, e: ForwardEmission) -> None:
            (f,) = e.in_shape()
            for i in range(e.microbatch):
                e.op("vmul", e.output().at(i * f), e.input().at(i * f), f"gain_{e.node}", f)

        def lower_forward(self, fw, name: str, phase: str) -> None:
            fw.emit_digital(name, phase)

        def lower_backward(self, b, name: str) -> None:
            m, (f,) = b.net.microbatch, b.net.graph.in_shapes(name)[0]
            inp = b.net.graph.node(name).inputs[0]
            gout, x, tmp = b.tensors.gradient(name), b.tensors.output(inp), f"tgain_{name}"
            b.asm.op("vmul", tmp, gout.at(), x.at(), m * f)
            b.asm.op("vsumr", f"sgain_{name}", tmp, m, f)
            b.asm.op("vadd", f"dgain_{name}", f"dgain_{name}", f"sgain_{name}", f)

            def input_gradient(d) -> None:
                for i in range(m):
                    b.asm.op("vmul", d.at(i * f), gout.at(i * f), f"gain_{name}", f)
            b.into(inp, m * f, input_gradient)

        def lower_update(self, u, name: str) -> None:
            f = u.net.graph.in_shapes(name)[0][0]
            u.update_digital(f"dgain_{name}", f"mgain_{name}", f"vgain_{name}", f"gain_{name}", f, "gain")

        # its parameters in a model file
        def parameter_shapes(self, in_shape: Shape) -> dict[str, Shape]:
            return {"gain": in_shape}

        def import_parameters(self, name, values, source):
            return {"gain": values["gain"]}

        # its numpy twin
        def numpy_setup(self, base, name: str, in_shape: Shape) -> None:
            base.other.setdefault("gain", {})[name] = np.ones(in_shape, np.float32)

        def numpy_run(self, base, node, a, train):
            return a * base.other["gain"][node.name]

        def numpy_gradients(self, base, node, a_in, grad, grads):
            grads[f"gain:{node.name}"] = (grad * a_in).sum(axis=0)
            return grad * base.other["gain"][node.name]

    return Gain


def test_a_new_layer_with_parameters_is_one_class(gain_layer):
    graph = loads_toml(GAINED_MLP, "gained_mlp.toml")
    assert isinstance(graph.node("gain").layer, gain_layer)
    # SGD: the step is proportional to the gradient (AdamW's would not see a gradient off by a constant factor)
    cfg = load_config("ideal", {"train": {"batch": 16, "epochs": 1, "optimizer": "sgd", "lr": 0.05}})
    data = synthetic((1, 8, 8), 10, 32, 16)
    trainer = ChipTrainer(graph, cfg, data, microbatch=8)
    assert "gain (toy_gain) forward" in trainer.compiled.text["train_epoch"]
    trainer.run_epoch()
    base = Baseline(graph, cfg.train)
    base.train_epoch(data.x_train[:32], data.y_train[:32])
    gain = trainer.read("gain_gain")
    assert np.abs(gain - 1.0).max() > 1e-4, "the gain did not train"
    np.testing.assert_allclose(gain, base.other["gain"]["gain"], rtol=1e-4, atol=1e-6)
    for name, w in trainer.weights().items():  # the layer's code and its numpy twin trained the same network
        np.testing.assert_allclose(w, base.weights[name], rtol=1e-4, atol=1e-6, err_msg=name)
    # its parameters in a model file: imported, written as program symbols, run by the baseline
    assert expected_shapes(graph)["gain.gain"] == (16,)
    arrays = {f"{n}.weight": w.T for n, w in base.weights.items()}
    arrays.update({f"{n}.bias": b for n, b in base.biases.items()})
    arrays["gain.gain"] = base.other["gain"]["gain"]
    params = ModelParameters.from_arrays(graph, arrays, "trained.npz")
    np.testing.assert_array_equal(params.symbols()["gain_gain"], base.other["gain"]["gain"])
    np.testing.assert_array_equal(baseline_with(graph, params, cfg.train).logits(data.x_test),
                                  base.logits(data.x_test))


# ---- an instruction ---------------------------------------------------------------------------------------------
# The recipe's places are source rows, so the toy instruction is added to a copy of the sources, exactly at the two
# places it names (isa/spec.py's table, the digital unit's op table), and runs there in a fresh interpreter.
TOY_ISA_ROW = '    _vbin("vtoyavg", 0xF0, "dst = (a + b) / 2 (a toy instruction of tests/test_adding_recipes.py)"),\n'
TOY_OP_ROW = '    "vtoyavg": _du(_set(lambda c: (c.a("a") + c.a("b")) * F32(0.5)), _elementwise(ops=2)),\n'
TOY_RUN = """
import numpy as np
import isa
from socsim.config import load_config
from socsim.sim import Soc
text = '''.sym a sram 4 = 1, 2, 3, 4
.sym b sram 4 = 3, 2, 1, -4
.sym dst sram 4
    vtoyavg dst, a, b, 4
    halt
'''
program = isa.decode(isa.encode(isa.assemble(text, "toy.s")))
assert "vtoyavg dst, a, b, 4" in isa.disassemble(program), isa.disassemble(program)
for engine in ("reference", "fast"):
    result = Soc(load_config("ideal"), engine=engine).run(program)
    print(engine, result.outputs["dst"].tolist(), result.cycles)
"""


def _insert_after(path, anchor: str, row: str) -> None:
    text = path.read_text()
    assert text.count(anchor) == 1, f"{path}: the recipe's anchor {anchor!r} is not there once"
    path.write_text(text.replace(anchor, anchor + row))


def test_a_new_instruction_is_two_rows(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for package in ("isa", "socsim"):
        shutil.copytree(root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    _insert_after(tmp_path / "isa" / "spec.py", '    _vbin("vsub", 0x41, "dst = a - b"),\n', TOY_ISA_ROW)
    _insert_after(tmp_path / "socsim" / "sim" / "ops" / "digital.py",
                  '    "vsub": _du(_set(lambda c: c.a("a") - c.a("b")), _elementwise(ops=1)),\n', TOY_OP_ROW)
    done = subprocess.run([sys.executable, "-c", TOY_RUN], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
                          timeout=300)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["reference"] == lines["fast"]  # the same values and cycles on both engines
    assert lines["fast"].startswith("[2.0, 2.0, 2.0, 0.0] ")
    assert "vtoyavg" not in isa.BY_MNEMONIC  # the copy's table, not this one's
