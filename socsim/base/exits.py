"""Exit statuses of every socsim command: the one table (``socsim --help`` lists them)."""

from __future__ import annotations

import signal

from socsim.base.errors import ErrorKind

EXIT_OK = 0
EXIT_ERROR = 2
"""Bad input, or an input that does not fit the modelled chip, or a host that lacks a file or dependency the input
needs: a file, field or line is named on stderr (:mod:`socsim.base.errors`)."""
EXIT_TRAP = 3
"""The simulated program trapped (the message names the PC and instruction)."""
EXIT_DIVERGED = 4
"""Training produced NaN or inf; the last good checkpoint is kept."""
EXIT_BUG = 70
"""A bug in socsim (not in the input): the traceback is printed; sysexits.h's EX_SOFTWARE."""
EXIT_INTERRUPTED = 128 + signal.SIGINT
"""Ctrl-C: finished epochs and sweep points are kept."""
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""The reader of the output (``| head``) went away, as Unix tools report it."""
EXIT_TERMINATED = 128 + signal.SIGTERM
"""SIGTERM, handled like Ctrl-C."""


EXIT_FOR_KIND = {ErrorKind.INPUT: EXIT_ERROR, ErrorKind.CAPACITY: EXIT_ERROR, ErrorKind.ENVIRONMENT: EXIT_ERROR,
                 ErrorKind.TRAP: EXIT_TRAP}
"""The exit status of each kind of :class:`socsim.base.errors.SocsimError`; anything else exits with
:data:`EXIT_BUG`."""
