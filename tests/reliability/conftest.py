"""Hypothesis settings of the reliability suite: bounded examples and deadlines (the suite stays < 60 s).

``SOCSIM_FUZZ_EXAMPLES=3000 pytest tests/reliability`` runs a deeper, randomised hunt.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_EXAMPLES = int(os.environ.get("SOCSIM_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_EXAMPLES or 150, deadline=2000, derandomize=not _EXAMPLES, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
"""Apply with ``@FUZZ``: 150 examples, 2 s per example (a hang fails), the same examples every run."""
