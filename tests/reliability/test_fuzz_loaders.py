"""Fuzzing the config, graph-TOML, ONNX and dataset loaders: project errors that name the field, never a crash."""

from __future__ import annotations

import pickle
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import onnx
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from socsim.base.configtools import ConfigError, describe
from socsim.compiler.frontend.onnx import load_onnx
from socsim.compiler.frontend.toml import loads_toml
from socsim.compiler.graph import GraphError
from socsim.config.soc import PRESET_DIR, SocConfig, load_config
from socsim.host.data import DataError, load_dataset
from tests.reliability.conftest import FUZZ
from tests.reliability.mutate import TOML_VALUES, drop_toml_lines, edit_text, replace_toml_values
from tests.reliability.sanity import check_config, check_dataset, check_graph

ROOT = Path(__file__).resolve().parents[2]
PRESETS = {p.name: p.read_text() for p in sorted(PRESET_DIR.glob("*.toml"))}
GRAPHS = {p.name: p.read_text() for p in sorted((ROOT / "programs").glob("*.toml"))}
LEAVES = [row["name"] for row in describe(SocConfig)]


# config ------------------------------------------------------------------------------------------------
def _load_config_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(text)
        try:
            cfg = load_config(str(path))
        except ConfigError as exc:
            assert str(exc).startswith(str(path)) or "preset" in str(exc), str(exc)
        else:
            check_config(cfg)


@FUZZ
@given(st.sampled_from(sorted(PRESETS)).flatmap(
    lambda name: st.one_of(replace_toml_values(PRESETS[name]), drop_toml_lines(PRESETS[name]),
                           edit_text(PRESETS[name]))))
def test_damaged_presets_load_or_name_the_file(text):
    _load_config_text(text.replace('base = "', 'base = "' if "base" not in text else 'base = "'))


@FUZZ
@given(st.sampled_from(LEAVES), TOML_VALUES)
def test_any_field_with_any_value_loads_or_names_the_field(dotted, value_text):
    value = tomllib.loads(f"v = {value_text}")["v"]
    override: dict = {}
    node = override
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    try:
        cfg = load_config("wu2023", override)
    except ConfigError as exc:
        assert dotted in str(exc) or leaf in str(exc), (dotted, value, str(exc))
    else:
        check_config(cfg)


# graph TOML ----------------------------------------------------------------------------------------------
def _loads_graph(text: str) -> None:
    try:
        graph = loads_toml(text, "fuzz.toml")
    except GraphError as exc:
        assert str(exc).startswith("fuzz.toml: "), str(exc)
    else:
        check_graph(graph)


@FUZZ
@given(st.sampled_from(sorted(GRAPHS)).flatmap(
    lambda name: st.one_of(replace_toml_values(GRAPHS[name]), drop_toml_lines(GRAPHS[name]),
                           edit_text(GRAPHS[name]))))
def test_damaged_graphs_load_or_name_file_and_layer(text):
    _loads_graph(text)


# ONNX ------------------------------------------------------------------------------------------------------
def _init(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.full(shape, 0.1, dtype=np.float32), name)


@st.composite
def onnx_models(draw) -> onnx.ModelProto:
    """Small chains of supported (and some unsupported) operators with random attributes and weight shapes."""
    dims = draw(st.sampled_from([[1, 1, 8, 8], [1, 3, 6, 6], [1, 16], [1, 0, 4, 4], [1, 4], [2, 2, 2]]))
    nodes, inits, prev = [], [], "x"
    dim = st.integers(0, 9)
    for i in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["Conv", "Gemm", "MatMul", "Add", "Relu", "MaxPool", "AveragePool", "Flatten",
                                   "Reshape", "BatchNormalization", "Softmax", "GlobalAveragePool", "Tanh",
                                   "Dropout", "Identity"]))
        out = f"t{i}"
        inputs, attrs = [prev], {}
        if op == "Conv":
            w = f"w{i}"
            inits.append(_init(w, (draw(dim), draw(dim), draw(dim), draw(dim))))
            inputs.append(w)
            attrs = draw(st.fixed_dictionaries({}, optional={
                "pads": st.lists(st.integers(-1, 3), min_size=2, max_size=4),
                "strides": st.lists(st.integers(0, 3), min_size=1, max_size=3),
                "group": st.integers(1, 3), "dilations": st.lists(st.integers(1, 2), min_size=2, max_size=2)}))
        elif op in ("Gemm", "MatMul"):
            w = f"w{i}"
            inits.append(_init(w, tuple(draw(st.lists(dim, min_size=1, max_size=3)))))
            inputs.append(w)
            if op == "Gemm":
                attrs = draw(st.fixed_dictionaries({}, optional={"transB": st.integers(0, 1),
                                                                 "alpha": st.floats(-2, 2)}))
        elif op == "Add":
            b = f"b{i}"
            inits.append(_init(b, tuple(draw(st.lists(dim, min_size=1, max_size=2)))))
            inputs.append(draw(st.sampled_from([b, prev])))
        elif op in ("MaxPool", "AveragePool"):
            attrs = {"kernel_shape": draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))}
            attrs.update(draw(st.fixed_dictionaries({}, optional={
                "strides": st.lists(st.integers(0, 3), min_size=2, max_size=2),
                "pads": st.lists(st.integers(0, 2), min_size=4, max_size=4)})))
        elif op == "Reshape":
            s = f"s{i}"
            inits.append(numpy_helper.from_array(np.array(draw(st.lists(st.integers(-1, 64), min_size=1,
                                                                         max_size=3)), dtype=np.int64), s))
            inputs.append(s)
        elif op == "BatchNormalization":
            c = draw(dim)
            for name in ("scale", "bias", "mean", "var"):
                inits.append(_init(f"{name}{i}", (c,)))
                inputs.append(f"{name}{i}")
        nodes.append(helper.make_node(op, inputs, [out], name=draw(st.sampled_from(["", f"n{i}", "n0"])), **attrs))
        prev = out
    graph = helper.make_graph(nodes, "fuzz", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph)


@FUZZ
@given(onnx_models())
def test_random_onnx_models_import_or_name_the_node(model):
    try:
        imported = load_onnx(model)
    except GraphError as exc:
        assert str(exc).startswith("fuzz"), str(exc)
    else:
        check_graph(imported.graph)


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_as_onnx_file_raise_graph_error(blob):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.onnx"
        path.write_bytes(blob)
        try:
            load_onnx(path)
        except GraphError as exc:
            assert str(exc).startswith(str(path)), str(exc)


# datasets ----------------------------------------------------------------------------------------------
MNIST_FILES = (("train-images-idx3-ubyte", 3), ("train-labels-idx1-ubyte", 1), ("t10k-images-idx3-ubyte", 3),
               ("t10k-labels-idx1-ubyte", 1))


def _idx(dims: int, shape: list[int], extra: int) -> bytes:
    body = bytes(max(int(np.prod(shape)) + extra, 0) % 5000)
    return b"\x00\x00\x08" + bytes([dims]) + b"".join(s.to_bytes(4, "big") for s in shape) + body


@FUZZ
@given(st.lists(st.one_of(
    st.builds(_idx, st.integers(0, 4), st.lists(st.integers(0, 12), min_size=0, max_size=4), st.integers(-3, 3)),
    st.binary(max_size=40)), min_size=4, max_size=4))
def test_damaged_mnist_files_raise_data_error(blobs):
    with tempfile.TemporaryDirectory() as tmp:
        for (name, _), blob in zip(MNIST_FILES, blobs):
            (Path(tmp) / name).write_bytes(blob)
        try:
            ds = load_dataset("mnist", tmp)
        except DataError as exc:
            assert tmp in str(exc), str(exc)
        else:
            check_dataset(ds)


PICKLES = st.one_of(
    st.binary(max_size=60),
    st.builds(pickle.dumps, st.one_of(
        st.none(), st.integers(), st.lists(st.integers(), max_size=3),
        st.fixed_dictionaries({b"data": st.one_of(st.just(np.zeros((2, 3072), np.uint8)), st.just(np.zeros(5)),
                                                  st.lists(st.integers(0, 300), max_size=5), st.just("x")),
                               b"labels": st.one_of(st.lists(st.integers(-1, 12), max_size=3), st.just(None))}))),
)


@FUZZ
@given(st.lists(PICKLES, min_size=6, max_size=6))
def test_damaged_cifar_batches_raise_data_error(blobs):
    with tempfile.TemporaryDirectory() as tmp:
        for name, blob in zip([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"], blobs):
            (Path(tmp) / name).write_bytes(blob)
        try:
            ds = load_dataset("cifar10", tmp)
        except DataError as exc:
            assert tmp in str(exc), str(exc)
        else:
            check_dataset(ds)
