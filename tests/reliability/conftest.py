"""Hypothesis settings of the reliability suite: bounded examples and deadlines (the suite stays < 60 s).

``SOCSIM_FUZZ_EXAMPLES=3000 pytest tests/reliability`` runs a deeper, randomised hunt.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[2]

_EXAMPLES = int(os.environ.get("SOCSIM_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_EXAMPLES or 150, deadline=2000, derandomize=not _EXAMPLES, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
"""Apply with ``@FUZZ``: 150 examples, 2 s per example (a hang fails), the same examples every run."""


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished run folder of the real training path: digits MLP on ideal, 1 epoch of 128 / 64 images."""
    from socsim.host.train import RunArgs, run_training
    out = tmp_path_factory.mktemp("runs") / "tiny"
    run_training(RunArgs(str(ROOT / "programs" / "mlp.toml"), "ideal", "digits", None, 1, 128, 64, None), out)
    return out


@pytest.fixture
def run_copy(tiny_run, tmp_path) -> Path:
    """A copy of :func:`tiny_run` to damage."""
    out = tmp_path / "run"
    shutil.copytree(tiny_run, out)
    return out
