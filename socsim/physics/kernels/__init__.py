"""Numba kernels of the crossbar physics (plain arrays and scalars only)."""
