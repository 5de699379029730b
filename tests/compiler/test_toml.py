"""The TOML front end: the format, the round trip and errors that name file, layer and field."""

from __future__ import annotations

import pytest

from socsim.compiler.frontend.toml import dump_toml, load_toml, loads_toml
from socsim.compiler.graph import GraphError

GOOD = """
name = "tiny"
[input]
shape = [3, 8, 8]
dataset = "synthetic"
[[layer]]
type = "conv2d"
name = "c1"
out_channels = 4
kernel = 3
padding = 1
[[layer]]
type = "relu"
[[layer]]
type = "add"
name = "sum"
inputs = ["c1", "relu2"]
[[layer]]
type = "global_avgpool"
[[layer]]
type = "flatten"
[[layer]]
type = "linear"
out_features = 10
[train]
epochs = 2
lr = 0.01
schedule = [1, 2]
"""


def test_format_defaults_and_meta():
    g = loads_toml(GOOD, "tiny.toml")
    assert g.name == "tiny"
    assert [n.name for n in g] == ["input", "c1", "relu2", "sum", "global_avgpool4", "flatten5", "linear6"]
    assert g.node("sum").inputs == ("c1", "relu2")
    assert g.node("relu2").inputs == ("c1",)
    assert g.input.layer.dataset == "synthetic"
    assert g.meta == {"epochs": 2, "lr": 0.01, "schedule": [1, 2]}
    assert g.source == "tiny.toml"


def test_round_trip():
    g = loads_toml(GOOD)
    again = loads_toml(dump_toml(g))
    assert again.nodes == g.nodes and again.name == g.name and again.meta == g.meta


def test_file_name_is_the_default_graph_name(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(GOOD.replace('name = "tiny"\n', ""))
    g = load_toml(path)
    assert g.name == "net"
    with pytest.raises(GraphError, match=r"missing\.toml: cannot read graph file"):
        load_toml(tmp_path / "missing.toml")


@pytest.mark.parametrize("old, new, match", [
    ('name = "tiny"', 'name = "tiny"\nlayers = 3',
     r"f.toml: unknown key 'layers'; allowed: name, input, layer, train"),
    ('dataset = "synthetic"', 'dataset = "synthetic"\nbatch = 4',
     r"f.toml: \[input\]: unknown key 'batch'; allowed: shape, dataset, name"),
    ("padding = 1", "padding = 1\npad = 1",
     r"f.toml: layer 1 \('c1'\): conv2d: unknown key 'pad'; allowed: type, name, inputs, out_channels, kernel"),
    ("kernel = 3", 'kernel = "3"',
     r"f.toml: layer 1 \('c1'\): conv2d.kernel: expected an integer or a pair \[h, w\] of integers, got '3'"),
    ("out_features = 10", "out_features = 10.0", r"layer 6: linear.out_features: expected an integer"),
    ('type = "relu"', 'type = "gelu"', r"layer 2: unknown type 'gelu'; valid: conv2d, linear, batchnorm, relu"),
    ('type = "relu"', 'kind = "relu"', r"layer 2: missing key 'type'"),
    ('inputs = ["c1", "relu2"]', 'inputs = ["c1", "relu9"]',
     r"f.toml: node 'sum' \(add\): input 'relu9' is not an earlier node"),
    ('inputs = ["c1", "relu2"]', "", r"layer 3 \('sum'\): add takes 2 inputs: give inputs"),
    ("shape = [3, 8, 8]", "shape = [3, 8]", r"\[input\]: input.shape: expected a list of 1 or 3 positive"),
    ("shape = [3, 8, 8]", "", r"\[input\]: missing key 'shape'"),
    ("[input]\n", "[inputs]\n", r"unknown key 'inputs'"),
    ("kernel = 3", "kernel = 11", r"node 'c1' \(conv2d\): kernel 11x11 is larger than its padded input 10x10"),
    ("epochs = 2", "epochs = ", r"f.toml: not valid TOML"),
])
def test_malformed_toml(old, new, match):
    assert old in GOOD
    with pytest.raises(GraphError, match=match):
        loads_toml(GOOD.replace(old, new, 1), "f.toml")


def test_missing_input_table():
    with pytest.raises(GraphError, match=r"g.toml: missing \[input\] table"):
        loads_toml('[[layer]]\ntype = "relu"\n', "g.toml")
