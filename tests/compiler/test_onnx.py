"""The ONNX front end: models built with onnx.helper import to the same IR as their TOML twins."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from socsim.compiler.frontend_onnx import OPS, load_onnx
from socsim.compiler.frontend_toml import loads_toml
from socsim.compiler.graph import GraphError, crossbar_matrix

RNG = np.random.default_rng(0)

TWIN = """
name = "small"
[input]
shape = [1, 12, 12]
dataset = "digits"
[[layer]]
type = "conv2d"
name = "conv1"
out_channels = 4
kernel = 3
padding = 1
[[layer]]
type = "relu"
name = "relu1"
[[layer]]
type = "maxpool"
name = "pool1"
kernel = 2
[[layer]]
type = "conv2d"
name = "conv2"
out_channels = 8
kernel = 3
bias = false
[[layer]]
type = "batchnorm"
name = "bn2"
[[layer]]
type = "relu"
name = "relu2"
[[layer]]
type = "flatten"
name = "flatten"
[[layer]]
type = "linear"
name = "fc"
out_features = 10
[[layer]]
type = "softmax_xent"
name = "loss"
"""


def _init(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(RNG.standard_normal(shape).astype(np.float32), name)


def _model(nodes, inits, in_shape=(1, 1, 12, 12), out_shape=None, name="small") -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def small_model() -> onnx.ModelProto:
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "w1", "b1"], ["t1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Relu", ["t1"], ["t2"], name="relu1"),
        n("MaxPool", ["t2"], ["t3"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["t3", "w2"], ["t4"], name="conv2", kernel_shape=[3, 3]),
        n("BatchNormalization", ["t4", "s", "b", "m", "v"], ["t5"], name="bn2", epsilon=1e-5, momentum=0.9),
        n("Relu", ["t5"], ["t6"], name="relu2"),
        n("Flatten", ["t6"], ["t7"], name="flatten"),
        n("Gemm", ["t7", "wf", "bf"], ["logits"], name="fc", transB=1),
    ]
    inits = [_init("w1", 4, 1, 3, 3), _init("b1", 4), _init("w2", 8, 4, 3, 3), _init("s", 8), _init("b", 8),
             _init("m", 8), _init("v", 8), _init("wf", 10, 128), _init("bf", 10)]
    return _model(nodes, inits, out_shape=(1, 10))


def test_onnx_import_equals_toml_twin():
    model = small_model()
    onnx.checker.check_model(model)
    graph, weights = load_onnx(model, dataset="digits")
    twin = loads_toml(TWIN)
    assert graph.nodes == twin.nodes
    assert graph.shapes() == twin.shapes()
    assert graph.name == "small"
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert set(weights) == {"conv1", "conv2", "bn2", "fc"}
    np.testing.assert_array_equal(weights["conv1"]["weight"], inits["w1"])
    np.testing.assert_array_equal(weights["fc"]["weight"], inits["wf"])  # (out, in)
    assert crossbar_matrix(graph.node("fc").layer, weights["fc"]["weight"]).shape == graph.weight_shape("fc")
    assert crossbar_matrix(graph.node("conv2").layer, weights["conv2"]["weight"]).shape == (36, 8)
    assert set(weights["bn2"]) == {"scale", "bias", "mean", "var"}


def test_onnx_from_file(tmp_path):
    path = tmp_path / "small.onnx"
    onnx.save(small_model(), str(path))
    graph, _ = load_onnx(path, name="from_file", add_loss=False)
    assert graph.name == "from_file" and graph.nodes[-1].name == "fc"
    with pytest.raises(GraphError, match=r"nothing.onnx: cannot read ONNX model"):
        load_onnx(tmp_path / "nothing.onnx")


def test_residual_matmul_bias_reshape_and_passthrough():
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "w1"], ["a"], name="/stem/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Relu", ["a"], ["b"]),
        n("Conv", ["b", "w2"], ["c"], name="/block/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Add", ["c", "b"], ["d"], name="/block/Add"),
        n("Dropout", ["d"], ["e"]),
        n("GlobalAveragePool", ["e"], ["f"], name="gap"),
        n("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([-1, 8], dtype=np.int64))),
        n("Reshape", ["f", "shape"], ["g"], name="reshape"),
        n("MatMul", ["g", "wm"], ["h"], name="fc"),
        n("Add", ["h", "bm"], ["i"], name="fc_bias"),
        n("Identity", ["i"], ["j"]),
        n("Softmax", ["j"], ["logits"], name="softmax"),
    ]
    inits = [_init("w1", 8, 3, 3, 3), _init("w2", 8, 8, 3, 3), _init("wm", 8, 5), _init("bm", 5)]
    graph, weights = load_onnx(_model(nodes, inits, in_shape=("N", 3, 8, 8)))
    kinds = [(node.name, node.layer.kind) for node in graph]
    assert kinds == [("input", "input"), ("stem_Conv", "conv2d"), ("relu1", "relu"), ("block_Conv", "conv2d"),
                     ("block_Add", "add"), ("gap", "global_avgpool"), ("reshape", "flatten"), ("fc", "linear"),
                     ("softmax", "softmax_xent")]
    assert graph.node("block_Add").inputs == ("block_Conv", "relu1")
    assert graph.node("fc").layer.bias and weights["fc"]["bias"].shape == (5,)
    assert weights["fc"]["weight"].shape == (5, 8)
    assert graph.shape("fc") == (5,)


def test_unsupported_operator_names_node_and_op():
    n = helper.make_node
    nodes = [n("Flatten", ["input"], ["a"], name="flat"), n("Tanh", ["a"], ["logits"], name="act")]
    with pytest.raises(GraphError, match=r"small: node 'act' \(Tanh\): unsupported operator 'Tanh'; supported: "):
        load_onnx(_model(nodes, []))


@pytest.mark.parametrize("node, inits, match", [
    (helper.make_node("Conv", ["input", "w"], ["logits"], name="c", kernel_shape=[3, 3], group=2),
     [_init("w", 4, 1, 3, 3)], r"node 'c' \(Conv\): conv2d.groups = 2 is not supported"),
    (helper.make_node("Conv", ["input", "w"], ["logits"], name="c", kernel_shape=[3, 3], dilations=[2, 2]),
     [_init("w", 4, 1, 3, 3)], r"node 'c' \(Conv\): dilations = \[2, 2\] is not supported"),
    (helper.make_node("Conv", ["input", "w"], ["logits"], name="c", kernel_shape=[3, 3], pads=[1, 1, 0, 0]),
     [_init("w", 4, 1, 3, 3)], r"pads \[1, 1, 0, 0\] must be symmetric"),
    (helper.make_node("Conv", ["input", "input"], ["logits"], name="c", kernel_shape=[3, 3]),
     [], r"node 'c' \(Conv\): weight W \(input 1\) must be an initializer"),
    (helper.make_node("Conv", ["input", "w"], ["logits"], name="c"),
     [_init("w", 4, 1, 13, 13)], r"node 'c' \(Conv\): kernel 13x13 is larger than its padded input 12x12"),
    (helper.make_node("Gemm", ["input", "w"], ["logits"], name="g"),
     [_init("w", 144, 10)], r"node 'g' \(Gemm\): linear needs a flat"),
    (helper.make_node("MaxPool", ["input"], ["logits"], name="p", kernel_shape=[2, 2], ceil_mode=1),
     [], r"ceil_mode = 1 is not supported"),
    (helper.make_node("Add", ["input", "k"], ["logits"], name="a"),
     [_init("k", 1)], r"node 'a' \(Add\): adding a constant is supported only as the bias right after MatMul"),
])
def test_onnx_errors(node, inits, match):
    with pytest.raises(GraphError, match=match):
        load_onnx(_model([node], inits))


def test_operator_table_covers_the_documented_set():
    assert {"Conv", "Gemm", "MatMul", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape",
            "Add", "BatchNormalization"} <= set(OPS)
