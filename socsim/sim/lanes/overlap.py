"""Numerics beside timing: a lane-parallel loop's numerics computed on a worker thread while the main thread runs
its timing pass.

The two passes share no state: the timing pass (SimPy, the controller's counts, the ledger's timing rows) reads
only the recorded operands, and the together numerics (:class:`socsim.sim.lanes.numerics.NumericsPass`) compute
into their own lane storage until :meth:`~socsim.sim.lanes.numerics.NumericsPass.finish`, which the main thread
runs after the timing pass, in the place the sequential engine runs the whole numerics. Only the tiles' read time
(from the timing pass's issue cycles) would connect them, so a loop runs this way only if none of its tiles' reads
depends on time (``Crossbar.time_dependent_reads``); the ledger rows, memory writes and traps then come in the
same order as sequentially, and no number depends on how the threads are scheduled.

The worker computes while the main thread interprets SimPy events: numpy, BLAS and the numba kernels release the
GIL (``nogil``) for their arrays, so on two cores a loop costs about the longer of the two passes, not their sum.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

if TYPE_CHECKING:
    from socsim.sim.lanes.numerics import Fault

ENABLED = False
"""Run numerics beside the timing pass where it is exact. Off: on the 2-core development machine, quiet, it made LeNet
training slower, not faster (whole process 1.05x the wall time; docs/performance.md), because the numerics of small
layers are many short numpy calls that wait for the interpreter lock the SimPy timing pass holds. The tests run both
ways and hold them bit-identical."""

SWITCH_INTERVAL_S = 2e-4
"""The interpreter's thread switch interval while the passes overlap (s; Python's default is 5e-3): how long the
numerics thread may wait for the GIL after a kernel returns while the timing pass holds it."""


class Beside:
    """A computation on a worker thread; :meth:`result` waits for it and returns its value (or raises its error)."""

    def __init__(self, work: Callable[[], "Fault | None"]):
        self.value: Fault | None = None
        self.error: BaseException | None = None
        errors = np.geterr()  # numpy's error state is per thread: the worker computes under the caller's

        def run() -> None:
            try:
                with np.errstate(**errors):
                    self.value = work()
            except BaseException as exc:  # handed to the main thread by result()
                self.error = exc
        self.thread = threading.Thread(target=run, name="socsim-numerics", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        """Wait for the computation to end (its value and error are left unread)."""
        self.thread.join()

    def result(self) -> "Fault | None":
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value


@contextmanager
def switch_interval(seconds: float) -> Iterator[None]:
    """A shorter GIL switch interval for the duration (restored afterwards)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
