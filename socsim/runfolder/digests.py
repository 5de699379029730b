"""What a training run wrote, by SHA-256 (``digests.json``), and which of those files changed since.

While a run trains (:func:`recording`), every atomic write of one of :data:`RECORDED` into its folder records the
new contents' digest before the rename, beside the previous one, so a kill between a file and the record leaves a
file whose digest is listed either way; at the end only the last digest of each file stays. The record also keeps
the config the run started with, so an edit of config.json is named field by field ("tiles.rows 64 -> 32").

``report``, ``infer --weights``, ``drift`` and ``train --resume`` call :func:`check_unedited` first: a recorded
file that changed or went missing is refused (ValueError naming each) unless ``--accept-edits``, which proceeds
with a warning. A run folder without ``digests.json`` (written before socsim recorded digests, or by
``run_training`` called directly) is read as it is.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from socsim.base.configtools import dotted_differences
from socsim.base.errors import InputError
from socsim.base.fileio import ON_WRITE, file_sha256, read_json, write_text
from socsim.runfolder.files import (
    CHECKPOINT,
    CONDUCTANCES,
    CONFIG,
    DIGESTS,
    INITIAL_CONDUCTANCES,
    LEDGER,
    MAPPING,
    METRICS,
    RUN_ARGS,
    TRACE,
)

RECORDED = (RUN_ARGS, CONFIG, MAPPING, METRICS, LEDGER, CONDUCTANCES, INITIAL_CONDUCTANCES, CHECKPOINT, TRACE)
"""The files ``socsim train`` writes whose digests it records."""
ACCEPT_EDITS_HELP = ("use a run folder whose files changed since the run wrote them (digests.json); by default "
                     "they are refused, each named")
_HEX = re.compile(r"[0-9a-f]{64}")


class DigestBook:
    """The ``digests.json`` of one run folder: file name -> accepted SHA-256s, and the config it started with."""

    def __init__(self, run_dir: Path, files: dict[str, list[str]], config: dict[str, Any] | None):
        self.run_dir, self.files, self.config = run_dir, files, config

    @classmethod
    def load(cls, run_dir: Path) -> "DigestBook | None":
        """The record of ``run_dir``, checked; None when it has none."""
        path = run_dir / DIGESTS
        if not path.exists():
            return None
        data = read_json(path, DIGESTS)
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(data, dict) or set(data) - {"files", "config"} or not isinstance(files, dict):
            raise InputError("expected an object with 'files' (name -> SHA-256s) and 'config'", file=path)
        for name, digests in files.items():
            if name not in RECORDED or not isinstance(digests, list) or not 1 <= len(digests) <= 2 or not all(
                    isinstance(d, str) and _HEX.fullmatch(d) for d in digests):
                raise InputError(f"files.{name}: expected one or two SHA-256 digests of a file socsim "
                                 f"train writes ({', '.join(RECORDED)})", file=path)
        config = data.get("config")
        if config is not None and not isinstance(config, dict):
            raise InputError("config: expected the run's config (an object)", file=path)
        return cls(run_dir, files, config)

    def save(self) -> None:
        record = {"files": self.files, "config": self.config}
        write_text(self.run_dir / DIGESTS, json.dumps(record, indent=1, sort_keys=True) + "\n")

    def written(self, path: Path, new: Path) -> None:
        """``path`` is about to be replaced by the file ``new``: accept its digest (and the previous one, until
        :meth:`settle`); keep the config the run starts with."""
        if path.name not in RECORDED or path.parent.resolve() != self.run_dir.resolve():
            return
        self.files[path.name] = [*self.files.get(path.name, [])[-1:], file_sha256(new)]
        if path.name == CONFIG and self.config is None:
            config = read_json(new, CONFIG)
            self.config = config if isinstance(config, dict) else None
        self.save()

    def settle(self) -> None:
        """Keep one digest per file: its current contents' when accepted (a run stopped between recording a
        file and renaming it into place leaves the previous contents, still accepted), else the last recorded."""
        settled = {}
        for name, digests in self.files.items():
            path = self.run_dir / name
            current = file_sha256(path) if len(digests) > 1 and path.exists() else None
            settled[name] = [current] if current in digests else digests[-1:]
        self.files = settled
        self.save()

    def edits(self) -> list[str]:
        """What changed since the run wrote it: one line per changed or missing file."""
        out = []
        for name, digests in sorted(self.files.items()):
            path = self.run_dir / name
            if not path.exists():
                out.append(f"{name} is missing")
            elif file_sha256(path) not in digests:
                out.append(self._describe(name))
        return out

    def _describe(self, name: str) -> str:
        if name == CONFIG and self.config is not None:
            try:
                now = read_json(self.run_dir / CONFIG, CONFIG)
            except ValueError:
                now = None
            if isinstance(now, dict):
                fields = config_changes(self.config, now)
                if fields:
                    return f"{name} changed: {', '.join(fields[:8])}{', ...' if len(fields) > 8 else ''}"
        return f"{name} changed since the run wrote it"


def config_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """``FIELD OLD -> NEW`` for every dotted leaf that differs (added or removed ones too)."""
    return [f"{key} {json.dumps(a)} -> {json.dumps(b)}" for key, a, b in dotted_differences(before, after)]


@contextlib.contextmanager
def recording(run_dir: str | Path, resume: bool = False) -> Iterator[DigestBook]:
    """Record the digest of every file of :data:`RECORDED` written into ``run_dir`` inside the block: a new
    record, or with ``resume`` the run's own, added to."""
    run_dir = Path(run_dir)
    book = (DigestBook.load(run_dir) if resume else None) or DigestBook(run_dir, {}, None)
    token = ON_WRITE.set(book.written)
    try:
        yield book
    finally:
        ON_WRITE.reset(token)
        if run_dir.is_dir():
            book.settle()


def check_unedited(run_dir: str | Path, accept_edits: bool = False) -> list[str]:
    """The edits of ``run_dir``'s recorded files; ValueError naming them unless ``accept_edits`` (then a warning
    on stderr). Nothing for a folder without a record."""
    run_dir = Path(run_dir)
    book = DigestBook.load(run_dir)
    edits = book.edits() if book is not None else []
    if edits and not accept_edits:
        raise InputError(f"{'; '.join(edits)}. The run's files were changed after it wrote them; pass "
                         "--accept-edits to use them anyway", file=run_dir)
    if edits:
        print(f"socsim: warning: {run_dir}: using edited files: {'; '.join(edits)}", file=sys.stderr)
    return edits
