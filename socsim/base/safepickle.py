"""A restricted unpickler for CIFAR-10 python batches: plain data only, never code.

The published batches are pickles of a dict of bytes, str, lists, ints and numpy arrays (written by Python 2
or 3, pickle protocols 2 to 5). Unpickling calls whatever importable function the stream names, so
:func:`load_data_pickle` resolves only the few names that rebuild a numpy array, and even those to inert
placeholders: an array is made afterwards with ``numpy.frombuffer`` from checked parts (a plain bool, integer
or float dtype, raw bytes of the right length). Any other global is refused with :class:`Refused` before it
is looked up, so nothing the stream names is imported or run.
"""

from __future__ import annotations

import codecs
import pickle
from typing import IO, Any

import numpy as np

_CODES = frozenset("?bBhHiIlLqQefdg") | {f"{e}{k}{n}" for e in "<>|=" for k in "biuf" for n in (1, 2, 4, 8)} \
    | {f"{k}{n}" for k in "biuf" for n in (1, 2, 4, 8)}
"""Type codes of the admitted dtypes (bool, integers, floats)."""


class Refused(pickle.UnpicklingError):
    """The pickle names a global outside the admitted set, or array parts that are not plain data."""


class _Dtype:
    """Stands for ``numpy.dtype(code)`` until the array is built."""

    def __init__(self, code: Any, align: Any = False, copy: Any = False):
        if isinstance(code, bytes):  # a Python 2 str under encoding='bytes'
            code = code.decode("latin1")
        if not isinstance(code, str) or code not in _CODES:
            raise Refused(f"numpy dtype {code!r}: only bool, integer and float dtypes are admitted")
        self.code, self.state = code, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def build(self) -> np.dtype:
        dt = np.dtype(self.code)
        if self.state is not None:  # (version, byte order, subarray, names, fields, elsize, alignment, flags)
            st = self.state
            if not (isinstance(st, tuple) and len(st) >= 5 and st[2] is None and st[3] is None and st[4] is None):
                raise Refused(f"numpy dtype state {st!r}: only a plain dtype (no fields, no subarray) is admitted")
            order = st[1].decode() if isinstance(st[1], bytes) else st[1]
            if order not in ("<", ">", "|", "="):
                raise Refused(f"numpy dtype byte order {order!r}")
            dt = dt.newbyteorder("=" if order == "|" else order) if dt.itemsize > 1 else dt
        return dt


class _Array:
    """Stands for a numpy array (``_reconstruct`` + ``__setstate__``, or ``_frombuffer``) until it is built."""

    def __init__(self, *parts: Any):
        self.parts, self.state = parts, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def build(self) -> np.ndarray:
        if self.state is not None:  # _reconstruct(ndarray, (0,), b'b') then (version, shape, dtype, fortran, raw)
            st = self.state
            if not (isinstance(st, tuple) and len(st) == 5):
                raise Refused("numpy array state: expected (version, shape, dtype, is_fortran, data)")
            _, shape, dtype, fortran, raw = st
            order = "F" if fortran else "C"
        elif len(self.parts) == 4:  # _frombuffer(buffer, dtype, shape, order)
            raw, dtype, shape, order = self.parts
        else:
            raise Refused("numpy array without its data")
        if not isinstance(dtype, _Dtype):
            raise Refused(f"numpy array dtype {dtype!r}")
        if isinstance(raw, str):  # Python 2 pickles of arrays under encoding='bytes' / latin-1
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)):
            raise Refused("numpy array data: expected raw bytes (arrays of objects are not admitted)")
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                                 for n in shape)) or order not in ("C", "F"):
            raise Refused(f"numpy array shape {shape!r} / order {order!r}")
        dt = dtype.build()
        if int(np.prod(shape, dtype=np.int64)) * dt.itemsize != len(raw):
            raise Refused(f"numpy array of shape {shape} and dtype {dt} needs {int(np.prod(shape)) * dt.itemsize} "
                          f"bytes of data, the pickle has {len(raw)}")
        return np.frombuffer(bytes(raw), dtype=dt).reshape(shape, order=order).copy()


class _NdarrayType:
    """Stands for ``numpy.ndarray`` as the first argument of ``_reconstruct``."""


_NDARRAY = _NdarrayType()


def _reconstruct(subtype: Any, shape: Any, code: Any) -> _Array:
    if subtype is not _NDARRAY:
        raise Refused(f"array subtype {subtype!r}: only numpy.ndarray is admitted")
    return _Array()


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> _Array:
    return _Array(bytes(buf) if isinstance(buf, (bytes, bytearray, memoryview)) else buf, dtype, shape, order)


def _encode(text: Any, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of bytes use it: latin-1 text to bytes."""
    if not isinstance(text, str) or not isinstance(encoding, str) or encoding.lower() not in ("latin1", "latin-1"):
        raise Refused("_codecs.encode: only latin-1 text is admitted")
    return codecs.encode(text, "latin1")


ADMITTED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _Dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _encode,
}
"""(module, name) -> the inert stand-in the stream gets instead of the real object."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return ADMITTED[(module, name)]
        except KeyError:
            raise Refused(f"refused global {module}.{name} (only numpy arrays of plain numbers are admitted)") \
                from None

    def persistent_load(self, pid: Any) -> Any:
        raise Refused("refused a persistent id")


def _build(value: Any) -> Any:
    if isinstance(value, _Array):
        return value.build()
    if isinstance(value, (_Dtype, _NdarrayType)):
        raise Refused("a numpy type outside an array")
    if isinstance(value, dict):
        return {_build(k): _build(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_build(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_build(v) for v in value)
    return value


def load_data_pickle(fh: IO[bytes]) -> Any:
    """Unpickle plain data (Python 2 strings as bytes; arrays rebuilt from checked parts); raises Refused for
    anything else."""
    return _build(_Unpickler(fh, encoding="bytes").load())
