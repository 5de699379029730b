"""A LeNet trained elsewhere, brought to the chip: `socsim infer` on its ONNX export against its own accuracy.

Run: .venv/bin/python docs/studies/pretrained_lenet.py [--epochs 3] [--images 1000] [--repeats 3]
     [--cases ideal:100,wu2023:100,wu2023:99,wu2023:95,wu2023:90,wu2023:80] [--out runs/pretrained_lenet]

The numpy FP32 baseline (socsim.host.baseline, plain numpy: nothing of the simulator but the graph) trains
programs/lenet_wu2023.toml on mnist5k. Its weights are exported to ONNX with onnx.helper in the pattern
``torch.onnx.export`` writes (Conv, Relu, MaxPool, Flatten, Gemm with transB = 1, the weights as initializers named
``conv1.weight`` ...), and to a ``.npz`` of the same names. Then, as a user would, ``socsim infer lenet.onnx
--config PRESET --repeats N --json`` programs the initializers through the preset's init program (each layer's
max |w| mapped onto the devices' range) and evaluates the first ``--images`` test images N times, each with its own
read-noise draws. A case ``PRESET:P`` maps each layer's P-th percentile of |w| onto the devices' largest weight
(``--weight-percentile P``; 100: the largest |w|, larger ones clipped otherwise). The table gives the model's own
accuracy on the same images (the baseline's), the chip's mean +- std over the repeats, and the difference.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from socsim.compiler import Conv2d, Linear, load_graph
from socsim.config.soc import load_config
from socsim.host.baseline import Baseline, trained_baseline
from socsim.host.data import load_dataset
from socsim.tools.benchmarking import print_header

GRAPH = "programs/lenet_wu2023.toml"


def state_dict(graph, base: Baseline) -> dict[str, np.ndarray]:
    """The baseline's parameters in PyTorch layout: conv (out, in, kh, kw), linear (out, in)."""
    out = {}
    for node in graph.weight_nodes():
        w = base.weights[node.name]  # (rows, cols) crossbar matrix
        if isinstance(node.layer, Conv2d):
            cin = graph.in_shapes(node.name)[0][0]
            out[f"{node.name}.weight"] = w.T.reshape(node.layer.out_channels, cin, *node.layer.kernel)
        else:
            out[f"{node.name}.weight"] = w.T
        if node.layer.bias:
            out[f"{node.name}.bias"] = base.biases[node.name]
    return out


def to_onnx(graph, state: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The sequential graph as torch.onnx.export writes it (nodes ``/conv1/Conv``, initializers ``conv1.weight``)."""
    nodes, inits, prev = [], [], "input"
    for node in graph.nodes[1:]:
        layer, name = node.layer, node.name
        out = f"/{name}/{layer.kind}_output_0"
        if isinstance(layer, Conv2d):
            ins = [prev, f"{name}.weight"] + ([f"{name}.bias"] if layer.bias else [])
            ph, pw = layer.padding
            nodes.append(helper.make_node("Conv", ins, [out], name=f"/{name}/Conv", kernel_shape=list(layer.kernel),
                                          strides=list(layer.stride), pads=[ph, pw, ph, pw], dilations=[1, 1],
                                          group=1))
        elif isinstance(layer, Linear):
            ins = [prev, f"{name}.weight"] + ([f"{name}.bias"] if layer.bias else [])
            nodes.append(helper.make_node("Gemm", ins, [out], name=f"/{name}/Gemm", alpha=1.0, beta=1.0, transB=1))
        elif layer.kind == "relu":
            nodes.append(helper.make_node("Relu", [prev], [out], name=f"/{name}/Relu"))
        elif layer.kind == "maxpool":
            nodes.append(helper.make_node("MaxPool", [prev], [out], name=f"/{name}/MaxPool", ceil_mode=0,
                                          kernel_shape=list(layer.kernel), strides=list(layer.stride),
                                          pads=[0, 0, 0, 0], dilations=[1, 1]))
        elif layer.kind == "flatten":
            nodes.append(helper.make_node("Flatten", [prev], [out], name=f"/{name}/Flatten", axis=1))
        elif layer.kind == "softmax_xent":
            break
        else:
            raise ValueError(f"node {name!r} ({layer.kind}): not exported by this study")
        prev = out
    nodes[-1].output[0] = "logits"
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in state.items()]
    shape = ["batch", *graph.input.layer.shape]
    g = helper.make_graph(nodes, "main_graph", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch")
    onnx.checker.check_model(model)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3, help="baseline training epochs")
    ap.add_argument("--images", type=int, default=1000, help="test images")
    ap.add_argument("--repeats", type=int, default=3, help="evaluations per preset (read-noise draws)")
    ap.add_argument("--cases", default="ideal:100,wu2023:100,wu2023:99,wu2023:95,wu2023:90,wu2023:80",
                    help="PRESET:PERCENTILE pairs, comma-separated")
    ap.add_argument("--out", default="runs/pretrained_lenet")
    args = ap.parse_args()
    print_header()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    graph, cfg = load_graph(GRAPH), load_config("wu2023")
    data = load_dataset("mnist5k", None, cfg.seed)
    base = trained_baseline(graph, cfg, data, args.epochs)
    state = state_dict(graph, base)
    onnx.save(to_onnx(graph, state), str(out / "lenet.onnx"))
    np.savez(out / "lenet.npz", **state)
    n = min(args.images, len(data.y_test))
    own = base.accuracy(data.x_test[:n], data.y_test[:n])
    print(f"numpy FP32 LeNet after {args.epochs} epochs on mnist5k: {own:.2%} on the first {n} test images; "
          f"exported to {out / 'lenet.onnx'}")
    print("| preset | weight percentile | model's own accuracy | socsim infer (mean +- std) | difference | "
          "deploy writes |")
    print("|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        preset, _, percentile = case.partition(":")
        summary = out / f"infer_{preset}_{percentile or 100}.json"
        cmd = [sys.executable, "-m", "socsim", "infer", str(out / "lenet.onnx"), "--config", preset, "--dataset",
               "mnist5k", "--images", str(n), "--repeats", str(args.repeats), "--json", str(summary),
               "--weight-percentile", percentile or "100"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        s = json.loads(summary.read_text())
        std = s["accuracy_std"] or 0.0
        print(f"| {preset} | {percentile or 100} | {s['software_accuracy']:.2%} | {s['accuracy']:.2%} +- {std:.2%} "
              f"({s['repeats']} draws) | {s['accuracy'] - s['software_accuracy']:+.2%} | "
              f"{s['deploy_cells_written']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
