"""Exit statuses of every socsim command: the one table (``socsim --help`` lists them)."""

from __future__ import annotations

import signal

EXIT_OK = 0
EXIT_ERROR = 2
"""Bad input: a file, field or line is named on stderr."""
EXIT_TRAP = 3
"""The simulated program trapped (the message names the PC and instruction)."""
EXIT_DIVERGED = 4
"""Training produced NaN or inf; the last good checkpoint is kept."""
EXIT_INTERRUPTED = 128 + signal.SIGINT
"""Ctrl-C: finished epochs and sweep points are kept."""
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""The reader of the output (``| head``) went away, as Unix tools report it."""
EXIT_TERMINATED = 128 + signal.SIGTERM
"""SIGTERM, handled like Ctrl-C."""

