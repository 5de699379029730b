"""Process lifetime: SIGTERM handled like Ctrl-C, and worker processes that die with their parent.

``handle_sigterm()`` (in the main thread) turns SIGTERM into :class:`Terminated`, a KeyboardInterrupt, so a
terminated sweep or training run stops its workers and keeps what it finished, like an interrupted one.
``die_with_parent()`` (in a worker) makes the kernel send the worker SIGKILL when its parent exits (Linux
``PR_SET_PDEATHSIG``) and, everywhere, starts a thread that ends the worker once its parent is gone, so a
SIGKILL of the parent leaves no orphan computing and writing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

from socsim.base.exits import EXIT_TERMINATED

PARENT_POLL_S = 0.5
"""How often a worker looks whether its parent is still alive (where PR_SET_PDEATHSIG is missing)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; handled like Ctrl-C (finished work kept, workers stopped)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def handle_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into :class:`Terminated` in this (main) thread; returns a function restoring the old handler.
    Outside the main thread nothing changes (signals go to the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:  # re-parented: the parent died
            os._exit(EXIT_TERMINATED)


def die_with_parent() -> None:
    """End this process when its parent exits, however the parent ends."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(EXIT_TERMINATED)
    threading.Thread(target=_watch_parent, args=(parent,), name="socsim-parent-watch", daemon=True).start()
