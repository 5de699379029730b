"""The backward pass on the arrays as built: per-layer error scales the chip measures, sign-and-magnitude errors
charged for the pulses they drive, device read noise drawn once per read."""

from __future__ import annotations

import numpy as np
import pytest

from socsim.compiler import load_graph
from socsim.compiler.lower.errors import ERROR_BINS, ERROR_RANGE
from socsim.config.soc import load_config
from socsim.host.baseline_quant import QuantisedBaseline, error_scale, histogram_percentile
from socsim.host.data import load_dataset
from socsim.host.training import ChipTrainer
from socsim.physics.adc import make_adc
from socsim.physics.dac import Dac
from socsim.physics.flat import flatten
from socsim.physics.mvm import ReadDraws, analog_mvm
from tests.helpers import run_asm
from tests.physics.conftest import make_params

MVMT = """
.layer 1 demo
.sym w    sram 64*32 uniform -1.0 1.0 1
.sym ones sram 64*32 = 1.0
.sym e    dram 32 uniform -3 3 2
.sym ein  tb0 32
.sym xout tb0 64
    vfill ones, 64*32, 1.0
    tcfg 0, 0, 0, 64, 32, 8
    wv 0, w, ones
    copy ein, e, 32
    quant ein, ein, 32, 1.0, 8
    mark 1, backward
    mvmt 0, xout, ein, 1
    halt
"""
"""One transposed read of 32 small signed 8-bit errors (-3 .. 3) through a 64 x 32 pcm_hic block."""


def _error_scale(batch: int) -> tuple[float, np.ndarray]:
    """pcm_hic, digits MLP, one epoch of 64 images at lr 0 (the weights stay): the chip's ``escale`` after the last
    micro-batch (fc2's: fc1, the first layer, drives no transposed read) and fc2's output gradient then."""
    cfg = load_config("pcm_hic", {"train": {"batch": batch, "lr": 0.0}})
    trainer = ChipTrainer(load_graph("programs/mlp.toml"), cfg, load_dataset("digits").subset(64, 32))
    assert "vpctl" in trainer.compiled.text["train_epoch"] and "quantm" in trainer.compiled.text["train_epoch"]
    trainer.train_epoch()
    return float(trainer.read("escale")[0]), trainer.read("g_fc2")


def test_each_layer_error_scale_is_measured_by_the_chip_and_tracks_the_errors():
    scale, g = _error_scale(64)
    top = 2 ** (load_config("pcm_hic").train.in_bits - 1) - 1
    want = histogram_percentile([np.abs(g)], 0.999, ERROR_BINS, *ERROR_RANGE) / top
    assert scale == pytest.approx(want, rel=1e-6)            # the percentile of the errors the chip computed
    assert scale == error_scale(g, load_config("pcm_hic").train)   # and the numpy baseline's rule
    assert scale < 0.5 * load_config("pcm_hic").train.error_range / top   # not the fixed range
    half, g_half = _error_scale(32)                          # half the batch: the mean loss's errors twice as large
    np.testing.assert_allclose(g_half, 2 * g, rtol=1e-2)   # lr 0: the forward reads alike
    assert 2 / 1.11 < half / scale < 2 * 1.11                # within a histogram bin (10.2 %) of the errors' ratio


@pytest.mark.parametrize("scaling", ["percentile", "fixed"])
def test_the_quantised_baseline_scales_integer_errors_as_the_chip(scaling):
    cfg = load_config("pcm_hic", {"train": {"error_scaling": scaling}})
    graph = load_graph("programs/mlp.toml")
    base = QuantisedBaseline(graph, cfg.train, cfg=cfg, microbatch=2)
    assert base.int_errors and not QuantisedBaseline(graph, load_config("radix4").train, cfg=load_config("radix4"),
                                                     microbatch=2).int_errors
    g = (np.random.default_rng(0).standard_normal((4, 10)) * np.array([[1e-3], [1e-3], [1e-5], [1e-5]])).astype(
        np.float32)
    g_w, g_x = base.layer_errors(graph.weight_nodes()[-1], g)
    assert g_w is g                                          # the weight gradient takes the FP32 errors
    for part in (slice(0, 2), slice(2, 4)):                  # one scale per micro-batch of 2
        scale = error_scale(g[part], cfg.train)
        codes = g_x[part] / scale
        np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)
        if scaling == "fixed":
            assert scale == np.float32(cfg.train.error_range / 127)
        else:
            assert 0.5 < np.abs(g[part]).max() / (127 * scale) < 1.2     # the top code near the largest error
    assert (scaling == "fixed") == (error_scale(g[:2], cfg.train) == error_scale(g[2:], cfg.train))


def test_sign_magnitude_is_charged_for_the_pulses_it_drives():
    """8-bit errors: 7 magnitude pulses (the sign a polarity) against two's complement's 8, in DAC pulses, cell
    reads, conversions and cycles; the fixed-range program is unchanged."""
    cost = {}
    for mode in ("sign_magnitude", "twos_complement"):
        r = run_asm(MVMT, "pcm_hic", {"tiles": {"physics": {"dac_t": {"signed_mode": mode}}}})
        cost[mode] = r.by("opcode", "action").loc["mvmt"]
    sm, tc = cost["sign_magnitude"], cost["twos_complement"]
    slices = r.cfg.tiles.weight_slices  # pcm_hic: each of the 3 pairs of a weight is converted on its own
    assert sm.loc["adc_conversion", "count"] == slices * 64 * 7 and tc.loc["adc_conversion", "count"] == slices * 64 * 8
    for action in ("dac_pulse", "array_cell", "adc_conversion", "shift_add"):
        assert sm.loc[action, "count"] * 8 == tc.loc[action, "count"] * 7, action
    assert sm.loc["busy", "cycles"] * 8 == tc.loc["busy", "cycles"] * 7
    assert sm.loc["adc_conversion", "energy_pj"] < tc.loc["adc_conversion", "energy_pj"]
    assert load_config("pcm_hic").tiles.physics.dac_t.signed_mode.name == "SIGN_MAGNITUDE"   # the default


@pytest.mark.parametrize("mode", ["twos_complement", "sign_magnitude"])
def test_read_noise_is_shared_by_the_pulses_of_a_read(mode):
    """One device, code -1 repeated over 4000 reads, a shift-and-add converter without noise of its own: drawn once
    per read the noise is the code times one fluctuation (variance 1 x Var in code units); drawn per pulse,
    two's complement's eight pulses each add their own, weighted by their significance (21845 x Var)."""
    var, n = 0.25, 4000
    adc = make_adc("shift_add", 16, -2000.0, 2000.0, 0.0)
    out = {}
    for draw in ("read", "pulse"):
        dac = Dac(flatten(make_params("rram_wv", {"dac": {"signed_mode": mode}, "read": {"noise_draw": draw}})))
        x = np.full((1, n, 1), -1.0, np.float32)
        g = np.full((1, 1), 20.0, np.float32)
        y = analog_mvm(x, g, var, dac, adc, 8, ReadDraws(7, np.array([3], np.uint64)), np.zeros(1, np.int64))[0]
        out[draw] = y[:, 0]
    for y in out.values():
        assert abs(y.mean() + 20.0) < 5 * np.sqrt(21845 * var / n)
    per_read = out["read"].var() / var
    assert 0.85 < per_read < 1.15
    per_pulse = out["pulse"].var() / var
    assert (21845 * 0.85 < per_pulse < 21845 * 1.15) if mode == "twos_complement" else (0.85 < per_pulse < 1.15)
