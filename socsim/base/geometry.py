"""Sliding-window geometry, written once for the graph's shape inference, the digital unit's pooling and
the numpy baseline."""

from __future__ import annotations


def window_out(size: int, kernel: int, stride: int) -> int:
    """Positions of a ``kernel``-wide window sliding by ``stride`` over ``size`` (padding already added)."""
    return (size - kernel) // stride + 1
