"""A model's own weights on the chip: a .npz for a TOML graph and an ONNX model's initializers (built with
onnx.helper as PyTorch exports them) are programmed by the init program, evaluated beside the numpy baseline, and
repeated evaluations draw independent read noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from socsim.cli import main
from socsim.compiler import load_graph
from socsim.config.soc import load_config
from socsim.host.baseline import Baseline
from socsim.host.data import load_dataset
from socsim.host.inference import run_inference
from socsim.host.parameters import ModelParameters, expected_shapes, graph_and_parameters, load_npz

ROOT = Path(__file__).resolve().parents[1]
MLP = str(ROOT / "programs" / "mlp.toml")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def trained(digits):
    """The digits MLP trained 1 epoch by the numpy baseline: its state dict in PyTorch layout."""
    graph = load_graph(MLP)
    base = Baseline(graph, load_config("ideal").train)
    base.train_epoch(digits.x_train, digits.y_train)
    # weights 3x larger than the initial bound: the per-layer scaling must map them onto the devices
    return {"fc1.weight": 3 * base.weights["fc1"].T, "fc1.bias": 3 * base.biases["fc1"],
            "fc2.weight": base.weights["fc2"].T / 3, "fc2.bias": base.biases["fc2"] / 3}


def _onnx_mlp(state: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The MLP as torch.onnx.export writes it: Flatten, Gemm (transB = 1) with initializers, Relu, Gemm."""
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in state.items()]
    nodes = [helper.make_node("Flatten", ["input"], ["/flatten/Flatten_output_0"], name="/flatten/Flatten", axis=1),
             helper.make_node("Gemm", ["/flatten/Flatten_output_0", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"],
                              name="/fc1/Gemm", alpha=1.0, beta=1.0, transB=1),
             helper.make_node("Relu", ["/fc1/Gemm_output_0"], ["/relu1/Relu_output_0"], name="/relu1/Relu"),
             helper.make_node("Gemm", ["/relu1/Relu_output_0", "fc2.weight", "fc2.bias"], ["logits"],
                              name="/fc2/Gemm", alpha=1.0, beta=1.0, transB=1)]
    g = helper.make_graph(nodes, "main_graph",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_npz_weights_reach_the_arrays_and_match_the_numpy_baseline(tmp_path, digits, trained):
    path = tmp_path / "mlp.npz"
    np.savez(path, **trained)
    graph = load_graph(MLP)
    params = load_npz(path, graph)
    inf = run_inference(graph, load_config("ideal"), digits, images=128, parameters=params)
    untrained = run_inference(graph, load_config("ideal"), digits, images=128)
    assert inf.software_accuracy > 0.7, "the MLP trained one epoch should classify digits (chance: 0.1)"
    assert inf.accuracy == pytest.approx(inf.software_accuracy, abs=0.005)  # ideal devices: the same numbers
    assert untrained.accuracy is None and inf.deploy is not None
    # the deploy run programmed every weight once (ideal devices: one write each)
    assert inf.deploy_cells_written >= 64 * 32 + 32 * 10
    assert inf.deploy.cycles > 0 and inf.deploy.energy_pj > 0
    # the per-layer scale maps each layer's largest |w| onto w_max
    w_max = load_config("ideal").tiles.physics.w_max
    assert params.weight_scales(w_max)["fc1"] == pytest.approx(float(np.abs(trained["fc1.weight"]).max()) / w_max)


def test_onnx_initializers_are_the_models_weights(tmp_path, digits, trained):
    path = tmp_path / "mlp.onnx"
    onnx.save(_onnx_mlp(trained), str(path))
    graph, params = graph_and_parameters(path, None)
    np.savez(tmp_path / "mlp.npz", **trained)
    from_npz = load_npz(tmp_path / "mlp.npz", load_graph(MLP))
    names = [n.name for n in graph.weight_nodes()]  # the exporter's node names: fc1_Gemm, fc2_Gemm
    assert names == ["fc1_Gemm", "fc2_Gemm"]
    for onnx_name, name in zip(names, ("fc1", "fc2")):
        np.testing.assert_array_equal(params.weights[onnx_name], from_npz.weights[name])
        np.testing.assert_array_equal(params.biases[onnx_name], from_npz.biases[name])
    cfg = load_config("ideal")
    onnx_run = run_inference(graph, cfg, digits, images=128, parameters=params)
    npz_run = run_inference(load_graph(MLP), cfg, digits, images=128, parameters=from_npz)
    assert onnx_run.accuracy == npz_run.accuracy  # the same weights, the same chip: the same numbers
    assert onnx_run.accuracy == pytest.approx(onnx_run.software_accuracy, abs=0.005)
    with pytest.raises(ValueError, match="an ONNX model brings its own weights"):
        graph_and_parameters(path, tmp_path / "mlp.npz")


def test_repeats_draw_independent_read_noise_reproducibly(tmp_path, digits, trained):
    np.savez(tmp_path / "mlp.npz", **trained)
    params = load_npz(tmp_path / "mlp.npz", load_graph(MLP))
    cfg = load_config("wu2023")
    runs = [run_inference(load_graph(MLP), cfg, digits, images=64, parameters=params, repeats=3) for _ in range(2)]
    assert len(runs[0].accuracies) == 3 and runs[0].accuracies == runs[1].accuracies
    assert len(set(runs[0].accuracies)) > 1, "each repeat should draw its own read noise"
    assert runs[0].accuracy == pytest.approx(np.mean(runs[0].accuracies))
    assert runs[0].accuracy_std == pytest.approx(np.std(runs[0].accuracies, ddof=1))
    assert runs[0].accuracy > 0.5  # 4-level devices cost accuracy, but the weights are there (chance: 0.1)


def test_npz_errors_name_the_key_and_the_shape(tmp_path, trained):
    graph = load_graph(MLP)
    assert expected_shapes(graph) == {"fc1.weight": (32, 64), "fc1.bias": (32,), "fc2.weight": (10, 32),
                                      "fc2.bias": (10,)}
    missing = {k: v for k, v in trained.items() if k != "fc2.bias"}
    with pytest.raises(ValueError, match=r"no parameter 'fc2.bias' \(expected shape \(10,\)\)"):
        ModelParameters.from_arrays(graph, missing, "m.npz")
    with pytest.raises(ValueError, match=r"'fc1.weight' has shape \(64, 32\); graph 'mlp' expects \(32, 64\)"):
        ModelParameters.from_arrays(graph, {**trained, "fc1.weight": trained["fc1.weight"].T}, "m.npz")
    with pytest.raises(ValueError, match=r"parameter 'fc3.weight' is not in graph 'mlp'"):
        ModelParameters.from_arrays(graph, {**trained, "fc3.weight": np.zeros((2, 2))}, "m.npz")
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="bad.npz: cannot read the weights"):
        load_npz(tmp_path / "bad.npz", graph)


def test_infer_command_shows_chip_against_software_and_the_deploy_phase(tmp_path, capsys, trained):
    np.savez(tmp_path / "mlp.npz", **trained)
    args = ["infer", MLP, "--dataset", "digits", "--images", "64", "--config", "ideal", "--weights",
            str(tmp_path / "mlp.npz"), "--repeats", "2", "--json", str(tmp_path / "s.json")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "the model's weights from" in out and "(2 read-noise draws)" in out
    assert "software      " in out and "(numpy FP32, the same weights and images)" in out
    assert "deploy        " in out and "device writes" in out
    import json
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["repeats"] == 2 and summary["deploy_cells_written"] > 0 and summary["software_accuracy"] > 0.7
    assert main(["infer", MLP, "--dataset", "digits", "--weights", str(tmp_path / "nope.npz")]) == 2
    assert "nope.npz" in capsys.readouterr().err
