"""The hand-written MLP program computes the same thing as a numpy forward pass (ideal devices)."""

from __future__ import annotations

import numpy as np

import isa
from tests.helpers import run_asm

F32 = np.float32


def _init(program: isa.Program, name: str) -> np.ndarray:
    sym = program.symbol(name)
    return sym.init.materialize(sym.size)


def _quant(x: np.ndarray, scale: float, bits: int = 8) -> np.ndarray:
    top = F32(2 ** (bits - 1) - 1)
    return np.clip(np.rint(x / F32(scale)), -top, top)


def test_mlp_inference_matches_numpy_forward_pass():
    text = open("programs/mlp_infer.s").read()
    program = isa.assemble(text, "programs/mlp_infer.s")
    r = run_asm(text, preset="ideal")
    batch = 16
    x = _init(program, "x").reshape(batch, 64)
    w1, b1 = _init(program, "w1").reshape(64, 32), _init(program, "b1")
    w2, b2 = _init(program, "w2").reshape(32, 10), _init(program, "b2")
    s1, s2 = F32(0.007874016), F32(0.015748031)
    h = np.maximum((_quant(x, s1) @ w1) * s1 + b1, F32(0))
    y = (_quant(h, s2) @ w2) * s2 + b2
    np.testing.assert_allclose(r.outputs["h"].reshape(batch, 32), h, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(r.outputs["y"].reshape(batch, 10), y, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(r.outputs["pred"], np.argmax(y, axis=1).astype(F32))
    assert len(set(r.outputs["pred"].tolist())) > 1  # the test data is not degenerate
