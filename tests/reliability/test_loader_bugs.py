"""Inputs the fuzzers found that escaped the loaders with a foreign exception: regression tests of the fixes."""

from __future__ import annotations

import pytest

from socsim.compiler.frontend.toml import loads_toml
from socsim.compiler.graph import GraphError
from socsim.host.data import DataError, load_dataset

GRAPH = '[input]\nshape = [4]\n[[layer]]\ntype = []\n'


def test_cut_off_idx_header(tmp_path):
    """An IDX file holding only its magic (3 dimensions, no sizes): ``struct.error: unpack requires 12 bytes``."""
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03")
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_dataset("mnist", str(tmp_path))


def test_layer_type_that_is_not_a_string():
    """``type = []`` in a [[layer]]: ``TypeError: unhashable type: 'list'``."""
    with pytest.raises(GraphError, match="layer 1: .*type"):
        loads_toml(GRAPH, "g.toml")


CIFAR = {
    # pickle of {b'data': [16777216], b'labels': ...}: numpy refuses the value for uint8
    "value out of uint8": (OverflowError, b"\x80\x00\x95\x00\x00\x00\x00\x00\x00\x00\x00}(C\x04data]J\x00\x00\x00"
                                          b"\x01aC\x06\x00\x00\x00\x00\x00\x00]u."),
    # a damaged pickle stream: APPEND on a bytes object
    "append to bytes": (AttributeError, b"\x80\x00\x95\x00\x00\x00\x00\x00\x00\x00\x00C\x00]a"),
    # a damaged pickle stream: a FRAME opcode with a huge length
    "huge frame": (OverflowError, b"\x95\x00\x00\x00\x00\x00\x00\x00\x80"),
}


@pytest.mark.parametrize("error, blob", CIFAR.values(), ids=CIFAR.keys())
def test_damaged_cifar_batch(tmp_path, error, blob):
    (tmp_path / "data_batch_1").write_bytes(blob)
    with pytest.raises(DataError, match="data_batch_1"):
        load_dataset("cifar10", str(tmp_path))
