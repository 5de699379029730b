"""Every shipped graph in programs/*.toml loads, infers its shapes and round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from socsim.compiler.frontend.toml import dump_toml, load_toml, loads_toml

PROGRAMS = Path(__file__).resolve().parents[2] / "programs"
GRAPHS = sorted(PROGRAMS.glob("*.toml"))

# name -> (input shape, dataset, trainable parameters, weight layers)
EXPECTED = {
    "lenet_wu2023": ((1, 28, 28), "mnist", 3220, 3),
    "lenet5": ((1, 28, 28), "mnist", 61706, 5),
    "mlp": ((1, 8, 8), "digits", 2410, 2),
    "cnn_digits": ((1, 8, 8), "digits", 1898, 3),
    # 1x8x3x3 stem + 4 x 8x8x3x3 block convs (72 + 2304), 5 batch norms x (8 scales + 8 shifts), 8x10 + 10 head
    "resnet_digits": ((1, 8, 8), "digits", 2546, 6),
    "vgg8": ((3, 32, 32), "cifar10", 12976266, 8),
    "vgg8_wu": ((3, 32, 32), "cifar10", 549984, 8),
    "resnet18": ((3, 32, 32), "cifar10", 11173962, 21),
    "resnet32": ((3, 32, 32), "cifar10", 466906, 34),
}


def test_every_expected_graph_is_shipped():
    assert {p.stem for p in GRAPHS} == set(EXPECTED)


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.stem)
def test_shipped_graph(path):
    g = load_toml(path)
    shape, dataset, params, weight_layers = EXPECTED[path.stem]
    assert g.name == path.stem
    assert g.input.layer.shape == shape and g.input.layer.dataset == dataset
    assert g.param_count() == params
    assert len(g.weight_nodes()) == weight_layers
    shapes = g.shapes()
    assert shapes[g.nodes[-1].name] == () and g.nodes[-1].layer.kind == "softmax_xent"
    assert shapes[g.nodes[-2].name] == (10,)
    again = loads_toml(dump_toml(g))
    assert again.nodes == g.nodes


def test_lenet_wu2023_shapes():
    g = load_toml(PROGRAMS / "lenet_wu2023.toml")
    assert list(g.shapes().values()) == [(1, 28, 28), (4, 24, 24), (4, 24, 24), (4, 12, 12), (12, 8, 8), (12, 8, 8),
                                         (12, 4, 4), (192,), (10,), ()]


@pytest.mark.parametrize("name, stages", [("resnet18", [(64, 32), (128, 16), (256, 8), (512, 4)]),
                                          ("resnet32", [(16, 32), (32, 16), (64, 8)])])
def test_resnet_stages_and_shortcuts(name, stages):
    g = load_toml(PROGRAMS / f"{name}.toml")
    for s, (channels, size) in enumerate(stages, start=1):
        assert g.shape(f"layer{s}.0.add") == (channels, size, size)
        assert g.shape(f"layer{s}.0.conv1") == (channels, size, size)
    shortcuts = [n for n in g if n.name.endswith("shortcut.conv")]
    assert len(shortcuts) == len(stages) - 1
    assert all(n.layer.kernel == (1, 1) and n.layer.stride == (2, 2) for n in shortcuts)
    assert sum(n.layer.kind == "add" for n in g) == sum(1 for n in g if n.name.endswith(".add"))
    assert g.shape("avgpool") == (stages[-1][0], 1, 1)


def test_dataset_markers_are_registered_datasets():
    from socsim.host.data import DATASETS
    assert {load_toml(p).input.layer.dataset for p in GRAPHS} <= set(DATASETS)
