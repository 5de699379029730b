"""Counter-based standard normal numbers for the Numba kernels.

Element ``j`` of a draw with seed ``s`` is a function of ``(s, j)`` only: its bits come from the
SplitMix64 finaliser applied to ``s ^ j * golden`` (one 64-bit hash for the first ziggurat trial, a
chain of hashes from it for the rare retries), and the Gaussian shape from the 128-layer ziggurat of
Marsaglia & Tsang (J. Stat. Softw. 5(8), 2000), which is exact (rejection, with the exact tail
algorithm beyond r = 3.4426). Seeds come from :func:`socsim.physics.draws.draw_seeds` (a function of the
tile, the draw site and the operation's counter), so results are reproducible and independent of loop
order, lanes or threading.
Resolution: 32-bit layer positions (values are multiples of r / 2^31 inside a layer).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def mix64(z):  # pragma: no cover - compiled
    """SplitMix64 finaliser: a bijective 64-bit hash."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def seeds_into(key, tag, counters, out):  # pragma: no cover - compiled
    """out[i] = mix64(mix64(key ^ tag golden) ^ mix64(counters[i] golden + 1)) (uint64s, wrapping): the draw seeds of
    :func:`socsim.physics.draws.draw_seeds`, whose numpy twin is :func:`socsim.physics.draws.seeds_reference`."""
    head = mix64(key ^ (tag * _GOLDEN))
    for i in range(counters.shape[0]):
        out[i] = mix64(head ^ mix64(counters[i] * _GOLDEN + np.uint64(1)))


@njit(cache=True, nogil=True)
def ziggurat_tables():  # pragma: no cover - compiled
    """(kn, wn, fn) of the 128-layer normal ziggurat (Marsaglia & Tsang 2000, r = 3.442619855899)."""
    kn = np.zeros(128, np.int64)
    wn = np.zeros(128)
    fn = np.zeros(128)
    m1 = 2147483648.0
    dn = 3.442619855899
    tn = dn
    vn = 9.91256303526217e-3
    q = vn / np.exp(-0.5 * dn * dn)
    kn[0] = np.int64((dn / q) * m1)
    kn[1] = 0
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = np.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = np.sqrt(-2.0 * np.log(vn / dn + np.exp(-0.5 * dn * dn)))
        kn[i + 1] = np.int64((dn / tn) * m1)
        tn = dn
        fn[i] = np.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


@njit(cache=True, inline="always")
def _uniform(h):  # pragma: no cover - compiled
    """(0, 1] from the top 53 bits of a hash."""
    return (np.float64(h >> np.uint64(11)) + 1.0) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def first_hash(seed, j):  # pragma: no cover - compiled
    """The hash of the first ziggurat trial of number ``j`` of stream ``seed``."""
    return mix64(seed ^ (np.uint64(j) * _GOLDEN))


@njit(cache=True, inline="always")
def normal_at(seed, j, kn, wn, fn):  # pragma: no cover - compiled
    """The standard normal number ``j`` of stream ``seed`` (uint64s)."""
    return normal_from(first_hash(seed, j), kn, wn, fn)


@njit(cache=True, inline="always")
def normal_from(h, kn, wn, fn):  # pragma: no cover - compiled
    """The standard normal number whose first trial's hash is ``h`` (:func:`first_hash`)."""
    key = np.uint64(0)
    c = np.uint64(0)
    while True:
        hz = np.int64(np.int32(np.uint32(h & np.uint64(0xFFFFFFFF))))
        iz = np.int64((h >> np.uint64(32)) & np.uint64(127))
        if abs(hz) < kn[iz]:
            return hz * wn[iz]
        if c == np.uint64(0):                    # retries draw from a chain keyed by the first hash
            key = mix64(h ^ _GOLDEN)
        x = hz * wn[iz]
        if iz == 0:                              # the tail beyond r (Marsaglia's exact method)
            while True:
                u1 = _uniform(mix64(key + c * _GOLDEN))
                u2 = _uniform(mix64(key + (c + np.uint64(1)) * _GOLDEN))
                c += np.uint64(2)
                xt = -np.log(u1) / 3.442619855899
                y = -np.log(u2)
                if y + y >= xt * xt:
                    return 3.442619855899 + xt if hz > 0 else -3.442619855899 - xt
        u = _uniform(mix64(key + c * _GOLDEN))
        c += np.uint64(1)
        if fn[iz] + u * (fn[iz - 1] - fn[iz]) < np.exp(-0.5 * x * x):
            return x
        h = mix64(key + c * _GOLDEN)             # a new trial
        c += np.uint64(1)


@njit(cache=True, inline="always")
def normals_into(seed, start, out, hashes, rejects, kn, wn, fn):  # pragma: no cover - compiled
    """out[k] = normal_at(seed, start + k) for k < len(out); ``hashes`` (uint64) and ``rejects`` (int64), both at
    least as long, are scratch. Three passes: the first trials' hashes (branch-free, so it vectorises: 64-bit
    multiplies on AVX-512); the ziggurat's first trial of every number, branch-free, noting the indices whose trial
    is rejected (about 1 in 80) in ``rejects``; then :func:`normal_from` on those alone (its first trial is the one
    just rejected, so every number is the one :func:`normal_at` gives)."""
    n = out.shape[0]
    for k in range(n):
        hashes[k] = first_hash(seed, start + k)
    m = 0
    for k in range(n):
        h = hashes[k]
        hz = np.int64(np.int32(np.uint32(h & np.uint64(0xFFFFFFFF))))
        iz = np.int64((h >> np.uint64(32)) & np.uint64(127))
        out[k] = hz * wn[iz]
        rejects[m] = k
        m += abs(hz) >= kn[iz]
    for j in range(m):
        k = rejects[j]
        out[k] = normal_from(hashes[k], kn, wn, fn)


@njit(cache=True, nogil=True)
def fill_normals(seed, out):  # pragma: no cover - compiled
    """out.ravel()[j] = normal_at(seed, j) for every j (any shape, float32 or float64)."""
    kn, wn, fn = ziggurat_tables()
    flat = out.reshape(-1)
    chunk = 4096
    hashes = np.empty(chunk, np.uint64)
    rejects = np.empty(chunk, np.int64)
    for start in range(0, flat.size, chunk):
        stop = min(start + chunk, flat.size)
        normals_into(seed, start, flat[start:stop], hashes, rejects, kn, wn, fn)
