"""Datasets: shapes, fixed splits, and clear errors for missing or malformed files."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from socsim.host.data import DataError, load_dataset, read_idx


def test_digits_and_mnist5k_shapes_and_fixed_split():
    d = load_dataset("digits")
    assert d.shape == (1, 8, 8) and len(d.x_train) == 1437 and len(d.x_test) == 360
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    m = load_dataset("mnist5k")
    assert m.shape == (1, 28, 28) and len(m.y_train) == 4000 and len(m.y_test) == 1000
    assert np.bincount(m.y_test).tolist() == [100] * 10
    again = load_dataset("mnist5k", seed=5)  # the split does not depend on the run seed
    np.testing.assert_array_equal(m.y_test, again.y_test)


def _write_idx(path, arr, gz=False):
    head = bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = head + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_mnist_from_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (6, 28, 28)))
    _write_idx(tmp_path / "train-labels-idx1-ubyte", rng.integers(0, 10, 6))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (2, 28, 28)), gz=True)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 2))
    d = load_dataset("mnist", str(tmp_path))
    assert d.x_train.shape == (6, 1, 28, 28) and d.x_test.shape == (2, 1, 28, 28)


def test_missing_and_malformed_files_name_the_path(tmp_path):
    with pytest.raises(DataError, match="needs --data-path"):
        load_dataset("mnist")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: file not found"):
        load_dataset("mnist", str(tmp_path))
    bad = tmp_path / "x"
    bad.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 28, 28) + b"\x00" * 10)
    with pytest.raises(DataError, match=r"x: header says \(2, 28, 28\) = 1568 bytes, file has 10"):
        read_idx(bad, 3)
    with pytest.raises(DataError, match="not an IDX unsigned-byte file with 1 dimensions"):
        read_idx(bad, 1)
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({"nope": 1}))
    with pytest.raises(DataError, match="not a CIFAR-10 python batch"):
        load_dataset("cifar10", str(tmp_path))
    with pytest.raises(DataError, match="unknown dataset 'imagenet'; valid: cifar10, digits"):
        load_dataset("imagenet")


def test_cifar10_from_pickles(tmp_path):
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": list(range(4))}
        (tmp_path / name).write_bytes(pickle.dumps(batch))
    d = load_dataset("cifar10", str(tmp_path))
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32)
