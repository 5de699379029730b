"""The ONNX front end: models built with onnx.helper import to the same IR as their TOML twins."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from socsim.compiler.frontend.onnx import OPS, load_onnx
from socsim.compiler.frontend.toml import loads_toml
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


# --- the patterns torch.onnx.export writes (torch 2.10, opset 18) ------------------------------------------------
# Each model below reproduces, node for node, what one of the two exporters emits for a small CNN / ResNet in
# eval mode; every one is checked against ONNX's own reference evaluator, so the import computes what the model
# computes (weights in the right orientation, the right tensors shared, the right axes pooled).

N = helper.make_node
OPSET18 = [helper.make_opsetid("", 18)]


def _const(name: str, value, dtype=np.int64) -> onnx.NodeProto:
    return N("Constant", [], [name], value=numpy_helper.from_array(np.array(value, dtype=dtype)))


def _model18(nodes, inits, in_shape, out_features=10, name="net") -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", out_features])],
                              inits)
    model = helper.make_model(graph, opset_imports=OPSET18)
    onnx.checker.check_model(model, full_check=True)  # valid opset-18 ONNX, shapes inferable
    return model


def _bn_params(prefix: str, c: int) -> list[onnx.TensorProto]:
    var = np.abs(RNG.standard_normal(c)).astype(np.float32) + 0.5
    return [_init(f"{prefix}.weight", c), _init(f"{prefix}.bias", c), _init(f"{prefix}.running_mean", c),
            numpy_helper.from_array(var, f"{prefix}.running_var")]


def chip_logits(imported, x: np.ndarray) -> np.ndarray:
    """The imported graph's logits for ``x`` from the numpy baseline, loaded with the imported weights."""
    from socsim.config.soc import load_config
    from socsim.host.baseline import Baseline
    graph, w = imported
    base = Baseline(graph, load_config("ideal").train,
                    weights={n.name: crossbar_matrix(n.layer, w[n.name]["weight"]) for n in graph.weight_nodes()},
                    biases={k: v["bias"] for k, v in w.items() if "weight" in v and "bias" in v})
    for name, p in w.items():
        if "mean" in p:
            base.bn[name] = np.stack([p["scale"], p["bias"]])
            base.bn_run[name] = np.stack([p["mean"], p["var"]])
    return base.logits(x)


def assert_same_function(model: onnx.ModelProto, in_shape: tuple[int, ...], batch: int = 3):
    from onnx.reference import ReferenceEvaluator
    x = RNG.standard_normal((batch, *in_shape)).astype(np.float32)
    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    got = chip_logits(load_onnx(model), x)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def torchscript_resnet() -> onnx.ModelProto:
    """TorchScript exporter, BatchNorm folded: a stem, one residual block whose two convolutions share a folded
    weight through Identity nodes of initializers, GlobalAveragePool, Flatten, Gemm (alpha, beta, transB)."""
    nodes = [
        N("Identity", ["onnx::Conv_100"], ["onnx::Conv_101"], name="Identity_0"),
        N("Identity", ["onnx::Conv_100"], ["onnx::Conv_102"], name="Identity_1"),
        N("Conv", ["x", "onnx::Conv_90", "onnx::Conv_91"], ["/conv1/Conv_output_0"], name="/conv1/Conv",
          dilations=[1, 1], group=1, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        N("Relu", ["/conv1/Conv_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        N("Conv", ["/relu/Relu_output_0", "onnx::Conv_101", "onnx::Conv_103"], ["/layer1/conv1/Conv_output_0"],
          name="/layer1/layer1.0/conv1/Conv", dilations=[1, 1], group=1, kernel_shape=[3, 3], pads=[1, 1, 1, 1],
          strides=[1, 1]),
        N("Relu", ["/layer1/conv1/Conv_output_0"], ["/layer1/relu/Relu_output_0"], name="/layer1/layer1.0/relu/Relu"),
        N("Conv", ["/layer1/relu/Relu_output_0", "onnx::Conv_102", "onnx::Conv_104"],
          ["/layer1/conv2/Conv_output_0"], name="/layer1/layer1.0/conv2/Conv", dilations=[1, 1], group=1,
          kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        N("Add", ["/layer1/conv2/Conv_output_0", "/relu/Relu_output_0"], ["/layer1/Add_output_0"],
          name="/layer1/layer1.0/Add"),
        N("Relu", ["/layer1/Add_output_0"], ["/layer1/relu_1/Relu_output_0"], name="/layer1/layer1.0/relu_1/Relu"),
        N("GlobalAveragePool", ["/layer1/relu_1/Relu_output_0"], ["/avgpool/GlobalAveragePool_output_0"],
          name="/avgpool/GlobalAveragePool"),
        N("Flatten", ["/avgpool/GlobalAveragePool_output_0"], ["/Flatten_output_0"], name="/Flatten", axis=1),
        N("Gemm", ["/Flatten_output_0", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", alpha=1.0, beta=1.0,
          transB=1),
    ]
    inits = [_init("onnx::Conv_90", 8, 3, 3, 3), _init("onnx::Conv_91", 8), _init("onnx::Conv_100", 8, 8, 3, 3),
             _init("onnx::Conv_103", 8), _init("onnx::Conv_104", 8), _init("fc.weight", 10, 8), _init("fc.bias", 10)]
    return _model18(nodes, inits, ["batch", 3, 8, 8])


def test_torchscript_resnet_with_weights_shared_through_identity():
    model = torchscript_resnet()
    graph, weights = load_onnx(model)
    assert [(n.name, n.layer.kind) for n in graph] == [
        ("x", "input"), ("conv1_Conv", "conv2d"), ("relu_Relu", "relu"), ("layer1_layer1.0_conv1_Conv", "conv2d"),
        ("layer1_layer1.0_relu_Relu", "relu"), ("layer1_layer1.0_conv2_Conv", "conv2d"),
        ("layer1_layer1.0_Add", "add"), ("layer1_layer1.0_relu_1_Relu", "relu"),
        ("avgpool_GlobalAveragePool", "global_avgpool"), ("Flatten", "flatten"), ("fc_Gemm", "linear"),
        ("loss", "softmax_xent")]
    shared = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "onnx::Conv_100"))
    for conv in ("layer1_layer1.0_conv1_Conv", "layer1_layer1.0_conv2_Conv"):
        np.testing.assert_array_equal(weights[conv]["weight"], shared)
    assert graph.node("layer1_layer1.0_Add").inputs == ("layer1_layer1.0_conv2_Conv", "relu_Relu")
    assert_same_function(model, (3, 8, 8))


def torchscript_view_lenet(fold_constants: bool = True) -> onnx.ModelProto:
    """TorchScript exporter, dynamic batch: ``x.view(x.size(0), -1)`` as Shape -> Gather -> Unsqueeze -> Concat ->
    Reshape; without constant folding, also Unsqueeze's axes as a Constant and BatchNormalization with its
    parameters behind Identity nodes."""
    bn = [] if fold_constants else [
        N("Identity", ["bn.weight"], ["bn_w"]), N("Identity", ["bn.bias"], ["bn_b"]),
        N("BatchNormalization", ["/c1/Conv_output_0", "bn_w", "bn_b", "bn.running_mean", "bn.running_var"],
          ["/bn/BatchNormalization_output_0"], name="/bn/BatchNormalization", epsilon=1e-5, momentum=0.9)]
    after_conv = "/c1/Conv_output_0" if fold_constants else "/bn/BatchNormalization_output_0"
    nodes = [
        N("Conv", ["x", "c1.weight", "c1.bias"], ["/c1/Conv_output_0"], name="/c1/Conv", kernel_shape=[5, 5],
          pads=[0, 0, 0, 0], strides=[1, 1], dilations=[1, 1], group=1),
        *bn,
        N("Relu", [after_conv], ["/Relu_output_0"], name="/Relu"),
        N("MaxPool", ["/Relu_output_0"], ["/MaxPool_output_0"], name="/MaxPool", ceil_mode=0, kernel_shape=[2, 2],
          pads=[0, 0, 0, 0], strides=[2, 2]),
        N("Shape", ["/MaxPool_output_0"], ["/Shape_output_0"], name="/Shape"),
        _const("/Constant_output_0", 0),
        N("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"], name="/Gather", axis=0),
        _const("/Constant_1_output_0", [-1]),
        _const("onnx::Unsqueeze_20", [0]),
        N("Unsqueeze", ["/Gather_output_0", "onnx::Unsqueeze_20"], ["/Unsqueeze_output_0"], name="/Unsqueeze"),
        N("Concat", ["/Unsqueeze_output_0", "/Constant_1_output_0"], ["/Concat_output_0"], name="/Concat", axis=0),
        N("Reshape", ["/MaxPool_output_0", "/Concat_output_0"], ["/Reshape_output_0"], name="/Reshape",
          allowzero=0),
        N("Gemm", ["/Reshape_output_0", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", alpha=1.0, beta=1.0,
          transB=1),
    ]
    inits = [_init("c1.weight", 4, 1, 5, 5), _init("c1.bias", 4), _init("fc.weight", 10, 4 * 4 * 4),
             _init("fc.bias", 10)] + ([] if fold_constants else _bn_params("bn", 4))
    return _model18(nodes, inits, ["batch", 1, 12, 12])


@pytest.mark.parametrize("fold_constants", [True, False])
def test_torchscript_view_and_batchnorm(fold_constants):
    model = torchscript_view_lenet(fold_constants)
    graph, _ = load_onnx(model)
    kinds = [n.layer.kind for n in graph]
    bn = [] if fold_constants else ["batchnorm"]
    assert kinds == ["input", "conv2d", *bn, "relu", "maxpool", "flatten", "linear", "softmax_xent"]
    assert graph.shape("Reshape") == (64,)
    assert_same_function(model, (1, 12, 12))


def dynamo_cnn(keepdims: bool) -> onnx.ModelProto:
    """The dynamo exporter (``dynamo=True``, opset 18, ``optimize=False``), dynamic batch: a conv bias built as
    Expand(CastLike(0)), BatchNormalization in inference form, MaxPool with an unused Indices output, a Dropout
    with ratio and training_mode inputs, ReduceMean over axes [-1, -2] given as an input, the ``view`` as
    Shape(start, end) -> Squeeze -> Reshape -> Concat -> Reshape(allowzero=1), an Identity (``clone``), and the
    linear layer as MatMul of Transpose(weight) + Add."""
    view = [
        N("Shape", ["mean"], ["val_0"], name="node_Shape_0", start=0, end=1),
        N("Squeeze", ["val_0"], ["sym_size_int"], name="node_sym_size_int"),
        N("Constant", [], ["val_3"], name="node_Constant_1", value_ints=[-1]),
        N("Reshape", ["sym_size_int", "val_3"], ["val_4"], name="node_Reshape_2", allowzero=0),
        N("Constant", [], ["val_5"], name="node_Constant_3", value_ints=[-1]),
        N("Concat", ["val_4", "val_5"], ["val_6"], name="node_Concat_4", axis=0),
        N("Reshape", ["mean", "val_6"], ["view"], name="node_view", allowzero=1),
    ] if keepdims else [N("Identity", ["mean"], ["view"], name="node_alias")]
    nodes = [
        N("Shape", ["c.weight"], ["val_s"], name="node_Shape_w", start=0, end=1),
        N("Constant", [], ["val_z"], name="node_Constant_z", value=numpy_helper.from_array(np.array(0.0, np.float32))),
        N("CastLike", ["val_z", "x"], ["val_zc"], name="node_CastLike"),
        N("Expand", ["val_zc", "val_s"], ["val_bias"], name="node_Expand"),
        N("Conv", ["x", "c.weight", "val_bias"], ["conv2d"], name="node_conv2d", group=1, pads=[1, 1, 1, 1],
          auto_pad="NOTSET", strides=[1, 1], dilations=[1, 1], kernel_shape=[3, 3]),
        N("BatchNormalization", ["conv2d", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
          ["getitem"], name="node__native_batch_norm_legit_no_training", momentum=0.9, epsilon=1e-5),
        N("Relu", ["getitem"], ["relu"], name="node_relu"),
        N("MaxPool", ["relu"], ["max_pool2d", "max_pool2d_indices"], name="node_max_pool2d", storage_order=0,
          dilations=[1, 1], ceil_mode=0, pads=[0, 0, 0, 0], auto_pad="NOTSET", strides=[2, 2], kernel_shape=[2, 2]),
        _const("val_ratio", 0.5, np.float32),
        _const("val_train", False, np.bool_),
        N("Dropout", ["max_pool2d", "val_ratio", "val_train"], ["dropout", "dropout_mask"], name="node_dropout"),
        N("Constant", [], ["val_axes"], name="node_Constant_a", value_ints=[-1, -2]),
        N("ReduceMean", ["dropout", "val_axes"], ["mean"], name="node_mean", keepdims=int(keepdims),
          noop_with_empty_axes=0),
        *view,
        N("Identity", ["view"], ["clone"], name="node_clone"),
        N("Transpose", ["fc.weight"], ["val_wt"], name="node_t", perm=[1, 0]),
        N("MatMul", ["clone", "val_wt"], ["val_mm"], name="node_MatMul"),
        N("Add", ["val_mm", "fc.bias"], ["y"], name="node_linear"),
    ]
    inits = [_init("c.weight", 8, 3, 3, 3), *_bn_params("bn", 8), _init("fc.weight", 10, 8), _init("fc.bias", 10)]
    return _model18(nodes, inits, ["batch", 3, 8, 8])


@pytest.mark.parametrize("keepdims", [True, False])
def test_dynamo_cnn(keepdims):
    model = dynamo_cnn(keepdims)
    graph, weights = load_onnx(model)
    assert [(n.name, n.layer.kind) for n in graph] == [
        ("x", "input"), ("node_conv2d", "conv2d"), ("node__native_batch_norm_legit_no_training", "batchnorm"),
        ("node_relu", "relu"), ("node_max_pool2d", "maxpool"), ("node_mean", "global_avgpool"),
        ("node_view" if keepdims else "node_mean_flatten", "flatten"), ("node_MatMul", "linear"),
        ("loss", "softmax_xent")]
    np.testing.assert_array_equal(weights["node_conv2d"]["bias"], np.zeros(8, np.float32))
    fc = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "fc.weight"))
    np.testing.assert_array_equal(weights["node_MatMul"]["weight"], fc)  # (out, in) after Transpose + MatMul
    assert graph.node("node__native_batch_norm_legit_no_training").layer.momentum == pytest.approx(0.1)
    assert_same_function(model, (3, 8, 8))


def dynamo_optimized() -> onnx.ModelProto:
    """The dynamo exporter with its default optimizer: BatchNorm folded into the conv, a static-batch export
    (batch 1) whose flatten is Reshape to the constant [1, 8] with allowzero = 1, ReduceMean keepdims, Gemm."""
    nodes = [
        N("Conv", ["x", "c.weight", "c.bias"], ["conv2d"], name="node_conv2d", group=1, pads=[1, 1, 1, 1],
          strides=[1, 1], dilations=[1, 1], kernel_shape=[3, 3]),
        N("Relu", ["conv2d"], ["relu"], name="node_relu"),
        N("ReduceMean", ["relu", "val_axes"], ["mean"], name="node_mean", keepdims=1, noop_with_empty_axes=0),
        N("Reshape", ["mean", "val_shape"], ["view"], name="node_view", allowzero=1),
        N("Gemm", ["view", "fc.weight", "fc.bias"], ["y"], name="node_linear", transB=1),
    ]
    inits = [_init("c.weight", 8, 3, 3, 3), _init("c.bias", 8), _init("fc.weight", 10, 8), _init("fc.bias", 10),
             numpy_helper.from_array(np.array([-1, -2], np.int64), "val_axes"),
             numpy_helper.from_array(np.array([1, 8], np.int64), "val_shape")]
    graph = helper.make_graph(nodes, "main_graph",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=OPSET18)
    onnx.checker.check_model(model, full_check=True)
    return model


def test_dynamo_optimized_static_batch():
    model = dynamo_optimized()
    graph, _ = load_onnx(model)
    assert [n.layer.kind for n in graph] == ["input", "conv2d", "relu", "global_avgpool", "flatten", "linear",
                                             "softmax_xent"]
    assert_same_function(model, (3, 8, 8), batch=1)


def _head(nodes, inits=(), in_shape=("batch", 8, 4, 4)) -> onnx.ModelProto:
    """A model whose body is ``nodes`` from input "x" to output "y" (not checked: some are meant to be refused)."""
    graph = helper.make_graph(nodes, "head", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(inits))
    return helper.make_model(graph, opset_imports=OPSET18)


def _shape_init(name: str, values) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(values, np.int64), name)


@pytest.mark.parametrize("nodes, inits, match", [
    ([N("Reshape", ["x", "s"], ["y"], name="r", allowzero=1)], [_shape_init("s", [0, -1])],
     r"node 'r' \(Reshape\): shape \[0, -1\] has a zero dimension \(allowzero = 1\)"),
    ([N("Reshape", ["x", "s"], ["y"], name="r")], [_shape_init("s", [-1, 8, 16])],
     r"node 'r' \(Reshape\): only a reshape to \(batch, 128\) or to the same shape is supported, got \[-1, 8, 16\]"),
    ([N("Reshape", ["x", "s"], ["y"], name="r")], [_shape_init("s", [8, -1])],
     r"shape \[8, -1\] does not keep the batch as its first dimension"),
    ([N("Reshape", ["x", "s"], ["y"], name="r")], [_shape_init("s", [-1, 100])],
     r"shape \[-1, 100\] does not fit an input of 128 values per image \(8, 4, 4\)"),
    ([N("ReduceMean", ["x", "a"], ["y"], name="m", keepdims=0)], [_shape_init("a", [1])],
     r"node 'm' \(ReduceMean\): only a mean over the spatial axes \[2, 3\] .* got axes \[1\] of an input "
     r"\(N, 8, 4, 4\)"),
    ([N("Dropout", ["x", "r", "t"], ["y"], name="d")],
     [numpy_helper.from_array(np.array(0.5, np.float32), "r"), numpy_helper.from_array(np.array(True), "t")],
     r"node 'd' \(Dropout\): training_mode is true; export the model in inference mode \(model.eval\(\)\)"),
    ([N("MaxPool", ["x"], ["p", "i"], name="p", kernel_shape=[2, 2], strides=[2, 2]),
      N("Add", ["p", "i"], ["y"], name="a")], [], r"node 'p' \(MaxPool\): the Indices output is used"),
    ([N("Shape", ["x"], ["s"]), N("Mul", ["s", "two"], ["s2"], name="twice"), N("Reshape", ["x", "s2"], ["y"])],
     [_shape_init("two", [2])], r"node 'twice' \(Mul\): arithmetic on the batch dimension"),
    ([N("Constant", [], ["c"], name="k", value_string="a"), N("Identity", ["x"], ["y"])], [],
     r"node 'k' \(Constant\): a Constant with value_string is not supported"),
    ([N("Sin", ["w"], ["w2"], name="s"), N("Identity", ["x"], ["y"])], [_shape_init("w", [1])],
     r"node 's' \(Sin\): every input is a constant, and folding Sin is not supported; foldable: "),
    ([N("Flatten", ["x"], ["y"], name="f", axis=2)], [],
     r"node 'f' \(Flatten\): axis = 2 is not supported; only 1"),
])
def test_exporter_patterns_that_do_not_fit_are_named(nodes, inits, match):
    with pytest.raises(GraphError, match=match):
        load_onnx(_head(nodes, inits))


def test_docs_list_every_operator():
    from pathlib import Path

    from socsim.compiler.frontend.onnx_fold import FOLD
    doc = (Path(__file__).resolve().parents[2] / "docs" / "compiler.md").read_text()
    section = doc.split("## ONNX import")[1].split("\n## ")[0]
    for op in (*OPS, *FOLD, "Constant", "Shape", "CastLike"):
        assert f"`{op}`" in section, f"docs/compiler.md's ONNX section does not name {op}"


def test_weights_in_an_external_data_file(tmp_path):
    """The dynamo exporter writes the weights to NET.onnx.data beside NET.onnx; both load, a missing one is named."""
    model, saved = dynamo_optimized(), dynamo_optimized()
    path = tmp_path / "net.onnx"
    onnx.save(saved, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="net.onnx.data",
              size_threshold=0)
    assert (tmp_path / "net.onnx.data").stat().st_size > 0
    graph, weights = load_onnx(path)
    assert graph.nodes == load_onnx(model).graph.nodes
    assert weights["node_linear"]["weight"].shape == (10, 8)
    (tmp_path / "net.onnx.data").unlink()
    with pytest.raises(GraphError, match=r"net.onnx: cannot read ONNX model: .*net.onnx.data"):
        load_onnx(path)
