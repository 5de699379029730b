"""Counter-based random draws: every random number of a tile is a function of where it is used.

A draw is keyed by (the tile's stream key, the draw site, a counter) and its elements by their index,
so a result never depends on the order in which independent reads are evaluated: the lane-parallel
engine and the sequential one draw the same numbers (docs/architecture.md, "Two engines").

- the **stream key** of a tile comes from the config seed (``SeedSequence(seed).spawn(tiles)[i]``);
- the **site** names what the numbers are for (:class:`Site`);
- the **counter** is the tile's count of read operations (``mvm``, ``mvmt``, ``rdw``: :attr:`Stream.reads`)
  or of programming operations (:attr:`Stream.programs`) before this one.

Element ``j`` of a draw with seed ``s`` is ``normal_at(s, j)`` (:mod:`socsim.physics.kernels.normal`).
"""

from __future__ import annotations

import enum

import numpy as np

from socsim.physics.kernels.normal import fill_normals, seeds_into

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


class Site(enum.IntEnum):
    """What a draw is for; each read or programming operation draws each site at most once per phase."""

    ADC = 1
    """Read noise and converter noise added at a conversion (one Gaussian per conversion)."""
    TIA = 2
    """Read noise of each pulse when the TIA clips pulses one by one."""
    READBACK = 3
    """One noisy read of every device (``rdw``)."""
    VERIFY = 4
    """Verify read before programming (PCM)."""
    WRITE_VERIFY = 5
    """Write-verify trials: verify-read, landing and ramp-end noise (RRAM)."""
    PULSE = 6
    """Cycle-to-cycle noise of open-loop pulses."""
    BINARY_SET = 7
    """Landing conductance of an abrupt SET (PCM MSB devices)."""
    PROGRAM = 8
    """Programming error of program-and-verify (PCM LSB devices)."""
    DEVICE_READ = 9
    """Read noise of every device a read drives, once per read vector (shared by the read's pulses)."""


def mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser over a uint64 array (the numpy twin of ``kernels.normal.mix64``)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def stream_key(seed: np.random.SeedSequence) -> int:
    """The 64-bit stream key of a tile seeded by ``seed``."""
    return int(seed.generate_state(1, np.uint64)[0])


def draw_seeds(key: int, site: Site, counters: np.ndarray, phase: int = 0) -> np.ndarray:
    """Seeds (uint64, one per counter) of the draws at ``site`` of operations numbered ``counters``.

    ``phase`` separates the draws of one operation's sub-steps (the negative pulse train of a sign-split
    input is phase 1). Computed by a compiled kernel (one call per read); :func:`seeds_reference` is its numpy twin.
    """
    c = np.ascontiguousarray(counters, dtype=np.uint64).reshape(-1)
    out = np.empty(c.shape, np.uint64)
    seeds_into(np.uint64(key), np.uint64(int(site) * 16 + phase), c, out)
    return out


def seeds_reference(key: int, site: Site, counters: np.ndarray, phase: int = 0) -> np.ndarray:
    """:func:`draw_seeds` in numpy (the kernel's twin, for tests)."""
    c = np.asarray(counters, dtype=np.uint64)
    with np.errstate(over="ignore"):
        head = mix64(np.uint64(key) ^ (np.uint64(int(site) * 16 + phase) * _GOLDEN))
        return mix64(head ^ mix64(c * _GOLDEN + np.uint64(1)))


class Stream:
    """A tile's draw counters: reads and programming operations so far (part of the device state)."""

    def __init__(self, key: int):
        self.key = key
        self.reads = 0
        """Read operations (mvm, mvmt, rdw) so far; the counter of the next read's draws."""
        self.programs = 0
        """Programming operations (write_verify, pulse, load_weights) so far."""

    def next_read(self) -> np.ndarray:
        """The counter of one read (as a one-element array), advancing :attr:`reads`."""
        c = np.array([self.reads], dtype=np.uint64)
        self.reads += 1
        return c

    def next_program(self) -> int:
        """The counter of one programming operation, advancing :attr:`programs`."""
        c = self.programs
        self.programs += 1
        return c

    def normals(self, site: Site, counter: int, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        """Standard normals of ``shape`` for the draw at ``site`` of programming operation ``counter``."""
        out = np.empty(shape, dtype=dtype)
        fill_normals(draw_seeds(self.key, site, np.array([counter]))[0], out)
        return out
