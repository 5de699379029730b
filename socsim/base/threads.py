"""How many threads the simulator's numerics use, and how they are split so that no number depends on the count.

The lanes of a lane-parallel loop (:mod:`socsim.sim.lanes.numerics`) are cut into one contiguous group per thread
(when the loop's lane storage is large enough for that to pay); each thread runs every instruction over its lanes,
and what lanes share is applied afterwards in lane order. A loop too large to keep every lane at once runs in turn,
one lane at a time per thread (:mod:`socsim.sim.lanes.turns`), its reduction terms added in lane order. A lane's
numbers are its own in any group: its matrix products are its own BLAS calls (numpy's stacked ``matmul`` makes one
call per lane), every other operation acts element by element or row by row, and every random number is
counter-based (:mod:`socsim.physics.draws`).

The BLAS library itself stays at one thread inside :func:`use_threads`: OpenBLAS's threaded ``sgemm`` does not
always keep the single-threaded sum order (a 200x3000 by 3000x300 float32 product differs in the last bits between
1 and 2 threads with OpenBLAS 0.3.31, SkylakeX kernels), so threading inside a product would make results depend on
the count. numba's count is set to the count in the calling thread and to 1 in the lane groups' threads (for
parallel kernels; the physics kernels do not use ``prange`` yet). ``tests/test_threads.py`` holds 1 and 2
threads bit-identical on both engines.

``socsim run / train / infer / sweep --threads N`` and the API's ``threads=N`` apply a count with
:func:`use_threads`; without one, :func:`default_threads` (the cores this process may use). Outside any
:func:`use_threads` (a library caller building its own ``Soc``) the numerics run on one thread. A sweep divides its
count among its worker processes (:func:`per_worker`).
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import numba
from threadpoolctl import threadpool_limits

from socsim.base.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

THREADS_HELP = ("threads for the numerics (the images of a lane-parallel loop split among them; default: the cores "
                "available, or fewer when OPENBLAS_NUM_THREADS or NUMBA_NUM_THREADS says so); results do not "
                "depend on it")
"""The ``--threads`` option's help, shared by the commands that take it."""

_ENV_LIMITS = ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
_state = threading.local()
_count: int | None = None
"""The count set by the innermost :func:`use_threads` (None: never set in this process)."""


def available_cores() -> int:
    """The CPUs this process may run on (its affinity mask; ``os.cpu_count()`` where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """:func:`available_cores`, or the smallest positive integer of OPENBLAS_NUM_THREADS / NUMBA_NUM_THREADS when
    the environment sets one lower (a caller that restricts the libraries keeps its restriction)."""
    n = available_cores()
    for name in _ENV_LIMITS:
        text = os.environ.get(name, "").strip()
        if text.isdigit() and int(text) > 0:
            n = min(n, int(text))
    return n


def per_worker(total: int | None, workers: int) -> int:
    """Threads for each of ``workers`` processes sharing ``total`` threads (default :func:`default_threads`):
    an equal share, at least 1."""
    return max(1, (total if total is not None else default_threads()) // max(1, workers))


def numba_threads(n: int) -> int:
    """The numba thread count that ``n`` threads give: ``n``, at most numba's pool size (NUMBA_NUM_THREADS, fixed
    when numba starts)."""
    return max(1, min(n, numba.config.NUMBA_NUM_THREADS))


def sync_numba(n: int | None = None) -> None:
    """Give the calling thread ``n`` numba threads (default: the count in force; numba's count is per thread, and
    a new thread starts at numba's pool size). Cheap when nothing changes."""
    n = n if n is not None else _count
    if n is None or getattr(_state, "numba", None) == n:
        return
    numba.set_num_threads(numba_threads(n))
    _state.numba = n


_pool: ThreadPoolExecutor | None = None


def pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of at least ``workers`` threads for work split by the caller (lane groups)."""
    global _pool
    if _pool is None or _pool._max_workers < workers:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(workers, thread_name_prefix="socsim-numerics")
    return _pool


def numerics_threads() -> int:
    """Threads the lane groups use: the innermost :func:`use_threads`'s count, 1 outside any (a library caller that
    never chose a count keeps one thread, and its BLAS settings are its own)."""
    return _count if _count is not None else 1


def set_threads(n: int) -> None:
    """Apply ``n`` threads for the rest of this process (a sweep's worker process: :func:`per_worker`)."""
    global _count, _process_limits
    _process_limits = threadpool_limits(limits=1, user_api="blas")  # kept: the limit lasts while it lives
    _count = n
    _state.numba = None
    sync_numba()


_process_limits: object = None


def threaded(fn: F) -> F:
    """Run ``fn`` under :func:`use_threads` of its ``threads`` argument (None: the default): the API's functions."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with use_threads(signature.bind(*args, **kwargs).arguments.get("threads")):
            return fn(*args, **kwargs)
    return run  # type: ignore[return-value]


@contextmanager
def use_threads(n: int | None = None) -> Iterator[int]:
    """Run the block with ``n`` threads (None: :func:`default_threads`) for the numerics (lane groups, numba; BLAS
    at one thread, see the module docstring), then restore the counts before it. Yields the count. ``n`` must be a
    positive integer."""
    global _count
    if n is None:
        n = default_threads()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"expected a positive integer (1 or more), got {n!r}", field="threads")
    before, before_numba = _count, numba.get_num_threads()
    with threadpool_limits(limits=1, user_api="blas"):
        _count = n
        _state.numba = None
        sync_numba()
        try:
            yield n
        finally:
            _count = before
            numba.set_num_threads(before_numba)
            _state.numba = None
