"""The one error type of socsim: :class:`SocsimError` and its kinds, each saying what is wrong and where.

A user's mistake or a limit of the machine is a :class:`SocsimError` of one :class:`ErrorKind`; the CLI maps the
kind to its exit status (:mod:`socsim.base.exits`) and prints the one-line message. Anything else that escapes a command
is a bug in socsim and shows with its traceback.

- :class:`InputError` (``input``): a config field, a graph node, a program line, a run folder's file, an argument
  is wrong. A ``ValueError`` too, so code that caught the ``ValueError`` raised before keeps working.
- :class:`CapacityError` (``capacity``): the input is well formed but does not fit the modelled chip (a memory,
  the tiles, the instruction memory); the message names the config field to raise. A ``ValueError`` too.
- ``trap`` (:class:`socsim.sim.traps.Trap`): the simulated program did something wrong; it carries the pc.
- :class:`MissingInput` (``input``): a file or folder the user named is missing (a run folder without its
  checkpoint); a ``FileNotFoundError`` too.
- :class:`HostEnvironmentError` (``environment``): the host lacks something the input is right to ask for (a dataset
  file, an optional dependency, a folder another process holds). An ``OSError`` too.

The assembler's :class:`isa.IsaError` and the input-file reader's :class:`isa.inputfile.InputFileError` (the ``isa``
package stands alone and imports nothing of socsim) count as ``input``: :func:`error_kind` says so.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from isa.inputfile import InputFileError
from isa.program import IsaError


class ErrorKind(enum.Enum):
    """What kind of problem stopped a command; the CLI's exit status follows from it."""

    INPUT = "input"
    CAPACITY = "capacity"
    TRAP = "trap"
    ENVIRONMENT = "environment"


def where_text(file: object = None, line: int | None = None, field: str | None = None) -> str:
    """``file:line: field: `` (the parts given), the prefix of a located message."""
    parts = []
    if file is not None and str(file):
        parts.append(f"{file}:{line}" if line else str(file))
    if field:
        parts.append(field)
    return "".join(f"{p}: " for p in parts)


class SocsimError(Exception):
    """A problem of the input or the host, not of socsim: ``what`` says what is wrong, ``file``, ``line`` and
    ``field`` where (each optional); ``str()`` is ``file:line: field: what``."""

    error_kind: ClassVar[ErrorKind] = ErrorKind.INPUT

    def __init__(self, what: str, *, file: object = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.what, self.file, self.line, self.field = what, file, line, field
        super().__init__(where_text(file, line, field) + what)
        self.args = (where_text(file, line, field) + what,)  # OSError's __new__ took the arguments as given

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputError(SocsimError, ValueError):
    """Bad input: a file, line, field or argument is wrong (the message names it and what was expected)."""

    error_kind = ErrorKind.INPUT


class CapacityError(SocsimError, ValueError):
    """The input does not fit the modelled chip; the message names the resource, the need and the config field that
    sizes it."""

    error_kind = ErrorKind.CAPACITY


class _SocsimOSError(SocsimError, OSError):
    """A :class:`SocsimError` that is an ``OSError`` too (code that caught the ``OSError`` keeps working)."""

    def __new__(cls, *args: object, **kwargs: object) -> _SocsimOSError:
        return OSError.__new__(cls, *args)  # OSError takes no keywords

    def __init__(self, what: str, *, file: object = None, line: int | None = None,
                 field: str | None = None) -> None:
        SocsimError.__init__(self, what, file=file, line=line, field=field)


class HostEnvironmentError(_SocsimOSError):
    """The host lacks what a right input needs: a dataset file, an optional dependency, a folder that another
    process holds."""

    error_kind = ErrorKind.ENVIRONMENT


class MissingInput(_SocsimOSError, FileNotFoundError):
    """A file or folder the user named is not there or not what was expected (a run folder without its checkpoint
    or run.json): input, and a ``FileNotFoundError`` too."""

    error_kind = ErrorKind.INPUT


def error_kind(exc: BaseException) -> ErrorKind | None:
    """The kind of a user's or the host's problem, or None for a bug (anything else). An ``OSError`` the system
    raised (no such file, permission denied, disk full) is the environment's; the assembler's and the input-file
    reader's errors are input."""
    if isinstance(exc, SocsimError):
        return exc.error_kind
    if isinstance(exc, (IsaError, InputFileError)):
        return ErrorKind.INPUT
    if isinstance(exc, OSError):
        return ErrorKind.ENVIRONMENT
    return None
