"""Native TOML front end: a layer list (``programs/*.toml``) to a :class:`Graph`, and back.

::

    name = "lenet_wu2023"                 # optional; default: the file name without .toml
    [input]
    shape = [1, 28, 28]                   # [C, H, W] or [features]
    dataset = "mnist"                     # optional marker
    [[layer]]
    type = "conv2d"                       # a name from graph.LAYERS
    name = "conv1"                        # optional; default type + position, e.g. "relu3"
    inputs = ["pool1"]                    # optional; default: the previous layer (add takes two)
    out_channels = 4                      # the type's own fields
    kernel = 5
    [train]                               # optional; passed through untouched as graph.meta

Every error names the file, the layer (index and name) and the field, and says what is allowed.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping

from socsim.base.fileio import loads_toml as parse_toml
from socsim.base.fileio import read_toml
from socsim.compiler.graph import LAYERS, Graph, GraphError, Input, Node, make_layer, type_text

TOP_KEYS = {"name": "graph name (a string)", "input": "table: shape, dataset, name",
            "layer": "array of tables, one per layer", "train": "table passed through as graph.meta"}
INPUT_KEYS = {"shape": "[C, H, W] or [features]", "dataset": "string marker", "name": "node name (default 'input')"}
NODE_KEYS = ("type", "name", "inputs")


def load_toml(path: str | Path) -> Graph:
    """Read a graph file; errors name the file."""
    path = Path(path)
    return graph_from_dict(read_toml(path, "graph file", GraphError), str(path), default_name=path.stem)


def loads_toml(text: str, source: str = "<string>", default_name: str = "graph") -> Graph:
    """Parse graph TOML text; ``source`` names it in errors."""
    try:
        data = parse_toml(text, source)
    except tomllib.TOMLDecodeError as exc:
        raise GraphError(f"{source}: not valid TOML: {exc}") from None
    except ValueError as exc:  # nested too deep
        raise GraphError(str(exc)) from None
    return graph_from_dict(data, source, default_name)


def _unknown(where: str, key: str, allowed: Any) -> GraphError:
    return GraphError(f"{where}: unknown key {key!r}; allowed: {', '.join(allowed)}")


def graph_from_dict(data: Mapping[str, Any], source: str = "<dict>", default_name: str = "graph") -> Graph:
    """Build a Graph from the parsed TOML mapping."""
    for key in data:
        if key not in TOP_KEYS:
            raise _unknown(source, key, TOP_KEYS)
    name = data.get("name", default_name)
    if not isinstance(name, str):
        raise GraphError(f"{source}: name: expected a string, got {name!r}")
    meta = data.get("train", {})
    if not isinstance(meta, dict):
        raise GraphError(f"{source}: train: expected a table, got {meta!r}")
    inp = data.get("input")
    if not isinstance(inp, dict):
        raise GraphError(f"{source}: missing [input] table with shape = [C, H, W] or [features]")
    for key in inp:
        if key not in INPUT_KEYS:
            raise _unknown(f"{source}: [input]", key, INPUT_KEYS)
    if "shape" not in inp:
        raise GraphError(f"{source}: [input]: missing key 'shape' ([C, H, W] or [features])")
    input_name = inp.get("name", "input")
    try:
        nodes = [Node(input_name, make_layer("input", shape=inp["shape"], dataset=inp.get("dataset", "")))]
    except GraphError as exc:
        raise GraphError(f"{source}: [input]: {exc}") from None
    layers = data.get("layer", [])
    if not isinstance(layers, list) or not all(isinstance(t, dict) for t in layers):
        raise GraphError(f"{source}: layer: expected an array of tables ([[layer]])")
    for index, table in enumerate(layers, start=1):
        nodes.append(_node(table, index, nodes[-1].name, source))
    try:
        return Graph(tuple(nodes), name, dict(meta), source)
    except GraphError as exc:
        raise GraphError(f"{source}: {exc}") from None


def _node(table: Mapping[str, Any], index: int, previous: str, source: str) -> Node:
    """One ``[[layer]]`` table (``index`` counts from 1) as a Node."""
    kind = table.get("type")
    where = f"{source}: layer {index}"
    if "name" in table:
        where += f" ({table['name']!r})"
    if kind is None:
        raise GraphError(f"{where}: missing key 'type'; valid types: {', '.join(LAYERS)}")
    if not isinstance(kind, str) or kind not in LAYERS or kind == "input":
        raise GraphError(f"{where}: unknown type {kind!r}; valid: {', '.join(k for k in LAYERS if k != 'input')}")
    name = table.get("name", f"{kind}{index}")
    if not isinstance(name, str):
        raise GraphError(f"{where}: name: expected a string, got {name!r}")
    cls = LAYERS[kind]
    allowed = list(NODE_KEYS) + [f.name for f in fields(cls)]
    for key in table:
        if key not in allowed:
            raise _unknown(f"{where}: {kind}", key, allowed)
    inputs = table.get("inputs", [previous] if cls.arity == 1 else None)
    if inputs is None:
        raise GraphError(f"{where}: {kind} takes {cls.arity} inputs: give inputs = [\"a\", \"b\"]")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise GraphError(f"{where}: inputs: expected a list of node names, got {inputs!r}")
    values = {k: v for k, v in table.items() if k not in NODE_KEYS}
    try:
        layer = make_layer(kind, **values)
    except GraphError as exc:
        raise GraphError(f"{where}: {exc}") from None
    return Node(name, layer, tuple(inputs))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        if len(value) == 2 and value[0] == value[1]:
            return str(value[0])
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def dump_toml(graph: Graph) -> str:
    """The graph as TOML text that :func:`loads_toml` reads back to an equal graph (``[train]`` included
    when its values are plain scalars and lists)."""
    inp = graph.input
    assert isinstance(inp.layer, Input)
    lines = [f"name = {_toml_value(graph.name)}", "", "[input]", f"shape = {_toml_value(tuple(inp.layer.shape))}"]
    if inp.layer.dataset:
        lines.append(f"dataset = {_toml_value(inp.layer.dataset)}")
    if inp.name != "input":
        lines.append(f"name = {_toml_value(inp.name)}")
    previous = inp.name
    for node in graph.nodes[1:]:
        lines += ["", "[[layer]]", f"type = {_toml_value(node.layer.kind)}", f"name = {_toml_value(node.name)}"]
        if node.inputs != (previous,):
            lines.append("inputs = [" + ", ".join(_toml_value(i) for i in node.inputs) + "]")
        values = node.layer.fields()
        for f in fields(node.layer):
            default = values["kernel"] if f.default is None else f.default  # stride = None means the kernel
            if f.default is dataclasses.MISSING or _toml_value(values[f.name]) != _toml_value(default):
                lines.append(f"{f.name} = {_toml_value(values[f.name])}")
        previous = node.name
    if graph.meta:
        lines += ["", "[train]"] + [f"{k} = {_toml_value(tuple(v) if isinstance(v, list) else v)}"
                                    for k, v in graph.meta.items()]
    return "\n".join(lines) + "\n"


def reference_markdown() -> str:
    """The layer-type tables of docs/compiler.md, generated from :data:`LAYERS` (one source of truth)."""
    out = ["| type | inputs | what it is |", "|---|---|---|"]
    out += [f"| `{kind}` | {cls.arity} | {cls.doc} |" for kind, cls in LAYERS.items() if kind != "input"]
    out += ["", "| type | key | value | default | meaning |", "|---|---|---|---|---|"]
    for kind, cls in LAYERS.items():
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            default = "required" if f.default is dataclasses.MISSING else f"`{_toml_value(f.default)}`"
            if f.default is None:
                default = "see meaning"
            where = "`[input]`" if kind == "input" else f"`{kind}`"
            out.append(f"| {where} | `{f.name}` | {type_text(hints[f.name])} | {default} | {f.metadata['doc']} |")
    return "\n".join(out) + "\n"
