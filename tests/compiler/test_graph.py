"""The graph IR: shape inference per layer type, crossbar views, parameter counts and errors."""

from __future__ import annotations

import numpy as np
import pytest

from socsim.compiler.graph import (
    LAYERS,
    Add,
    AvgPool,
    BatchNorm,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Graph,
    GraphError,
    Input,
    Linear,
    MaxPool,
    Node,
    ParamLayer,
    ReLU,
    SoftmaxCrossEntropy,
    crossbar_matrix,
    make_layer,
)

# (layer, input shape, output shape)
CASES = [
    (Conv2d(4, 5), (1, 28, 28), (4, 24, 24)),
    (Conv2d(8, 3, stride=2, padding=1), (3, 32, 32), (8, 16, 16)),
    (Conv2d(8, (3, 1), padding=(1, 0)), (2, 5, 5), (8, 5, 5)),
    (Conv2d(16, 1, stride=2, bias=False), (8, 9, 9), (16, 5, 5)),
    (Linear(10), (192,), (10,)),
    (ReLU(), (4, 3, 3), (4, 3, 3)),
    (MaxPool(2), (4, 24, 24), (4, 12, 12)),
    (MaxPool(3, stride=2, padding=1), (4, 32, 32), (4, 16, 16)),
    (AvgPool(2), (6, 28, 28), (6, 14, 14)),
    (AvgPool(3, stride=1), (6, 5, 5), (6, 3, 3)),
    (GlobalAvgPool(), (64, 4, 4), (64, 1, 1)),
    (Flatten(), (12, 4, 4), (192,)),
    (Flatten(), (10,), (10,)),
    (BatchNorm(), (16, 8, 8), (16, 8, 8)),
    (BatchNorm(), (32,), (32,)),
    (SoftmaxCrossEntropy(), (10,), ()),
]


@pytest.mark.parametrize("layer, shape, out", CASES, ids=lambda v: getattr(v, "kind", None))
def test_shape_inference(layer, shape, out):
    g = Graph.sequential([("x", Input(shape)), ("y", layer)])
    assert g.shapes() == {"x": shape, "y": out}


def test_every_registered_type_has_a_shape_case():
    covered = {layer.kind for layer, _, _ in CASES} | {"input", "add"}
    assert covered == set(LAYERS)


def test_add_takes_two_named_inputs():
    g = Graph((Node("x", Input((4, 6, 6))), Node("a", ReLU(), ("x",)), Node("b", Conv2d(4, 3, padding=1), ("x",)),
               Node("s", Add(), ("a", "b"))))
    assert g.shape("s") == (4, 6, 6)
    assert g.consumers("x") == ["a", "b"]


def test_weight_matrices_and_parameters():
    g = Graph.sequential([("x", Input((1, 28, 28))), ("c", Conv2d(4, 5)), ("p", MaxPool(2)), ("f", Flatten()),
                          ("fc", Linear(10, bias=False)), ("bn", BatchNorm())])
    assert g.weight_shape("c") == (25, 4)
    assert g.weight_shape("fc") == (576, 10)
    assert g.weight_shape("p") is None
    assert [n.name for n in g.weight_nodes()] == ["c", "fc"]
    assert g.param_count("c") == 25 * 4 + 4
    assert g.param_count("fc") == 5760
    assert g.param_count("bn") == 20 and g.state_count("bn") == 20
    assert g.param_count() == 104 + 5760 + 20
    assert g.mvms("c") == 576 and g.mvms("fc") == 1 and g.mvms("p") == 0
    assert g.activation_words("f") == 0  # a view
    assert "fc" in g.summary()


def test_crossbar_matrix_is_im2col_order():
    w = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)  # (out, in, kh, kw)
    m = crossbar_matrix(Conv2d(2, 2), w)
    assert m.shape == (12, 2)
    c, i, j = 1, 0, 1
    assert m[c * 4 + i * 2 + j, 1] == w[1, c, i, j]
    assert crossbar_matrix(Linear(3), np.ones((3, 5))).shape == (5, 3)
    with pytest.raises(GraphError, match="relu has no crossbar matrix"):
        crossbar_matrix(ReLU(), w)


OWNED = ("plan_parameters", "lower_forward", "lower_backward", "lower_update", "parameter_shapes",
         "import_parameters", "numpy_run", "numpy_gradients")
"""What every layer type with parameters brings itself (docs/architecture.md, "A network layer with trainable
parameters")."""


@pytest.mark.parametrize("kind", [k for k, c in LAYERS.items() if issubclass(c, ParamLayer)])
def test_a_layer_with_parameters_brings_its_own_code(kind):
    cls = LAYERS[kind]
    missing = [m for m in OWNED if getattr(cls, m) is getattr(ParamLayer, m)]
    assert not missing, f"{kind} leaves {missing} to ParamLayer"


@pytest.mark.parametrize("layers, match", [
    ([("x", Input((1, 4, 4))), ("c", Conv2d(2, 5))], r"node 'c' \(conv2d\): .*kernel 5x5 is larger than .* 4x4"),
    ([("x", Input((1, 4, 4))), ("p", MaxPool(2, padding=0)), ("q", MaxPool(3))], r"node 'q' \(maxpool\)"),
    ([("x", Input((1, 4, 4))), ("fc", Linear(3))], r"node 'fc' \(linear\): .*flat.*add a flatten"),
    ([("x", Input((16,))), ("c", Conv2d(2, 1))], r"node 'c' \(conv2d\): .*\(C, H, W\)"),
    ([("x", Input((1, 4, 4))), ("l", SoftmaxCrossEntropy())], r"node 'l' \(softmax_xent\)"),
    ([("x", Input((4,))), ("l", SoftmaxCrossEntropy()), ("r", ReLU())], r"node 'r'.*loss"),
    ([("x", Input((4,))), ("x", ReLU())], r"duplicate"),
    ([("x", Input((4,))), ("bad name", ReLU())], r"name must match"),
    ([("r", ReLU())], r"first node must be an input"),
])
def test_graph_errors_name_the_node(layers, match):
    with pytest.raises(GraphError, match=match):
        Graph.sequential(layers)


def test_add_of_mismatched_shapes():
    nodes = (Node("x", Input((4, 6, 6))), Node("a", MaxPool(2), ("x",)), Node("s", Add(), ("x", "a")))
    with pytest.raises(GraphError, match=r"node 's' \(add\): add of mismatched shapes \(4, 6, 6\) and \(4, 3, 3\)"):
        Graph(nodes)
    with pytest.raises(GraphError, match=r"node 's' \(add\): takes 2 input"):
        Graph((Node("x", Input((4,))), Node("s", Add(), ("x",))))
    with pytest.raises(GraphError, match=r"input 'y' is not an earlier node"):
        Graph((Node("x", Input((4,))), Node("s", Add(), ("x", "y"))))


@pytest.mark.parametrize("kind, values, match", [
    ("conv2d", {"out_channels": 4, "kernel": 3, "groups": 2}, r"groups = 2 is not supported; only groups = 1"),
    ("conv2d", {"out_channels": 4, "kernel": 3.5}, r"conv2d.kernel: expected an integer or a pair"),
    ("conv2d", {"out_channels": 0, "kernel": 3}, r"conv2d.out_channels = 0 is out of range"),
    ("conv2d", {"out_channels": 4}, r"missing field 'kernel'"),
    ("conv2d", {"out_channels": 4, "kernel": 3, "dilation": 2}, r"unknown field 'dilation'; conv2d has: out_"),
    ("linear", {"out_features": 4, "bias": 1}, r"linear.bias: expected true or false"),
    ("lstm", {}, r"unknown layer type 'lstm'; valid: input, conv2d"),
])
def test_layer_field_errors(kind, values, match):
    with pytest.raises(GraphError, match=match):
        make_layer(kind, **values)


def test_layers_normalise_pairs_and_default_stride():
    assert Conv2d(4, 3) == Conv2d(4, (3, 3), stride=[1, 1], padding=0)
    assert MaxPool(2).stride == (2, 2)
    assert AvgPool((2, 3)).stride == (2, 3)
