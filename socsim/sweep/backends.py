"""Where points run: in this process, on a local process pool, or on a Dask distributed cluster.

Every backend calls the same :func:`socsim.sweep.jobs.run_point` and hands each result to
``on_result`` as soon as it arrives (in completion order); the caller writes the table.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import sys
from typing import Any, Callable, Sequence

from socsim.base.signals import die_with_parent
from socsim.base.threads import per_worker, set_threads, use_threads
from socsim.sweep.jobs import PointJob, run_point
from socsim.sweep.spec import SweepError

OnResult = Callable[[dict[str, Any]], None]


def default_workers() -> int:
    """Worker processes when ``--workers`` is not given: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_serial(jobs: Sequence[PointJob], on_result: OnResult) -> None:
    """One point after another in this process."""
    for job in jobs:
        on_result(run_point(job))


def _pool_worker_init(threads: int) -> None:
    """Pool workers leave Ctrl-C to the parent (which terminates them), die with the parent however it ends
    (no orphan goes on training and writing point folders), keep stdout for the parent and use ``threads``
    threads (:mod:`socsim.base.threads`)."""
    set_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # pool.terminate(): end at once
    die_with_parent()
    sys.stdout = open(os.devnull, "w")  # a library's stray message must not interleave with the parent's lines


def run_pool(jobs: Sequence[PointJob], workers: int, on_result: OnResult, threads: int | None = None) -> None:
    """A pool of ``workers`` fresh (spawned) processes that share ``threads`` threads (default: the cores available,
    :func:`socsim.base.threads.per_worker`); Ctrl-C terminates the pool and re-raises."""
    if workers <= 1 or len(jobs) <= 1:
        with use_threads(threads):
            run_serial(jobs, on_result)
        return
    ctx = multiprocessing.get_context("spawn")
    size = min(workers, len(jobs))
    pool = ctx.Pool(size, initializer=_pool_worker_init, initargs=(per_worker(threads, size),))
    try:
        for result in pool.imap_unordered(run_point, jobs):
            on_result(result)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


_ADDRESS = re.compile(r"(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")
SCHEMES = ("tcp", "tls")
"""The Dask transports a sweep connects through (UCX needs ucx-py, which socsim does not install)."""


def check_scheduler_address(address: str) -> str:
    """``address`` when it is ``[tcp|tls://]HOST:PORT``; SweepError saying what is expected otherwise (checked
    before dask is imported or anything connects)."""
    match = _ADDRESS.fullmatch(address.strip())
    expected = "expected a Dask scheduler address tcp://HOST:PORT or tls://HOST:PORT (e.g. tcp://127.0.0.1:8786)"
    if match is None:
        raise SweepError(f"--scheduler {address!r}: {expected}")
    if match["scheme"] not in (None, *SCHEMES):
        raise SweepError(f"--scheduler {address!r}: transport {match['scheme']}:// is not supported; {expected}")
    if not 0 < int(match["port"]) < 65536:
        raise SweepError(f"--scheduler {address!r}: port {match['port']} is not in 1..65535")
    return address.strip()


def run_dask(jobs: Sequence[PointJob], address: str, on_result: OnResult, connect_timeout_s: float = 10.0) -> None:
    """Submit every point to the Dask scheduler at ``address`` (e.g. ``tcp://127.0.0.1:8786``).

    The workers must have socsim installed and see the same paths as this process (the graph or
    program file and the results folder): a shared filesystem, or workers on this host.
    """
    address = check_scheduler_address(address)
    try:
        from distributed import Client, as_completed  # deferred: optional (only --scheduler needs it)
    except ImportError:
        raise SweepError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        client = Client(address, timeout=f"{connect_timeout_s}s", set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, dask's own errors: one line, never a traceback
        raise SweepError(f"cannot reach the Dask scheduler at {address} within {connect_timeout_s:g} s: "
                         f"{type(exc).__name__}: {exc}") from None
    futures = []
    try:
        futures = [client.submit(run_point, job, key=f"socsim-point-{job.key}-{os.getpid()}", pure=False)
                   for job in jobs]
        for future in as_completed(futures, loop=client.loop):
            on_result(future.result())
    finally:
        client.cancel(futures)
        client.close()
